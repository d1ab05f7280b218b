"""`babyweight inspect FILE`: sniff a CSV's header and values, print a proposed mapping TOML.

Each model column (the label and the features of babyweight/features.py) is looked for by the
names people give it (weight, bwt, dbwt, sex, gender, mage, duration, ...) and then by its
values: a weight's median fits one unit (grams, kilograms, pounds, ounces), a gestation's weeks
or days, a sex column has two codes. What inspect is not sure of (1 taken as male, a code it
cannot place, a sentinel read as "missing") is written as a TOML comment beside it. The output
goes to stdout, ready for `--mapping`; the exit status is 0 only when every column was found.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

from babyweight import features as F
from babyweight import mapping as M
from babyweight.errors import ExitCode, UsageError
from babyweight.values import is_missing

SNIFF_ROWS = 5_000
NAMES = {  # likely column names, most specific first; a name containing one matches too
    F.LABEL_KEY: ("weight_pounds", "dbwt", "birthweight", "birth_weight", "bwt", "weight", "wt"),
    F.IS_MALE: ("is_male", "sex", "gender", "male"),
    F.MOTHER_AGE: ("mother_age", "mager", "mage", "mom_age", "age"),
    F.PLURALITY: ("plurality", "dplural", "plural", "plur", "multiple"),
    F.GESTATION_WEEKS: ("gestation_weeks", "combgest", "gestation", "gest", "duration", "weeks"),
}
LETTER_PLURALITY = {"s": F.PLURALITY_VALUES[0], "t": F.PLURALITY_VALUES[1]}
SENTINELS = ("9", "99", "999", "9999", "99999")
# Sex codes people use, lower-cased: value -> is_male, and the doubt it earns.
SEX_CODES = {
    frozenset({"m", "f"}): ({"M": "True", "F": "False"}, None),
    frozenset({"male", "female"}): ({"male": "True", "female": "False"}, None),
    frozenset({"1", "2"}): ({"1": "True", "2": "False"}, "1 taken as male, 2 as female (NCHS)"),
    frozenset({"y", "n"}): ({"Y": "True", "N": "False"}, "Y taken as male: check the codebook"),
    frozenset({"true", "false"}): (None, None),
    frozenset({"0", "1"}): (None, "1 taken as male (the samples.natality is_male convention)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babyweight inspect",
        description="Propose a mapping file (--mapping) for a CSV's own columns, units and codes.",
    )
    parser.add_argument("file", type=Path, help="a CSV file with a header")
    parser.add_argument("--rows", type=int, default=SNIFF_ROWS, help="rows to sniff")
    return parser


def sniff(path: Path, rows: int) -> tuple[list[str], dict[str, list[str]]]:
    """(header lower-cased, column -> its first `rows` values)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [h.strip().lower() for h in next(reader, [])]
            values: dict[str, list[str]] = {h: [] for h in header}
            for i, cells in enumerate(reader):
                if i >= rows:
                    break
                for h, v in zip(header, cells, strict=False):
                    values[h].append(v.strip())
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read it as CSV text ({e})") from None
    if not header:
        raise UsageError(f"{path}: the file is empty")
    return header, values


def numbers(values: list[str], missing: set[str]) -> list[float]:
    out = []
    for v in values:
        if v in missing or is_missing(v):
            continue
        try:
            out.append(float(v))
        except ValueError:
            pass
    return out


def by_name(model: str, header: list[str], taken: set[str]) -> str | None:
    for name in NAMES[model]:
        for column in header:
            if column not in taken and (column == name or name in column):
                return column
    return None


def _sentinels(values: list[str], hi: float) -> list[str]:
    """Codes like 99 or 9999 that sit above any real value: read as "not stated"."""
    return [s for s in SENTINELS if s in set(values) and float(s) > hi]


def numeric_table(model: str, column: str, values: list[str]) -> tuple[list[str], bool]:
    """TOML lines of a numeric column, its unit chosen by the median; (lines, found)."""
    hi = {F.LABEL_KEY: 8000.0, F.GESTATION_WEEKS: 320.0, F.MOTHER_AGE: 70.0}[model]
    missing = _sentinels(values, hi if model != F.GESTATION_WEEKS else 60.0)
    if model == F.GESTATION_WEEKS and not numbers(values, set(missing)):
        missing = []
    sample = numbers(values, set(missing))
    lines = [f"[{model}]", f"column = {column!r}".replace("'", '"')]
    if not sample:
        return [*lines, "# doubt: no number in the sniffed rows"], False
    median = statistics.median(sample)
    if model == F.MOTHER_AGE:
        unit, doubt = "years", None if 14 <= median <= 50 else f"median {median:g}: years?"
    else:
        fits = M.units_fitting(model, median)
        unit = fits[0] if fits else next(iter(M.UNITS[model]))
        doubt = None if fits else f"median {median:,.4g} fits no unit; check the column"
    lines.append(
        f'unit = "{unit}"' + (f"  # doubt: {doubt}" if doubt else f"  # median {median:,.4g}")
    )
    if missing:
        shown = ", ".join(f'"{m}"' for m in missing)
        lines.append(f"missing = [{shown}]  # doubt: read as not stated (above any real value)")
    return lines, True


def sex_table(column: str, values: list[str]) -> tuple[list[str], bool]:
    seen = {v.lower() for v in values if not is_missing(v)}
    lines = ["[is_male]", f'column = "{column}"']
    for codes_set, (codes, doubt) in SEX_CODES.items():
        if codes_set <= seen or (seen and seen <= codes_set and len(seen) == len(codes_set)):
            rest = sorted(seen - codes_set)
            code_map = dict(codes or {})
            if rest:
                code_map.update({v: F.UNKNOWN for v in rest})
            if code_map:
                shown = ", ".join(f'"{k}" = "{v}"' for k, v in code_map.items())
                lines.append(f"codes = {{ {shown} }}")
            if doubt:
                lines.append(f"# doubt: {doubt}")
            if rest:
                lines.append(f"# doubt: {', '.join(rest)} read as Unknown")
            return lines, True
    return [*lines, f"# doubt: values {sorted(seen)[:6]} are no sex codes inspect knows"], False


def plurality_table(column: str, values: list[str]) -> tuple[list[str], bool]:
    seen = {v.lower() for v in values if not is_missing(v)}
    lines = ["[plurality]", f'column = "{column}"']
    unknown = sorted(v for v in seen if v not in F.PLURALITY_SPELLINGS)
    if unknown and set(unknown) <= set(LETTER_PLURALITY):
        codes = {**LETTER_PLURALITY, **{str(i): F.PLURALITY_VALUES[i - 1] for i in range(3, 6)}}
        shown = ", ".join(f'"{k.upper()}" = "{v}"' for k, v in codes.items())
        lines += [f"codes = {{ {shown} }}", "# doubt: S taken as single, T as twins"]
        return lines, True
    if unknown:
        lines.append(f"# doubt: values {unknown[:6]} are no plurality; add codes, e.g. "
                     '{ S = "Single(1)", T = "Twins(2)" }')  # fmt: skip
        return lines, False
    return lines, True


def propose(path: Path, rows: int) -> tuple[str, bool]:
    """The proposed mapping's TOML text, and whether every model column was found."""
    header, values = sniff(path, rows)
    out = [f"# mapping proposed by `babyweight inspect {path}` from its first {rows} rows",
           f'name = "{path.stem}"', f'description = "columns of {path.name}"', ""]  # fmt: skip
    taken: set[str] = set()
    all_found = True
    for model in F.REQUIRED_COLUMNS:
        column = by_name(model, header, taken)
        if column is None:
            out += [f"# [{model}] not found: no column named like {', '.join(NAMES[model])}", ""]
            all_found = False
            continue
        taken.add(column)
        if model == F.IS_MALE:
            lines, found = sex_table(column, values[column])
        elif model == F.PLURALITY:
            lines, found = plurality_table(column, values[column])
        else:
            lines, found = numeric_table(model, column, values[column])
        out += [*lines, ""]
        all_found = all_found and found
    rest = [h for h in header if h not in taken]
    if rest:
        out.append(f"# not used: {', '.join(rest[:20])}{' ...' if len(rest) > 20 else ''}")
    return "\n".join(out).rstrip() + "\n", all_found


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    text, found = propose(args.file, args.rows)
    print(text, end="")
    return int(ExitCode.OK if found else ExitCode.USAGE)
