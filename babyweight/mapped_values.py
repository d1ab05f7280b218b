"""A mapping's readers: one raw value of a mapped column to the model's text, and whole columns.

Staging (babyweight/local/input_formats.py) reads rows with these, batch prediction reads its
record batches with `map_columns`, so a user's mapping means the same everywhere. A value is
read in the feature's unit (grams -> pounds, days -> weeks), categories by the mapping's codes
or the feature's spellings (babyweight/values.py), as the training data holds it (plurality as
a count); a declared missing code, and any missing spelling, is "". A value that no rule reads
raises Uncovered; callers count it or let it go on as written.
"""

from __future__ import annotations

from collections.abc import Callable

from babyweight import features as F
from babyweight import mapping as M
from babyweight.errors import UsageError
from babyweight.values import InvalidValue, is_missing, read_category, read_whole_number
from babyweight.values import reader as value_reader


class Uncovered(UsageError, ValueError):
    """A raw value that no code or rule of the mapping reads."""


def whole(field: str) -> Callable[[str], str]:
    def read(value: str) -> str:
        if is_missing(value):
            return ""
        try:
            return str(read_whole_number(field, value))
        except InvalidValue:
            raise Uncovered(value) from None  # "forty"

    return read


def _category(feature: F.Feature, field: M.FieldMap) -> Callable[[str], str]:
    """A category by the mapping's codes, else by the feature's spellings, as the training data
    holds it ("Twins(2)" -> 2)."""
    if field.codes is None:
        read_one = value_reader(feature)
    else:

        def read_one(value: str) -> str:
            return read_category(field.column, value, field.codes, "no code covers it")

    def read(value: str) -> str:
        if is_missing(value):
            return ""
        try:
            return str(feature.training_value(read_one(value)))
        except InvalidValue:
            raise Uncovered(value) from None  # "maybe", 9

    return read


def _number(feature: F.Feature, per_unit: float) -> Callable[[str], str]:
    """A number in the column's unit to the feature's (dbwt grams -> pounds, days -> weeks)."""
    if per_unit == 1.0:
        return whole(feature.name) if feature.stored_dtype == "int64" else _text

    def read(value: str) -> str:
        text = "" if is_missing(value) else value.strip()
        if not text:
            return ""
        try:
            number = float(text) / per_unit
        except ValueError:
            raise Uncovered(value) from None
        return str(round(number)) if feature.stored_dtype == "int64" else repr(number)

    return read


def _text(value: str) -> str:
    text = "" if is_missing(value) else value.strip()
    if text:
        try:
            float(text)
        except ValueError:
            raise Uncovered(value) from None
    return text


def reader(field: M.FieldMap) -> Callable[[str], str]:
    """Raw text of the mapped column to the staged text of the feature; Uncovered otherwise."""
    feature = F.feature(field.name)
    if feature.categorical:
        read = _category(feature, field)
    else:
        read = _number(feature, field.per_unit)
    if not field.missing:
        return read
    return lambda value: "" if value.strip() in field.missing else read(value)


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return repr(value) if isinstance(value, float) else str(value)


def map_columns(mapping: M.Mapping, columns: dict, rows: int) -> dict:
    """Record-batch columns (pyarrow arrays or lists) by the mapping: each feature's column
    read into the feature's name (an uncovered value goes on as written, for the instance
    check to name); every other column (a key column) as it came."""
    by_lower = {str(name).lower(): name for name in columns}
    out = dict(columns)
    for f in F.FEATURES:
        field = mapping.fields[f.name]
        name = by_lower.get(field.column)
        if name is None:
            continue
        column = columns[name]
        values = column.to_pylist() if hasattr(column, "to_pylist") else list(column)
        read = reader(field)
        mapped = []
        for value in values[:rows]:
            text = _as_text(value)
            try:
                mapped.append(read(text))
            except Uncovered:
                mapped.append(text)
        out[f.name] = mapped
    return out


def map_record(mapping: M.Mapping, record: dict) -> dict:
    """One record (a serving log's features) by the mapping: each feature read from its column
    (names in any case) into the feature's name; an absent column stays absent, for the
    caller to name; an uncovered value goes on as written."""
    by_lower = {str(name).lower(): name for name in record}
    out = {}
    for f in F.FEATURES:
        field = mapping.fields[f.name]
        name = by_lower.get(field.column)
        if name is None:
            continue
        text = _as_text(record[name])
        try:
            out[f.name] = reader(field)(text)
        except Uncovered:
            out[f.name] = text
    return out
