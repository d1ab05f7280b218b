"""What the KFP API server would answer, taken from this machine's records.

- pipelines and their versions: compiled pipeline specs (the files `kubeflow_runner.py` writes),
  one pipeline per `pipelineInfo.name`, one version per file;
- runs: the `system.PipelineRun` contexts in the pipeline root's ML Metadata, as
  `babyweight kfp-spec-run` records them after the KFP v2 driver and launcher
  (babyweight/kfp/kfp_mlmd.py): the run's state from its root `system.DAGExecution` and its
  tasks' `system.ContainerExecution`s, each task's detail from its execution;
- one experiment, `Default`, holding every run, as a fresh KFP deployment has.

Ids are stable across restarts: uuid5 of the pipeline name and of the spec file's bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from babyweight.errors import BabyweightError

import yaml
from ml_metadata.proto import metadata_store_pb2 as pb

ID_SPACE = uuid.UUID("6b1f7c1e-2f49-5a53-9d0e-6b6177656967")
RUN_CONTEXT = "system.PipelineRun"
DAG_EXECUTION = "system.DAGExecution"
CONTAINER_EXECUTION = "system.ContainerExecution"
EXPERIMENT = {
    "experiment_id": str(uuid.uuid5(ID_SPACE, "experiment/Default")),
    "display_name": "Default",
    "description": "All runs created without specifying an experiment will be grouped here.",
    "namespace": "",
    "storage_state": "AVAILABLE",
}
TASK_STATES = {  # MLMD execution state -> V2beta1RuntimeState
    pb.Execution.NEW: "PENDING",
    pb.Execution.RUNNING: "RUNNING",
    pb.Execution.COMPLETE: "SUCCEEDED",
    pb.Execution.CACHED: "SKIPPED",
    pb.Execution.FAILED: "FAILED",
    pb.Execution.CANCELED: "CANCELED",
}


def timestamp(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Version:
    """One compiled spec file: a version of the pipeline its pipelineInfo names."""

    path: Path
    spec: dict
    created_ms: int
    version_id: str

    @property
    def pipeline(self) -> str:
        return self.spec["pipelineInfo"]["name"]

    @property
    def pipeline_id(self) -> str:
        return pipeline_id(self.pipeline)


def pipeline_id(name: str) -> str:
    return str(uuid.uuid5(ID_SPACE, f"pipeline/{name}"))


def read_version(path: Path) -> Version:
    """A compiled spec (KFP YAML, IR JSON, or a Vertex PipelineJob holding one)."""
    try:
        raw = path.read_bytes()
        spec = next(iter(yaml.safe_load_all(raw)), None) or {}
    except (OSError, yaml.YAMLError) as e:
        raise BabyweightError(
            f"--spec {path}: not a readable pipeline spec ({e.__class__.__name__})"
        ) from None
    spec = spec.get("pipelineSpec", spec)
    if not isinstance(spec.get("pipelineInfo"), dict) or "root" not in spec:
        raise BabyweightError(
            f"--spec {path}: no pipelineInfo/root, not a compiled KFP pipeline spec"
        )
    version = str(uuid.uuid5(ID_SPACE, "version/" + hashlib.sha256(raw).hexdigest()))
    return Version(path, spec, int(path.stat().st_mtime * 1000), version)


def struct_of(execution: pb.Execution, key: str) -> dict:
    from google.protobuf import json_format

    value = execution.custom_properties.get(key)
    return json_format.MessageToDict(value.struct_value) if value is not None else {}


def string_of(message, key: str) -> str:
    value = message.custom_properties.get(key)
    return value.string_value if value is not None else ""


class KfpRecords:
    """Pipelines, versions, the experiment and runs, as v2beta1 REST objects (dicts)."""

    def __init__(self, store, versions: list[Version]):
        self.store = store
        self.versions = sorted(versions, key=lambda v: v.created_ms)

    # pipelines
    def pipelines(self) -> list[dict]:
        names = dict.fromkeys(v.pipeline for v in self.versions)
        return [self.pipeline(pipeline_id(name)) for name in names]

    def pipeline(self, pid: str) -> dict | None:
        mine = [v for v in self.versions if v.pipeline_id == pid]
        if not mine:
            return None
        first = mine[0]
        return {
            "pipeline_id": pid,
            "display_name": first.pipeline,
            "name": first.pipeline,
            "description": first.spec["pipelineInfo"].get("description", ""),
            "created_at": timestamp(first.created_ms),
            "namespace": "",
        }

    def pipeline_versions(self, pid: str) -> list[dict]:
        return [self.version_object(v) for v in reversed(self.versions) if v.pipeline_id == pid]

    def version(self, pid: str, vid: str) -> dict | None:
        found = [v for v in self.versions if v.pipeline_id == pid and v.version_id == vid]
        return self.version_object(found[0]) if found else None

    @staticmethod
    def version_object(v: Version) -> dict:
        return {
            "pipeline_id": v.pipeline_id,
            "pipeline_version_id": v.version_id,
            "display_name": v.path.name,
            "name": v.path.name,
            "description": f"compiled spec {v.path}",
            "created_at": timestamp(v.created_ms),
            "pipeline_spec": v.spec,
        }

    # runs
    def run_contexts(self) -> list[pb.Context]:
        try:
            return self.store.get_contexts_by_type(RUN_CONTEXT)
        except Exception:  # no such type yet: no run recorded
            return []

    def runs(self) -> list[dict]:
        runs = [self.run_object(c) for c in self.run_contexts()]
        return sorted(runs, key=lambda r: r["created_at"], reverse=True)

    def run(self, run_id: str) -> dict | None:
        context = self.store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
        return self.run_object(context) if context else None

    def experiment(self) -> dict:
        created = [r["created_at"] for r in self.runs()]
        return {
            **EXPERIMENT,
            "created_at": min(created, default=timestamp(0)),
            "last_run_created_at": max(created, default=timestamp(0)),
        }

    def run_object(self, context: pb.Context) -> dict:
        parents = self.store.get_parent_contexts_by_context(context.id)
        pipeline = parents[0] if parents else None
        executions = self.store.get_executions_by_context(context.id)
        types = {t.id: t.name for t in self.store.get_execution_types()}
        dag = next((e for e in executions if types.get(e.type_id) == DAG_EXECUTION), None)
        tasks = [e for e in executions if types.get(e.type_id) == CONTAINER_EXECUTION]
        state = run_state(dag, tasks)
        created = dag.create_time_since_epoch if dag else context.create_time_since_epoch
        run = {
            "experiment_id": EXPERIMENT["experiment_id"],
            "run_id": context.name,
            "display_name": context.name,
            "storage_state": "AVAILABLE",
            "description": "recorded by babyweight kfp-spec-run",
            "runtime_config": {
                "parameters": struct_of(dag, "inputs") if dag else {},
                "pipeline_root": string_of(context, "pipeline_root"),
            },
            "service_account": "",
            "created_at": timestamp(created),
            "scheduled_at": timestamp(created),
            "state": state,
            "state_history": [{"update_time": timestamp(created), "state": "RUNNING"}],
            "run_details": {
                "pipeline_context_id": str(pipeline.id) if pipeline else "",
                "pipeline_run_context_id": str(context.id),
                "task_details": [task_detail(context.name, e) for e in tasks],
            },
        }
        if state in ("SUCCEEDED", "FAILED"):
            ends = [e.last_update_time_since_epoch for e in [dag, *tasks] if e is not None]
            run["finished_at"] = timestamp(max(ends))
            run["state_history"].append({"update_time": run["finished_at"], "state": state})
        if state == "FAILED":
            failed = [
                string_of(e, "task_name")
                for e in tasks
                if e.last_known_state == pb.Execution.FAILED
            ]
            run["error"] = {"code": 2, "message": f"task {', '.join(failed)} failed"}
        version = self.newest_version(pipeline.name if pipeline else "")
        if version:
            run["pipeline_version_reference"] = {
                "pipeline_id": version.pipeline_id,
                "pipeline_version_id": version.version_id,
            }
        return run

    def newest_version(self, pipeline: str) -> Version | None:
        mine = [v for v in self.versions if v.pipeline == pipeline]
        return mine[-1] if mine else None


def run_state(dag: pb.Execution | None, tasks: list[pb.Execution]) -> str:
    """A failed task fails the run; else the root DAG's state (SUCCEEDED once it is COMPLETE)."""
    if any(t.last_known_state == pb.Execution.FAILED for t in tasks):
        return "FAILED"
    if dag is None:
        return "PENDING"
    return TASK_STATES.get(dag.last_known_state, "RUNTIME_STATE_UNSPECIFIED")


def task_detail(run_id: str, e: pb.Execution) -> dict:
    detail = {
        "run_id": run_id,
        "task_id": str(e.id),
        "display_name": string_of(e, "task_name"),
        "create_time": timestamp(e.create_time_since_epoch),
        "start_time": timestamp(e.create_time_since_epoch),
        "state": TASK_STATES.get(e.last_known_state, "RUNTIME_STATE_UNSPECIFIED"),
        "execution_id": str(e.id),
        "pod_name": string_of(e, "pod_name"),
    }
    if e.last_known_state in (pb.Execution.COMPLETE, pb.Execution.FAILED, pb.Execution.CACHED):
        detail["end_time"] = timestamp(e.last_update_time_since_epoch)
    return detail
