"""Prediction inputs as people and TF Serving clients write them: parse, check, normalize.

One place decides what a valid instance is, for the REST server, the web page and batch
prediction alike. It loops over the table of features (babyweight/features.py): their domains
(the categories, the integer ranges that the curated schema holds too, so they match what the
pipeline validated at training time) and how each is read (babyweight/values.py). Every error
names the field, the value and what was expected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from babyweight import features as F
from babyweight.values import InvalidValue, distinct, is_missing, read_distinct, reader

import numpy as np


class Instance(Mapping):
    """One normalized row: each feature of the table -> its canonical value (a category of its
    domain, or an int), by key or attribute. Read-only; as_dict() gives a copy."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping):
        missing = [k for k in F.FEATURE_KEYS if k not in values]
        if missing:
            raise TypeError(f"Instance: missing {', '.join(missing)}")
        self._values = {k: values[k] for k in F.FEATURE_KEYS}

    def __getitem__(self, key: str):
        return self._values[key]

    def __getattr__(self, name: str):  # instance.mother_age, as instance["mother_age"]
        if name.startswith("_"):  # not a feature (and _values itself before __init__)
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __hash__(self) -> int:
        return hash(tuple(self._values.items()))

    def __repr__(self) -> str:
        return f"Instance({self._values!r})"

    def as_dict(self) -> dict:
        return dict(self._values)


def example_instance() -> Instance:
    """Every feature's example value (the table's): a valid row, e.g. to warm a model up."""
    return Instance({f.name: f.example for f in F.FEATURES})


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


def field_readers(*, check_domains: bool = True) -> dict:
    """Feature name -> the function that reads one raw value of it (babyweight/values.py), with
    each numeric feature's range from the table (or none, with check_domains=False)."""
    return {
        f.name: reader(f, *f.domain) if check_domains and not f.categorical else reader(f)
        for f in F.FEATURES
    }


def _read_fields(obj, readers: dict) -> tuple[dict, list[InvalidValue]]:
    """(canonical values, errors) of the features of a mapping: every field is read, so
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


def parse_instance(obj, *, prefix: str = "", check_domains: bool = True) -> Instance:
    """A mapping of the raw features to an Instance; other keys are ignored. Raises
    InvalidInstance naming every wrong field (each with `prefix`, e.g. "instances[3].").

    check_domains=False reads the values the same way but leaves the schema's integer ranges to
    the caller (the skew check lets TFDV report values out of range)."""
    if not isinstance(obj, Mapping):
        raise InvalidInstance(prefix.rstrip(".") or "instance", obj, "expected an object")
    readers = field_readers(check_domains=check_domains)
    values, errors = _read_fields(obj, readers)
    if errors:
        raise InvalidInstance.of(
            [InvalidValue(prefix + e.field, e.value, e.reason) for e in errors]
        )
    return Instance(values)


def instance_errors(obj) -> dict[str, InvalidValue]:
    """Every wrong field of one instance, by field name (empty when it is valid)."""
    if not isinstance(obj, Mapping):
        return {"instance": InvalidValue("instance", obj, "expected an object")}
    _, errors = _read_fields(obj, field_readers())
    return {e.field: e for e in errors}


def parse_instances(objs: Iterable) -> list[Instance]:
    """Many instances; an error names the index, e.g. `instances[3].plurality`."""
    return [parse_instance(obj, prefix=f"instances[{i}].") for i, obj in enumerate(objs)]


_NUMPY_DTYPES = {"int64": np.int64, "float32": np.float32, "string": object}


def signature_inputs(instances: list[Instance]) -> dict[str, np.ndarray]:
    """Arrays for the model's serving_default signature (see models/signatures.py), one per
    feature in the table's dtype."""
    return {
        f.name: np.array([i[f.name] for i in instances], dtype=_NUMPY_DTYPES[f.dtype])
        for f in F.FEATURES
    }


def _input_column(feature: F.Feature, values: list) -> np.ndarray:
    """A feature's distinct canonical values as an array of its dtype (strings as bytes), with
    a filler for None and one more for code -1 (rows that are not valid)."""
    if feature.dtype == "string":
        return np.array([(v or "").encode() for v in values] + [b""], dtype=bytes)
    filled = [0 if v is None else v for v in values] + [0]
    return np.array(filled, dtype=_NUMPY_DTYPES[feature.dtype])


@dataclasses.dataclass
class InstanceColumns:
    """Many instances read at once (read_instance_columns): which rows are valid, the signature
    inputs of the valid rows (strings as bytes), and the error of every other row."""

    valid: np.ndarray  # bool, one per row
    inputs: dict[str, np.ndarray]
    errors: dict[int, InvalidInstance]  # row -> its first wrong field, as parse_instance says

    def __len__(self) -> int:
        return int(self.valid.sum())


def read_instance_columns(columns: Mapping, rows: int) -> InstanceColumns:
    """Instances from columns of raw values (feature name -> a sequence or a pyarrow array; a
    column that is not there is missing in every row), with the rules and the first error of
    parse_instance. Each rule runs once per distinct value of a column (values.distinct) and
    numpy masks map the outcome back to the rows, so a column of a million ages costs a few
    dozen reads."""
    readers = field_readers()
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
    for feature in F.FEATURES:
        codes, _, values, _ = read[feature.name]
        inputs[feature.name] = _input_column(feature, values)[codes[valid]]
    return InstanceColumns(valid, inputs, errors)
