"""Dead-letter reasons on real bad rows stay what they were.

`dead_letter_reasons.json` was written by the per-row reader (one csv.reader and one
babyweight.instances.parse_instance per line) before the CSV reader was vectorised; see
`git log -p` of that file. This test runs the job's read-and-check half on the same records and
compares field, value, reason and input of every dead-letter row, and the record count. No model
is needed.

Regenerate only on purpose, and say why in the commit:
    python tests/batch/test_dead_letter_reasons.py
"""

from __future__ import annotations

import json
import sys
import tempfile
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


def test_dead_letter_rows_equal_the_per_row_readers(tmp_path):
    got = dead_letter_of_bad_rows(tmp_path)
    want = json.loads(GOLDEN.read_text())
    assert got["input_records"] == want["input_records"]
    assert {r["id"] or r["input"]: r for r in got["dead_letter"]} == {
        r["id"] or r["input"]: r for r in want["dead_letter"]
    }


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parent)]
    with tempfile.TemporaryDirectory() as work:
        GOLDEN.write_text(json.dumps(dead_letter_of_bad_rows(Path(work)), indent=1) + "\n")
    print(f"wrote {GOLDEN}")
