"""Helpers shared by the tests: small CSV files and running local_runner.py as a person does."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data" / "natality"
# Every node of the default pipeline, by id.
PIPELINE_COMPONENTS = [
    "CsvExampleGen",
    "StatisticsGen",
    "ImportSchemaGen",
    "ExampleValidator",
    "DataValidationGate",
    "Transform",
    "Trainer",
    "latest_blessed_model_resolver",
    "Evaluator",
    "Pusher",
]
TINY_ROWS_EVERY = 8  # every 8th row of data/births.csv: ~430 rows from all three sources
TINY_TRAIN_STEPS = 300


def write_rows(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_rows(path: Path, every: int = 1, limit: int | None = None) -> tuple[list, list]:
    """(header, rows) of a real CSV: every `every`-th data row, at most `limit` of them."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [row for i, row in enumerate(reader) if i % every == 0]
    return header, rows[:limit]


def natality_rows(name: str, every: int = 1, limit: int | None = None) -> tuple[list, list]:
    """Real rows of ../shared/data/natality/<name> (the same rows in both 2014 files)."""
    return read_rows(SHARED_DATA / name, every, limit)


# The 31 columns of BigQuery's bigquery-public-data.samples.natality, in table order.
SAMPLES_NATALITY_COLUMNS = [
    "source_year", "year", "month", "day", "wday", "state", "is_male", "child_race",
    "weight_pounds", "plurality", "apgar_1min", "apgar_5min", "mother_residence_state",
    "mother_race", "mother_age", "gestation_weeks", "lmp", "mother_married",
    "mother_birth_state", "cigarette_use", "cigarettes_per_day", "alcohol_use",
    "drinks_per_week", "weight_gain_pounds", "born_alive_alive", "born_alive_dead",
    "born_dead", "ever_born", "father_race", "father_age", "record_weight",
]  # fmt: skip
MODEL_COLUMNS = ["weight_pounds", "is_male", "mother_age", "plurality", "gestation_weeks"]


def bigquery_export(rows_2014: list[list[str]]) -> tuple[list, list]:
    """Real rows of babyweight_2014_100k.csv as BigQuery exports samples.natality: the 31
    columns, booleans in lower case, the year and a month (the source has none: row i gets
    month i % 12 + 1), every other column empty."""
    header, _ = natality_rows("babyweight_2014_100k.csv", limit=1)
    out = []
    for i, row in enumerate(rows_2014):
        source = dict(zip(header, row, strict=True))
        record = dict.fromkeys(SAMPLES_NATALITY_COLUMNS, "")
        record.update({name: source[name] for name in MODEL_COLUMNS})
        record["is_male"] = record["is_male"].lower()
        record["year"] = record["source_year"] = source["year"]
        record["month"] = str(i % 12 + 1)
        out.append([record[c] for c in SAMPLES_NATALITY_COLUMNS])
    return SAMPLES_NATALITY_COLUMNS, out


def tiny_slice(path: Path) -> Path:
    with open(REPO / "data" / "births.csv", newline="") as f:
        rows = list(csv.reader(f))
    return write_rows(path, rows[0], rows[1::TINY_ROWS_EVERY])


def local_runner_command(data: Path, output: Path, *extra: str) -> list[str]:
    """local_runner.py as a person runs it (default verbosity), with the tiny training."""
    return [
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
        *extra,
    ]


RUNNER_ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def run_local_pipeline(data: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    """local_runner.py in its own process, as a person runs it; runner.log keeps its output."""
    cmd = local_runner_command(data, output, *extra)
    result = subprocess.run(
        cmd, cwd=REPO, env=RUNNER_ENV, capture_output=True, text=True, timeout=1200
    )
    try:  # not when --output itself was the mistake
        output.mkdir(parents=True, exist_ok=True)
        (output / "runner.log").write_text(result.stdout + "\n--- stderr ---\n" + result.stderr)
    except OSError:
        pass
    return result


def chromium() -> str | None:
    """Path of a headless-capable Chromium, installing Debian's package when it is missing.

    Returns None only when it truly cannot be had (no apt, not root, or the install failed);
    browser tests then skip and say so.
    """
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        if subprocess.run(cmd, env=env, capture_output=True, timeout=900).returncode != 0:
            return None
    return shutil.which("chromium")


# Flags for Chromium on these machines: headless, as root, and with no background traffic
# (the network is closed; without them it retries connections all the time).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
