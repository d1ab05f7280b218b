"""babyweight.kfp.spec_runner as a faithful OSS KFP v2 backend, on a two-task spec of a few
lines of Python (synthetic_spec.py), so each rule of the contract is checked in seconds.

Each test pins one behaviour of kubeflow/pipelines@7b70c7b9 (named in the test) that the spec
runner before issue 22 did not have: no executor-logs, outputs under ROOT/RUN/TASK, inputs
copied with their schema and a made-up name, the lifecycle driver run, the spec's
defaultPipelineRoot used, no ML Metadata and no cache.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from babyweight.kfp import spec_runner
from babyweight.kfp.kfp_mlmd import KfpMetadata

import pytest
import yaml
from ml_metadata.proto import metadata_store_pb2 as pb
from synthetic_spec import synthetic_spec


def write_spec(tmp_path: Path, **kw) -> Path:
    path = tmp_path / "synthetic.yaml"
    path.write_text(yaml.safe_dump(synthetic_spec(str(tmp_path / "driver-ran"), **kw)))
    return path


def run(tmp_path: Path, run_id: str = "r1", **kw) -> spec_runner.SpecRun:
    return spec_runner.run_spec(
        write_spec(tmp_path), str(tmp_path / "root"), run_id, echo=lambda line: None, **kw
    )


def received(result: spec_runner.SpecRun, task: str, key: str) -> dict:
    return json.loads((Path(result.outputs(task, key)[0]["uri"]) / "received.json").read_text())


def test_a_task_gets_the_executor_input_the_driver_builds(tmp_path):
    result = run(tmp_path)
    a = received(result, "A", "data")
    root = re.escape(str((tmp_path / "root").resolve()))
    uuid = "[0-9a-f-]{36}"
    # driver.go provisionOutputs: ROOT/PIPELINE/RUN/TASK/UUID/KEY, named by the key
    data = a["outputs"]["artifacts"]["data"]["artifacts"][0]
    assert (
        re.fullmatch(f"{root}/synthetic/r1/A/{uuid}/data", data["uri"]) and data["name"] == "data"
    )
    # ... and the executor-logs output the launcher adds, of type system.Artifact
    logs = a["outputs"]["artifacts"]["executor-logs"]["artifacts"][0]
    assert logs["type"] == {"schemaTitle": "system.Artifact"}
    # the output metadata file is the pod's own /tmp/kfp_outputs/output_metadata.json
    assert a["outputs"]["outputFile"].endswith("/tmp/kfp_outputs/output_metadata.json")
    assert not a["outputs"]["outputFile"].startswith(str(tmp_path))
    # resolve.go + client.go ToRuntimeArtifact: the input comes back from MLMD
    b = received(result, "B", "result")
    data_in = b["inputs"]["artifacts"]["data"]["artifacts"][0]
    store = KfpMetadata(result.metadata).store
    [recorded] = store.get_artifacts_by_uri(data["uri"])
    assert data_in["name"] == str(recorded.id)
    assert data_in["type"] == {"instanceSchema": ""}
    assert data_in["metadata"] == {
        "flag": 1.0,  # a bool, stored as int 1, back as a number
        "n": 3.0,
        "display_name": "data",
        "store_session_info": '{"Provider":"local","Params":{}}',
    }
    assert b["inputs"]["parameterValues"]["count"] == 7.0  # read from /tmp/kfp/outputs/count


def test_no_lifecycle_hook_runs_and_the_log_goes_to_executor_logs(tmp_path):
    result = run(tmp_path)
    assert not (tmp_path / "driver-ran").exists()  # nothing in backend/src reads lifecycle
    logs = Path(result.outputs("A", "executor-logs")[0]["uri"])  # launcher_v2.go getLogWriter
    assert "hello from the task" in logs.read_text()


def test_ml_metadata_reads_back_as_the_kfp_ui_reads_it(tmp_path):
    result = run(tmp_path)
    store = KfpMetadata(result.metadata).store
    # run context -> executions by task_name -> output artifacts by event
    [run_ctx] = [c for c in store.get_contexts_by_type("system.PipelineRun") if c.name == "r1"]
    [pipeline_ctx] = store.get_parent_contexts_by_context(run_ctx.id)
    assert pipeline_ctx.name == "synthetic"
    assert store.get_context_types_by_id([pipeline_ctx.type_id])[0].name == "system.Pipeline"
    assert run_ctx.custom_properties["pipeline_root"].string_value.endswith("/root/synthetic/r1")
    executions = store.get_executions_by_context(run_ctx.id)
    types = {t.id: t.name for t in store.get_execution_types()}
    [dag] = [e for e in executions if types[e.type_id] == "system.DAGExecution"]
    assert dag.name == "run/r1"
    tasks = {
        e.custom_properties["task_name"].string_value: e
        for e in executions
        if types[e.type_id] == "system.ContainerExecution"
    }
    assert set(tasks) == {"A", "B"}
    b = tasks["B"]
    assert b.last_known_state == pb.Execution.COMPLETE
    assert b.custom_properties["display_name"].string_value == "B"
    assert b.custom_properties["parent_dag_id"].int_value == dag.id
    assert b.custom_properties["image"].string_value == "img:1"
    assert re.fullmatch("[0-9a-f]{64}", b.custom_properties["cache_fingerprint"].string_value)
    events = store.get_events_by_execution_ids([b.id])
    by_key = {(e.type, e.path.steps[0].key): e.artifact_id for e in events}
    assert set(by_key) == {
        (pb.Event.INPUT, "data"),
        (pb.Event.OUTPUT, "result"),
        (pb.Event.OUTPUT, "executor-logs"),
    }
    artifact_types = {t.id: t.name for t in store.get_artifact_types()}
    [logs] = store.get_artifacts_by_id([by_key[(pb.Event.OUTPUT, "executor-logs")]])
    assert artifact_types[logs.type_id] == "system.Artifact"
    [out] = store.get_artifacts_by_id([by_key[(pb.Event.OUTPUT, "result")]])
    assert artifact_types[out.type_id] == "tfx.Examples" and out.state == pb.Artifact.LIVE


def test_a_rerun_is_served_from_the_cache_by_fingerprint(tmp_path):
    first = run(tmp_path, "r1")
    again = run(tmp_path, "r2")
    assert [t.state for t in again.tasks] == ["CACHED", "CACHED"]
    assert [t.fingerprint for t in again.tasks] == [t.fingerprint for t in first.tasks]
    assert again.outputs("B", "result") == first.outputs("B", "result")  # the same artifacts
    store = KfpMetadata(again.metadata).store
    cached = store.get_executions_by_id([again.tasks[1].execution_id])[0]
    assert cached.last_known_state == pb.Execution.CACHED
    assert cached.custom_properties["cached_execution_id"].string_value == str(
        first.tasks[1].execution_id
    )
    changed = run(tmp_path, "r3", parameters={"fail": "no, really"})  # a new parameter value
    assert [t.state for t in changed.tasks] == ["COMPLETE", "COMPLETE"]  # B: a new input
    uncached = run(tmp_path, "r4", cache=False)
    assert [t.state for t in uncached.tasks] == ["COMPLETE", "COMPLETE"]


def test_a_failed_task_is_recorded_failed_with_its_log_only(tmp_path):
    failed = re.compile(r"A exited with 3.*hello from the task", re.S)
    with pytest.raises(spec_runner.TaskFailed, match=failed):
        run(tmp_path, parameters={"fail": "yes"})
    store = KfpMetadata(str(tmp_path / "root" / "metadata.sqlite")).store
    dag, a = store.get_executions()
    assert a.last_known_state == pb.Execution.FAILED
    assert dag.last_known_state == pb.Execution.FAILED  # UpdateDAGExecutionsState
    outputs = [e for e in store.get_events_by_execution_ids([a.id]) if e.type == pb.Event.OUTPUT]
    assert [e.path.steps[0].key for e in outputs] == ["executor-logs"]  # uploadOutputArtifacts


def test_the_specs_own_root_is_not_used(tmp_path):
    # root_dag.go: the run's root, else the kfp-launcher configmap's default (minio://...)
    spec = write_spec(tmp_path, default_root=str(tmp_path / "spec-root"))
    with pytest.raises(spec_runner.SpecError, match=r"'minio://mlpipeline/v2/artifacts'"):
        spec_runner.run_spec(spec, None, "r1", echo=lambda line: None)
    assert not (tmp_path / "spec-root").exists()


def test_a_resolver_node_is_refused_with_the_compilers_message(tmp_path):
    spec = synthetic_spec(str(tmp_path / "m"))
    spec["deploymentSpec"]["executors"]["B_executor"] = {"resolver": {"outputArtifactQueries": {}}}
    path = tmp_path / "resolver.yaml"
    path.write_text(yaml.safe_dump(spec))
    message = (
        'error processing component name="B": executor(label="B_executor"): '
        "non-container and non-importer executor not implemented"
    )  # compiler/visitor.go pipelineDFS.dfs
    with pytest.raises(spec_runner.SpecError, match=re.escape(message)):
        spec_runner.run_spec(path, str(tmp_path / "root"), "r1", echo=lambda line: None)
    assert not (tmp_path / "root").exists()
