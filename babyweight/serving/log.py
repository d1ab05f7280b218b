"""The serving log: one JSON line per predicted row, read back by `babyweight skew`."""

from __future__ import annotations

import datetime
import json
import logging
import threading
from pathlib import Path

from babyweight.instances import Instance

log = logging.getLogger("babyweight.serving")


class ServingLog:
    """Appends one JSON line per predicted row; a failure is logged, never raised."""

    def __init__(self, path: Path | None):
        self.path = path
        self.failures = 0
        self._lock = threading.Lock()

    def write(self, version: str, instances: list[Instance], predictions: list[float]) -> None:
        if self.path is None:
            return
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")
        lines = "".join(
            json.dumps(
                {
                    "time": now,
                    "model_version": version,
                    "features": instance.as_dict(),
                    "prediction": prediction,
                }
            )
            + "\n"
            for instance, prediction in zip(instances, predictions, strict=True)
        )
        try:
            with self._lock, open(self.path, "a", encoding="utf-8") as f:
                f.write(lines)
        except Exception as e:  # the log serves monitoring; the request matters more
            self.failures += 1
            if self.failures == 1 or self.failures % 1000 == 0:
                log.error(
                    "serving log %s: write failed (%d so far): %s", self.path, self.failures, e
                )
