"""Dead-letter reasons on real bad rows stay what they were.

`dead_letter_reasons.json` was written by the per-row reader (one csv.reader and one
babyweight.instances.parse_instance per line) before the CSV reader was vectorised; see
`git log -p` of that file. This test runs the job's read-and-check half on the same records and
compares field, value, reason and input of every dead-letter row, and the record count, allowing
only the changes listed below. No model is needed.

The file is not regenerated: commit 0b69372 wrote it with the per-row reader, by running this
module as a script (`python tests/batch/test_dead_letter_reasons.py`, since removed).
"""

from __future__ import annotations

import json
from pathlib import Path

from babyweight.batch import io as batch_io
from babyweight.batch import predict as batch_predict

GOLDEN = Path(__file__).with_name("dead_letter_reasons.json")


def dead_letter_of_bad_rows(directory: Path) -> dict:
    from bad_rows import KEY, write_bad_rows_csv

    path, _ = write_bad_rows_csv(directory / "bad_rows.csv")
    total, dead = batch_predict.dead_letter_rows(batch_io.make_source(str(path)), key_column=KEY)
    return {
        "input_records": total,
        "dead_letter": sorted(dead, key=lambda r: (r[KEY] or "", r["input"])),
    }


# What changed on purpose since the golden file was written (issue 11), and nothing else:
# - a blank value is "missing" in every field, checked before the values as None is (so it
#   also wins over another field's wrong value);
# - a blank line is not a record (csv.DictReader in local_runner.py and pyarrow skip it too);
# - NaN (any case), as pandas and R write an empty cell, is "missing" too (issue 10, one rule
#   for every reader: babyweight.values.is_missing).
NOW_MISSING = {
    "age-nan": "mother_age",
    "weeks-nan": "gestation_weeks",
    "age-blank": "mother_age",
    "age-spaces": "mother_age",
    "blank-age-and-sex": "mother_age",
    "blank-weeks-and-plurality": "gestation_weeks",
    "plurality-blank": "plurality",
    "real-blank-weeks-0": "gestation_weeks",
    "real-blank-weeks-1": "gestation_weeks",
    "real-blank-weeks-2": "gestation_weeks",
    "sex-blank": "is_male",
    "weeks-blank": "gestation_weeks",
}
BLANK_LINE = ""


def expected_now() -> tuple[int, dict]:
    golden = json.loads(GOLDEN.read_text())
    rows = {r["id"] or r["input"]: r for r in golden["dead_letter"]}
    del rows[BLANK_LINE]
    for key, field in NOW_MISSING.items():
        value = json.loads(rows[key]["input"])[field]
        rows[key] = {**rows[key], "field": field, "value": value, "reason": f"{field}: missing"}
    return golden["input_records"] - 1, rows


def test_dead_letter_rows_equal_the_per_row_readers_but_for_blanks(tmp_path):
    got = dead_letter_of_bad_rows(tmp_path)
    records, rows = expected_now()
    assert got["input_records"] == records
    assert {r["id"] or r["input"]: r for r in got["dead_letter"]} == rows
