"""Run a compiled KFP v2 pipeline spec on this machine as the OSS KFP v2 backend runs it.

    babyweight kfp-spec-run babyweight_kfp.yaml --pipeline-root /tmp/bw_spec_run
    babyweight kfp-spec-run babyweight_kfp.yaml --pipeline-root DIR --runtime_parameter K=V

It is a faithful backend, not a friendly one (kubeflow/pipelines@7b70c7b9, see launcher.py,
cache_key.py, kfp_mlmd.py and spec_dag.py for each rule and its source file):

- it refuses a spec the OSS compiler refuses (a Resolver node), with the compiler's message;
- the pipeline root is the run's (--pipeline-root, or a PipelineJob's gcsOutputDirectory); the
  spec's `defaultPipelineRoot` is not read (driver/root_dag.go reads only the run's root, then
  the `kfp-launcher` configmap's default, `minio://mlpipeline/v2/artifacts`);
- each task gets the executor input the driver builds: outputs under
  `ROOT/PIPELINE/RUN/TASK/UUID/KEY` with the extra `executor-logs` output, inputs rebuilt from
  ML Metadata (numeric ids as names, no schema, metadata after the MLMD round trip);
- it runs no TFX driver and no `lifecycle` hook (nothing in backend/src reads them);
- it records ML Metadata as the driver and launcher do, and caches by KFP's fingerprint.

Two things stand in for the cluster: the root is a local directory that plays the bucket, mounted
in each "pod" at its own path (the launcher maps gs://B/X to /gcs/B/X; here a path maps to
itself), and a pod's /tmp is a fresh directory per task (the launcher's pod-local
/tmp/kfp_outputs/output_metadata.json and /tmp/kfp/outputs/NAME live there).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from babyweight.errors import JobFailed
from babyweight.kfp import cache_key, launcher
from babyweight.kfp.kfp_mlmd import CONTAINER_EXECUTION, DAG_EXECUTION, KfpMetadata
from babyweight.kfp.spec import add_runtime_parameter_argument, runtime_parameters
from babyweight.kfp.spec_dag import (
    SpecError,
    check_runnable,
    command_line,
    component_of,
    executor_of,
    parameter_value,
    pipeline_parameters,
    read_spec,
    task_order,
    upstream_tasks,
)

from ml_metadata.proto import metadata_store_pb2 as pb

__all__ = ["SpecError", "TaskFailed", "run_spec", "task_order", "upstream_tasks", "read_spec"]

CLUSTER_DEFAULT_ROOT = "minio://mlpipeline/v2/artifacts"  # v2/config/env.go defaultPipelineRoot
LOG_TAIL_LINES = 40
TASK_ENV = {"TF_USE_LEGACY_KERAS": "1", "PYTHONUNBUFFERED": "1"}  # as the Dockerfile's ENV
UI_TYPES = ("system.HTML", "system.Markdown", "system.Metrics")  # what the KFP UI renders
LOCAL_SESSION = {"Provider": "local", "Params": {}}  # stands for objectstore.SessionInfo
NAMESPACE = "kubeflow"


class TaskFailed(JobFailed, RuntimeError):
    """A task's command exited with an error; the message holds its log tail."""


@dataclasses.dataclass
class TaskRun:
    name: str
    seconds: float
    state: str  # COMPLETE or CACHED
    execution_id: int
    fingerprint: str
    outputs: dict[str, list[dict]]  # output key -> [{"uri", "type", "id"}]
    log: str


@dataclasses.dataclass
class SpecRun:
    pipeline_name: str
    run_id: str
    run_dir: str
    metadata: str
    tasks: list[TaskRun]
    log_dir: str = ""

    def outputs(self, task: str, key: str) -> list[dict]:
        return next(t.outputs for t in self.tasks if t.name == task).get(key, [])


@dataclasses.dataclass
class Run:
    """What every task of one run shares."""

    spec: dict
    params: dict
    root: str
    run_root: str
    mlmd: KfpMetadata
    mlmd_path: str
    contexts: tuple
    dag_id: int
    python: str
    workdir: Path
    env: dict
    logs: Path
    cache: bool
    done: dict = dataclasses.field(default_factory=dict)  # task -> MLMD execution id


def type_title(artifact_type: dict) -> str:
    """'tfx.Model' from an artifact type (instanceSchema or schemaTitle), as the launcher
    names the MLMD type."""
    return launcher.type_name(launcher.schema_of(artifact_type))


def runtime_root(runtime_config: dict, pipeline_root: str | None) -> str:
    """The run's root as root_dag.go picks it: the run's own, else the cluster default (the
    spec's defaultPipelineRoot is not read). This runner needs a local directory."""
    root = pipeline_root or runtime_config.get("gcsOutputDirectory") or CLUSTER_DEFAULT_ROOT
    if "://" in root:
        where = "" if pipeline_root else " (no --pipeline-root: KFP's cluster default)"
        raise SpecError(
            f"pipeline root {root!r}{where}: this runner plays the bucket with a local "
            "directory; pass --pipeline-root DIR (the spec's defaultPipelineRoot is not used, "
            "as on KFP)"
        )
    return str(Path(root).resolve())


def check_ui_outputs(task: str, artifacts: dict[str, list[dict]]) -> list[tuple[str, str, str]]:
    """(key, type, uri) of the task's outputs that the KFP UI renders, each checked to be one
    file at its URI (the UI reads that file); TaskFailed otherwise."""
    found = []
    for key, produced in artifacts.items():
        for artifact in produced:
            title = artifact["type"]
            if title not in UI_TYPES:
                continue
            if not os.path.isfile(artifact["uri"]):
                what = "a directory" if os.path.isdir(artifact["uri"]) else "nothing"
                raise TaskFailed(
                    f"{task} output {key} ({title}): the KFP UI reads one file at its URI "
                    f"{artifact['uri']}, and the task left {what} there"
                )
            found.append((key, title, artifact["uri"]))
    return found


def executor_input(run: Run, name: str) -> dict:
    """The ExecutorInput the driver builds for one task (inputs from MLMD, outputs provisioned)."""
    task = run.spec["root"]["dag"]["tasks"][name]
    component = component_of(run.spec, name)
    produced = {t: run.mlmd.output_parameters(i) for t, i in run.done.items()}
    inputs: dict = {"parameterValues": {}, "artifacts": {}}
    for key, ref in task.get("inputs", {}).get("parameters", {}).items():
        inputs["parameterValues"][key] = parameter_value(key, ref, name, run.params, produced)
    for key, ref in task.get("inputs", {}).get("artifacts", {}).items():
        if "taskOutputArtifact" not in ref:
            raise SpecError(f"task {name}: artifact input {key} is not a task output")
        producer = ref["taskOutputArtifact"]
        outputs = run.mlmd.output_artifacts(run.done[producer["producerTask"]])
        artifact = outputs[producer["outputArtifactKey"]]
        inputs["artifacts"][key] = {"artifacts": [run.mlmd.as_input(artifact)]}
    outputs = launcher.provision_outputs(
        run.run_root, name, component.get("outputDefinitions", {}), str(uuid.uuid4())
    )
    return {"inputs": inputs, "outputs": outputs}


def in_pod(outputs: dict, pod: Path) -> dict:
    """The pod-local paths (/tmp/...) of an executor input's outputs, under this task's pod."""
    moved = dict(outputs)
    if outputs["outputFile"].startswith("/tmp/"):
        moved["outputFile"] = str(pod) + outputs["outputFile"]
    moved["parameters"] = {
        k: {"outputFile": str(pod) + v["outputFile"]} for k, v in outputs["parameters"].items()
    }
    return moved


def execution_properties(run: Run, name: str, container: dict, fingerprint: str, cached) -> dict:
    """driver/container.go + metadata/client.go CreateExecution's custom properties."""
    task = run.spec["root"]["dag"]["tasks"][name]
    s = "string_value"
    props = {
        "display_name": (s, task.get("taskInfo", {}).get("name", name)),
        "task_name": (s, name),
        "parent_dag_id": ("int_value", run.dag_id),
        "pod_name": (s, f"{name.lower()}-pod"),
        "pod_uid": (s, str(uuid.uuid4())),
        "namespace": (s, NAMESPACE),
        "image": (s, container.get("image", "")),
    }
    if cached:
        props["cached_execution_id"] = (s, str(cached))
    if fingerprint:
        props["cache_fingerprint"] = (s, fingerprint)
    return props


def input_artifact_ids(ex_input: dict) -> dict[str, list[int]]:
    """metadata/client.go GenerateExecutionConfig: input artifact names are MLMD ids."""
    return {
        key: [int(a["name"]) for a in listed["artifacts"]]
        for key, listed in ex_input["inputs"]["artifacts"].items()
    }


def run_task(run: Run, name: str) -> TaskRun:
    start = time.monotonic()
    task = run.spec["root"]["dag"]["tasks"][name]
    component = component_of(run.spec, name)
    container = executor_of(run.spec, name)["container"]
    ex_input = executor_input(run, name)
    use_cache = run.cache and task.get("cachingOptions", {}).get("enableCache", False)
    fp = cache_key.task_fingerprint(task, component, container, ex_input) if use_cache else ""
    cached = run.mlmd.cached_execution_id(fp, run.contexts[0]) if fp else None
    execution = run.mlmd.create_execution(
        run.contexts,
        CONTAINER_EXECUTION,
        execution_properties(run, name, container, fp, cached),
        ex_input["inputs"]["parameterValues"],
        input_artifact_ids(ex_input),
    )
    log = run.logs / f"{name}.log"
    if cached:
        outputs, state = reuse_cached(run, ex_input, cached), pb.Execution.CACHED
        params = run.mlmd.output_parameters(cached)
    else:
        outputs, params = launch(run, name, component, container, ex_input, execution, log)
        state = pb.Execution.COMPLETE
    run.mlmd.publish_execution(execution, run.contexts, params, outputs, state)
    run.done[name] = execution.id
    shown = {key: [{"uri": a.uri, "type": type_name(run, a), "id": a.id}] for key, a in outputs}
    label = "CACHED" if cached else "COMPLETE"
    seconds = round(time.monotonic() - start, 1)
    return TaskRun(name, seconds, label, execution.id, fp, shown, str(log))


def type_name(run: Run, artifact) -> str:
    return run.mlmd.store.get_artifact_types_by_id([artifact.type_id])[0].name


def reuse_cached(run: Run, ex_input: dict, cached_id: int) -> list:
    """driver/cache.go collectOutputArtifactMetadataFromCache: each provisioned output (and
    executor-logs) must be among the cached execution's outputs."""
    found = run.mlmd.output_artifacts(cached_id)
    outputs = []
    for key, listed in ex_input["outputs"]["artifacts"].items():
        if not listed["artifacts"]:
            continue
        if key not in found:
            raise TaskFailed(f"unable to find artifact with name {key} in mlmd output artifacts")
        outputs.append((key, found[key]))
    return outputs


def launch(run: Run, name, component, container, ex_input, execution, log: Path):
    """component/launcher_v2.go Execute: run the command (stdout and stderr to executor-logs),
    read the output metadata file, collect parameters, record the outputs."""
    pod = Path(tempfile.mkdtemp(prefix=f"kfp-pod-{name}-"))
    try:
        given = {**ex_input, "outputs": in_pod(ex_input["outputs"], pod)}
        for listed in given["outputs"]["artifacts"].values():
            for artifact in listed["artifacts"]:
                Path(artifact["uri"]).parent.mkdir(parents=True, exist_ok=True)
        for p in given["outputs"]["parameters"].values():
            Path(p["outputFile"]).parent.mkdir(parents=True, exist_ok=True)
        with_defaults = launcher.add_default_params(given, component)
        cmd = command_line(container, json.dumps(with_defaults), run.python)
        logs_uri = given["outputs"]["artifacts"][launcher.LOGS_KEY]["artifacts"][0]["uri"]
        code = execute(cmd, run, Path(logs_uri), log, name)
        result = read_output_file(Path(given["outputs"]["outputFile"]))
        if code != 0:
            logs = record_outputs(run, given, {}, only=(launcher.LOGS_KEY,))
            run.mlmd.publish_execution(execution, run.contexts, None, logs, pb.Execution.FAILED)
            tail = "".join(log.read_text().splitlines(keepends=True)[-LOG_TAIL_LINES:])
            raise TaskFailed(f"{name} exited with {code}; log {log}, last lines:\n{tail}")
        params = collect_parameters(given, result, component)
        return record_outputs(run, given, result), params
    finally:
        shutil.rmtree(pod, ignore_errors=True)


def execute(cmd: list[str], run: Run, logs_path: Path, log: Path, name: str) -> int:
    """The user command, its output to the executor-logs file (getLogWriter) and to our log."""
    with open(log, "a") as f:
        f.write(f"$ {name}\n")
        f.flush()
        proc = subprocess.Popen(
            cmd, cwd=run.workdir, env=run.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        with open(logs_path, "wb") as logs:
            for line in proc.stdout:
                logs.write(line)
                f.write(line.decode("utf-8", "replace"))
        return proc.wait()


def read_output_file(path: Path) -> dict:
    """launcher_v2.go getExecutorOutputFile: a missing file is an empty ExecutorOutput."""
    return json.loads(path.read_text()) if path.exists() else {}


def collect_parameters(ex_input: dict, result: dict, component: dict) -> dict:
    """launcher_v2.go collectOutputParameters: the output file's values, else the files."""
    params = dict(result.get("parameterValues", {}))
    definitions = component.get("outputDefinitions", {}).get("parameters", {})
    for key, spec in ex_input["outputs"]["parameters"].items():
        if key not in params:
            text = Path(spec["outputFile"]).read_text()
            params[key] = launcher.parameter_from_text(text, definitions[key]["parameterType"])
    return params


def record_outputs(run: Run, ex_input: dict, result: dict, only=None) -> list:
    """launcher_v2.go uploadOutputArtifacts: merge the executor's output, record each."""
    recorded = []
    for key, listed in ex_input["outputs"]["artifacts"].items():
        if only and key not in only:
            continue
        for artifact in listed["artifacts"]:
            written = result.get("artifacts", {}).get(key, {}).get("artifacts")
            if written and key != launcher.LOGS_KEY:
                artifact = launcher.merge_runtime_artifacts(written[0], artifact)
            schema = launcher.schema_of(artifact["type"])
            recorded.append((key, run.mlmd.record_artifact(key, schema, artifact, LOCAL_SESSION)))
    return recorded


def start_run(spec, runtime_config, options: dict) -> Run:
    """driver/root_dag.go RootDAG: the root, the contexts and the root DAG execution."""
    root = runtime_root(runtime_config, options["pipeline_root"])
    params = pipeline_parameters(spec, runtime_config, options["parameters"] or {})
    pipeline_name = spec["pipelineInfo"]["name"]
    run_id = options["run_id"]
    the_run_root = launcher.run_root(root, pipeline_name, run_id)
    if Path(the_run_root).exists():
        raise SpecError(f"run directory {the_run_root} exists already; pick another --run-id")
    logs = Path(root) / ".runner-logs" / pipeline_name / run_id
    logs.mkdir(parents=True)
    mlmd_path = options["metadata"] or str(Path(root) / "metadata.sqlite")
    mlmd = KfpMetadata(mlmd_path)
    contexts = mlmd.get_pipeline(pipeline_name, run_id, root, LOCAL_SESSION, NAMESPACE)
    dag = mlmd.create_execution(contexts, DAG_EXECUTION, {}, params, name=f"run/{run_id}")
    workdir = Path(options["workdir"] or Path.cwd()).resolve()
    env = {**os.environ, **TASK_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(workdir), env.get("PYTHONPATH")]))
    return Run(
        spec, params, root, the_run_root, mlmd, mlmd_path, contexts, dag.id,
        options["python"], workdir, env, logs, options["cache"],
    )  # fmt: skip


def finish_dag(run: Run, state: int) -> None:
    dag = run.mlmd.store.get_executions_by_id([run.dag_id])[0]
    run.mlmd.publish_execution(dag, run.contexts, None, [], state)


def run_spec(
    spec_path: Path,
    pipeline_root: str | None = None,
    run_id: str | None = None,
    python: str = sys.executable,
    workdir: Path | None = None,
    echo=print,
    parameters: dict | None = None,
    metadata: str | None = None,
    cache: bool = True,
) -> SpecRun:
    """Run every task of the spec here; raises TaskFailed at the first failing task.
    `parameters` override the pipeline parameters' defaults, as a run's runtime config does."""
    spec, runtime_config = read_spec(spec_path)
    check_runnable(spec)
    options = dict(
        pipeline_root=pipeline_root, parameters=parameters, python=python, workdir=workdir,
        run_id=run_id or time.strftime("run-%Y%m%d-%H%M%S"), metadata=metadata, cache=cache,
    )  # fmt: skip
    run = start_run(spec, runtime_config, options)
    tasks = []
    for name in task_order(spec):
        try:
            done = run_task(run, name)
        except TaskFailed:  # metadata/client.go UpdateDAGExecutionsState: a failed task
            finish_dag(run, pb.Execution.FAILED)
            raise
        tasks.append(done)
        shown = check_ui_outputs(name, done.outputs)
        echo(f"{name:<28} {done.state:<8}  {done.seconds:6.1f}s")
        for key, title, uri in shown:
            echo(f"  {key:<26} {title:<16} {uri}")
    finish_dag(run, pb.Execution.COMPLETE)
    result = SpecRun(
        spec["pipelineInfo"]["name"], options["run_id"], run.run_root, run.mlmd_path, tasks,
        str(run.logs),
    )  # fmt: skip
    summary = {"pipeline": result.pipeline_name, "run_id": result.run_id,
               "tasks": [dataclasses.asdict(t) for t in tasks]}  # fmt: skip
    (run.logs / "spec_run.json").write_text(json.dumps(summary, indent=2) + "\n")
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babyweight kfp-spec-run",
        description="Run a compiled KFP v2 pipeline spec here as the OSS KFP v2 backend does.",
    )
    parser.add_argument("spec", type=Path, help="the YAML (or JSON) from kubeflow_runner.py")
    parser.add_argument(
        "--pipeline-root",
        help="local directory playing the run's artifact bucket (the spec's own root is not "
        "used, as on KFP)",
    )
    add_runtime_parameter_argument(parser, "a pipeline parameter for this run (repeatable)")
    parser.add_argument("--run-id", help="run id (default: run-<time>)")
    parser.add_argument(
        "--metadata",
        default=os.environ.get("BABYWEIGHT_METADATA"),
        help="ML Metadata: an SQLite path or mysql://user[:password]@host:port/database "
        "[BABYWEIGHT_METADATA] (default: ROOT/metadata.sqlite)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="as the server's cache_disabled: run every task"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path.cwd(),
        help="the project directory, as the image's working directory (default: here)",
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter for the tasks")
    return parser


def main(argv=None) -> int:
    """Run the spec; SpecError, SpecFileError (exit 2) and TaskFailed (exit 1) go to
    babyweight/cli.py, one line each."""
    args = build_parser().parse_args(argv)
    parameters = runtime_parameters(args.runtime_parameter)
    run = run_spec(
        args.spec, args.pipeline_root, args.run_id, args.python, args.workdir,
        parameters=parameters, metadata=args.metadata, cache=not args.no_cache,
    )  # fmt: skip
    total = sum(t.seconds for t in run.tasks)
    cached = sum(t.state == "CACHED" for t in run.tasks)
    print(f"{len(run.tasks)} tasks ({cached} cached) in {total:.0f}s; outputs under {run.run_dir}")
    return 0


if __name__ == "__main__":
    from babyweight import cli

    sys.exit(cli.run("kfp-spec-run", sys.argv[1:]))
