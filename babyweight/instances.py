"""Prediction inputs as people and TF Serving clients write them: parse, check, normalize.

One place decides what a valid instance is, for the REST server, the web page and batch
prediction alike. Domains (the integer ranges, the categories) come from the curated schema and
models/features.py, so they match what the pipeline validated at training time. Every error names
the field, the value and what was expected.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import reprlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from models import features as F

# plurality spellings, lower-cased, to their label in F.PLURALITY_VALUES
PLURALITY_SPELLINGS = {label.lower(): label for label in F.PLURALITY_VALUES}
PLURALITY_SPELLINGS.update({str(i + 1): F.PLURALITY_VALUES[i] for i in range(F.MAX_PLURALITY)})


# Values in messages are cut short: a request may send a megabyte string or a 400-digit number.
_VALUE_REPR = reprlib.Repr()
_VALUE_REPR.maxstring = _VALUE_REPR.maxother = 80
_VALUE_REPR.maxlong = 40


class InvalidInstance(ValueError):
    """A field of an instance is missing or wrong; `field` names it, `value` is what came."""

    def __init__(self, field: str, value, reason: str):
        self.field, self.value, self.reason = field, value, reason
        super().__init__(f"{field}: {reason} (got {_VALUE_REPR.repr(value)})")


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


@functools.lru_cache(maxsize=4)
def integer_domains(schema_path: str | None = None) -> dict[str, tuple[int, int]]:
    """(min, max) of mother_age and gestation_weeks from the curated schema."""
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    from pipeline import configs

    schema = text_format.Parse(
        Path(schema_path or configs.SCHEMA_PATH).read_text(), schema_pb2.Schema()
    )
    domains = {f.name: (f.int_domain.min, f.int_domain.max) for f in schema.feature}
    return {k: domains[k] for k in (F.MOTHER_AGE, F.GESTATION_WEEKS)}


def _is_male(value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float) and value in (0, 1):
        return "True" if value == 1 else "False"
    if isinstance(value, str) and value.strip():
        found = F.IS_MALE_SPELLINGS.get(value.strip().lower())
        if found:
            return found
    raise InvalidInstance(
        F.IS_MALE, value, "expected True, False or Unknown (also true/false, 1/0)"
    )


def _plurality(value) -> str:
    if isinstance(value, bool):
        raise InvalidInstance(F.PLURALITY, value, "expected a plurality, not a boolean")
    spelling = value
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        spelling = str(int(value))  # an int, never float(): a huge JSON integer would overflow
    if isinstance(spelling, str):
        found = PLURALITY_SPELLINGS.get(spelling.strip().lower())
        if found:
            return found
    raise InvalidInstance(
        F.PLURALITY, value, f"expected one of {', '.join(F.PLURALITY_VALUES)} or 1-5"
    )


def _integer(field: str, value, lo: int, hi: int) -> int:
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise InvalidInstance(field, value, "expected a whole number") from None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise InvalidInstance(field, value, "expected a whole number")
    if isinstance(number, float):  # ints stay ints: float() of a huge JSON integer overflows
        if not math.isfinite(number) or not number.is_integer():
            raise InvalidInstance(field, value, "expected a whole number")
        number = int(number)
    if not lo <= number <= hi:
        raise InvalidInstance(field, value, f"outside the schema's range {lo}-{hi}")
    return number


def parse_instance(obj, *, schema_path: str | None = None, prefix: str = "") -> Instance:
    """A mapping of the four raw features to an Instance; other keys are ignored."""
    if not isinstance(obj, Mapping):
        raise InvalidInstance(prefix.rstrip(".") or "instance", obj, "expected an object")
    for key in F.FEATURE_KEYS:
        if key not in obj or obj[key] is None:
            raise InvalidInstance(prefix + key, None, "missing")
    domains = integer_domains(schema_path)
    try:
        return Instance(
            is_male=_is_male(obj[F.IS_MALE]),
            mother_age=_integer(F.MOTHER_AGE, obj[F.MOTHER_AGE], *domains[F.MOTHER_AGE]),
            plurality=_plurality(obj[F.PLURALITY]),
            gestation_weeks=_integer(
                F.GESTATION_WEEKS, obj[F.GESTATION_WEEKS], *domains[F.GESTATION_WEEKS]
            ),
        )
    except InvalidInstance as e:
        if prefix:
            raise InvalidInstance(prefix + e.field, e.value, e.reason) from None
        raise


def instance_errors(obj, *, schema_path: str | None = None) -> dict[str, InvalidInstance]:
    """Every wrong field of one instance, by field name (empty when it is valid). parse_instance
    stops at the first; a form shows them all at once."""
    if not isinstance(obj, Mapping):
        return {"instance": InvalidInstance("instance", obj, "expected an object")}
    domains = integer_domains(schema_path)
    parsers = {
        F.IS_MALE: _is_male,
        F.MOTHER_AGE: lambda v: _integer(F.MOTHER_AGE, v, *domains[F.MOTHER_AGE]),
        F.PLURALITY: _plurality,
        F.GESTATION_WEEKS: lambda v: _integer(F.GESTATION_WEEKS, v, *domains[F.GESTATION_WEEKS]),
    }
    errors = {}
    for key in F.FEATURE_KEYS:
        if key not in obj or obj[key] is None:
            errors[key] = InvalidInstance(key, None, "missing")
            continue
        try:
            parsers[key](obj[key])
        except InvalidInstance as e:
            errors[key] = e
    return errors


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
