"""Two users' own layouts of the same real rows (../shared/data/natality/natality2014_100k.csv),
each read by a mapping in examples/mappings/: an R teaching set and a state vital-statistics
extract. Staged, both must give exactly what the CDC file itself gives."""

from __future__ import annotations

from pathlib import Path

from helpers import REPO, natality_rows, write_rows

MAPPINGS = REPO / "examples" / "mappings"
CDC_COLUMNS = ["mager", "combgest", "dbwt", "sex", "dplural"]
_PLURALITY_CODES = {"1": "S", "2": "T"}


def cdc(every: int = 1, limit: int | None = None) -> tuple[list, list]:
    """The model's CDC columns of real rows, as the public-use file has them."""
    header, rows = natality_rows("natality2014_100k.csv", every, limit)
    at = [header.index(c) for c in CDC_COLUMNS]
    return CDC_COLUMNS, [[row[i] for i in at] for row in rows]


def r_style(rows: list[list]) -> tuple[list, list]:
    """mage, duration, weight (grams), sex M/F, plural; R's NA for not stated."""
    out = []
    for mager, combgest, dbwt, sex, dplural in rows:
        weeks = "NA" if combgest == "99" else combgest
        grams = "NA" if dbwt == "9999" else dbwt
        out.append([mager, weeks, grams, sex, dplural])
    return ["mage", "duration", "weight", "sex", "plural"], out


def state_extract(rows: list[list]) -> tuple[list, list]:
    """BWT_G, SEX 1/2, MAGE_YRS, PLUR_CD S/T/3/4/5, GEST_DAYS (999 not stated)."""
    out = []
    for mager, combgest, dbwt, sex, dplural in rows:
        days = "999" if combgest in ("99", "") else str(int(combgest) * 7)
        code = {"M": "1", "F": "2"}.get(sex, sex)
        out.append([dbwt, code, mager, _PLURALITY_CODES.get(dplural, dplural), days])
    return ["BWT_G", "SEX", "MAGE_YRS", "PLUR_CD", "GEST_DAYS"], out


LAYOUTS = {"r_style": r_style, "state_extract": state_extract}


def write_layout(path: Path, name: str, rows: list[list]) -> Path:
    """A CSV of `rows` (cdc() rows) in layout `name`."""
    return write_rows(path, *LAYOUTS[name](rows))


def r_style_from_bigquery(header: list[str], rows: list[list]) -> tuple[list, list]:
    """Rows of BigQuery's names (data/births.csv) as an R teaching set has them: weight in
    whole grams, sex M/F, NA for missing."""
    at = {name: header.index(name) for name in header}
    out = []
    for row in rows:
        pounds, male = row[at["weight_pounds"]], row[at["is_male"]]
        grams = str(round(float(pounds) * 453.59237)) if pounds else "NA"
        sex = {"true": "M", "false": "F"}.get(male.lower(), "NA")
        weeks = row[at["gestation_weeks"]] or "NA"
        out.append([row[at["mother_age"]], weeks, grams, sex, row[at["plurality"]]])
    return ["mage", "duration", "weight", "sex", "plural"], out
