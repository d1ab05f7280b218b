"""How raw values are read: one set of rules for every reader of birth records.

The REST server, the web page, batch prediction and the skew check read a value through these
functions, so `"true"`, `1` and `True` mean the same everywhere. Each returns the value in its
canonical form (a category of the feature's domain in babyweight/features.py, a whole number
as int) or raises InvalidValue naming the field, the value and what was expected.
"""

from __future__ import annotations

import math
import re
import reprlib

from babyweight import features as F
from babyweight.errors import UsageError

import numpy as np

# Values in messages are cut short: a request may send a megabyte string or a 400-digit number.
_VALUE_REPR = reprlib.Repr()
_VALUE_REPR.maxstring = _VALUE_REPR.maxother = 80
_VALUE_REPR.maxlong = 40


class InvalidValue(UsageError, ValueError):
    """A field is missing or wrong; `field` names it, `value` is what came, `reason` says why."""

    def __init__(self, field: str, value, reason: str):
        self.field, self.value, self.reason = field, value, reason
        super().__init__(f"{field}: {reason} (got {_VALUE_REPR.repr(value)})")


NO_LIMITS = (-math.inf, math.inf)


def is_missing(value) -> bool:
    """No value: None (JSON null, BigQuery NULL), a blank string (a CSV cell, an empty form
    field) or how files spell an empty cell (NA, NaN, null), any case. Every field reports it
    as "missing"."""
    return value is None or (
        isinstance(value, str) and value.strip().lower() in F.MISSING_SPELLINGS
    )


def _whole_number_text(text: str) -> str:
    """'2.0' -> '2' (pandas writes a column of integers with gaps as floats); else unchanged."""
    whole, dot, zeros = text.strip().partition(".")
    if dot and whole.isascii() and whole.isdigit() and zeros.strip("0") == "":
        return whole
    return text


def read_category(
    field: str, value, spellings: dict[str, str], expected: str, *, booleans: bool = False
) -> str:
    """A category by its spellings (lower-cased spelling -> canonical value): strings in any
    case ("2.0" as "2"), whole numbers as their digits, JSON true/false when `booleans`."""
    spelling = value
    if isinstance(value, bool):
        if not booleans:
            raise InvalidValue(field, value, f"expected a {field}, not a boolean")
        spelling = str(value)
    elif isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        spelling = str(int(value))  # an int, never float(): a huge JSON integer would overflow
    if isinstance(spelling, str) and spelling.strip():
        found = spellings.get(_whole_number_text(spelling).strip().lower())
        if found:
            return found
    raise InvalidValue(field, value, expected)


def reader(feature: F.Feature, lo=NO_LIMITS[0], hi=NO_LIMITS[1]):
    """The function that reads one raw value of a feature of the table: by its spellings
    (categorical) or as a whole number in lo..hi (numeric)."""
    if feature.categorical:
        return lambda value: read_category(
            feature.name,
            value,
            feature.spellings,
            feature.expected,
            booleans=feature.takes_booleans,
        )
    return lambda value: read_whole_number(feature.name, value, lo, hi)


def read_source_category(feature: F.Feature, source: F.Source, value) -> str:
    """A category from an input format's column: by the column's own spellings (CDC's sex
    M/F) where it has them, else by the feature's."""
    if source.spellings is None:
        return reader(feature)(value)
    return read_category(source.column, value, source.spellings, source.expected)


def read_is_male(value) -> str:
    return reader(F.feature(F.IS_MALE))(value)


def read_sex(value) -> str:
    """The CDC public-use `sex` column (M or F, any case) as an is_male value."""
    is_male = F.feature(F.IS_MALE)
    return read_source_category(is_male, is_male.source(F.CDC_FORMAT), value)


def read_plurality(value) -> str:
    return reader(F.feature(F.PLURALITY))(value)


# A number as text: ASCII digits, an optional sign, decimal point and exponent. Python's float()
# alone would also take "２６", "٣٩" and "1_000", which no data source means.
_ASCII_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def read_whole_number(field: str, value, lo=NO_LIMITS[0], hi=NO_LIMITS[1]) -> int:
    number = value
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() and any(c.isdigit() for c in text):
            raise InvalidValue(field, value, "expected a whole number in ASCII digits 0-9")
        if not _ASCII_NUMBER.fullmatch(text):
            raise InvalidValue(field, value, "expected a whole number")
        number = float(text)
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise InvalidValue(field, value, "expected a whole number")
    if isinstance(number, float):  # ints stay ints: float() of a huge JSON integer overflows
        if not math.isfinite(number) or not number.is_integer():
            raise InvalidValue(field, value, "expected a whole number")
        number = int(number)
    if not lo <= number <= hi:
        raise InvalidValue(field, value, f"outside the schema's range {lo}-{hi}")
    return number


# ---------------------------------------------------------------------------------- columns
# Batch prediction reads a column once per distinct value, with the rules above.


def distinct(values) -> tuple[np.ndarray, list]:
    """(codes, uniques) of a column: values[i] is uniques[codes[i]], and code -1 is None.

    A column of a few distinct values (ages, weeks, spellings) is then read once per distinct
    value with the rules above, and mapped back to its rows with the codes. Values are told
    apart by type as well as value, so `True`, `1` and `1.0` stay apart (they read differently).
    `values` is a sequence of Python values, or a pyarrow string array (read in C++)."""
    if hasattr(values, "dictionary_encode"):  # a pyarrow Array
        encoded = values.dictionary_encode()
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        return codes.astype(np.int64, copy=False), encoded.dictionary.to_pylist()
    index: dict = {}
    uniques: list = []
    codes = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        if value is None:
            codes[i] = -1
            continue
        try:
            key = (type(value), value)
            code = index.get(key)
        except TypeError:  # unhashable (a list or an object from JSON): one entry per row
            key, code = None, None
        if code is None:
            code = len(uniques)
            uniques.append(value)
            if key is not None:
                index[key] = code
        codes[i] = code
    return codes, uniques


def read_distinct(read, uniques: list) -> tuple[list, list[InvalidValue | None]]:
    """`read` applied to each distinct value: (canonical values, errors), None where it failed
    and in the other list where it did not."""
    values, errors = [], []
    for value in uniques:
        try:
            values.append(read(value))
            errors.append(None)
        except InvalidValue as e:
            values.append(None)
            errors.append(e)
    return values, errors
