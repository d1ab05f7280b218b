"""`babyweight COMMAND`: one command for every tool, each importing only what it needs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types

from babyweight import cli
from babyweight.errors import BabyweightError, ExitCode, JobFailed, UsageError

import pytest
from helpers import REPO, births_rows, log_record
from helpers import run_babyweight as run


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
        # Beam's worker processes, as docs/batch-prediction.md's example starts them
        ["batch-predict", "--model", summary["pushed_model"], "--no-record", "--input", rows]
        + ["--predictions", str(tmp_path / "predictions2"), "--direct_num_workers=2"]
        + ["--direct_running_mode=multi_processing"],
        ["lineage", "trace", "pushed", "--output", str(output)],
    ]
    for args in commands:
        result = run(*args, timeout=600)
        assert result.returncode == 0, (args, result.stderr[-3000:])
        assert result.stderr == "", (args, result.stderr[-3000:])


# -- one exit path: one line on stderr and one exit code per cause, whatever the command --------
def missing_output_commands(tmp_path) -> list[list[str]]:
    """Every command that reads a run's --output, each given one that does not exist (and the
    other inputs it needs, valid, so that --output is what it stops on)."""
    log = tmp_path / "served.jsonl"
    log.write_text("".join(json.dumps(log_record(r, "1")) + "\n" for r in births_rows()[:5]))
    missing = ["--output", str(tmp_path / "no_such_run")]
    rows = str(REPO / "data" / "births.csv")
    return [
        ["lineage", "runs", *missing],
        ["lineage", "artifacts", *missing],
        ["lineage", "trace", "pushed", *missing],
        ["report", *missing],
        ["skew", "--serving-log", str(log), *missing, "--results", str(tmp_path / "skew")],
        ["batch-predict", "--input", rows, "--predictions", str(tmp_path / "p"), *missing],
        ["rollout", "status", *missing],
        ["rollout", "promote", *missing],
        ["rollout", "rollback", *missing],
    ]


def test_a_missing_output_directory_is_one_line_and_one_exit_code_in_every_command(tmp_path):
    """Issue 29 item 3: `lineage runs` exited 1, `report` and `skew` 2, for the same cause."""
    codes = {}
    for args in missing_output_commands(tmp_path):
        result = run(*args)
        lines = result.stderr.splitlines()
        assert len(lines) == 1, (args, result.stderr[-3000:])
        assert lines[0].startswith(f"babyweight {args[0]}: "), (args, lines)
        assert "no_such_run" in lines[0], (args, lines)
        codes[" ".join(args[:2])] = result.returncode
    assert set(codes.values()) == {ExitCode.USAGE}, codes
    assert not (tmp_path / "no_such_run").exists()  # nothing was created there


@pytest.fixture
def command(monkeypatch):
    """A command `probe` whose main(argv) raises what argv[0] names."""
    module = types.ModuleType("probe_command")
    raised = {
        "usage": UsageError("--flag x: no such file"),
        "job": JobFailed("input rows (3) != predictions (1) + dead-letter rows (1)"),
        "locked": BabyweightError("outputs is used by process 7", ExitCode.LOCKED),
        "ctrl-c": KeyboardInterrupt(),
        "bug": ZeroDivisionError("division by zero\nmore lines"),
    }

    def main(argv):
        if argv[0] == "verdict":
            return 1
        raise raised[argv[0]]

    module.main = main
    monkeypatch.setitem(sys.modules, "probe_command", module)
    monkeypatch.setitem(cli.COMMANDS, "probe", ("probe_command", "raises"))
    return "probe"


@pytest.mark.parametrize(
    "what, code, line",
    [
        ("usage", 2, "babyweight probe: --flag x: no such file"),
        ("job", 1, "babyweight probe: input rows (3) != predictions (1) + dead-letter rows (1)"),
        ("locked", 3, "babyweight probe: outputs is used by process 7"),
        ("ctrl-c", 130, "babyweight probe: interrupted"),
        ("bug", 1, "babyweight probe: failed (ZeroDivisionError: division by zero); --verbose "
                   "shows the traceback"),
    ],
)  # fmt: skip
def test_every_error_leaves_through_one_place(command, capsys, monkeypatch, what, code, line):
    monkeypatch.delenv("BABYWEIGHT_VERBOSE", raising=False)
    assert cli.call(command, [what]) == code
    assert capsys.readouterr().err.splitlines() == [line]


def test_a_verdict_is_the_commands_own_exit_status(command, capsys):
    assert cli.call(command, ["verdict"]) == 1  # e.g. skew found: returned, not raised
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", sorted(set(cli.COMMANDS) - {"serve"}))  # serve: parse_args
def test_each_command_module_builds_its_parser(name):
    """build_parser() without side effects: for the docs' command reference, and for tests."""
    import importlib

    parser = importlib.import_module(cli.COMMANDS[name][0]).build_parser()
    assert parser.prog == f"babyweight {name}"
    assert f"babyweight {name}" in parser.format_help()
