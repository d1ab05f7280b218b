"""Writing the serving log: one JSON line per predicted row, bounded on disk by rotation.

The lines' format is babyweight/serving_log.py's, which `babyweight skew` and `babyweight rollout
status` read back. Rotation is by size: when the next line would take PATH over `max_bytes`,
PATH becomes PATH.1, PATH.1 becomes PATH.2, ..., and PATH.<backups> is deleted.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import uuid
from pathlib import Path

from babyweight import serving_log as log_format
from babyweight.instances import Instance
from babyweight.serving_log import rotated_path

log = logging.getLogger("babyweight.serving")

DEFAULT_MAX_BYTES = 100 << 20  # 100 MiB per file
DEFAULT_BACKUPS = 5  # PATH.1 .. PATH.5: at most 600 MiB with PATH itself


def path_from_flag(flag: str | None, default: Path) -> Path | None:
    """The log's path from a --serving-log flag: the default when not given, None (off) for ''."""
    if flag is None:
        return default
    return Path(flag) if flag else None


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
        head = log_format.row_head(f"{self._process}-{next(self._requests)}", version, label)
        sources = source if isinstance(source, list) else [source] * len(instances)
        self._append(
            [
                log_format.row_line(head, instance, prediction, row_source)
                for instance, prediction, row_source in zip(
                    instances, predictions, sources, strict=True
                )
            ]
        )

    def write_event(self, event: str, **fields) -> None:
        """One line for a rollout event (a label change); rows and events share the log."""
        if self.path is not None:
            self._append([log_format.event_line(event, **fields)])

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
