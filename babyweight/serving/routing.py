"""Which loaded version answers a request: the one its path names, by version or by label, or,
for the rest, the stable version, and the canary for `canary_percent` of them.

Paths, as TF Serving has them (the model's name is the directory's name):

    /v1/models/NAME[/versions/N | /labels/LABEL][/metadata | :predict]

The split of unlabelled requests: a request with the header `X-Rollout-Key` (any string that
stays the same for one client: a user id, a session) goes to the canary when the SHA-256 of its
key falls in the canary's share, so one key keeps hitting one version while the labels stay as
they are. Requests without a key are dealt out by a counter, exactly P of every 100.

Stable always answers while any version is loaded: when the labelled version is not loaded (its
directory gone, and the next poll not yet done), the newest loaded version that is neither the
canary nor retired answers as stable, and is logged with the label `stable`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
from collections.abc import Callable

from babyweight import model_store
from babyweight.serving.log import ServingLog
from babyweight.serving.registry import ModelRegistry
from babyweight.serving.requests import RequestError, shown
from babyweight.serving.rollout import CANARY, LABELS, STABLE, Rollout, RolloutFile
from babyweight.serving.rollout_labels import Labeller, RolloutView

ROLLOUT_KEY_HEADER = "X-Rollout-Key"
MAX_VERSION = 2**63 - 1  # TF Serving's versions are int64
_BUCKETS = 10_000  # a key's share is decided to 0.01 %
_MODEL_PATH = re.compile(
    r"/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
)


@dataclasses.dataclass(frozen=True)
class ModelPath:
    name: str
    version: str | None  # as written in the path; version_number() reads it
    label: str | None
    action: str  # "" (status), "metadata" or "predict"


def parse_model_path(path: str) -> ModelPath:
    """The parts of a /v1/models/... path, or a 404 naming it."""
    action, rest = "", path
    for suffix in (":predict", "/metadata"):
        if path.endswith(suffix):
            rest, action = path[: -len(suffix)], suffix.strip(":/")
            break
    match = _MODEL_PATH.fullmatch(rest)
    if not match:
        raise RequestError(404, f"no such endpoint: {shown(path)}")
    return ModelPath(match["name"], match["version"], match["label"], action)


def version_number(text: str | None) -> int | None:
    """A version from a path, or a 400 that names it: ASCII digits, at most int64, as TF
    Serving's. The length is checked before int() (Python refuses over 4,300 digits)."""
    if text is None:
        return None
    if not text.isascii() or not text.isdigit():
        raise RequestError(400, f"version: expected a whole number, got {shown(text)}")
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(MAX_VERSION)) or int(digits) > MAX_VERSION:
        raise RequestError(
            400, f"version: {shown(text)} is not a version (a 64-bit integer, at most 2**63-1)"
        )
    return int(digits)


class Router:
    """Picks the loaded version for each request, from the registry and the rollout file (its
    RolloutView); its Labeller labels newly loaded versions (registry.on_refresh)."""

    def __init__(
        self,
        registry: ModelRegistry,
        rollout_file: RolloutFile,
        serving_log: ServingLog,
        *,
        model_name: str,
        canary_percent: float | None = None,
        record: Callable[[str, str, dict, dict], None] | None = None,
    ):
        self.registry, self.model_name = registry, model_name
        self.view = RolloutView(rollout_file, serving_log)
        self.labeller = Labeller(self.view, registry, model_name, record)
        self._lock = threading.Lock()
        self._credit = 0.0  # the counter that deals unkeyed requests to the canary
        registry.pinned = lambda: self.rollout().pinned()
        registry.on_refresh = self.labeller.after_refresh
        if canary_percent is not None:
            self.view.change(
                "canary_percent", lambda r: setattr(r, "canary_percent", canary_percent)
            )

    @property
    def file(self) -> RolloutFile:
        return self.view.file

    def rollout(self) -> Rollout:
        """The rollout file as it is now (RolloutView.current)."""
        return self.view.current()

    def after_refresh(self) -> None:
        self.labeller.after_refresh()

    def label_new_versions(self) -> None:
        self.labeller.label_new_versions()

    def pick(
        self, version: int | None = None, label: str | None = None, key: str | None = None
    ) -> tuple[model_store.LoadedModel, str | None]:
        """(model, the label it answered under) or the RequestError TF Serving would answer."""
        loaded = self.registry.loaded
        if version is not None:
            if version not in loaded:
                raise RequestError(
                    404,
                    f"Servable not found for request: Specific({self.model_name}, {version}); "
                    f"loaded versions: {', '.join(map(str, sorted(loaded))) or 'none'}",
                )
            return loaded[version], None
        rollout = self.rollout()
        if label is not None:
            return loaded[self.labelled_version(label, loaded)], label
        if self._to_canary(rollout, key) and rollout.canary in loaded:
            return loaded[rollout.canary], CANARY
        version = self._acting_stable(rollout, loaded)
        if version is None:
            raise RequestError(
                503,
                f"no version of {self.model_name} is loaded yet; watching {self.registry.base_dir}",
            )
        # Unlabelled only before the first version is labelled (a first start).
        return loaded[version], STABLE if rollout.stable is not None else None

    @staticmethod
    def _acting_stable(rollout: Rollout, loaded) -> int | None:
        """The version that answers as stable: the labelled one when loaded; otherwise (it is
        gone, or not loaded yet) the newest loaded version that is neither the canary nor
        retired, then the canary, then any."""
        if rollout.stable in loaded:
            return rollout.stable
        others = [v for v in loaded if v != rollout.canary and v not in rollout.retired]
        return max(
            others or [v for v in loaded if v not in rollout.retired] or loaded, default=None
        )

    def labelled_version(self, label: str, loaded=None) -> int:
        """The loaded version that holds `label`, or a 404 saying why there is none."""
        loaded = self.registry.loaded if loaded is None else loaded
        if label not in LABELS:
            raise RequestError(
                404, f"unknown version label {shown(label)}; labels are {', '.join(LABELS)}"
            )
        rollout = self.rollout()
        version = rollout.labels().get(label)
        if label == STABLE and version not in loaded:  # stable answers while anything is loaded
            version = self._acting_stable(rollout, loaded)
        if version is None:
            raise RequestError(404, f"no version of {self.model_name} is labelled {label}")
        if version not in loaded:
            raise RequestError(
                404, f"version {version} of {self.model_name} ({label}) is not loaded"
            )
        return version

    def _to_canary(self, rollout: Rollout, key: str | None) -> bool:
        percent = rollout.canary_percent
        if rollout.canary is None or percent <= 0:
            return False
        if key:
            digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
            return int.from_bytes(digest[:8], "big") % _BUCKETS < percent * _BUCKETS / 100
        with self._lock:
            self._credit += percent
            if self._credit >= 100:
                self._credit -= 100
                return True
            return False
