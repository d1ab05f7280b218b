"""Bad input for batch prediction, each record made from a real row of data/births.csv.

One CSV file (`write_bad_rows_csv`) holds real rows as they are (good ones, and the three real
rows whose gestation_weeks is empty) and real rows with one or two fields changed to a value that
people or data sources write: out of range, a word, a fraction, blank, a wrong spelling. Plus
records that are not rows of the header's shape. An `id` column names each record.
"""

from __future__ import annotations

import csv

from babyweight import features as F

from helpers import REPO

BIRTHS = REPO / "data" / "births.csv"
KEY = "id"

# (id, {column: new value}): one real row each, with these fields changed.
CHANGED_ROWS = [
    ("plurality-9", {F.PLURALITY: "9"}),
    ("plurality-0", {F.PLURALITY: "0"}),
    ("plurality-minus-1", {F.PLURALITY: "-1"}),
    ("plurality-word", {F.PLURALITY: "two"}),
    ("plurality-blank", {F.PLURALITY: ""}),
    ("plurality-label-without-count", {F.PLURALITY: "Twins"}),
    ("plurality-fraction", {F.PLURALITY: "2.5"}),
    ("plurality-true", {F.PLURALITY: "True"}),
    ("age-99", {F.MOTHER_AGE: "99"}),
    ("age-5", {F.MOTHER_AGE: "5"}),
    ("age-word", {F.MOTHER_AGE: "thirty"}),
    ("age-fraction", {F.MOTHER_AGE: "26.5"}),
    ("age-blank", {F.MOTHER_AGE: ""}),
    ("age-spaces", {F.MOTHER_AGE: "   "}),
    ("age-exponent-out-of-range", {F.MOTHER_AGE: "1e1"}),
    ("age-nan", {F.MOTHER_AGE: "nan"}),
    ("age-inf", {F.MOTHER_AGE: "inf"}),
    ("age-negative", {F.MOTHER_AGE: "-26"}),
    ("weeks-word", {F.GESTATION_WEEKS: "forty"}),
    ("weeks-negative", {F.GESTATION_WEEKS: "-1"}),
    ("weeks-fraction", {F.GESTATION_WEEKS: "39.5"}),
    ("weeks-48", {F.GESTATION_WEEKS: "48"}),
    ("weeks-16", {F.GESTATION_WEEKS: "16"}),
    ("weeks-blank", {F.GESTATION_WEEKS: ""}),
    ("weeks-nan", {F.GESTATION_WEEKS: "NaN"}),
    ("sex-maybe", {F.IS_MALE: "maybe"}),
    ("sex-2", {F.IS_MALE: "2"}),
    ("sex-yes", {F.IS_MALE: "yes"}),
    ("sex-M", {F.IS_MALE: "M"}),
    ("sex-blank", {F.IS_MALE: ""}),
    ("sex-and-plurality", {F.IS_MALE: "maybe", F.PLURALITY: "9"}),
    ("blank-age-and-sex", {F.MOTHER_AGE: "", F.IS_MALE: "maybe"}),
    ("blank-weeks-and-plurality", {F.GESTATION_WEEKS: "", F.PLURALITY: "9"}),
    # Valid spellings: these must be predicted, not dead-lettered.
    ("ok-sex-spellings", {F.IS_MALE: " t "}),
    ("ok-plurality-label", {F.PLURALITY: "Multiple(2+)"}),
    ("ok-plurality-lower-label", {F.PLURALITY: "twins(2)"}),
    ("ok-plurality-spaces", {F.PLURALITY: " 2 "}),
    ("ok-age-spaces", {F.MOTHER_AGE: " 26 "}),
    ("ok-age-float", {F.MOTHER_AGE: "26.0"}),
    ("ok-weeks-plus", {F.GESTATION_WEEKS: "+40"}),
    ("ok-source-with-comma", {"source": "NC, births"}),
    ("key-blank", {KEY: ""}),
]


def real_rows() -> tuple[list[str], list[list[str]]]:
    with open(BIRTHS, newline="") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def write_bad_rows_csv(path, *, good: int = 30):
    """The CSV described above; returns (path, header). Rows are spread over the real file."""
    header, rows = real_rows()
    columns = [KEY, *header]
    blank_weeks = [r for r in rows if r[header.index(F.GESTATION_WEEKS)] == ""]
    assert len(blank_weeks) == 3, "data/births.csv has three rows without gestation_weeks"
    step = len(rows) // (good + len(CHANGED_ROWS))
    picked = rows[::step]
    records = []
    for i, row in enumerate(picked[:good]):
        records.append([f"good-{i}", *row])
    for i, row in enumerate(blank_weeks):
        records.append([f"real-blank-weeks-{i}", *row])
    for (name, changes), row in zip(CHANGED_ROWS, picked[good:], strict=False):
        record = dict(zip(columns, [name, *row], strict=True))
        record.update(changes)
        records.append([record[c] for c in columns])
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(records)
        f.write(",".join(["short-0", *picked[-1][:3]]) + "\n")  # too few fields
        f.write(",".join(["long-0", *picked[-2], "extra"]) + "\n")  # one field too many
        f.write("   \n")  # spaces only
        f.write("\n")  # a blank line
        # Every field quoted (valid CSV): the quotes are not part of the values.
        f.write(",".join(f'"{v}"' for v in ["ok-quoted-fields", *picked[-3]]) + "\n")
    return path, columns
