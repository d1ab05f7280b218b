"""The DAG of a compiled KFP v2 pipeline spec: its tasks' order, executors and parameters, and
what the OSS KFP backend refuses to run.

The refusal is the OSS compiler's (kubeflow/pipelines@7b70c7b95f6832772efd6fd0029a4024491a0f44,
backend/src/v2/compiler/visitor.go `pipelineDFS.dfs`): components are visited depth first, tasks
in sorted name order, and a component whose executor is neither a container nor an importer
fails the run with `error processing component name="...": executor(label="..."): non-container
and non-importer executor not implemented`. (argocompiler/argo.go's own Resolver method, "resolver
not implemented yet", is never reached: the visitor stops first.) A TFX Resolver node is such a
component, so a spec with one never starts on OSS KFP.
"""

from __future__ import annotations

from babyweight.kfp.spec import SpecFileError, load_spec

INVOCATION_PLACEHOLDER = "{{$}}"


class SpecError(RuntimeError):
    """The spec cannot be run (what the backend refuses, a placeholder we do not fill, a cycle)."""


def read_spec(path) -> tuple[dict, dict]:
    try:
        return load_spec(path)
    except SpecFileError as e:
        raise SpecError(f"spec file {e}") from None


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


def component_of(spec: dict, task_name: str) -> dict:
    return spec["components"][spec["root"]["dag"]["tasks"][task_name]["componentRef"]["name"]]


def executor_of(spec: dict, task_name: str) -> dict:
    label = component_of(spec, task_name)["executorLabel"]
    return spec["deploymentSpec"]["executors"][label]


def check_runnable(spec: dict) -> None:
    """Refuse, before anything runs, what the OSS backend refuses (its message), and what this
    runner does not do (importers, conditions)."""
    tasks = spec["root"]["dag"]["tasks"]
    for name in sorted(tasks):  # visitor.go: sorted task keys, each component once
        ref = tasks[name]["componentRef"]["name"]
        label = spec["components"][ref].get("executorLabel", "")
        executor = spec["deploymentSpec"]["executors"].get(label, {})
        if "container" not in executor and "importer" not in executor:
            raise SpecError(
                f'error processing component name="{ref}": executor(label="{label}"): '
                "non-container and non-importer executor not implemented"
            )
    for name, task in tasks.items():
        if "importer" in executor_of(spec, name):
            raise SpecError(f"task {name} is an importer; this runner runs container tasks only")
        if task.get("triggerPolicy", {}).get("condition"):
            raise SpecError(f"task {name} has a condition; conditions are not supported here")


def parameter_value(name: str, ref: dict, task: str, params: dict, produced: dict) -> object:
    """A task's input parameter: a constant, a pipeline parameter or an upstream output
    (`produced[task]` = that task's output parameters)."""
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
        return produced[out["producerTask"]][out["outputParameterKey"]]
    raise SpecError(f"task {task}: parameter {name} has an input form not supported here: {ref}")


def pipeline_parameters(spec: dict, runtime_config: dict, given: dict) -> dict:
    definitions = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    unknown = sorted(set(given) - set(definitions))
    if unknown:
        raise SpecError(f"no pipeline parameter {unknown}; the spec has {sorted(definitions)}")
    params = {n: d["defaultValue"] for n, d in definitions.items() if "defaultValue" in d}
    params.update(runtime_config.get("parameterValues", {}))
    params.update(given)
    return params


def command_line(container: dict, invocation: str, python: str) -> list[str]:
    """The container's command and args with `{{$}}` filled (launcher_v2.go compileCmdAndArgs);
    `python` stands for the image's interpreter."""
    command = list(container.get("command", []))
    if command[:1] == ["python"]:
        command[0] = python
    filled = []
    for arg in container.get("args", []):
        arg = arg.replace(INVOCATION_PLACEHOLDER, invocation)
        if "{{$" in arg and arg != invocation:
            raise SpecError(f"argument {arg[:80]!r} has a placeholder not supported here")
        filled.append(arg)
    return command + filled
