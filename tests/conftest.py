"""Shared fixtures. The expensive one, `tiny_run`, runs the real pipeline once per session on a
few hundred rows of data/births.csv; every test that needs a trained, pushed model uses it."""

from __future__ import annotations

import json
from pathlib import Path

import babyweight  # noqa: F401  (selects Keras 2 before any test imports TensorFlow)
from babyweight.errors import ExitCode

import pytest
from helpers import run_local_pipeline, tiny_slice


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return tiny_slice(tmp_path_factory.mktemp("data") / "tiny.csv")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_data):
    """The real pipeline, end to end, on the tiny slice. Returns (output_dir, summary dict)."""
    output = tmp_path_factory.mktemp("tiny_run")
    result = run_local_pipeline(tiny_data, output)
    assert result.returncode == 0, (
        f"pipeline failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    )
    summary = json.loads((output / "run_summary.json").read_text())
    return output, summary


@pytest.fixture(scope="session")
def pushed_model_dir(tiny_run) -> Path:
    _, summary = tiny_run
    assert summary["pushed_model"], summary
    return Path(summary["pushed_model"])


@pytest.fixture(scope="session")
def tiny_rerun(tiny_run, tiny_data) -> dict:
    """A second run in the same output directory, as a person reruns the pipeline. It changes
    that directory (a newer MLMD run, a second pushed version), so tests that use it run last."""
    output, _ = tiny_run
    result = run_local_pipeline(tiny_data, output)
    assert result.returncode == 0, f"rerun failed:\n{result.stderr[-6000:]}"
    return json.loads((output / "run_summary.json").read_text())


@pytest.fixture(scope="session")
def tiny_tuned_rerun(tiny_rerun, tiny_run, tiny_data) -> dict:
    """A third run with the Tuner on: Transform stays cached, Tuner and Trainer run anew, and the
    Evaluator compares the tuned model with the last blessed one."""
    output, _ = tiny_run
    result = run_local_pipeline(
        tiny_data, output, "--tune", "--tuner-trials", "2", "--tuner-train-steps", "100"
    )
    summary = json.loads((output / "run_summary.json").read_text())
    # a tuned model may be worse than the last blessed one: then it is refused (exit 6)
    blessed_or_refused = (ExitCode.BLESSED, ExitCode.NOT_BLESSED)
    assert result.returncode in blessed_or_refused, f"tuned rerun failed:\n{result.stderr[-6000:]}"
    assert result.returncode == summary["exit_code"]
    return summary


RERUN_FIXTURES = ("tiny_rerun", "tiny_tuned_rerun")


def pytest_collection_modifyitems(items):
    """Tests that rerun the pipeline in the shared output directory go last, in run order."""

    def order(item):
        names = getattr(item, "fixturenames", ())
        return [i for i, f in enumerate(RERUN_FIXTURES, start=1) if f in names][-1:] or [0]

    items.sort(key=order)


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory):
    """A real MariaDB server (tests/mariadb.py) for the whole session, stopped at the end;
    tests that need it skip with one line when Debian's mariadb-server is not installed."""
    from mariadb import MariaDB, server_binary

    if server_binary() is None:
        pytest.skip("no MariaDB server binary (apt-get install mariadb-server)")
    server = MariaDB(tmp_path_factory.mktemp("mariadb"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mysql_url(mariadb_server, request) -> str:
    """A fresh database on the server for one test module, as a --metadata URL."""
    name = "bw_" + request.module.__name__.rsplit(".", 1)[-1].replace("-", "_")
    mariadb_server.sql(f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`")
    return mariadb_server.url(name)
