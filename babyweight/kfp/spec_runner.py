"""Run a compiled KFP v2 pipeline spec on this machine, task by task, as a cluster would.

`kubeflow_runner.py` writes the PipelineJob JSON that KFP or Vertex runs. This module runs that
file itself, not the Python DAG: for each task, in dependency order, it builds the task's
ExecutorInput (parameters from the spec, input artifacts from the upstream tasks' executor
outputs, output URIs under a local pipeline root), puts it in place of the `{{$}}` placeholder of
the task's recorded container command, runs the driver first where the task has one
(`lifecycle.preCacheCheck`, e.g. ExampleGen's span and fingerprint) and then the executor
command, each as a subprocess with this project as the image's working directory. Each task's
`executor_output.json` feeds the tasks downstream, as the KFP launcher does.

    babyweight kfp-spec-run babyweight_kfp.yaml --pipeline-root /tmp/bw_spec_run
    babyweight kfp-spec-run babyweight_kfp.json --runtime_parameter 'train_args={"num_steps": 300}'

The run root is --pipeline-root, else the spec's own (the PipelineJob's gcsOutputDirectory or the
spec's defaultPipelineRoot); pipeline parameters take their defaults unless given. Each output
the KFP UI renders (system.HTML, system.Markdown, system.Metrics) must be one file at its URI,
as the UI reads it: a task that leaves anything else there fails.

What it does not do: caching, ML Metadata, Resolver or importer nodes and conditions (KFP's
backend does those; a spec for the `kfp` target has none). Every task runs anew.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from babyweight.errors import JobFailed, UsageError
from babyweight.kfp.spec import (
    SpecFileError,
    add_runtime_parameter_argument,
    load_spec,
    runtime_parameters,
)
from babyweight.kfp.spec import pipeline_root as root_of

import yaml

INVOCATION_PLACEHOLDER = "{{$}}"
LOG_TAIL_LINES = 40
TASK_ENV = {"TF_USE_LEGACY_KERAS": "1", "PYTHONUNBUFFERED": "1"}  # as the Dockerfile's ENV
UI_TYPES = ("system.HTML", "system.Markdown", "system.Metrics")  # what the KFP UI renders


class SpecError(UsageError, RuntimeError):
    """The spec cannot be run here (a resolver node, a placeholder we do not fill, a cycle)."""


class TaskFailed(JobFailed, RuntimeError):
    """A task's driver or executor exited with an error; the message holds its log tail."""


@dataclasses.dataclass
class TaskRun:
    name: str
    seconds: float
    driver: bool
    outputs: dict[str, list[dict]]  # output key -> RuntimeArtifact dicts (name, type, uri, ...)
    log: str


@dataclasses.dataclass
class SpecRun:
    pipeline_name: str
    run_id: str
    run_dir: str
    tasks: list[TaskRun]

    def outputs(self, task: str, key: str) -> list[dict]:
        return next(t.outputs for t in self.tasks if t.name == task).get(key, [])


def read_spec(path: Path) -> tuple[dict, dict]:
    try:
        return load_spec(path)
    except SpecFileError as e:
        raise SpecError(f"spec file {e}") from None


def type_title(artifact_type: dict) -> str:
    """'tfx.Model' from an artifact type schema (instanceSchema YAML or schemaTitle)."""
    if "schemaTitle" in artifact_type:
        return artifact_type["schemaTitle"]
    return yaml.safe_load(artifact_type.get("instanceSchema", "")).get("title", "")


def upstream_tasks(task: dict) -> set[str]:
    found = set(task.get("dependentTasks", []))
    inputs = task.get("inputs", {})
    for ref in inputs.get("artifacts", {}).values():
        if "taskOutputArtifact" in ref:
            found.add(ref["taskOutputArtifact"]["producerTask"])
    for ref in inputs.get("parameters", {}).values():
        if "taskOutputParameter" in ref:
            found.add(ref["taskOutputParameter"]["producerTask"])
    return found


def task_order(spec: dict) -> list[str]:
    """Task names in dependency order (upstream first; ties in the spec's order)."""
    tasks = spec["root"]["dag"]["tasks"]
    upstream = {name: upstream_tasks(task) for name, task in tasks.items()}
    for name, ups in upstream.items():
        unknown = ups - set(tasks)
        if unknown:
            raise SpecError(f"task {name} depends on unknown tasks {sorted(unknown)}")
    order: list[str] = []
    while len(order) < len(tasks):
        ready = [n for n in tasks if n not in order and upstream[n] <= set(order)]
        if not ready:
            raise SpecError(f"dependency cycle among {sorted(set(tasks) - set(order))}")
        order.append(ready[0])
    return order


def executor_of(spec: dict, task_name: str) -> dict:
    component = spec["components"][spec["root"]["dag"]["tasks"][task_name]["componentRef"]["name"]]
    return spec["deploymentSpec"]["executors"][component["executorLabel"]]


def check_runnable(spec: dict) -> None:
    """Refuse, before anything runs, what only a KFP backend can do."""
    for name, task in spec["root"]["dag"]["tasks"].items():
        executor = executor_of(spec, name)
        if "container" not in executor:
            kind = next(iter(executor), "?")
            raise SpecError(
                f"task {name} is a {kind} node, which only a KFP backend runs; compile with "
                "`kubeflow_runner.py --target kfp` for a spec without resolvers"
            )
        if task.get("triggerPolicy", {}).get("condition"):
            raise SpecError(f"task {name} has a condition; conditions are not supported here")


def _parameter_value(name: str, ref: dict, task: str, params: dict, done: dict) -> object:
    if "runtimeValue" in ref:
        value = ref["runtimeValue"]
        if "constant" in value:  # pipeline spec 2.1
            return value["constant"]
        constant = value.get("constantValue", {})  # pipeline spec 2.0
        for kind in ("stringValue", "intValue", "doubleValue"):
            if kind in constant:
                return constant[kind]
    if "componentInputParameter" in ref:
        pipeline_param = ref["componentInputParameter"]
        if pipeline_param not in params:
            raise SpecError(f"task {task}: pipeline parameter {pipeline_param!r} has no value")
        return params[pipeline_param]
    if "taskOutputParameter" in ref:
        out = ref["taskOutputParameter"]
        return done[out["producerTask"]]["parameterValues"][out["outputParameterKey"]]
    raise SpecError(f"task {task}: parameter {name} has an input form not supported here: {ref}")


def _pipeline_parameters(spec: dict, runtime_config: dict, given: dict) -> dict:
    definitions = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    unknown = sorted(set(given) - set(definitions))
    if unknown:
        raise SpecError(f"no pipeline parameter {unknown}; the spec has {sorted(definitions)}")
    params = {n: d["defaultValue"] for n, d in definitions.items() if "defaultValue" in d}
    params.update(runtime_config.get("parameterValues", {}))
    params.update(given)
    return params


def check_ui_outputs(task: str, artifacts: dict[str, list[dict]]) -> list[tuple[str, str, str]]:
    """(key, type, uri) of the task's outputs that the KFP UI renders, each checked to be one
    file at its URI (the UI reads that file); TaskFailed otherwise."""
    found = []
    for key, produced in artifacts.items():
        for artifact in produced:
            title = type_title(artifact["type"])
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


def executor_input(
    spec: dict, task_name: str, task_dir: str, run_name: str, params: dict, done: dict
) -> dict:
    """The ExecutorInput of one task: what the KFP launcher puts in place of `{{$}}`."""
    task = spec["root"]["dag"]["tasks"][task_name]
    component = spec["components"][task["componentRef"]["name"]]
    input_defs = component.get("inputDefinitions", {}).get("artifacts", {})
    inputs: dict = {"parameterValues": {}, "artifacts": {}}
    for name, ref in task.get("inputs", {}).get("parameters", {}).items():
        inputs["parameterValues"][name] = _parameter_value(name, ref, task_name, params, done)
    for name, ref in task.get("inputs", {}).get("artifacts", {}).items():
        if "taskOutputArtifact" not in ref:
            raise SpecError(f"task {task_name}: artifact input {name} is not a task output")
        producer = ref["taskOutputArtifact"]
        produced = done[producer["producerTask"]]["artifacts"][producer["outputArtifactKey"]]
        artifacts = [{**a, "type": input_defs[name]["artifactType"]} for a in produced]
        inputs["artifacts"][name] = {"artifacts": artifacts}
    outputs: dict = {"artifacts": {}, "outputFile": f"{task_dir}/executor_output.json"}
    for key, definition in component.get("outputDefinitions", {}).get("artifacts", {}).items():
        outputs["artifacts"][key] = {
            "artifacts": [
                {
                    "name": f"{run_name}/{task_name}/{key}",
                    "type": definition["artifactType"],
                    "uri": f"{task_dir}/{key}",
                    "metadata": {},
                }
            ]
        }
    if component.get("outputDefinitions", {}).get("parameters"):
        outputs["parameters"] = {
            key: {"outputFile": f"{task_dir}/parameters/{key}"}
            for key in component["outputDefinitions"]["parameters"]
        }
    return {"inputs": inputs, "outputs": outputs}


def _command(container: dict, args: list[str], invocation: str, python: str) -> list[str]:
    command = list(container.get("command", []))
    if command[:1] == ["python"]:  # the image's python: here, the interpreter of this project
        command[0] = python
    filled = []
    for arg in args:
        arg = arg.replace(INVOCATION_PLACEHOLDER, invocation)
        if "{{$" in arg and arg != invocation:
            raise SpecError(f"argument {arg[:80]!r} has a placeholder not supported here")
        filled.append(arg)
    return command + filled


def _run(cmd: list[str], log: Path, cwd: Path, env: dict, what: str) -> None:
    with open(log, "a") as f:
        f.write(f"$ {what}\n")
        f.flush()
        code = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
    if code != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-LOG_TAIL_LINES:])
        raise TaskFailed(f"{what} exited with {code}; log {log}, last lines:\n{tail}")


def _read_executor_output(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def run_spec(
    spec_path: Path,
    pipeline_root: str | None = None,
    run_id: str | None = None,
    python: str = sys.executable,
    workdir: Path | None = None,
    echo=print,
    parameters: dict | None = None,
) -> SpecRun:
    """Run every task of the spec here; raises TaskFailed at the first failing task.
    `parameters` override the pipeline parameters' defaults, as a run's runtime config does."""
    spec, runtime_config = read_spec(spec_path)
    check_runnable(spec)
    params = _pipeline_parameters(spec, runtime_config, parameters or {})
    root = pipeline_root or root_of(spec, runtime_config)
    if not root or "://" in root:
        raise SpecError(
            f"pipeline root {root!r}: the spec runs here, so it needs a local directory "
            "(--pipeline-root DIR)"
        )
    workdir = Path(workdir or Path.cwd()).resolve()
    pipeline_name = spec["pipelineInfo"]["name"]
    run_id = run_id or time.strftime("run-%Y%m%d-%H%M%S")
    run_dir = Path(root).resolve() / pipeline_name / run_id
    if run_dir.exists():
        raise SpecError(f"run directory {run_dir} exists already; pick another --run-id")
    (run_dir / "logs").mkdir(parents=True)
    env = {**os.environ, **TASK_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(workdir), env.get("PYTHONPATH")]))

    done: dict[str, dict] = {}  # task -> {"artifacts": {key: [...]}, "parameterValues": {...}}
    runs: list[TaskRun] = []
    for name in task_order(spec):
        start = time.monotonic()
        task_dir = run_dir / name
        task_dir.mkdir()  # the task's own place under the root, as the KFP launcher gives it
        log = run_dir / "logs" / f"{name}.log"
        ex_input = executor_input(spec, name, str(task_dir), run_id, params, done)
        container = executor_of(spec, name)["container"]
        driver = container.get("lifecycle", {}).get("preCacheCheck")
        if driver:
            # The driver decides span, version and fingerprint, and rewrites the output artifact.
            cmd = _command(driver, driver.get("args", []), json.dumps(ex_input), python)
            _run(cmd, log, workdir, env, f"{name} driver")
            decided = _read_executor_output(task_dir / "executor_output.json")
            ex_input["inputs"]["parameterValues"].update(decided.get("parameterValues", {}))
            for key, produced in decided.get("artifacts", {}).items():
                declared = ex_input["outputs"]["artifacts"][key]["artifacts"][0]
                ex_input["outputs"]["artifacts"][key]["artifacts"] = [
                    {**declared, **a, "type": declared["type"]} for a in produced["artifacts"]
                ]
        cmd = _command(container, container.get("args", []), json.dumps(ex_input), python)
        _run(cmd, log, workdir, env, f"{name} executor")

        result = _read_executor_output(task_dir / "executor_output.json")
        artifacts = {}
        for key, declared in ex_input["outputs"]["artifacts"].items():
            written = result.get("artifacts", {}).get(key, {}).get("artifacts")
            base = declared["artifacts"][0]
            artifacts[key] = [{**base, **a} for a in written] if written else declared["artifacts"]
        done[name] = {"artifacts": artifacts, "parameterValues": result.get("parameterValues", {})}
        shown = check_ui_outputs(name, artifacts)
        seconds = time.monotonic() - start
        runs.append(TaskRun(name, round(seconds, 1), bool(driver), artifacts, str(log)))
        echo(f"{name:<28} COMPLETE  {seconds:6.1f}s{'  (driver + executor)' if driver else ''}")
        for key, title, uri in shown:
            echo(f"  {key:<26} {title:<16} {uri}")

    result = SpecRun(pipeline_name, run_id, str(run_dir), runs)
    summary = {
        "pipeline": pipeline_name,
        "run_id": run_id,
        "tasks": [
            {
                "name": t.name,
                "seconds": t.seconds,
                "outputs": {
                    k: [{"type": type_title(a["type"]), "uri": a["uri"]} for a in v]
                    for k, v in t.outputs.items()
                },
            }
            for t in runs
        ],
    }
    (run_dir / "spec_run.json").write_text(json.dumps(summary, indent=2) + "\n")
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babyweight kfp-spec-run",
        description="Run a compiled KFP v2 pipeline spec here, task by task, in DAG order.",
    )
    parser.add_argument(
        "spec", type=Path, help="the JSON or YAML from kubeflow_runner.py --target kfp"
    )
    parser.add_argument(
        "--pipeline-root", help="local directory (default: the spec's own pipeline root)"
    )
    add_runtime_parameter_argument(parser, "a pipeline parameter for this run (repeatable)")
    parser.add_argument("--run-id", help="run folder name (default: run-<time>)")
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
        args.spec, args.pipeline_root, args.run_id, args.python, args.workdir, parameters=parameters
    )
    total = sum(t.seconds for t in run.tasks)
    print(f"{len(run.tasks)} tasks in {total:.0f}s; outputs and logs under {run.run_dir}")
    return 0


if __name__ == "__main__":
    from babyweight import cli

    sys.exit(cli.run("kfp-spec-run", sys.argv[1:]))
