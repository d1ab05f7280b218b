"""The serving log's format, owned here: the REST server writes it (babyweight/serving/log.py),
`babyweight rollout status` and `babyweight skew` read it (babyweight/monitoring/serving_log.py).

One JSON object per line. A served row's line:

    {"time", "request", "model_version", "label", "source", "features", "prediction"}

`request` is the same for every row of one request, `label` the version label that answered
("stable", "canary") or null when the request named a version, `source` where the answer came
from ("table": the version's prediction table, "model": the SavedModel; left out when unknown),
`features` one value per feature
of the table (babyweight/features.py) in its canonical form. A rollout event's line has "event"
and no "features": {"time", "event": "rollout.promote", "stable", "canary", ...}.

The log is rotated by size, as logging's RotatingFileHandler and logrotate name the files: PATH,
then PATH.1 (the newest older one), PATH.2, ... Files are cut between lines, so each one is a
JSON-lines file of its own; `log_files(PATH)` lists them oldest first.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

TIME, REQUEST, MODEL_VERSION, LABEL = "time", "request", "model_version", "label"
FEATURES, PREDICTION, EVENT, SOURCE = "features", "prediction", "event", "source"


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def row_line(head: dict, features: Mapping, prediction: float, source: str | None = None) -> str:
    """A served row's line (with its newline): `head` holds time, request, model_version and
    label; `source` "table" or "model"; `features` the row's canonical values, one per feature
    of the table."""
    where = {SOURCE: source} if source else {}
    return json.dumps({**head, **where, FEATURES: dict(features), PREDICTION: prediction}) + "\n"


def row_head(request: str, version: str, label: str | None) -> dict:
    """What every row of one request shares."""
    return {TIME: utc_now(), REQUEST: request, MODEL_VERSION: version, LABEL: label}


def event_line(event: str, **fields) -> str:
    """A rollout event's line (with its newline)."""
    return json.dumps({TIME: utc_now(), EVENT: event, **fields}) + "\n"


def is_row(record: Mapping) -> bool:
    """A served row's record, not an event."""
    return FEATURES in record


def is_event(record: Mapping) -> bool:
    return EVENT in record


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
    JSON objects are skipped (the skew check reads strictly, and is the place that reports
    them)."""
    for file in log_files(path):
        with open(file, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record
