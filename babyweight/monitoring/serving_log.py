"""The serving log of `babyweight serve`, read for the skew check: strictly, line by line.

One JSON object per line, in babyweight/serving_log.py's format (which owns the field names).
Features are read by babyweight.instances (the server's rules, without the
schema's ranges, which TFDV checks) and turned into the training representation. A line that
cannot be read (not UTF-8, not strict JSON: NaN, Infinity, a number of thousands of digits, deep
nesting; a missing or wrong field) is a SkewInputError naming its line number: the skew check
exits 2 on it, never 1 ("skew found").

From the log to the training representation:
- each feature of the table becomes its training value (Feature.training_value);
- is_male stays a string: "True", "False" or "Unknown". Training data has no "Unknown", so many
  of them show up as skew, which is the point.
- plurality labels become their count, as in the training data ("Twins(2)" -> 2).
  "Multiple(2+)" counts as twins (features.plurality_count), so a log of many
  "Multiple(2+)" shows as more twins than in training.
- plurality is compared as a category (it is one in the model), not as a number: its training
  distribution is nearly all 1, where a histogram distance is noise.
"""

from __future__ import annotations

import dataclasses
import json
import math
import reprlib
from pathlib import Path

from babyweight import features as F
from babyweight import serving_log as log_format
from babyweight.errors import UsageError
from babyweight.instances import InvalidInstance, parse_instance
from babyweight.mapped_values import map_record


class SkewInputError(UsageError, ValueError):
    """The serving log, or the store it is compared with, cannot be used; says where and why."""


INT64 = (-(2**63), 2**63 - 1)  # what TFDV (and the model) can hold
_VERSION_DIGITS = 19  # TF Serving versions are int64
_MAX_DIGITS = 20  # no number in a log line needs more (2**64 has 20 digits)
UNKNOWN_VERSION = ""  # a line without model_version


@dataclasses.dataclass
class ServingLog:
    rows: list[dict]  # feature -> value, in the training representation
    versions: list[str]  # each row's model version

    def by_version(self) -> dict[str, list[dict]]:
        """Rows per model version, versions in numeric order (a line without one last)."""
        grouped: dict[str, list[dict]] = {}
        for version, row in zip(self.versions, self.rows, strict=True):
            grouped.setdefault(version, []).append(row)
        order = sorted(grouped, key=lambda v: (v == UNKNOWN_VERSION, len(v), v))
        return {v: grouped[v] for v in order}


def parse_features(features, where: str) -> dict:
    """One served row's features in the training representation, or an error naming the field."""
    if not isinstance(features, dict):
        raise SkewInputError(
            f"{where}: field features: expected an object, got {reprlib.repr(features)}"
        )
    missing = [k for k in F.FEATURE_KEYS if k not in features]
    if missing:
        raise SkewInputError(f"{where}: field features: missing {', '.join(missing)}")
    try:
        instance = parse_instance(features, check_domains=False)
    except InvalidInstance as e:
        raise SkewInputError(f"{where}: field features.{e}") from None
    for f in F.FEATURES:
        if (
            f.stored_dtype == "int64"
            and not INT64[0] <= f.training_value(instance[f.name]) <= INT64[1]
        ):
            raise SkewInputError(
                f"{where}: field features.{f.name}: outside the 64-bit integer range "
                f"(got {reprlib.repr(features[f.name])})"
            )
    return {f.name: f.training_value(instance[f.name]) for f in F.FEATURES}


def read_version(value, where: str) -> str:
    """A line's model_version as the server writes it (the version directory's number)."""
    if value is None or value == UNKNOWN_VERSION:
        return UNKNOWN_VERSION
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= _VERSION_DIGITS
    ):
        return value
    raise SkewInputError(
        f"{where}: field model_version: expected a version number (got {reprlib.repr(value)})"
    )


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > _MAX_DIGITS:  # a 5,000-digit number: int() would refuse it with a ValueError
        raise ValueError(f"a number of {digits} digits")
    return int(text)


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{reprlib.repr(text)} is out of range")
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse_line(raw: bytes, where: str) -> dict:
    """One line of the log as a JSON object, strictly: UTF-8, no NaN or Infinity, numbers that
    fit, bounded nesting. Anything else is a SkewInputError naming the line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SkewInputError(
            f"{where}: not UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})"
        ) from None
    try:
        record = json.loads(
            text, parse_int=_json_int, parse_float=_json_float, parse_constant=_no_constant
        )
    except json.JSONDecodeError as e:
        raise SkewInputError(f"{where}: not JSON ({e.msg} at column {e.colno})") from None
    except ValueError as e:
        raise SkewInputError(f"{where}: not JSON ({e})") from None
    except RecursionError:
        raise SkewInputError(f"{where}: not JSON (nested too deeply)") from None
    if not isinstance(record, dict) or not (
        log_format.is_row(record) or log_format.is_event(record)
    ):
        raise SkewInputError(f"{where}: field {log_format.FEATURES}: missing")
    return record


def read_serving_log(path, mapping=None) -> ServingLog:
    """Every row of a JSON-lines serving log; a bad line is an error naming its number. With a
    mapping (babyweight/mapping.py), each row's features are read by it first."""
    path = Path(path)
    if not path.is_file():
        raise SkewInputError(f"serving log {path}: no such file")
    log = ServingLog([], [])
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            record = parse_line(raw, where)
            if not log_format.is_row(record):
                continue  # a rollout event, not a served row
            features = record[log_format.FEATURES]
            if mapping is not None and isinstance(features, dict):
                features = map_record(mapping, features)
            log.rows.append(parse_features(features, where))
            version = read_version(record.get(log_format.MODEL_VERSION), where)
            log.versions.append(version)
    if not log.rows:
        raise SkewInputError(f"serving log {path}: no rows")
    return log
