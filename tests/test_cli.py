"""`babyweight COMMAND`: one command for every tool, each importing only what it needs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from babyweight import cli

import pytest
from helpers import REPO, births_rows, log_record


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "babyweight", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_every_command():
    result = run("--help")
    assert result.returncode == 0
    for name in cli.COMMANDS:
        assert f"  {name} " in result.stdout


def test_an_unknown_command_is_one_line_and_exit_2():
    result = run("servve")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "babyweight: no command 'servve'"


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_each_command_has_its_own_help(command):
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"babyweight {command}" in result.stdout


def test_lineage_does_not_load_tensorflow(tmp_path):
    probe = (
        "import sys\n"
        "from babyweight import cli\n"
        "try:\n"
        f"    cli.main(['lineage', 'runs', '--output', {str(tmp_path)!r}])\n"
        "except SystemExit as e:\n"
        "    print(e, file=sys.stderr)\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert "no ML Metadata store" in result.stderr  # no store there: one line, no traceback
    assert "Traceback" not in result.stderr
    assert result.stdout.strip() == "False"


def test_old_script_names_map_to_commands():
    assert set(cli.OLD_SCRIPTS.values()) <= set(cli.COMMANDS)


# -- a command prints its own output only; --verbose keeps the libraries' log lines ------------
def test_verbose_is_taken_before_or_after_the_command_but_not_after_a_double_dash():
    assert cli.take_verbose(["runs", "--verbose", "--json"]) == (True, ["runs", "--json"])
    assert cli.take_verbose(["--", "--verbose"]) == (False, ["--", "--verbose"])
    assert cli.take_verbose(["runs"]) == (False, ["runs"])


PROBE = (
    "import logging, os, sys\n"
    "from babyweight import cli\n"
    "try:\n"
    "    cli.main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), logging.getLogger('absl').level,\n"
    "      logging.getLogger('tensorflow').level)\n"
)


@pytest.mark.parametrize(
    "flags, expected",
    [
        ([], "3 40 40"),  # TF C++ below FATAL and the Python loggers below ERROR: silent
        (["--verbose"], "None 0 0"),  # as the user's environment had it
    ],
)
def test_commands_are_quiet_unless_verbose(tmp_path, flags, expected):
    env = {
        k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "GRPC_VERBOSITY")
    }
    env.pop("BABYWEIGHT_VERBOSE", None)
    for args in (
        [*flags, "lineage", "runs", "--output", str(tmp_path)],
        ["lineage", *flags, "runs", "--output", str(tmp_path)],
    ):
        result = subprocess.run(
            [sys.executable, "-c", PROBE, *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.stdout.split("\n")[-2] == expected, result.stdout + result.stderr


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_help_prints_nothing_on_stderr(command):
    result = run(command, "--help")
    assert result.returncode == 0 and result.stderr == ""


@pytest.mark.e2e
def test_commands_that_load_tensorflow_print_only_their_own_output(tiny_run, tmp_path):
    """No TensorFlow C++ start-up lines, absl or TensorFlow warnings, nor Google FutureWarnings."""
    output, summary = tiny_run
    version = summary["pushed_model"].rstrip("/").rsplit("/", 1)[-1]
    log = tmp_path / "served.jsonl"
    log.write_text("".join(json.dumps(log_record(r, version)) + "\n" for r in births_rows()[:300]))
    report_copy = tmp_path / "run"
    shutil.copytree(output, report_copy, ignore=shutil.ignore_patterns("pipeline_root"))
    rows = str(REPO / "data" / "births.csv")
    commands = [
        ["report", "--output", str(report_copy)],
        ["skew", "--serving-log", str(log), "--output", str(output), "--results", str(tmp_path)],
        ["batch-predict", "--model", summary["pushed_model"], "--no-record", "--input", rows]
        + ["--predictions", str(tmp_path / "predictions")],
        # Beam's worker processes, as the README's example starts them
        ["batch-predict", "--model", summary["pushed_model"], "--no-record", "--input", rows]
        + ["--predictions", str(tmp_path / "predictions2"), "--direct_num_workers=2"]
        + ["--direct_running_mode=multi_processing"],
        ["lineage", "trace", "pushed", "--output", str(output)],
    ]
    for args in commands:
        result = run(*args, timeout=600)
        assert result.returncode == 0, (args, result.stderr[-3000:])
        assert result.stderr == "", (args, result.stderr[-3000:])
