"""A pipeline root with runs recorded as KFP records them, for the UI's backends.

The records are written by babyweight.kfp.kfp_mlmd, the recorder of `babyweight kfp-spec-run`
(after KFP's backend/src/v2/metadata/client.go), with the calls the driver and launcher make:
one run whose two tasks completed (one output a system.HTML file under the root), and one run
whose first task failed.
"""

from __future__ import annotations

from pathlib import Path

from babyweight.kfp.kfp_mlmd import CONTAINER_EXECUTION, DAG_EXECUTION, KfpMetadata

import pytest
import yaml
from ml_metadata.proto import metadata_store_pb2 as pb

SESSION = {"Provider": "local", "Params": {}}
SPEC = {  # the smallest compiled spec the records and the UI read: two chained tasks
    "pipelineInfo": {"name": "babyweight"},
    "schemaVersion": "2.1.0",
    "sdkVersion": "kfp-2.5.0",
    "components": {"comp-A": {"executorLabel": "exec-A"}, "comp-B": {"executorLabel": "exec-B"}},
    "deploymentSpec": {
        "executors": {
            "exec-A": {"container": {"image": "i"}},
            "exec-B": {"container": {"image": "i"}},
        }
    },
    "root": {
        "dag": {
            "tasks": {
                "A": {"componentRef": {"name": "comp-A"}, "taskInfo": {"name": "A"}},
                "B": {
                    "componentRef": {"name": "comp-B"},
                    "taskInfo": {"name": "B"},
                    "dependentTasks": ["A"],
                },
            }
        }
    },
}
HTML_SCHEMA = "title: system.HTML\ntype: object\n"


def task(mlmd, contexts, dag_id, name, state, outputs=()):
    props = {
        "display_name": ("string_value", name),
        "task_name": ("string_value", name),
        "parent_dag_id": ("int_value", dag_id),
        "pod_name": ("string_value", f"{name}-pod"),
    }
    execution = mlmd.create_execution(contexts, CONTAINER_EXECUTION, props, {})
    recorded = [
        (key, mlmd.record_artifact(key, HTML_SCHEMA, {"uri": uri}, SESSION)) for key, uri in outputs
    ]
    mlmd.publish_execution(execution, contexts, {}, recorded, state)
    return execution


def record_run(mlmd, root: Path, run_id: str, fail: bool):
    contexts = mlmd.get_pipeline("babyweight", run_id, str(root), SESSION, "kubeflow")
    dag = mlmd.create_execution(
        contexts, DAG_EXECUTION, {}, {"train_steps": 3}, name=f"run/{run_id}"
    )
    html = root / "babyweight" / run_id / "A" / "0" / "html"
    html.parent.mkdir(parents=True)
    html.write_text("<html><body><h1>report</h1></body></html>")
    first = pb.Execution.FAILED if fail else pb.Execution.COMPLETE
    task(mlmd, contexts, dag.id, "A", first, [("html", str(html))])
    if not fail:
        task(mlmd, contexts, dag.id, "B", pb.Execution.COMPLETE)
    dag = mlmd.store.get_executions_by_id([dag.id])[0]
    mlmd.publish_execution(
        dag, contexts, None, [], pb.Execution.FAILED if fail else pb.Execution.COMPLETE
    )


@pytest.fixture
def kfp_root(tmp_path) -> Path:
    """ROOT with metadata.sqlite (runs `done` and `broken`) and ROOT/../spec.yaml."""
    root = tmp_path / "root"
    root.mkdir()
    mlmd = KfpMetadata(str(root / "metadata.sqlite"))
    record_run(mlmd, root, "done", fail=False)
    record_run(mlmd, root, "broken", fail=True)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    return root
