"""Helpers shared by the tests: small CSV files and running local_runner.py as a person does."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data" / "natality"
TINY_ROWS_EVERY = 8  # every 8th row of data/births.csv: ~430 rows from all three sources
TINY_TRAIN_STEPS = 300


def write_rows(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def tiny_slice(path: Path) -> Path:
    with open(REPO / "data" / "births.csv", newline="") as f:
        rows = list(csv.reader(f))
    return write_rows(path, rows[0], rows[1::TINY_ROWS_EVERY])


def run_local_pipeline(data: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    """local_runner.py in its own process, as a person runs it."""
    cmd = [
        sys.executable,
        str(REPO / "local_runner.py"),
        "--data",
        str(data),
        "--output",
        str(output),
        "--train-steps",
        str(TINY_TRAIN_STEPS),
        "--eval-steps",
        "5",
        "--quiet",
        *extra,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    (output / "runner.log").write_text(result.stdout + "\n--- stderr ---\n" + result.stderr)
    return result
