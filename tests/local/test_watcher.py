"""local_runner.py --watch / --every without training: durations, the command of each run, the
line per run, and the locks, with real runs of local_runner.py that stop at staging (a span of 40
real rows is too small to evaluate: exit 4 before TensorFlow loads)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from babyweight import run_lock
from babyweight.errors import ExitCode
from babyweight.layout import OutputLayout
from babyweight.local import cli, spans, watcher

import pytest
from helpers import REPO, RUNNER_ENV, natality_rows, write_rows

from pipeline import configs


@pytest.mark.parametrize(
    "text, seconds", [("90", 90), ("30s", 30), ("15m", 900), ("6h", 21600), ("1d", 86400)]
)
def test_durations(text, seconds):
    assert watcher.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "soon", "5w", "-1m"])
def test_a_wrong_duration_is_named(text):
    with pytest.raises(watcher.WatchError, match=f"--every {text!r}: expected a duration"):
        watcher.parse_duration(text)


def passed_on(argv: list[str]) -> list[str]:
    """What a watcher started with `argv` passes on to each run."""
    return cli.without(cli.build_parser(), argv, watcher.OWN_FLAGS)


def test_each_run_is_local_runner_with_the_watchers_flags():
    argv = ["--watch", "d", "--output", "o", "--train-steps", "7", "--tune", "--on-drift", "warn"]
    cmd = watcher.run_command(passed_on(argv), Path("d"), 3, "rid")
    assert cmd[:2] == [sys.executable, str(REPO / "local_runner.py")]
    flags = " ".join(cmd[2:])
    for part in ("--data d", "--run-id rid", "--span 3", "--output o", "--train-steps 7"):
        assert part in flags
    assert "--on-drift warn" in flags and "--tune" in flags and "--watch" not in flags


def test_every_flag_of_a_run_reaches_the_runs_and_the_watchers_own_do_not():
    """No list of flags is kept by hand: each setting's flag (configs.SETTINGS) goes through as
    the person wrote it, =value and argparse's prefixes included."""
    own = ["--every=1d", "--poll", "5", "--verbose", "--data", "in"]
    for_runs = ["--quiet"]
    for setting in configs.settings_of(configs.LOCAL):
        if setting.name not in watcher.OWN_FLAGS:
            value = [] if setting.type is bool else [str((*setting.choices, 1)[0])]
            for_runs += [setting.flag_for(configs.LOCAL), *value]
    assert len(for_runs) > 20
    assert passed_on(own[:3] + for_runs[:1] + own[3:] + for_runs[1:]) == for_runs
    prefixes = ["--wat", "d", "--train-st=9", "--eval", "2"]  # as argparse reads them
    assert passed_on(prefixes) == ["--train-st=9", "--eval", "2"]
    cli.build_parser().parse_args(for_runs)  # what a run gets is a command line it takes


def test_the_line_of_a_run_says_what_it_did():
    entry = {
        "outcome": "blessed",
        "exit_code": 0,
        "rows": [1600, 200, 190],
        "spans": [2],
        "warm_start": True,
        "rmse": 0.9986,
        "pushed_version": "1796058020",
        "drifted": None,
        "error": None,
    }
    assert watcher.describe_run(entry) == (
        "blessed (exit 0); rows 1600/200/190 (train/eval/test); warm-started; RMSE 0.999; "
        "pushed version 1796058020"
    )
    drift = {
        **entry,
        "outcome": "drift",
        "exit_code": 7,
        "rmse": None,
        "pushed_version": None,
        "warm_start": None,
        "drift_from": 2,
        "drifted": "mother_age (Jensen-Shannon 0.708 > 0.15)",
        "error": "Drift from the previous span ...",
    }
    assert watcher.describe_run(drift) == (
        "drift (exit 7); rows 1600/200/190 (train/eval/test); drift from span 2 in mother_age "
        "(Jensen-Shannon 0.708 > 0.15); stopped"
    )


def start_watcher(data: Path, output: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, str(REPO / "local_runner.py"), "--watch", str(data)]
    cmd += ["--output", str(output), "--poll", "0.2", *extra]
    return subprocess.Popen(
        cmd, cwd=REPO, env=RUNNER_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def next_line(proc: subprocess.Popen, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    line = proc.stdout.readline()
    assert line and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else line
    return line.rstrip("\n")


def test_the_watcher_waits_for_a_run_by_hand_and_a_second_watcher_is_refused(tmp_path):
    data, output = tmp_path / "data", tmp_path / "out"
    small = data / "span-1"
    small.mkdir(parents=True)
    write_rows(small / "births.csv", *natality_rows("natality2014_100k.csv", limit=40))
    (small / "_SUCCESS").write_text("")
    output.mkdir()
    layout = OutputLayout(output)
    run_lock.acquire(layout.run_lock, "run-by-hand")  # a run started by hand holds the output
    proc = start_watcher(data, output)
    try:
        assert next_line(proc).startswith(f"watching {data} for new spans (span-N/ with a _SUCC")
        waiting = next_line(proc)
        assert "span 1: waiting; " in waiting
        assert f"is in use by process {run_lock.os.getpid()} (run run-by-hand)" in waiting

        second = start_watcher(data, output)
        _, err = second.communicate(timeout=60)
        assert second.returncode == ExitCode.LOCKED
        assert err == (
            f"local_runner: {output} is watched by process {proc.pid} (--watch {data}); stop "
            "that watcher or use another --output\n"
        )

        run_lock.release(layout.run_lock)  # the run by hand ends: the watcher's run goes
        ran = next_line(proc)
        assert "span 1: unusable_data (exit 4); " in ran and "stopped before training" in ran
        (entry,) = spans.read_runs(layout.span_runs)
        assert entry["span"] == 1 and entry["outcome"] == "unusable_data"
        time.sleep(2)  # ten more looks: span 1 is done, it is not run again
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        run_lock.release(layout.run_lock)
        proc.kill()
    assert out == "" and err == watcher.INTERRUPTED + "\n"
    assert proc.returncode == ExitCode.INTERRUPTED
    assert run_lock.holder(layout.watch_lock) is None


def test_a_watcher_refuses_wrong_flags_in_one_line(tmp_path):
    for argv, words in [
        (["--watch", str(tmp_path / "nope")], "--watch"),
        (["--every", "soon"], "--every 'soon'"),
        (["--watch", str(tmp_path), "--span", "2"], "--span"),
        (["--watch", str(tmp_path), "--source", "bigquery"], "--every"),
    ]:
        result = subprocess.run(
            [sys.executable, str(REPO / "local_runner.py"), *argv, "--output", str(tmp_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == ExitCode.USAGE
        assert len(result.stderr.splitlines()) == 1 and words in result.stderr
