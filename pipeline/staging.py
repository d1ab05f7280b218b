"""Stage CSV input for CsvExampleGen: the local twin of the course's BigQuery query.

It keeps the five model columns (extra columns, up to the 31 of the full table, are ignored),
drops rows whose label or numeric features are missing or not positive (as the query's WHERE
does), and adds the split key. Dropped rows are written, with their reason, to `dropped.csv`;
nothing is lost silently. Values are copied as text, unparsed: a wrong value (a word in
gestation_weeks, plurality 9) goes through so that ExampleValidator can stop the run on it.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import filecmp
import hashlib
import json
import os
from pathlib import Path

from babyweight import features as F
from babyweight.layout import OutputLayout

STAGED_COLUMNS = [*F.REQUIRED_COLUMNS, F.SPLIT_KEY]


@dataclasses.dataclass
class StageReport:
    rows_read: int = 0
    rows_kept: int = 0
    dropped: dict[str, int] = dataclasses.field(default_factory=dict)
    split_key: dict[str, int] = dataclasses.field(default_factory=dict)  # key kind -> rows
    files: list[str] = dataclasses.field(default_factory=list)
    examples_dir: str = ""
    dropped_file: str = ""

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())


def input_files(data: Path) -> list[Path]:
    """The CSV files behind --data: the file itself, or every *.csv below a directory."""
    if data.is_dir():
        files = sorted(p for p in data.rglob("*.csv") if p.is_file())
        if not files:
            raise FileNotFoundError(f"--data {data}: the directory holds no .csv file")
        return files
    if not data.is_file():
        raise FileNotFoundError(f"--data {data}: no such file or directory")
    return [data]


def drop_reason(row: dict[str, str]) -> str | None:
    """Why the course's query would not keep this row, or None to keep it."""
    for column in F.POSITIVE_COLUMNS:
        value = (row.get(column) or "").strip()
        if not value:
            return f"{column} missing"
        try:
            number = float(value)
        except ValueError:
            continue  # not a number: ExampleValidator reports it by name
        if not number > 0:
            return f"{column} not positive"
    return None


def _fingerprint(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1


def split_key(row: dict[str, str]) -> tuple[str, int]:
    """The course's year-month hash where a month is known, else a fingerprint of the row.

    Both depend on the row's values only, so a row lands in the same split on every run and in
    every file order.
    """
    year, month = (row.get("year") or "").strip(), (row.get("month") or "").strip()
    if year and month:
        return "year-month", _fingerprint(f"{year}-{month}")
    return "row", _fingerprint("|".join(row[c].strip() for c in F.REQUIRED_COLUMNS))


def _replace_if_changed(tmp: Path, dest: Path) -> None:
    """Keep the old file (and its mtime) when the content is the same, so that ExampleGen's
    input fingerprint, and with it the whole cached pipeline, stays valid on a rerun."""
    if dest.exists() and filecmp.cmp(tmp, dest, shallow=False):
        tmp.unlink()
    else:
        os.replace(tmp, dest)


def stage_csv(data: Path, layout: OutputLayout) -> StageReport:
    """Write the layout's staged examples (data.csv) and dropped rows; return the counts."""
    staged_dir = layout.staged
    examples_dir = layout.staged_examples
    examples_dir.mkdir(parents=True, exist_ok=True)
    report = StageReport(examples_dir=str(examples_dir), dropped_file=str(layout.dropped_rows))
    dropped = collections.Counter()
    keys = collections.Counter()
    kept_tmp = examples_dir / ".data.csv.tmp"
    dropped_tmp = staged_dir / ".dropped.csv.tmp"
    with open(kept_tmp, "w", newline="") as kept_f, open(dropped_tmp, "w", newline="") as drop_f:
        kept = csv.writer(kept_f, lineterminator="\n")
        kept.writerow(STAGED_COLUMNS)
        lost = csv.writer(drop_f, lineterminator="\n")
        lost.writerow(["file", "line", "reason", *F.REQUIRED_COLUMNS])
        for path in input_files(data):
            report.files.append(str(path))
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                missing = [c for c in F.REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
                if missing:
                    raise ValueError(
                        f"{path}: missing column(s) {missing}; a CSV needs at least "
                        f"{F.REQUIRED_COLUMNS}, named as in BigQuery's samples.natality"
                    )
                for line, row in enumerate(reader, start=2):
                    report.rows_read += 1
                    values = [(row[c] or "").strip() for c in F.REQUIRED_COLUMNS]
                    reason = drop_reason(row)
                    if reason:
                        dropped[reason] += 1
                        lost.writerow([str(path), line, reason, *values])
                        continue
                    kind, key = split_key(row)
                    keys[kind] += 1
                    kept.writerow([*values, key])
                    report.rows_kept += 1
    _replace_if_changed(kept_tmp, examples_dir / "data.csv")
    _replace_if_changed(dropped_tmp, layout.dropped_rows)
    report.dropped = dict(sorted(dropped.items()))
    report.split_key = dict(keys)
    layout.stage_report.write_text(json.dumps(dataclasses.asdict(report), indent=2))
    if report.rows_kept == 0:
        why = report.dropped or "the files are empty"
        raise ValueError(f"--data {data}: no usable row ({why})")
    return report
