"""A MySQL server that goes away in the middle of a run (tests/mariadb.py, its own server here:
the session's stays up for the other tests): the run fails with one line naming host and port,
and once the server is back on the same data, a rerun resumes from the cache."""

from __future__ import annotations

import json
import subprocess
import time

from babyweight.errors import ExitCode
from babyweight.metadata import store as mlmd

import pytest
from helpers import REPO, RUNNER_ENV, local_runner_command
from mariadb import PASSWORD, MariaDB, server_binary

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(server_binary() is None, reason="no MariaDB server binary"),
]

# The run is stopped once this component's execution is COMPLETE: the Trainer runs next.
STOP_AFTER = "Transform"
# Components that do the work a rerun must not do again.
CACHEABLE = ("CsvExampleGen", "StatisticsGen", "Transform")


@pytest.fixture
def server(tmp_path):
    db = MariaDB(tmp_path / "mariadb")
    db.start()
    yield db
    db.stop()


def start_run(tiny_data, output, url) -> subprocess.Popen:
    return subprocess.Popen(
        local_runner_command(tiny_data, output, "--metadata", url),
        cwd=REPO, env=RUNNER_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for_complete(url, node: str, run: subprocess.Popen, timeout_s: float = 600) -> dict:
    """The states of the run's components once `node`'s execution is COMPLETE in the store."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and run.poll() is None:
        store = mlmd.open_store(url, readonly=True)
        runs = store.get_contexts_by_type("pipeline_run")
        nodes = mlmd.run_nodes(store, runs[0].name) if runs else {}
        if node in nodes and nodes[node].state == "COMPLETE":
            return {name: n.state for name, n in nodes.items()}
        time.sleep(0.5)
    said = run.communicate()[1] if run.poll() is not None else "still running"
    raise AssertionError(f"{node} never completed (exit {run.returncode}): {said[-3000:]}")


def test_a_server_gone_mid_run_fails_in_one_line_and_a_rerun_resumes_from_the_cache(
    server, tiny_data, tmp_path
):
    url = server.url("bw_outage")
    output = tmp_path / "out"
    run = start_run(tiny_data, output, url)
    try:
        wait_for_complete(url, STOP_AFTER, run)
        server.stop()  # the server goes away while the next components run
        _, stderr = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == ExitCode.FAILED, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr  # no traceback, no C++ log line
    print(lines[0])
    assert f"no MySQL server answers at 127.0.0.1:{server.port}" in lines[0], lines
    assert "the pipeline failed in " in lines[0] and PASSWORD not in stderr
    failed = json.loads((output / "run_summary.json").read_text())
    [lost] = [n for n, state in failed["components"].items() if state == "FAILED"]
    assert failed["outcome"] == "failed" and lost not in CACHEABLE, failed
    assert f"the pipeline failed in {lost}: " in lines[0]

    server.serve()  # back, on the same data directory and port
    rerun = start_run(tiny_data, output, url)
    _, stderr = rerun.communicate(timeout=900)
    assert rerun.returncode in (ExitCode.BLESSED, ExitCode.NOT_BLESSED), stderr[-3000:]
    resumed = json.loads((output / "run_summary.json").read_text())
    assert resumed["run_id"] != failed["run_id"]
    store = mlmd.open_store(url, readonly=True)
    nodes = mlmd.run_nodes(store, resumed["run_id"])
    assert {n: nodes[n].state for n in CACHEABLE} == dict.fromkeys(CACHEABLE, "CACHED"), nodes
    assert nodes[lost].state == "COMPLETE" and "Pusher" in nodes
    assert {n.state for n in nodes.values()} <= {"COMPLETE", "CACHED"}
