"""The pipeline, batch-predict, lineage and `metadata copy` on a real MariaDB server (started by
the tests: tests/mariadb.py), and what SQLite cannot give: two pipeline runs on two --output
directories, batch-predict jobs and rollout steps writing one store at the same time, nothing
lost."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

from babyweight.batch import lineage as batch_lineage
from babyweight.errors import ExitCode
from babyweight.layout import rollout_file_of
from babyweight.metadata import lineage
from babyweight.metadata import store as mlmd
from babyweight.metadata import trace as trace_lib
from babyweight.serving import rollout_lineage
from babyweight.serving.rollout import RolloutFile

import pytest
from helpers import REPO, RUNNER_ENV, local_runner_command, run_local_pipeline
from mariadb import PASSWORD

pytestmark = pytest.mark.e2e


def babyweight(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "babyweight", *args],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def batch_predict(output, url, tiny_data, prefix) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "babyweight", "batch-predict", "--output", str(output),
         "--metadata", url, "--input", str(tiny_data), "--predictions", str(prefix)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def mysql_run(mysql_url, tiny_data, tmp_path_factory):
    """One pipeline run whose ML Metadata is on the server; (output, summary, seconds)."""
    output = tmp_path_factory.mktemp("mysql_run")
    started = time.monotonic()
    result = run_local_pipeline(tiny_data, output, "--metadata", mysql_url)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-4000:]
    return output, json.loads((output / "run_summary.json").read_text()), seconds


def test_the_pipeline_batch_predict_and_lineage_use_the_server(mysql_run, mysql_url, tiny_data):
    output, summary, seconds = mysql_run
    print(f"one tiny run on MySQL: {seconds:.0f}s")
    assert not (output / "metadata.sqlite").exists()
    assert summary["metadata_store"] == mysql_url.replace(f":{PASSWORD}@", ":***@")
    for log in [output / "runner.log", *(output / "logs").glob("*.log")]:
        assert PASSWORD not in log.read_text(), log  # TFX logs the ConnectionConfig: masked
    store = mlmd.open_store(mysql_url, readonly=True)
    nodes = mlmd.run_nodes(store, summary["run_id"])
    assert {n.state for n in nodes.values()} == {"COMPLETE"}, nodes
    assert "Trainer" in nodes and "Pusher" in nodes

    job = batch_predict(output, mysql_url, tiny_data, output / "predicted" / "p")
    out, err = job.communicate(timeout=600)
    assert job.returncode == 0, err[-3000:]
    [run] = store.get_executions_by_type(batch_lineage.EXECUTION_TYPE)
    assert mlmd.STATE_NAMES[run.last_known_state] == "COMPLETE"

    traced = babyweight(
        "lineage", "trace", "pushed", "--output", str(output), "--metadata", mysql_url
    )
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout.splitlines()[0] == f"ML Metadata: {summary['metadata_store']}"
    assert PASSWORD not in traced.stdout + traced.stderr
    assert str(output / "pipeline_root") in traced.stdout


def test_two_runs_batch_jobs_and_rollout_steps_write_one_store_at_once(
    mysql_run, mysql_url, tiny_data, tmp_path
):
    first, summary, _ = mysql_run
    second = tmp_path / "second"
    earlier = mlmd.open_store(mysql_url, readonly=True)  # the batch runs of the test before
    batch_before = len(earlier.get_executions_by_type(batch_lineage.EXECUTION_TYPE))
    runs = {  # a rerun of the first output and a new output, at the same time
        out: subprocess.Popen(
            local_runner_command(tiny_data, out, "--metadata", mysql_url),
            cwd=REPO,
            env=RUNNER_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for out in (first, second)
    }
    served, version = served_copy(first, tmp_path / "served")
    jobs, steps = [], []
    while any(p.poll() is None for p in runs.values()):  # batch jobs and rollout steps
        if len(jobs) < 3 and all(j.poll() is not None for j in jobs):
            prefix = tmp_path / "predicted" / f"job{len(jobs)}"
            jobs.append(batch_predict(first, mysql_url, tiny_data, prefix))
        if len(steps) < MAX_ROLLOUT_STEPS:
            steps += rollout_steps(first, mysql_url, served, version)
        else:
            time.sleep(2)
    for job in jobs:
        job.communicate(timeout=600)
    for out, process in runs.items():
        stdout, stderr = process.communicate()
        # Evaluated either way: the shared store's newest blessed model is the baseline of both
        # outputs, so the later run may be refused by it (exit 6); never failed or locked.
        assert process.returncode in (ExitCode.BLESSED, ExitCode.NOT_BLESSED), f"{out}: {stderr}"
        assert "lock" not in stderr.lower()
    assert [j.returncode for j in jobs] == [0] * len(jobs) and jobs
    assert steps and all(step.returncode == 0 for step in steps), [s.stderr for s in steps]

    store = mlmd.open_store(mysql_url, readonly=True)
    run_ids = [c.name for c in store.get_contexts_by_type("pipeline_run")]
    assert len(run_ids) == 3, run_ids
    expected = set(mlmd.run_nodes(store, summary["run_id"]))
    for run_id in run_ids:
        nodes = mlmd.run_nodes(store, run_id)
        assert set(nodes) == expected, run_id
        assert {n.state for n in nodes.values()} <= {"COMPLETE", "CACHED"}, run_id
    batch_runs = store.get_executions_by_type(batch_lineage.EXECUTION_TYPE)
    assert len(batch_runs) == batch_before + len(jobs)
    assert {mlmd.STATE_NAMES[e.last_known_state] for e in batch_runs} == {"COMPLETE"}
    check_rollout_records(store, steps, version)
    artifact_ids = {a.id for a in store.get_artifacts()}
    execution_ids = {e.id for e in store.get_executions()}
    recorded = [*batch_runs, *store.get_executions_by_type(rollout_lineage.EXECUTION_TYPE)]
    in_runs = {n.execution.id for r in run_ids for n in mlmd.run_nodes(store, r).values()}
    assert execution_ids == in_runs | {e.id for e in recorded}  # every one, nothing else
    events = store.get_events_by_execution_ids(sorted(execution_ids))
    assert events and {e.artifact_id for e in events} <= artifact_ids
    print(
        f"at once: 2 runs, {len(jobs)} batch jobs, {len(steps)} rollout steps; the store holds "
        f"{len(execution_ids)} executions, {len(artifact_ids)} artifacts, {len(events)} events"
    )
    # Each output's model was trained on that output's own examples.
    for out in (first, second):
        result = json.loads((out / "run_summary.json").read_text())
        trainer = mlmd.run_nodes(store, result["run_id"])["Trainer"]
        [model] = trainer.outputs["model"]
        examples = store.get_artifacts_by_id(
            sorted(mlmd.producer_inputs(store, model.id, "examples"))
        )
        assert model.uri.startswith(str(out)) and examples
        assert all(a.uri.startswith(str(out)) for a in examples), [a.uri for a in examples]


# Rollout steps taken while the runs write (each is one `babyweight rollout` command).
MAX_ROLLOUT_STEPS = 12
OLDER = 1  # a version older than the pushed one, that no run pushed: recorded as unlinked


def served_copy(output, where):
    """A copy of `output`'s pushed model as a server's model directory (found by its pushed
    version, metadata/pushed.py) with an older version beside it; (directory, version)."""
    [pushed] = (output / "serving_model" / "babyweight").iterdir()
    served = where / "babyweight"
    shutil.copytree(pushed, served / pushed.name)
    shutil.copytree(pushed, served / str(OLDER))
    return served, int(pushed.name)


def rollout_steps(output, url, served, version) -> list[subprocess.CompletedProcess]:
    """The pushed version is labelled canary (as `serve` labels a new version), promoted, then
    rolled back: two recorded steps that move it."""

    def label(rollout):
        rollout.stable, rollout.canary, rollout.previous, rollout.retired = OLDER, version, [], []

    RolloutFile(rollout_file_of(served)).update(label)
    common = ("--output", str(output), "--metadata", url, "--model-dir", str(served))
    log = ("--serving-log", str(served.parent / "serving_log.jsonl"))
    return [babyweight("rollout", step, *common, *log) for step in ("promote", "rollback")]


def check_rollout_records(store, steps, version) -> None:
    """Each step is one COMPLETE Rollout execution, linked to the pushed model it moved."""
    said = [int(s.stdout.split("recorded in ML Metadata: execution ")[1].split()[0]) for s in steps]
    recorded = store.get_executions_by_type(rollout_lineage.EXECUTION_TYPE)
    assert sorted(e.id for e in recorded) == sorted(said) and len(said) == len(steps)
    assert {mlmd.STATE_NAMES[e.last_known_state] for e in recorded} == {"COMPLETE"}
    moved = {e.id: mlmd.custom_property(e, "action") for e in recorded}
    pushed = {
        a.id
        for a in store.get_artifacts_by_type(mlmd.PUSHED_MODEL_TYPE)
        if str(mlmd.custom_property(a, "pushed_version", "")) == str(version)
    }
    events = store.get_events_by_execution_ids(said)
    linked = {(e.execution_id, e.path.steps[0].key) for e in events if e.artifact_id in pushed}
    part = {"promote": "promoted", "rollback": "rolled_back"}
    assert linked == {(i, part[action]) for i, action in moved.items()}
    downstream = trace_lib.trace(lineage.Lineage(store), min(pushed))["downstream"]
    assert set(said) <= {step["execution"] for step in downstream}


def test_a_copied_store_gives_the_same_lineage(tiny_run, mariadb_server, tmp_path):
    output, summary = tiny_run
    mariadb_server.sql("DROP DATABASE IF EXISTS bw_copy")
    url = mariadb_server.url("bw_copy")
    copied = babyweight("metadata", "copy", "--from", str(output / "metadata.sqlite"), "--to", url)
    assert copied.returncode == 0, copied.stderr
    assert PASSWORD not in copied.stdout
    for question in (["runs"], ["artifacts"], ["trace", "pushed"], ["trace", "model"]):
        answers = [
            babyweight("lineage", *question, "--output", str(output), "--metadata", store, "--json")
            for store in (str(output / "metadata.sqlite"), url)
        ]
        assert [a.returncode for a in answers] == [0, 0], answers[1].stderr
        (tmp_path / f"{'-'.join(question)}.json").write_text(answers[0].stdout + answers[1].stdout)
        assert _without_ids(json.loads(answers[0].stdout)) == _without_ids(
            json.loads(answers[1].stdout)
        )
    again = babyweight("metadata", "copy", "--from", str(output / "metadata.sqlite"), "--to", url)
    assert again.returncode == 2 and "already holds records" in again.stderr


# What a copy cannot keep: the store's own ids (numbered anew). (Times are kept: copy.py.)
NOT_COPIED = {"id", "artifact_id", "execution_id", "execution"}


def _without_ids(data):
    """An answer without what a copy cannot keep (NOT_COPIED)."""
    if isinstance(data, dict):
        return {k: _without_ids(v) for k, v in data.items() if k not in NOT_COPIED}
    if isinstance(data, list):
        return [_without_ids(v) for v in data]
    return data
