"""Version labels and the canary's share of traffic, kept in the rollout file next to the model
directory (`serving_model/babyweight.rollout.json`, OutputLayout.rollout_file):

    {"stable": 1700000000, "canary": 1700000500, "canary_percent": 20.0,
     "previous": [1690000000], "retired": [1695000000], "updated": "2024-05-01T12:00:00+00:00"}

`stable` and `canary` are TF Serving's version labels. `previous` holds the earlier stable
versions (newest last), where a rollback of stable goes back to; `retired` the versions a
rollback took out of traffic. A version newer than every version the file knows is new: the
server labels it canary (stable when there is no stable yet). When the stable version's
directory goes away, the server moves stable to the newest good version that is not the canary
(`replace_stable`; none: the canary becomes stable). The server re-reads the file, so
`babyweight rollout promote|rollback` take effect without a restart. Writers hold an flock on
the file's directory and replace the file atomically, so readers never see half a file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path

from babyweight.errors import BabyweightError, ExitCode

STABLE, CANARY = "stable", "canary"
LABELS = (STABLE, CANARY)
MAX_PREVIOUS = 10  # earlier stable versions remembered for rollbacks


class RolloutError(BabyweightError, ValueError):
    """A rollout step that cannot be done, or a rollout file that cannot be read; says why."""

    code = ExitCode.FAILED


class RolloutFileError(RolloutError):
    """A rollout file that cannot be read, or holds what no rollout file holds."""

    code = ExitCode.USAGE


@dataclasses.dataclass
class Rollout:
    stable: int | None = None
    canary: int | None = None
    canary_percent: float = 0.0
    previous: list[int] = dataclasses.field(default_factory=list)
    retired: list[int] = dataclasses.field(default_factory=list)
    updated: str = ""

    def labels(self) -> dict[str, int]:
        return {k: v for k, v in ((STABLE, self.stable), (CANARY, self.canary)) if v is not None}

    def label_of(self, version: int) -> str | None:
        return next((k for k, v in self.labels().items() if v == version), None)

    def pinned(self) -> set[int]:
        """Versions the server keeps loaded whatever --num-versions says: the labelled ones and
        the previous stable, so that a rollback needs no load."""
        return {*self.labels().values(), *self.previous[-1:]}

    def is_new(self, version: int) -> bool:
        known = [*self.labels().values(), *self.previous, *self.retired]
        return not known or version > max(known)

    def take_new(self, version: int) -> str | None:
        """Label a newly loaded version: stable when there is none, canary when it is newer
        than every known version (it replaces an older canary). The label given, or None."""
        if self.stable is None and version not in self.retired:
            self.stable = version
            return STABLE
        if self.is_new(version):
            self.canary = version
            return CANARY
        return None

    def replace_stable(self, good: list[int], why: str = "is gone from disk") -> str:
        """The stable version is gone (its directory removed, or it no longer loads): stable
        moves to the newest `good` version (on disk and loading) that is neither the canary
        nor retired; with none, the canary becomes stable. Says what it did."""
        gone = self.stable
        self.previous = [v for v in self.previous if v != gone]
        usable = [v for v in good if v not in (gone, self.canary) and v not in self.retired]
        if usable:
            self.stable = max(usable)
            self.previous = [v for v in self.previous if v != self.stable]
            return (
                f"stable version {gone} {why}; stable moved to {self.stable}, the newest good "
                f"version that is not the canary"
            )
        if self.canary is not None:
            self.stable, self.canary = self.canary, None
            return (
                f"stable version {gone} {why}; canary {self.stable} became stable (no other"
                " good version)"
            )
        self.stable = None
        return f"stable version {gone} {why}; no version is left to label stable"

    def promote(self) -> None:
        """canary -> stable; the old stable is kept as the previous version."""
        if self.canary is None:
            raise RolloutError(f"nothing to promote: no version is labelled {CANARY}")
        if self.stable is not None:
            self.previous = [*self.previous, self.stable][-MAX_PREVIOUS:]
        self.stable, self.canary = self.canary, None

    def rollback(self) -> str:
        """Take the canary out of traffic; without a canary, move stable back to the previous
        version. Says what it did."""
        if self.canary is not None:
            version, self.canary = self.canary, None
            self.retired.append(version)
            return f"canary {version} removed from traffic; stable stays {self.stable}"
        if not self.previous:
            raise RolloutError(
                f"nothing to roll back: no {CANARY}, and {STABLE} "
                f"({self.stable if self.stable is not None else 'none'}) has no previous version"
            )
        version, self.stable = self.stable, self.previous.pop()
        if version is not None:
            self.retired.append(version)
        return f"stable moved back from {version} to {self.stable}"

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data, where: str) -> Rollout:
        if not isinstance(data, dict):
            raise RolloutFileError(f"{where}: expected a JSON object")

        def version(key):
            value = data.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise RolloutFileError(f"{where}: {key}: expected a version number, got {value!r}")
            return value

        def versions(key):
            values = data.get(key, [])
            if not isinstance(values, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in values
            ):
                raise RolloutFileError(f"{where}: {key}: expected a list of version numbers")
            return values

        percent = data.get("canary_percent", 0.0)
        if isinstance(percent, bool) or not isinstance(percent, int | float):
            raise RolloutFileError(f"{where}: canary_percent: expected a number, got {percent!r}")
        if not 0 <= percent <= 100:
            raise RolloutFileError(f"{where}: canary_percent: {percent} is not within 0-100")
        return cls(
            stable=version(STABLE),
            canary=version(CANARY),
            canary_percent=float(percent),
            previous=versions("previous"),
            retired=versions("retired"),
            updated=str(data.get("updated", "")),
        )


class RolloutFile:
    """The rollout file of one model directory: read it, or change it under a lock."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def signature(self) -> tuple | None:
        """Changes whenever the file is replaced; None when there is none."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def read(self) -> Rollout:
        """The rollout; an empty one when the file does not exist yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Rollout()
        except (OSError, UnicodeDecodeError) as e:
            raise RolloutFileError(f"rollout file {self.path}: cannot read it: {e}") from None
        try:
            data = json.loads(text)
        except ValueError as e:
            raise RolloutFileError(f"rollout file {self.path}: not JSON ({e})") from None
        return Rollout.from_json(data, f"rollout file {self.path}")

    def update(self, change: Callable[[Rollout], object]) -> tuple[Rollout, object]:
        """Read, change(rollout), write back atomically, all under the lock; returns the new
        rollout and what change returned. Nothing is written when change raises."""
        with self._locked():
            rollout = self.read()
            before = rollout.to_json()
            result = change(rollout)
            if rollout.to_json() != before:
                rollout.updated = datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"
                )
                self._write(rollout)
        return rollout, result

    def _write(self, rollout: Rollout) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rollout.to_json(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def _locked(self):
        """An exclusive flock on the file's directory (the file itself is replaced on every
        write, so it cannot carry the lock; no lock file is left behind)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock
