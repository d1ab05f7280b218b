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
import logging
import re
import threading
import time
from collections.abc import Callable

from babyweight import model_store
from babyweight.serving.log import ServingLog
from babyweight.serving.registry import ModelRegistry
from babyweight.serving.requests import RequestError, shown
from babyweight.serving.rollout import CANARY, LABELS, STABLE, Rollout, RolloutError, RolloutFile

log = logging.getLogger("babyweight.serving")

ROLLOUT_KEY_HEADER = "X-Rollout-Key"
MAX_VERSION = 2**63 - 1  # TF Serving's versions are int64
RECHECK_SECONDS = 0.1  # how stale the rollout file may be when a request is routed
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
    """Picks the loaded version for each request, from the registry and the rollout file (re-read
    when it changes); labels newly loaded versions (registry.on_refresh)."""

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
        self.registry, self.file, self.serving_log = registry, rollout_file, serving_log
        self.model_name = model_name
        self.record = record  # (action, message, moved versions, labels) -> ML Metadata
        self._rollout, self._signature, self._checked = Rollout(), None, -1.0
        self._lock = threading.Lock()
        self._credit = 0.0  # the counter that deals unkeyed requests to the canary
        self._last_error = ""
        registry.pinned = lambda: self.rollout().pinned()
        registry.on_refresh = self.after_refresh
        if canary_percent is not None:
            self._change("canary_percent", lambda r: setattr(r, "canary_percent", canary_percent))

    def rollout(self) -> Rollout:
        """The rollout file as it is now, at most RECHECK_SECONDS stale; an unreadable file is
        logged and the last good rollout kept."""
        now = time.monotonic()
        if now - self._checked >= RECHECK_SECONDS:
            self._checked = now
            signature = self.file.signature()
            if signature != self._signature:
                self._signature = signature
                try:
                    self._rollout = self.file.read()
                except RolloutError as e:
                    log.error("%s; keeping the labels read before", e)
        return self._rollout

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

    def after_refresh(self) -> None:
        """After every poll of the registry: stable off a version that is gone, then labels for
        new versions."""
        self.replace_gone_stable()
        self.label_new_versions()

    def replace_gone_stable(self) -> None:
        """When the stable version's directory is gone (or it no longer loads), stable moves on
        (Rollout.replace_stable); said in the rollout file, one log line, the serving log and,
        through `record`, ML Metadata."""
        gone = self.rollout().stable
        if gone is None:
            return
        on_disk = model_store.versions(self.registry.base_dir)
        failed = self.registry.failed
        if gone in on_disk and gone not in failed:
            return
        why = "does not load" if gone in on_disk else "is gone from disk"
        good = [v for v in on_disk if v not in failed]
        message = self._change(
            "stable_gone", lambda r: r.replace_stable(good, why) if r.stable == gone else None
        )
        if not message:
            return
        log.warning("%s", message)
        after = self.rollout()
        if self.record is not None:
            self.record("stable_gone", message, {"gone": gone, "stable": after.stable},
                        after.labels())  # fmt: skip

    def label_new_versions(self) -> None:
        """A loaded version newer than every one the rollout knows becomes canary (stable when
        there is none); written to the rollout file and the serving log."""
        loaded = self.registry.loaded
        if not loaded:
            return
        newest = max(loaded)
        rollout = self.rollout()
        if rollout.stable is not None and not rollout.is_new(newest):
            return
        label = self._change("label", lambda r: r.take_new(newest))
        if label:
            log.warning("version %s of %s is labelled %s", newest, self.model_name, label)

    def _change(self, event: str, change):
        """Apply change(rollout) to the file; log the new labels when something changed."""

        def apply(rollout: Rollout):
            before = rollout.to_json()
            return change(rollout), rollout.to_json() != before

        try:
            rollout, (result, changed) = self.file.update(apply)
        except (OSError, RolloutError) as e:  # e.g. a read-only model directory
            if str(e) != self._last_error:  # once, not on every poll
                log.error("could not update %s: %s; serving without labels", self.file.path, e)
            self._last_error = str(e)
            return None
        self._last_error = ""
        if changed:
            self.serving_log.write_event(
                f"rollout.{event}",
                by="server",
                **({"message": result} if event == "stable_gone" else {}),
                stable=rollout.stable,
                canary=rollout.canary,
                canary_percent=rollout.canary_percent,
            )
        self._rollout, self._signature = rollout, self.file.signature()
        return result
