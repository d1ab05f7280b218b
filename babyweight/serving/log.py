"""The serving log: one JSON line per predicted row, read back by `babyweight skew` and
`babyweight rollout status`; bounded on disk by rotation.

A row's line: {"time", "request", "model_version", "label", "features", "prediction"}; `request`
is the same for every row of one request, `label` the version label that answered ("stable",
"canary") or null when the request named a version. A rollout event's line has "event" and no
"features": {"time", "event": "rollout.promote", "stable", "canary", ...}.

Rotation is by size, as logging's RotatingFileHandler and logrotate name the files: when the
next line would take PATH over `max_bytes`, PATH becomes PATH.1, PATH.1 becomes PATH.2, ...,
and PATH.<backups> is deleted. Files are cut between lines, so each one is a JSON-lines file of
its own; `log_files(PATH)` lists them oldest first.
"""

from __future__ import annotations

import datetime
import itertools
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from babyweight.instances import Instance

log = logging.getLogger("babyweight.serving")

DEFAULT_MAX_BYTES = 100 << 20  # 100 MiB per file
DEFAULT_BACKUPS = 5  # PATH.1 .. PATH.5: at most 600 MiB with PATH itself


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def path_from_flag(flag: str | None, default: Path) -> Path | None:
    """The log's path from a --serving-log flag: the default when not given, None (off) for ''."""
    if flag is None:
        return default
    return Path(flag) if flag else None


def rotated_path(path: Path, n: int) -> Path:
    return path.with_name(f"{path.name}.{n}")


def log_files(path: str | os.PathLike) -> list[Path]:
    """PATH's rotated files and PATH itself, oldest first; only those that exist."""
    path = Path(path)
    older = []
    for n in itertools.count(1):
        if not rotated_path(path, n).is_file():
            break
        older.append(rotated_path(path, n))
    return [*reversed(older), *([path] if path.is_file() else [])]


def read_records(path: str | os.PathLike) -> Iterator[dict]:
    """Every JSON object of the log and its rotated files, oldest first; lines that are not
    JSON objects are skipped (the skew check is the place that reports them)."""
    for file in log_files(path):
        with open(file, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record


class RotatingLines:
    """Appends lines to a file that is rotated by size (see the module's docstring). Each file
    stays under max_bytes unless one line alone is longer; max_bytes 0 never rotates."""

    def __init__(
        self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS
    ):
        if backups < 1 and max_bytes:
            raise ValueError("a rotated log needs at least 1 backup file")
        self.path, self.max_bytes, self.backups = Path(path), max_bytes, backups

    def append(self, lines: list[str]) -> None:
        """Append whole lines (each ending in a newline); not thread-safe: callers lock."""
        data = [line.encode("utf-8") for line in lines]
        while data:
            with open(self.path, "ab") as f:
                room = self.max_bytes - f.tell() if self.max_bytes else None
                chunk, size = [], 0
                for line in data:
                    if room is not None and size + len(line) > room and (chunk or f.tell()):
                        break
                    chunk.append(line)
                    size += len(line)
                f.write(b"".join(chunk))
            data = data[len(chunk) :]
            if data:
                self.rotate()

    def rotate(self) -> None:
        rotated_path(self.path, self.backups).unlink(missing_ok=True)
        for n in range(self.backups - 1, 0, -1):
            if rotated_path(self.path, n).exists():
                os.replace(rotated_path(self.path, n), rotated_path(self.path, n + 1))
        os.replace(self.path, rotated_path(self.path, 1))


class ServingLog:
    """Appends one JSON line per predicted row; a failure is logged, never raised."""

    def __init__(
        self,
        path: Path | None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
    ):
        self.path = path
        self.failures = 0
        self._lines = RotatingLines(path, max_bytes=max_bytes, backups=backups) if path else None
        self._lock = threading.Lock()
        self._process = uuid.uuid4().hex[:8]
        self._requests = itertools.count(1)

    def write(
        self,
        version: str,
        instances: list[Instance],
        predictions: list[float],
        label: str | None = None,
        *,
        source: str | list[str] | None = None,
    ) -> None:
        if self.path is None:
            return
        head = {
            "time": utc_now(),
            "request": f"{self._process}-{next(self._requests)}",
            "model_version": version,
            "label": label,
        }
        sources = source if isinstance(source, list) else [source] * len(instances)
        self._append(
            [
                json.dumps(
                    {
                        **head,
                        **({"source": row_source} if row_source else {}),  # "table" / "model"
                        "features": instance.as_dict(),
                        "prediction": prediction,
                    }
                )
                + "\n"
                for instance, prediction, row_source in zip(
                    instances, predictions, sources, strict=True
                )
            ]
        )

    def write_event(self, event: str, **fields) -> None:
        """One line for a rollout event (a label change); rows and events share the log."""
        if self.path is not None:
            self._append([json.dumps({"time": utc_now(), "event": event, **fields}) + "\n"])

    def _append(self, lines: list[str]) -> None:
        try:
            with self._lock:
                self._lines.append(lines)
        except Exception as e:  # the log serves monitoring; the request matters more
            self.failures += 1
            if self.failures == 1 or self.failures % 1000 == 0:
                log.error(
                    "serving log %s: write failed (%d so far): %s", self.path, self.failures, e
                )
