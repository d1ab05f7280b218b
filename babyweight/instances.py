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


def _read_fields(obj, domains: dict) -> tuple[dict, list[InvalidValue]]:
    """(canonical values, errors) of the four features of a mapping: every field is read, so
    every wrong one is named, in FEATURE_KEYS order."""
    readers = {
        F.IS_MALE: read_is_male,
        F.MOTHER_AGE: lambda v: read_whole_number(F.MOTHER_AGE, v, *domains[F.MOTHER_AGE]),
        F.PLURALITY: read_plurality,
        F.GESTATION_WEEKS: lambda v: read_whole_number(
            F.GESTATION_WEEKS, v, *domains[F.GESTATION_WEEKS]
        ),
    }
    values, errors = {}, []
    for key in F.FEATURE_KEYS:
        if key not in obj or obj[key] is None:
            errors.append(InvalidValue(key, None, "missing"))
            continue
        try:
            values[key] = readers[key](obj[key])
        except InvalidValue as e:
            errors.append(e)
    return values, errors


def parse_instance(
    obj, *, schema_path: str | None = None, prefix: str = "", check_domains: bool = True
) -> Instance:
    """A mapping of the four raw features to an Instance; other keys are ignored. Raises
    InvalidInstance naming every wrong field (each with `prefix`, e.g. "instances[3].").

    check_domains=False reads the values the same way but leaves the schema's integer ranges to
    the caller (the skew check lets TFDV report values out of range)."""
    if not isinstance(obj, Mapping):
        raise InvalidInstance(prefix.rstrip(".") or "instance", obj, "expected an object")
    domains = integer_domains(schema_path) if check_domains else _NO_LIMITS
    values, errors = _read_fields(obj, domains)
    if errors:
        raise InvalidInstance.of(
            [InvalidValue(prefix + e.field, e.value, e.reason) for e in errors]
        )
    return Instance(**values)


def instance_errors(obj, *, schema_path: str | None = None) -> dict[str, InvalidValue]:
    """Every wrong field of one instance, by field name (empty when it is valid)."""
    if not isinstance(obj, Mapping):
        return {"instance": InvalidValue("instance", obj, "expected an object")}
    _, errors = _read_fields(obj, integer_domains(schema_path))
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
