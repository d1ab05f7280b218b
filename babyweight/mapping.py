"""A mapping from a file's own columns to the model's features and label, read from TOML.

A mapping file names, per model column (the label and each feature of babyweight/features.py),
the source `column`, its `unit` (grams, kilograms, pounds or ounces for the weight; weeks or
days for gestation), its value `codes` (raw value -> the feature's value, e.g. M = "True"), and
its `missing` codes (e.g. "9999", "99"). `year` and `month` name the columns of the course's
year-month split key, when the file has them. `unknown_values` says what happens to a value no
code covers: "stop" (the default: staging refuses, naming column, value and count) or
"validator" (it goes on as written and ExampleValidator names it, as the built-in formats do).

The two built-in input formats are two such files, babyweight/mappings/bigquery.toml and
cdc.toml, read the same way. Every problem is a MappingError of one line naming the file, the
column and the value.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path

from babyweight import features as F
from babyweight.errors import UsageError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

BUILTIN_DIR = Path(__file__).with_name("mappings")
BUILTIN_NAMES = ("bigquery", "cdc")
STOP, VALIDATOR = "stop", "validator"

# Per model column: its units and how many of each make one of the feature's unit.
UNITS = {
    F.LABEL_KEY: {"pounds": 1.0, "grams": F.GRAMS_PER_POUND, "kilograms": 0.45359237,
                  "ounces": 1 / 16},
    F.GESTATION_WEEKS: {"weeks": 1.0, "days": 7.0},
    F.MOTHER_AGE: {"years": 1.0},
}  # fmt: skip
# The range of a column's median, in the feature's unit, that a real file has.
PLAUSIBLE = {F.LABEL_KEY: (3.0, 12.0), F.GESTATION_WEEKS: (28.0, 45.0)}
_FIELD_KEYS = {"column", "unit", "codes", "missing"}
_TOP_KEYS = {"name", "description", "year", "month", "unknown_values"}


class MappingError(UsageError, ValueError):
    """A mapping that cannot be used, or that the file does not fit; one line naming why."""


@dataclasses.dataclass(frozen=True)
class FieldMap:
    """One model column: where it comes from and how its values read."""

    name: str  # the model column
    column: str  # the file's column, lower-cased
    unit: str | None = None
    codes: dict[str, str] | None = None  # lower-cased raw value -> the feature's canonical value
    missing: frozenset[str] = frozenset()

    @property
    def per_unit(self) -> float:
        """How many of the column's units make one of the feature's (grams per pound)."""
        return UNITS.get(self.name, {}).get(self.unit or "", 1.0)


@dataclasses.dataclass(frozen=True)
class Mapping:
    """A whole mapping: a FieldMap per model column, the year/month columns, where it came from."""

    name: str
    description: str
    fields: dict[str, FieldMap]  # model column (F.REQUIRED_COLUMNS) -> its FieldMap
    year_month: tuple[str, str] | None = None
    unknown_values: str = STOP
    source: str = ""  # the file it was read from
    text: str = ""  # the TOML as written, for the run summary

    @property
    def required(self) -> list[str]:
        return [self.fields[c].column for c in F.REQUIRED_COLUMNS]

    def missing_columns(self, header: list[str], where: str) -> str | None:
        """What the header lacks, with a "did you mean" for a near name; None when it fits."""
        names = [h.strip().lower() for h in header]
        problems = []
        for model in F.REQUIRED_COLUMNS:
            column = self.fields[model].column
            if column in names:
                continue
            near = difflib.get_close_matches(column, names, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            problems.append(f"{column!r} for {model}{hint}")
        if not problems:
            return None
        return (
            f"{where}: no column {'; '.join(problems)} of mapping {self.name} "
            f"({self.source}); the header has {', '.join(names)}"
        )


def _canonical(feature: F.Feature, value, where: str) -> str:
    """A code's target as the feature's canonical value ("male" is not one; "True" is)."""
    found = feature.spellings.get(str(value).strip().lower())
    if found is None:
        raise MappingError(
            f"{where}: code value {value!r} of {feature.name} is not a {feature.name} "
            f"({feature.expected})"
        )
    return found


def _field(model: str, spec, where: str) -> FieldMap:
    if not isinstance(spec, dict) or not isinstance(spec.get("column"), str):
        raise MappingError(f'{where}: [{model}] needs column = "NAME"')
    unknown = set(spec) - _FIELD_KEYS
    if unknown:
        raise MappingError(f"{where}: [{model}] has unknown key(s) {sorted(unknown)}")
    feature = F.feature(model)
    unit = spec.get("unit")
    units = UNITS.get(model, {})
    if unit is not None and unit not in units:
        allowed = ", ".join(units) or "none (it has no unit)"
        raise MappingError(f"{where}: [{model}] unit {unit!r} is not known; allowed: {allowed}")
    codes = spec.get("codes")
    if codes is not None:
        if not feature.categorical or not isinstance(codes, dict):
            raise MappingError(f"{where}: [{model}] codes are for sex and plurality, as a table")
        where_codes = f"{where}: [{model}] codes"
        codes = {
            str(k).strip().lower(): _canonical(feature, v, where_codes) for k, v in codes.items()
        }
    missing = spec.get("missing", [])
    if not isinstance(missing, list):
        raise MappingError(f'{where}: [{model}] missing must be a list, e.g. ["NA", "99"]')
    return FieldMap(
        model,
        spec["column"].strip().lower(),
        unit,
        codes,
        frozenset(str(m).strip() for m in missing),
    )


def parse(data: dict, where: str, text: str = "") -> Mapping:
    """A Mapping from a parsed TOML document; MappingError naming `where` otherwise."""
    known = _TOP_KEYS | set(F.REQUIRED_COLUMNS)
    unknown = sorted(set(data) - known)
    if unknown:
        near = {u: difflib.get_close_matches(u, sorted(known), n=1) for u in unknown}
        hints = [f"{u!r}" + (f" (did you mean {n[0]!r}?)" if n else "") for u, n in near.items()]
        raise MappingError(f"{where}: unknown key(s) {', '.join(hints)}")
    absent = [c for c in F.REQUIRED_COLUMNS if c not in data]
    if absent:
        raise MappingError(f"{where}: no [{absent[0]}] table; a mapping names every one of "
                           f"{', '.join(F.REQUIRED_COLUMNS)}")  # fmt: skip
    fields = {c: _field(c, data[c], where) for c in F.REQUIRED_COLUMNS}
    by_column: dict[str, list[str]] = {}
    for f in fields.values():
        by_column.setdefault(f.column, []).append(f.name)
    shared = {c: names for c, names in by_column.items() if len(names) > 1}
    if shared:
        column, names = next(iter(shared.items()))
        raise MappingError(f"{where}: column {column!r} is mapped to {' and '.join(names)}; "
                           "each feature needs its own column")  # fmt: skip
    policy = data.get("unknown_values", STOP)
    if policy not in (STOP, VALIDATOR):
        raise MappingError(f"{where}: unknown_values {policy!r}: must be {STOP!r} or {VALIDATOR!r}")
    year, month = data.get("year"), data.get("month")
    return Mapping(
        name=str(data.get("name") or Path(where).stem),
        description=str(data.get("description") or f"mapping {where}"),
        fields=fields,
        year_month=(year.lower(), month.lower()) if year and month else None,
        unknown_values=policy,
        source=where,
        text=text,
    )


def load(path: Path | str) -> Mapping:
    """The mapping in a TOML file; MappingError naming the file when it cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(f"--mapping {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise MappingError(f"--mapping {path}: cannot read it ({e})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise MappingError(f"--mapping {path}: not TOML ({e})") from None
    return parse(data, str(path), text)


def builtin(name: str) -> Mapping:
    """One of the mappings shipped with the package (BUILTIN_NAMES)."""
    return load(BUILTIN_DIR / f"{name}.toml")


def summary(mapping: Mapping) -> str:
    """The mapping in one line: each model column from its column, unit, codes and missing."""
    parts = []
    for name, f in mapping.fields.items():
        extra = [f.unit] if f.unit else []
        if f.codes:
            extra.append("codes " + ", ".join(f"{k}={v}" for k, v in f.codes.items()))
        if f.missing:
            extra.append("missing " + ", ".join(sorted(f.missing)))
        parts.append(f"{name} <- {f.column}" + (f" ({'; '.join(extra)})" if extra else ""))
    return ", ".join(parts)


def units_fitting(name: str, raw_median: float) -> list[str]:
    """The units (of UNITS[name]) that make a column's median, in its own unit, plausible."""
    lo, hi = PLAUSIBLE[name]
    return [u for u, per in UNITS[name].items() if lo <= raw_median / per <= hi]
