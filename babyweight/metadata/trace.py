"""The trace of one artifact through the lineage graph, and finding it from what a person types.

MODEL_OR_ARTIFACT is an artifact id, a path (an artifact's URI, or a pushed model's directory
under serving_model/), a pushed model's version, or one of the words `pushed` (the newest pushed
model) and `model` (the newest trained model).

The trace follows MLMD events only, so it needs no knowledge of component names:
- upstream: from the artifact to the execution that produced it, to that execution's inputs,
  and so on back to the examples and the schema;
- data checks: the executions of the same run that read those upstream artifacts (or what they
  made) and finished before a step of the upstream started: StatisticsGen, ExampleValidator and
  the validation gate, which guard Transform by order and not by an artifact;
- downstream: every execution that consumed the artifact (Evaluator, Pusher, a batch
  prediction job recorded by anyone), what they produced, and so on.
An artifact registered again under the same URI, or under a pushed model's destination (as a
batch prediction job may register the model it loaded), counts as the same artifact. So does an
execution that names the directory it loaded in its `model_dir` property (batch-predict links
its event to the Trainer's Model and records the pushed directory there): it is downstream of
the pushed model, and the pushed model is upstream of it.
Executions that only reused a cached result are listed per artifact, not traversed.
"""

from __future__ import annotations

from babyweight.metadata.lineage import Lineage, normalized_path
from babyweight.metadata.store import MODEL_TYPE, PUSHED_MODEL_TYPE, custom_property


def _upstream(lin: Lineage, artifact_id: int) -> tuple[set[int], set[int]]:
    """(artifacts, executions) upstream: producer -> its inputs -> their producers ..."""
    up_artifacts, up_executions = {artifact_id}, set()
    todo = [artifact_id]
    while todo:
        current = todo.pop()
        sources = [current]
        if lin.producer(current) is None:  # registered again elsewhere: go through it
            sources += sorted(lin.aliases(current))
        for source in sources:
            up_artifacts.add(source)
            producer = lin.producer(source)
            if producer is None or producer in up_executions:
                continue
            up_executions.add(producer)
            read = [a for a, _ in lin.inputs[producer]] + lin.loaded(producer)
            for input_id in read:
                if input_id not in up_artifacts:
                    up_artifacts.add(input_id)
                    todo.append(input_id)
    return up_artifacts, up_executions


def _data_checks(lin: Lineage, up_artifacts: set[int], up_executions: set[int]) -> set[int]:
    """Same-run readers of the upstream data that finished before an upstream step of their run
    started (and what read their outputs, under the same rule). Where the trace reaches a
    training step, that step is the mark: a reader that ends after the model exists (the run
    report, while the edge export holds the Pusher back) reads results, not data."""
    trainers = {
        u
        for u in up_executions
        if any(lin.artifacts[a].type == MODEL_TYPE for a, _ in lin.outputs[u])
    }
    marks = trainers or up_executions
    checks: set[int] = set()
    frontier = set(up_artifacts)
    while frontier:
        next_frontier = set()
        for current in frontier:
            for e, _ in lin.consumers[current]:
                if e in up_executions or e in checks or lin.state(e) == "CACHED":
                    continue
                end = lin.executions[e].last_update_time_since_epoch
                if any(
                    lin.run[u] == lin.run[e] and end <= lin.executions[u].create_time_since_epoch
                    for u in marks
                ):
                    checks.add(e)
                    next_frontier |= {a for a, _ in lin.outputs[e]}
        frontier = next_frontier
    return checks


def _downstream(lin: Lineage, artifact_id: int, up_executions: set[int]) -> tuple[set, set]:
    """(executions, artifacts seen) downstream: consumers -> their outputs -> their consumers."""
    down_executions: set[int] = set()
    seen = {artifact_id}
    todo = [artifact_id]
    while todo:
        current = todo.pop()
        for source in [current, *sorted(lin.aliases(current))]:
            seen.add(source)
            users = [e for e, _ in lin.consumers[source]] + lin.loaders(source)
            for e in users:
                if e in down_executions or e in up_executions or lin.state(e) == "CACHED":
                    continue
                down_executions.add(e)
                for output_id, _ in lin.outputs[e]:
                    if output_id not in seen:
                        seen.add(output_id)
                        todo.append(output_id)
    return down_executions, seen


def trace(lin: Lineage, artifact_id: int) -> dict:
    """Upstream, data checks and downstream of one artifact (see the module docstring)."""
    if artifact_id not in lin.artifacts:
        raise KeyError(f"no artifact with id {artifact_id} in the store")
    up_artifacts, up_executions = _upstream(lin, artifact_id)
    checks = _data_checks(lin, up_artifacts, up_executions)
    down_executions, seen = _downstream(lin, artifact_id, up_executions)
    involved = set(up_artifacts) | seen
    for e in checks | down_executions | up_executions:
        involved |= {a for a, _ in lin.inputs[e]} | {a for a, _ in lin.outputs[e]}
    return {
        "artifact": lin.artifact_info(artifact_id),
        "upstream": [lin.step(e) for e in sorted(up_executions)],
        "data_checks": [lin.step(e) for e in sorted(checks)],
        "downstream": [lin.step(e) for e in sorted(down_executions)],
        "artifacts": {str(a): lin.artifact_info(a) for a in sorted(involved)},
    }


def pushed_models(lin: Lineage) -> list:
    """The PushedModel artifacts that were pushed, oldest first."""
    return sorted(
        (
            a
            for a in lin.artifacts.values()
            if a.type == PUSHED_MODEL_TYPE and custom_property(a, "pushed", 0)
        ),
        key=lambda a: a.id,
    )


def pushed_version(lin: Lineage, version: str) -> int | None:
    """The PushedModel artifact of a served version (its directory's name), or None."""
    for a in pushed_models(lin):
        if str(custom_property(a, "pushed_version", "")) == version:
            return a.id
    return None


def resolve(lin: Lineage, spec: str) -> int:
    """An artifact id from an id, a path, a pushed version, `pushed` or `model`."""
    spec = spec.strip()
    pushed = pushed_models(lin)
    if spec == "pushed":
        if not pushed:
            raise LookupError("no pushed model in the store (was any model blessed?)")
        return max(pushed, key=lambda a: a.id).id
    if spec == "model":
        models = [a for a in lin.artifacts.values() if a.type == MODEL_TYPE]
        if not models:
            raise LookupError("no Model artifact in the store")
        return max(models, key=lambda a: a.id).id
    found = pushed_version(lin, spec)
    if found is not None:
        return found
    if spec.isdigit() and int(spec) in lin.artifacts:
        return int(spec)
    path = normalized_path(spec)
    if path in lin.by_uri:
        ids = lin.by_uri[path]
        # A pushed model's directory: the PushedModel that put it there, else the oldest.
        return min(ids, key=lambda i: (lin.artifacts[i].type != PUSHED_MODEL_TYPE, i))
    # A file or folder inside an artifact (e.g. .../Format-Serving): the deepest artifact.
    holders = [
        (len(uri), min(ids))
        for uri, ids in lin.by_uri.items()
        if path.startswith(uri.rstrip("/") + "/")
    ]
    if holders:
        return max(holders)[1]
    raise LookupError(
        f"{spec!r} is no artifact id, artifact URI, pushed model directory or version in "
        "this store (try `babyweight lineage artifacts`)"
    )
