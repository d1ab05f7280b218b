"""local_runner.py as a person meets it: one-line errors with their exit codes, a terminal free
of TensorFlow's log, real natality files in both input formats, one run per output, no duplicate
pushes, and Ctrl-C. Fixtures are real rows of ../shared/data/natality and data/births.csv.

The fast tests stop before TFX is imported; the e2e ones run the pipeline on small slices.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

from babyweight import features as F
from babyweight import run_lock
from babyweight.errors import ExitCode
from babyweight.instances import parse_instances
from babyweight.layout import OutputLayout
from babyweight.local import cli, input_formats, run

import numpy as np
import pytest
from helpers import (
    PIPELINE_COMPONENTS,
    REPO,
    RUNNER_ENV,
    bigquery_export,
    local_runner_command,
    natality_rows,
    read_rows,
    run_babyweight,
    run_local_pipeline,
    write_rows,
)

# What TensorFlow, absl, Beam and TFX print: none of it may reach the terminal by default.
NOISE = re.compile(
    r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[.,]\d+|[IWEF]\d{4} |WARNING:|INFO:|ERROR:)"
    r"|tensorflow|absl|apache_beam|oneDNN|cuda|Traceback",
    re.IGNORECASE,
)


def assert_one_line(result, code: int, *words: str) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert not NOISE.search(result.stdout + result.stderr)
    return lines[0]


# -- user errors: one line, no traceback, the documented code, before anything is written ----
def test_a_missing_data_path_is_one_line_and_writes_nothing(tmp_path):
    result = run_local_pipeline(tmp_path / "nope.csv", tmp_path / "out")
    assert_one_line(result, ExitCode.USAGE, "--data", "nope.csv", "no such file")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["runner.log"]


def test_a_header_of_no_input_format_lists_the_columns_of_each_format(tmp_path):
    header, rows = read_rows(REPO / "data" / "births.csv", limit=3)
    data = write_rows(tmp_path / "in.csv", ["weight", *header[1:]], rows)
    result = run_local_pipeline(data, tmp_path / "out")
    line = assert_one_line(result, ExitCode.USAGE, "in.csv", "missing column(s) ['weight_pounds']")
    assert "bigquery (weight_pounds, is_male" in line and "cdc (dbwt, sex, mager" in line


def test_an_output_that_is_a_file_is_one_line(tmp_path, tiny_data):
    output = tmp_path / "a-file"
    output.write_text("")
    result = cli.main(["--data", str(tiny_data), "--output", str(output)])
    assert result == ExitCode.USAGE
    result = run_local_pipeline(tiny_data, output / "below")
    assert_one_line(result, ExitCode.USAGE, "--output", "a-file/below", "Not a directory")


def test_a_locked_output_is_refused_naming_the_holder(tmp_path, tiny_data):
    layout = OutputLayout(tmp_path)
    run_lock.acquire(layout.run_lock, "run-in-progress")
    try:
        result = run_local_pipeline(tiny_data, tmp_path)
    finally:
        run_lock.release(layout.run_lock)
    pid = str(run_lock.os.getpid())
    assert_one_line(result, ExitCode.LOCKED, f"process {pid} (run run-in-progress)")


def test_a_file_too_small_for_a_test_split_stops_before_training(tmp_path):
    data = write_rows(tmp_path / "few.csv", *natality_rows("natality2014_100k.csv", limit=40))
    output = tmp_path / "out"
    result = run_local_pipeline(data, output)
    line = assert_one_line(result, ExitCode.UNUSABLE_DATA, "stopped before training")
    assert "the test split would have only" in line and "needs at least 20" in line
    assert "as CDC natality public-use names" in result.stdout  # which input format was read
    summary = json.loads((output / "run_summary.json").read_text())
    assert summary["outcome"] == "unusable_data" and summary["exit_code"] == 4
    assert not (output / "metadata.sqlite").exists()  # TFX never started


# -- the pipeline ------------------------------------------------------------------------------
def terminal_lines(output: Path) -> tuple[list[str], str]:
    stdout, stderr = (output / "runner.log").read_text().split("\n--- stderr ---\n")
    return stdout.splitlines(), stderr


@pytest.mark.e2e
def test_the_default_output_is_progress_and_summary_only(tiny_run):
    output, summary = tiny_run
    lines, stderr = terminal_lines(output)
    assert stderr.strip() == ""
    noise = [line for line in lines if NOISE.search(line)]
    assert noise == []
    log = Path(summary["log_file"])
    assert log.parent == output / "logs" and f"full log: {log}" in lines
    assert re.search(r"tensorflow", log.read_text())  # the log went to the file, not away
    assert summary["outcome"] == "blessed" and summary["exit_code"] == 0


@pytest.mark.e2e
def test_a_bigquery_export_of_one_year_splits_near_8_1_1_blesses_and_pushes(tmp_path):
    """31 samples.natality columns, booleans in lower case, 2014 with months (12 keys), other
    columns empty: before issue 10 every row went to train and ExampleValidator refused
    `true`/`false`."""
    header, rows = bigquery_export(natality_rows("babyweight_2014_100k.csv", every=50)[1])
    data = write_rows(tmp_path / "export.csv", header, rows)
    output = tmp_path / "out"
    result = run_local_pipeline(data, output)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((output / "run_summary.json").read_text())
    assert summary["input_formats"] == {str(data): "bigquery"}
    assert summary["split_key"] == "row"
    assert summary["split_key_reason"] == "only 12 distinct year-months (needs 20)"
    for split in ("eval", "test"):
        assert summary["splits"][split] > 0
        assert summary["split_fractions"][split] == pytest.approx(0.1, abs=0.03)
    assert summary["anomalies"] == {}
    assert summary["blessed"] is True and summary["pushed_model"]
    assert Path(summary["pushed_model"]).is_dir()


def start_runner(data: Path, output: Path) -> subprocess.Popen:
    return subprocess.Popen(
        local_runner_command(data, output),
        cwd=REPO,
        env=RUNNER_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(proc, pattern: str, seen: list[str], timeout_s: float = 900) -> None:
    deadline = time.monotonic() + timeout_s
    for line in proc.stdout:
        seen.append(line)
        if re.search(pattern, line):
            return
        assert time.monotonic() < deadline, "".join(seen)
    raise AssertionError("the runner ended before " + pattern + ":\n" + "".join(seen))


def predictions(model_dir: str, path: Path, form: input_formats.InputFormat) -> np.ndarray:
    from babyweight import model_store

    header, rows = read_rows(path)
    names = input_formats.header_names(header)
    instances = []
    for row in rows:
        values = form.model_row(dict(zip(names, row, strict=True)))
        if all(values):
            instances.append(dict(zip(F.REQUIRED_COLUMNS, values, strict=True)))
    return model_store.load(model_dir).predict(parse_instances(instances))


@pytest.mark.e2e
def test_cdc_input_format_end_to_end_one_run_per_output_and_no_duplicate_push(tmp_path):
    """natality2014_100k.csv (every 50th row) in the CDC input format, while the same rows in
    BigQuery names try the same --output: refused, naming the PID. Rerun afterwards, they are
    the same data: everything is cached and nothing new is pushed."""
    cdc = write_rows(tmp_path / "cdc.csv", *natality_rows("natality2014_100k.csv", every=50))
    bq = write_rows(tmp_path / "bq.csv", *natality_rows("babyweight_2014_100k.csv", every=50))
    output = tmp_path / "out"
    first = start_runner(cdc, output)
    seen: list[str] = []
    try:
        wait_for_line(first, r"Trainer\s+started", seen)
        refused = run_local_pipeline(bq, output)
        assert_one_line(refused, ExitCode.LOCKED, f"process {first.pid}")
        rest, stderr = first.communicate(timeout=1200)
    finally:
        first.kill()
    assert first.returncode == 0, "".join(seen) + rest + stderr
    assert "as CDC natality public-use names" in "".join(seen)
    summary = json.loads((output / "run_summary.json").read_text())
    assert summary["input_formats"] == {str(cdc): "cdc"} and summary["blessed"] is True
    versions = sorted((output / "serving_model" / "babyweight").iterdir())
    assert len(versions) == 1 and summary["pushed_model"] == str(versions[0])

    again = run_local_pipeline(bq, output)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    rerun = json.loads((output / "run_summary.json").read_text())
    assert rerun["run_id"] != summary["run_id"]
    for node in ["CsvExampleGen", "StatisticsGen", "Transform", "Trainer"]:
        assert rerun["components"][node] == "CACHED", rerun["components"]
    assert rerun["model"] == summary["model"]
    assert rerun["pushed_model"] is None
    assert rerun["already_serving_version"] == versions[0].name
    assert f"already serving version {versions[0].name}" in again.stdout
    assert sorted((output / "serving_model" / "babyweight").iterdir()) == versions

    from_cdc = predictions(str(versions[0]), cdc, input_formats.CDC)
    from_bq = predictions(str(versions[0]), bq, input_formats.BIGQUERY)
    assert len(from_cdc) == 1998
    np.testing.assert_allclose(from_cdc, from_bq, rtol=0, atol=1e-6)


@pytest.mark.e2e
def test_ctrl_c_in_the_trainer_is_one_line_and_the_rerun_resumes(tmp_path, tiny_data):
    """The tiny slice with a BOM and one line that is not UTF-8 (both handled while staging);
    SIGINT while the Trainer runs; then the same command again."""
    data = tmp_path / "tiny.csv"
    lines = tiny_data.read_bytes().splitlines(keepends=True)
    lines[5] = lines[5].replace(b"Stat2Data", b"Stat2D\xe9ta")  # Latin-1, an ignored column
    assert b"\xe9" in lines[5]
    data.write_bytes(b"\xef\xbb\xbf" + b"".join(lines))
    output = tmp_path / "out"
    first = start_runner(data, output)
    seen: list[str] = []
    try:
        wait_for_line(first, r"Trainer\s+started", seen)
        time.sleep(2)
        first.send_signal(signal.SIGINT)
        rest, stderr = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == ExitCode.INTERRUPTED
    assert stderr == run.INTERRUPTED + "\n"
    assert "Traceback" not in "".join(seen) + rest
    stopped = json.loads((output / "run_summary.json").read_text())
    assert (stopped["outcome"], stopped["run_state"]) == ("interrupted", "CANCELED")
    assert stopped["components"]["Trainer"] == "CANCELED"  # what ran, with its state
    assert stopped["components"]["CsvExampleGen"] == "COMPLETE", stopped["components"]

    resumed = run_local_pipeline(data, output)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    summary = json.loads((output / "run_summary.json").read_text())
    for node in ["CsvExampleGen", "StatisticsGen", "Transform"]:
        assert summary["components"][node] == "CACHED", summary["components"]
    assert summary["components"]["Trainer"] == "COMPLETE" and summary["pushed_model"]
    assert summary["dropped"]["reasons"] == {"not UTF-8": 1}
    dropped = (output / "staged" / "dropped.csv").read_text().splitlines()
    assert dropped[1].startswith(f"{data},6,not UTF-8,")

    runs = run_babyweight("lineage", "runs", "--output", str(output)).stdout
    states = re.findall(r"^run \S+  pipeline=babyweight  (\w+)", runs, re.MULTILINE)
    assert states == ["CANCELED", "COMPLETE"]
    assert len(summary["components"]) == len(PIPELINE_COMPONENTS)
