"""The input formats staging accepts: a mapping (babyweight/mapping.py) turned into readers.

- `bigquery`: BigQuery's `samples.natality` names (weight_pounds, is_male, mother_age,
  plurality, gestation_weeks; year and month when present), as the course's query reads them.
- `cdc`: the CDC/NCHS natality public-use names (dbwt in grams, sex M/F, mager, dplural,
  combgest; dob_yy and dob_mm when present), as in natality2014_100k.csv.

Both are TOML mapping files shipped in babyweight/mappings/, read as a user's `--mapping FILE`
is; without --mapping a file's format is told from its header. An input format turns one raw
row into the model's columns as text, read through babyweight/values.py (the one set of rules
for raw values), each in its training representation (plurality as a count), in the feature's
unit (grams -> pounds, days -> weeks). A value no code or rule covers is counted per column
(`unknown`): a user's mapping stops staging on it, naming column, value and count; the built-in
formats pass it on as written, so that ExampleValidator stops the run on it by name. A missing
value (or a declared missing code) becomes "" (staging drops the row, as the course's query does).
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable

from babyweight import features as F
from babyweight import mapping as M
from babyweight.errors import UsageError
from babyweight.mapped_values import Uncovered, reader, whole

YEAR, MONTH = "year", "month"


class InputFormatError(UsageError, ValueError):
    """A header that matches no input format; the message lists each format's columns."""


@dataclasses.dataclass(frozen=True)
class InputFormat:
    """One header format (a mapping): its columns and how each raw value becomes the model's."""

    name: str
    description: str
    columns: dict[str, str]  # model column -> this format's column
    readers: dict[str, Callable[[str], str]]  # model column -> raw text to staged text
    year_month: tuple[str, str] | None  # this format's year and month columns (optional)
    mapping: M.Mapping

    @property
    def required(self) -> list[str]:
        return [self.columns[c] for c in F.REQUIRED_COLUMNS]

    def model_row(self, raw: dict[str, str], unknown: collections.Counter | None = None):
        """The model's columns (F.REQUIRED_COLUMNS order) of one row read in this format. A
        value no rule reads goes on as written and is counted in `unknown` by (column, value)."""
        row = []
        for c in F.REQUIRED_COLUMNS:
            value = raw.get(self.columns[c]) or ""
            try:
                row.append(self.readers[c](value))
            except Uncovered:
                row.append(value.strip())
                if unknown is not None:
                    unknown[(self.columns[c], value.strip())] += 1
        return row

    def year_month_of(self, raw: dict[str, str]) -> str | None:
        """'2014-5' when the row has a year and a month, else None."""
        if not self.year_month:
            return None
        try:
            year, month = (whole(name)(raw.get(name) or "") for name in self.year_month)
        except Uncovered:
            return None
        return f"{year}-{month}" if year and month else None


def from_mapping(mapping: M.Mapping) -> InputFormat:
    """The input format that reads rows by a mapping."""
    return InputFormat(
        mapping.name,
        mapping.description,
        {c: f.column for c, f in mapping.fields.items()},
        {c: reader(f) for c, f in mapping.fields.items()},
        mapping.year_month,
        mapping,
    )


BIGQUERY = from_mapping(M.builtin(F.BIGQUERY_FORMAT))
CDC = from_mapping(M.builtin(F.CDC_FORMAT))
INPUT_FORMATS = (BIGQUERY, CDC)


def header_names(header: list[str]) -> list[str]:
    """Column names as compared: stripped and lower-cased (CDC documents them in capitals)."""
    return [name.strip().lower() for name in header]


def with_mapping(header: list[str], where: str, mapping: M.Mapping) -> InputFormat:
    """The input format of a user's mapping, when the header has its columns; MappingError
    naming each missing column (with a "did you mean") otherwise."""
    problem = mapping.missing_columns(header, where)
    if problem:
        raise M.MappingError(problem)
    return from_mapping(mapping)


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
        f"the columns of one input format (or give --mapping FILE, see `babyweight inspect`): "
        f"{expected}"
    )
