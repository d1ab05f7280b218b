"""The input formats staging accepts: the columns of a CSV file, told apart by its header.

- `bigquery`: BigQuery's `samples.natality` names (weight_pounds, is_male, mother_age,
  plurality, gestation_weeks; year and month when present), as the course's query reads them.
- `cdc`: the CDC/NCHS natality public-use names (dbwt in grams, sex M/F, mager, dplural,
  combgest; dob_yy and dob_mm when present), as in natality2014_100k.csv.

Each input format's columns and how they differ (units, "not stated" codes, spellings) come from
the table of features (babyweight/features.py, each feature's `sources`). An input format turns
one raw row into the model's columns as text, read through babyweight/values.py (the one set of
rules for raw values), each in its training representation (plurality as a count). A value those
rules cannot read passes through as written, so that ExampleValidator stops the run on it by
name; a missing value becomes "" (staging drops the row, as the course's query does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from babyweight import features as F
from babyweight.errors import UsageError
from babyweight.values import InvalidValue, is_missing, read_source_category, read_whole_number

YEAR, MONTH = "year", "month"


class InputFormatError(UsageError, ValueError):
    """A header that matches no input format; the message lists each format's columns."""


def _text(value: str) -> str:
    return "" if is_missing(value) else value.strip()


def _whole(field: str) -> Callable[[str], str]:
    def read(value: str) -> str:
        if is_missing(value):
            return ""
        try:
            return str(read_whole_number(field, value))
        except InvalidValue:
            return value.strip()  # "forty": ExampleValidator names it

    return read


def _category(feature: F.Feature, source: F.Source) -> Callable[[str], str]:
    """A category by the source's spellings, as the training data holds it ("Twins(2)" -> 2);
    missing stays missing (ExampleValidator requires the feature)."""

    def read(value: str) -> str:
        if is_missing(value):
            return ""
        try:
            return str(feature.training_value(read_source_category(feature, source, value)))
        except InvalidValue:
            return value.strip()  # "maybe", 9: ExampleValidator names it

    return read


def _missing_if(sentinel: str, reader: Callable[[str], str]) -> Callable[[str], str]:
    """The CDC's "not stated" codes (dbwt 9999, combgest 99) are missing values."""
    return lambda value: "" if value.strip() == sentinel else reader(value)


def _per_unit(per_unit: float) -> Callable[[str], str]:
    """A number in the source's unit to the feature's (dbwt grams -> pounds)."""

    def read(value: str) -> str:
        text = _text(value)
        try:
            return repr(float(text) / per_unit) if text else ""
        except ValueError:
            return text

    return read


def reader(feature: F.Feature, source: F.Source) -> Callable[[str], str]:
    """Raw text of the source's column to the staged text of the feature."""
    if feature.categorical:
        read = _category(feature, source)
    elif feature.stored_dtype == "int64":
        read = _whole(feature.name)
    else:
        read = _per_unit(source.per_unit) if source.per_unit else _text
    return _missing_if(source.not_stated, read) if source.not_stated else read


def _from_table(input_format: str) -> tuple[dict, dict]:
    """(model column -> this format's column, model column -> its reader), from the table."""
    rows = [F.LABEL, *F.FEATURES]
    columns = {f.name: f.source(input_format).column for f in rows}
    return columns, {f.name: reader(f, f.source(input_format)) for f in rows}


@dataclasses.dataclass(frozen=True)
class InputFormat:
    """One CSV header format: its columns and how each raw value becomes the model's."""

    name: str
    description: str
    columns: dict[str, str]  # model column -> this format's column
    readers: dict[str, Callable[[str], str]]  # model column -> raw text to staged text
    year_month: tuple[str, str]  # this format's year and month columns (optional in a file)

    @property
    def required(self) -> list[str]:
        return [self.columns[c] for c in F.REQUIRED_COLUMNS]

    def model_row(self, raw: dict[str, str]) -> list[str]:
        """The model's columns (F.REQUIRED_COLUMNS order) of one row read in this format."""
        return [self.readers[c](raw.get(self.columns[c]) or "") for c in F.REQUIRED_COLUMNS]

    def year_month_of(self, raw: dict[str, str]) -> str | None:
        """'2014-5' when the row has a year and a month, else None."""
        year, month = (_whole(name)(raw.get(name) or "") for name in self.year_month)
        return f"{year}-{month}" if year and month else None


BIGQUERY = InputFormat(
    F.BIGQUERY_FORMAT,
    "BigQuery samples.natality names",
    *_from_table(F.BIGQUERY_FORMAT),
    year_month=(YEAR, MONTH),
)
CDC = InputFormat(
    F.CDC_FORMAT,
    "CDC natality public-use names: dbwt grams -> pounds, sex M/F -> is_male",
    *_from_table(F.CDC_FORMAT),
    year_month=("dob_yy", "dob_mm"),
)
INPUT_FORMATS = (BIGQUERY, CDC)


def header_names(header: list[str]) -> list[str]:
    """Column names as compared: stripped and lower-cased (CDC documents them in capitals)."""
    return [name.strip().lower() for name in header]


def detect(header: list[str], where: str) -> InputFormat:
    """The input format whose columns the header has; InputFormatError listing each otherwise."""
    names = set(header_names(header))
    for found in INPUT_FORMATS:
        if set(found.required) <= names:
            return found
    closest = max(INPUT_FORMATS, key=lambda f: len(set(f.required) & names))
    missing = [c for c in closest.required if c not in names]
    expected = "; ".join(f"{f.name} ({', '.join(f.required)})" for f in INPUT_FORMATS)
    raise InputFormatError(
        f"{where}: missing column(s) {missing} of the {closest.name} input format; a CSV needs "
        f"the columns of one input format: {expected}"
    )
