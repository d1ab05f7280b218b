"""What the compiled `kfp` spec needs to run on OSS KFP v2, written into the spec itself.

TFX's KubeflowV2DagRunner compiles for Vertex. On OSS KFP
(kubeflow/pipelines@7b70c7b95f6832772efd6fd0029a4024491a0f44) no `lifecycle` hook runs (nothing in
backend/src reads it) and the launcher hands each task an executor input that TFX's entrypoint
cannot read (see task_entry.py). So, for the `kfp` target only:

- every task that runs TFX's KFP v2 entrypoint runs `python -m babyweight.kfp.task_entry` with
  the same arguments (TASK_COMMAND);
- a file-based ExampleGen (the task whose `lifecycle.preCacheCheck` runs TFX's
  file_based_example_gen driver) gets an upstream `ResolveSpan` task, never cached
  (resolve_span.py), whose output parameters `input_config` (the resolved span's pattern),
  `span` and `input_fingerprint` become ExampleGen's parameters. KFP's cache key of a task holds
  its parameters (driver/cache.go), so ExampleGen is reused exactly when the files are the same,
  and the tasks downstream with it; new files run it again.
- a query-based ExampleGen (BigQueryExampleGen, QUERY_EXAMPLE_GENS: no files, no spans, never
  cached) gets the same task, given only the query: it numbers this read of the table as the
  run's span (resolve_span.py) and passes the query on, so what follows is the same as above.
- the OSS backend refuses Resolver nodes, so ResolveSpan also answers what the run builds on
  (resolve_span.py, from the push destination and its state record): its outputs `baseline`,
  `base_model` and `previous_statistics` become the `source` parameter of the tasks of
  pipeline/baseline.py (CHOICE_TASKS), cached by that answer like any parameter.

The Vertex spec is left as TFX writes it.
"""

from __future__ import annotations

import json

TFX_ENTRYPOINT = "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"
TASK_COMMAND = ["python", "-m", "babyweight.kfp.task_entry"]


def use_task_entry(spec: dict) -> list[str]:
    """Point every executor that runs TFX's entrypoint at ours; returns their labels."""
    changed = []
    for label, executor in spec["deploymentSpec"]["executors"].items():
        container = executor.get("container")
        if container and container.get("command", [])[-1:] == [TFX_ENTRYPOINT]:
            container["command"] = list(TASK_COMMAND)
            changed.append(label)
    return changed


EXAMPLE_GEN_DRIVER = "tfx.orchestration.kubeflow.v2.file_based_example_gen.driver"
RESOLVE_TASK = "ResolveSpan"
RESOLVE_COMMAND = ["python", "-m", "babyweight.kfp.resolve_span"]
RESOLVED = {"input_config": "STRING", "input_fingerprint": "STRING", "span": "NUMBER_INTEGER"}
RESOLVE_INPUTS = ("input_base", "input_config", "range_config")


def file_based_example_gens(spec: dict) -> list[str]:
    """Tasks whose executor has TFX's file-based ExampleGen driver as its lifecycle hook."""
    found = []
    for name, task in spec["root"]["dag"]["tasks"].items():
        label = spec["components"][task["componentRef"]["name"]]["executorLabel"]
        container = spec["deploymentSpec"]["executors"][label].get("container", {})
        hook = container.get("lifecycle", {}).get("preCacheCheck", {})
        if hook.get("command", [])[-1:] == [EXAMPLE_GEN_DRIVER]:
            found.append(name)
    return found


# Query-based ExampleGen executors: no files, no spans; each run reads the table anew.
QUERY_EXAMPLE_GENS = ("tfx.extensions.google_cloud_big_query.example_gen.executor.Executor",)


def query_based_example_gens(spec: dict) -> list[str]:
    """Tasks whose executor is one of QUERY_EXAMPLE_GENS."""
    found = []
    for name, task in spec["root"]["dag"]["tasks"].items():
        label = spec["components"][task["componentRef"]["name"]]["executorLabel"]
        args = spec["deploymentSpec"]["executors"][label].get("container", {}).get("args", [])
        if "--executor_class_path" in args:
            if args[args.index("--executor_class_path") + 1] in QUERY_EXAMPLE_GENS:
                found.append(name)
    return found


def add_resolve_span(spec: dict, example_gen: str) -> None:
    """Insert RESOLVE_TASK before `example_gen` and feed its outputs to it (module docstring)."""
    tasks = spec["root"]["dag"]["tasks"]
    task = tasks[example_gen]
    component = spec["components"][task["componentRef"]["name"]]
    container = spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]
    given = {k: v for k, v in task["inputs"]["parameters"].items() if k in RESOLVE_INPUTS}
    spec["components"][RESOLVE_TASK] = {
        "executorLabel": f"{RESOLVE_TASK}_executor",
        "inputDefinitions": {"parameters": {k: {"parameterType": "STRING"} for k in given}},
        "outputDefinitions": {"parameters": {k: {"parameterType": t} for k, t in RESOLVED.items()}},
    }
    spec["deploymentSpec"]["executors"][f"{RESOLVE_TASK}_executor"] = {
        "container": {
            "image": container["image"],
            "command": list(RESOLVE_COMMAND),
            "args": ["--executor_input", "{{$}}"],
        }
    }
    tasks[RESOLVE_TASK] = {
        "cachingOptions": {"enableCache": False},
        "componentRef": {"name": RESOLVE_TASK},
        "inputs": {"parameters": given},
        "taskInfo": {"name": RESOLVE_TASK},
    }
    for key, parameter_type in RESOLVED.items():
        task["inputs"]["parameters"][key] = {
            "taskOutputParameter": {"producerTask": RESOLVE_TASK, "outputParameterKey": key}
        }
        component["inputDefinitions"]["parameters"][key] = {"parameterType": parameter_type}
    args = container["args"]
    at = args.index("--json_serialized_inputs_spec_args") + 1
    args[at] = json.dumps(component["inputDefinitions"], indent=2, sort_keys=True)


CHOICE_TASKS = {
    "baseline_model": "baseline",
    "base_model": "base_model",
    "previous_span_statistics": "previous_statistics",
}
SERVING_MODEL_DIR = "serving_model_dir"


def add_choices(spec: dict) -> list[str]:
    """Feed ResolveSpan's choices to the CHOICE_TASKS there are; returns the tasks fed."""
    tasks = spec["root"]["dag"]["tasks"]
    present = [name for name in CHOICE_TASKS if name in tasks]
    given = [
        task["inputs"]["parameters"][SERVING_MODEL_DIR]
        for task in tasks.values()
        if SERVING_MODEL_DIR in task.get("inputs", {}).get("parameters", {})
    ]
    if not present or not given or RESOLVE_TASK not in tasks:
        return []
    resolver = spec["components"][RESOLVE_TASK]
    tasks[RESOLVE_TASK]["inputs"]["parameters"][SERVING_MODEL_DIR] = given[0]
    resolver["inputDefinitions"]["parameters"][SERVING_MODEL_DIR] = {"parameterType": "STRING"}
    for name in present:
        key = CHOICE_TASKS[name]
        resolver["outputDefinitions"]["parameters"][key] = {"parameterType": "STRING"}
        tasks[name]["inputs"]["parameters"]["source"] = {
            "taskOutputParameter": {"producerTask": RESOLVE_TASK, "outputParameterKey": key}
        }
    return present


def for_oss_kfp(spec: dict) -> dict:
    """The spec, patched in place for OSS KFP (see the module docstring); returns it."""
    use_task_entry(spec)
    for name in file_based_example_gens(spec) + query_based_example_gens(spec):
        add_resolve_span(spec, name)
    add_choices(spec)
    return spec
