"""What staging saw through a user's mapping, and the refusals it earns before anything runs.

Two mistakes change a file's meaning without any error downstream: a value no code covers
(sex "U" when the mapping has M and F), and a wrong unit (grams read as pounds makes every baby
weigh thousands of pounds, or, the other way round, a few grams). Staging counts the first per
column and value, and keeps the first SAMPLE values of the label and of gestation, whose median
must fall in the range a birth weight (pounds) or a gestation (weeks) has; otherwise the unit
whose reading would fit is named: "weight looks like grams (median 3,300); declare unit = grams".
"""

from __future__ import annotations

import collections
import statistics

from babyweight import features as F
from babyweight import mapping as M

SAMPLE = 10_000  # values of each checked column kept for its median
MIN_VALUES = 20  # fewer values than this say nothing about a unit
_AT = {name: F.REQUIRED_COLUMNS.index(name) for name in M.PLAUSIBLE}
_WORDS = {F.LABEL_KEY: "weight", F.GESTATION_WEEKS: "gestation"}


class Seen:
    """Uncovered values by (column, value), and a sample of each checked column's values."""

    def __init__(self):
        self.unknown: collections.Counter = collections.Counter()
        self.samples: dict[str, list[float]] = {name: [] for name in M.PLAUSIBLE}
        self.kept = 0  # rows sampled

    def add(self, form, values: list[str]) -> None:
        """A kept row's staged model columns (F.REQUIRED_COLUMNS order)."""
        if self.kept >= SAMPLE:
            return  # every sample is full: nothing to do per row
        self.kept += 1
        for name, sample in self.samples.items():
            try:
                sample.append(float(values[_AT[name]]))
            except ValueError:
                pass

    def check(self, mapping: M.Mapping | None, where: str) -> None:
        """MappingError for a user's mapping that the values refute; nothing for built-ins."""
        if mapping is None:
            return
        if self.unknown and mapping.unknown_values == M.STOP:
            raise M.MappingError(uncovered_line(self.unknown, mapping, where))
        for name, sample in self.samples.items():
            problem = unit_problem(name, sample, mapping.fields[name])
            if problem:
                raise M.MappingError(f"{where}: mapping {mapping.source}: {problem}")


def uncovered_line(unknown: collections.Counter, mapping: M.Mapping, where: str) -> str:
    """One line: each column with values no code covers, the most frequent first, counted."""
    by_column: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
    for (column, value), count in unknown.most_common():
        by_column[column].append((value, count))
    parts = []
    for column, values in by_column.items():
        shown = ", ".join(f"{v!r} ({n} row{'s' * (n != 1)})" for v, n in values[:5])
        more = f" and {len(values) - 5} more" if len(values) > 5 else ""
        parts.append(f"column {column!r}: {shown}{more}")
    return (
        f"{where}: values no code of mapping {mapping.source} covers: {'; '.join(parts)}; "
        "add them to the column's codes or missing"
    )


def unit_problem(name: str, sample: list[float], field: M.FieldMap) -> str | None:
    """Why the column's median refutes its declared unit, naming the unit that fits; or None."""
    if len(sample) < MIN_VALUES:
        return None
    lo, hi = M.PLAUSIBLE[name]
    median = statistics.median(sample)
    if lo <= median <= hi:
        return None
    raw = median * field.per_unit  # back in the column's own unit
    declared = field.unit or next(iter(M.UNITS[name]))
    fits = M.units_fitting(name, raw)
    word = _WORDS[name]
    if fits:
        return (
            f"{word} looks like {fits[0]} (median {raw:,.4g}), not {declared}; "
            f'declare unit = "{fits[0]}" in [{name}]'
        )
    return (
        f"{word} in column {field.column!r} has median {raw:,.4g} {declared}, which no unit "
        f"({', '.join(M.UNITS[name])}) makes a plausible {word}"
    )
