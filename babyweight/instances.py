"""Prediction inputs as people and TF Serving clients write them: parse, check, normalize.

One place decides what a valid instance is, for the REST server, the web page and batch
prediction alike. Domains (the integer ranges, the categories) come from the curated schema and
babyweight/features.py, so they match what the pipeline validated at training time. Every error
names the field, the value and what was expected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from babyweight import features as F
from babyweight.schema import integer_domains
from babyweight.values import (
    NO_LIMITS,
    InvalidValue,
    distinct,
    is_missing,
    read_distinct,
    read_is_male,
    read_plurality,
    read_whole_number,
)

import numpy as np


@dataclasses.dataclass(frozen=True)
class Instance:
    """One normalized row: is_male in IS_MALE_VALUES, plurality in PLURALITY_VALUES."""

    is_male: str
    mother_age: int
    plurality: str
    gestation_weeks: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def plurality_count(self) -> int | None:
        """The number of babies, or None for "Multiple(2+)" (more than one, count unknown)."""
        index = F.PLURALITY_VALUES.index(self.plurality)
        return None if self.plurality == F.MULTIPLE else index + 1


class InvalidInstance(InvalidValue):
    """One or more fields of an instance are missing or wrong. `errors` holds each (an
    InvalidValue naming the field); `field`, `value` and `reason` are the first one's, and the
    message names every one, separated by "; "."""

    def __init__(self, field: str, value, reason: str, *, errors: list[InvalidValue] = ()):
        super().__init__(field, value, reason)
        self.errors = list(errors) or [InvalidValue(field, value, reason)]
        if len(self.errors) > 1:
            self.args = ("; ".join(str(e) for e in self.errors),)

    @classmethod
    def of(cls, errors: list[InvalidValue]) -> InvalidInstance:
        first = errors[0]
        return cls(first.field, first.value, first.reason, errors=errors)


_NO_LIMITS = {F.MOTHER_AGE: NO_LIMITS, F.GESTATION_WEEKS: NO_LIMITS}


def field_readers(schema_path: str | None = None, *, check_domains: bool = True) -> dict:
    """Feature name -> the function that reads one raw value of it (babyweight/values.py), with
    the schema's integer ranges (or none, with check_domains=False)."""
    domains = integer_domains(schema_path) if check_domains else _NO_LIMITS
    (age_lo, age_hi), (weeks_lo, weeks_hi) = domains[F.MOTHER_AGE], domains[F.GESTATION_WEEKS]
    return {
        F.IS_MALE: read_is_male,
        F.MOTHER_AGE: lambda v: read_whole_number(F.MOTHER_AGE, v, age_lo, age_hi),
        F.PLURALITY: read_plurality,
        F.GESTATION_WEEKS: lambda v: read_whole_number(F.GESTATION_WEEKS, v, weeks_lo, weeks_hi),
    }


def _read_fields(obj, readers: dict) -> tuple[dict, list[InvalidValue]]:
    """(canonical values, errors) of the four features of a mapping: every field is read, so
    every wrong one is named; missing fields first, then wrong ones, each in FEATURE_KEYS order
    (the first error is the one batch prediction's dead-letter rows report)."""
    values, missing, wrong = {}, [], []
    for key in F.FEATURE_KEYS:
        if key not in obj or is_missing(obj[key]):
            missing.append(InvalidValue(key, obj.get(key), "missing"))
            continue
        try:
            values[key] = readers[key](obj[key])
        except InvalidValue as e:
            wrong.append(e)
    return values, missing + wrong


def parse_instance(
    obj, *, schema_path: str | None = None, prefix: str = "", check_domains: bool = True
) -> Instance:
    """A mapping of the four raw features to an Instance; other keys are ignored. Raises
    InvalidInstance naming every wrong field (each with `prefix`, e.g. "instances[3].").

    check_domains=False reads the values the same way but leaves the schema's integer ranges to
    the caller (the skew check lets TFDV report values out of range)."""
    if not isinstance(obj, Mapping):
        raise InvalidInstance(prefix.rstrip(".") or "instance", obj, "expected an object")
    readers = field_readers(schema_path, check_domains=check_domains)
    values, errors = _read_fields(obj, readers)
    if errors:
        raise InvalidInstance.of(
            [InvalidValue(prefix + e.field, e.value, e.reason) for e in errors]
        )
    return Instance(**values)


def instance_errors(obj, *, schema_path: str | None = None) -> dict[str, InvalidValue]:
    """Every wrong field of one instance, by field name (empty when it is valid)."""
    if not isinstance(obj, Mapping):
        return {"instance": InvalidValue("instance", obj, "expected an object")}
    _, errors = _read_fields(obj, field_readers(schema_path))
    return {e.field: e for e in errors}


def parse_instances(objs: Iterable, *, schema_path: str | None = None) -> list[Instance]:
    """Many instances; an error names the index, e.g. `instances[3].plurality`."""
    return [
        parse_instance(obj, schema_path=schema_path, prefix=f"instances[{i}].")
        for i, obj in enumerate(objs)
    ]


def signature_inputs(instances: list[Instance]) -> dict[str, np.ndarray]:
    """Arrays for the model's serving_default signature (see models/signatures.py)."""
    return {
        F.IS_MALE: np.array([i.is_male for i in instances], dtype=object),
        F.MOTHER_AGE: np.array([i.mother_age for i in instances], dtype=np.int64),
        F.PLURALITY: np.array([i.plurality for i in instances], dtype=object),
        F.GESTATION_WEEKS: np.array([i.gestation_weeks for i in instances], dtype=np.int64),
    }


@dataclasses.dataclass
class InstanceColumns:
    """Many instances read at once (read_instance_columns): which rows are valid, the signature
    inputs of the valid rows (strings as bytes), and the error of every other row."""

    valid: np.ndarray  # bool, one per row
    inputs: dict[str, np.ndarray]
    errors: dict[int, InvalidInstance]  # row -> its first wrong field, as parse_instance says

    def __len__(self) -> int:
        return int(self.valid.sum())


def read_instance_columns(
    columns: Mapping, rows: int, *, schema_path: str | None = None
) -> InstanceColumns:
    """Instances from columns of raw values (feature name -> a sequence or a pyarrow array; a
    column that is not there is missing in every row), with the rules and the first error of
    parse_instance. Each rule runs once per distinct value of a column (values.distinct) and
    numpy masks map the outcome back to the rows, so a column of a million ages costs a few
    dozen reads."""
    readers = field_readers(schema_path)
    n_keys = len(F.FEATURE_KEYS)
    missing_at = np.full(rows, n_keys)  # index in FEATURE_KEYS of the first missing field
    wrong_at = np.full(rows, n_keys)  # ... and of the first wrong one
    read: dict[str, tuple[np.ndarray, list, list, list]] = {}
    for index in reversed(range(n_keys)):  # last to first: the first field's mark stays
        key = F.FEATURE_KEYS[index]
        codes, uniques = distinct(columns[key]) if key in columns else (np.full(rows, -1), [])
        values, errors = read_distinct(readers[key], uniques)
        # One flag per distinct value, and a last one for code -1 (None), which is missing.
        missing = np.array([is_missing(u) for u in uniques] + [True])
        wrong = np.array([e is not None for e in errors] + [False])
        missing_at[missing[codes]] = index
        wrong_at[wrong[codes]] = index
        read[key] = codes, uniques, values, errors
    valid = (missing_at == n_keys) & (wrong_at == n_keys)
    errors = {}
    for row in np.flatnonzero(~valid).tolist():
        if missing_at[row] < n_keys:
            key = F.FEATURE_KEYS[missing_at[row]]
            codes, uniques, _, _ = read[key]
            value = uniques[codes[row]] if codes[row] >= 0 else None
            errors[row] = InvalidInstance(key, value, "missing")
        else:
            codes, _, _, field_errors = read[F.FEATURE_KEYS[wrong_at[row]]]
            errors[row] = field_errors[codes[row]]
    inputs = {}
    for key in F.FEATURE_KEYS:
        codes, _, values, _ = read[key]
        if key in (F.MOTHER_AGE, F.GESTATION_WEEKS):
            table = np.array([0 if v is None else v for v in values] + [0], dtype=np.int64)
        else:
            table = np.array([(v or "").encode() for v in values] + [b""], dtype=bytes)
        inputs[key] = table[codes[valid]]
    return InstanceColumns(valid, inputs, errors)
