"""`lineage`: what happened in a pipeline's ML Metadata store, without protobuf queries.

    lineage runs                   [--output DIR] [--json]
    lineage artifacts [--type T]   [--output DIR] [--json]
    lineage trace MODEL_OR_ARTIFACT [--output DIR] [--json]

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
batch prediction job may register the model it loaded), counts as the same artifact.
Executions that only reused a cached result are listed per artifact, not traversed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ml_metadata import errors
from ml_metadata.proto import metadata_store_pb2

from pipeline import configs
from pipeline.mlmd import STATE_NAMES, custom_property, open_store

Event = metadata_store_pb2.Event
INPUT_EVENTS = {Event.INPUT, Event.DECLARED_INPUT, Event.INTERNAL_INPUT}
OUTPUT_EVENTS = {Event.OUTPUT, Event.DECLARED_OUTPUT, Event.INTERNAL_OUTPUT}
TERMINAL_STATES = {"COMPLETE", "CACHED", "FAILED", "CANCELED"}
ARTIFACT_STATES = {v: k for k, v in metadata_store_pb2.Artifact.State.items()}


def _norm(path: str) -> str:
    return os.path.normpath(os.path.abspath(path)) if path and "://" not in path else path


def _seconds(ms_start: int, ms_end: int) -> float:
    return round(max(ms_end - ms_start, 0) / 1000.0, 1)


class Lineage:
    """Every execution, artifact, event and context of one MLMD store, indexed both ways."""

    def __init__(self, store):
        self.executions = {e.id: e for e in store.get_executions()}
        self.artifacts = {a.id: a for a in store.get_artifacts()}
        self.inputs: dict[int, list[tuple[int, str]]] = {e: [] for e in self.executions}
        self.outputs: dict[int, list[tuple[int, str]]] = {e: [] for e in self.executions}
        self.consumers: dict[int, list[tuple[int, str]]] = {a: [] for a in self.artifacts}
        self.producers: dict[int, list[tuple[int, str]]] = {a: [] for a in self.artifacts}
        events = store.get_events_by_execution_ids(list(self.executions)) if self.executions else []
        for ev in events:
            if ev.artifact_id not in self.artifacts or ev.execution_id not in self.executions:
                continue
            key = ev.path.steps[0].key if ev.path.steps else ""
            if ev.type in INPUT_EVENTS:
                self.inputs[ev.execution_id].append((ev.artifact_id, key))
                self.consumers[ev.artifact_id].append((ev.execution_id, key))
            elif ev.type in OUTPUT_EVENTS:
                self.outputs[ev.execution_id].append((ev.artifact_id, key))
                self.producers[ev.artifact_id].append((ev.execution_id, key))
        self.node: dict[int, str] = {}
        self.run: dict[int, str | None] = {}
        self.pipeline: dict[int, str | None] = {}
        self.run_contexts = sorted(
            store.get_contexts_by_type("pipeline_run"),
            key=lambda c: (c.create_time_since_epoch, c.id),
        )
        for execution_id, execution in self.executions.items():
            try:
                contexts = store.get_contexts_by_execution(execution_id)
            except errors.NotFoundError:  # recorded outside any context
                contexts = []
            by_type = {c.type: c.name for c in contexts}
            node = by_type.get("node", "").split(".", 1)[-1]
            # An execution recorded outside a TFX pipeline (a batch prediction job, say) is
            # named by its type, and by the first context it was put in.
            self.node[execution_id] = node or execution.type.rsplit(".", 1)[-1]
            self.run[execution_id] = by_type.get("pipeline_run") or (
                None if node else next((c.name for c in contexts), None)
            )
            self.pipeline[execution_id] = by_type.get("pipeline")
        self.by_uri: dict[str, set[int]] = {}
        for artifact in self.artifacts.values():
            for uri in self._uris(artifact):
                self.by_uri.setdefault(uri, set()).add(artifact.id)

    # -- small accessors -------------------------------------------------------------------
    def state(self, execution_id: int) -> str:
        return STATE_NAMES.get(self.executions[execution_id].last_known_state, "?")

    def duration(self, execution_id: int) -> float:
        e = self.executions[execution_id]
        return _seconds(e.create_time_since_epoch, e.last_update_time_since_epoch)

    def _uris(self, artifact) -> set[str]:
        uris = {_norm(artifact.uri)} if artifact.uri else set()
        destination = custom_property(artifact, "pushed_destination")
        if destination:
            uris.add(_norm(destination))
        return uris

    def aliases(self, artifact_id: int) -> set[int]:
        """Other artifacts with the same URI (or a pushed model's destination as their URI)."""
        found = set()
        for uri in self._uris(self.artifacts[artifact_id]):
            found |= self.by_uri.get(uri, set())
        return found - {artifact_id}

    def producer(self, artifact_id: int) -> int | None:
        """The execution that made the artifact: the first that output it and did not just reuse
        a cached result (a cached execution outputs the same artifact again)."""
        made = sorted(e for e, _ in self.producers[artifact_id] if self.state(e) != "CACHED")
        if made:
            return made[0]
        cached = sorted(e for e, _ in self.producers[artifact_id])
        return cached[0] if cached else None

    def artifact_info(self, artifact_id: int) -> dict:
        a = self.artifacts[artifact_id]
        producer = self.producer(artifact_id)
        info = {
            "id": a.id,
            "type": a.type,
            "uri": a.uri,
            "state": ARTIFACT_STATES.get(a.state, "?"),
            "producer": self.execution_ref(producer) if producer else None,
        }
        for name in ("split_names",):
            if name in a.properties:
                info[name] = a.properties[name].string_value
        for name in ("blessed", "pushed", "pushed_destination", "pushed_version"):
            value = custom_property(a, name)
            if value is not None:
                info[name] = value
        return info

    def execution_ref(self, execution_id: int) -> dict:
        return {
            "execution": execution_id,
            "node": self.node[execution_id],
            "state": self.state(execution_id),
            "run": self.run[execution_id],
        }

    def step(self, execution_id: int) -> dict:
        """One execution with its inputs and outputs by key, as artifact ids."""
        inputs: dict[str, list[int]] = {}
        outputs: dict[str, list[int]] = {}
        for artifact_id, key in self.inputs[execution_id]:
            inputs.setdefault(key, []).append(artifact_id)
        for artifact_id, key in self.outputs[execution_id]:
            outputs.setdefault(key, []).append(artifact_id)
        return {
            **self.execution_ref(execution_id),
            "duration_s": self.duration(execution_id),
            "inputs": inputs,
            "outputs": outputs,
        }

    # -- the three commands ----------------------------------------------------------------
    def runs(self, store) -> list[dict]:
        """Every pipeline run, oldest first, with each component's state, time and cache hit."""
        result = []
        for context in self.run_contexts:
            ids = sorted(e.id for e in store.get_executions_by_context(context.id))
            if not ids:
                continue
            executions = [self.executions[i] for i in ids]
            start = min(e.create_time_since_epoch for e in executions)
            end = max(e.last_update_time_since_epoch for e in executions)
            states = [self.state(i) for i in ids]
            if "FAILED" in states:
                state = "FAILED"
            elif all(s in TERMINAL_STATES for s in states):
                state = "COMPLETE"
            else:
                state = "RUNNING"
            components = [
                {
                    "node": self.node[i],
                    "execution": i,
                    "state": self.state(i),
                    "duration_s": self.duration(i),
                    "cached": self.state(i) == "CACHED",
                }
                for i in ids
            ]
            result.append(
                {
                    "run_id": context.name,
                    "pipeline": self.pipeline[ids[0]],
                    "state": state,
                    "start_ms": start,
                    "duration_s": _seconds(start, end),
                    "cache_hits": sum(c["cached"] for c in components),
                    "components": components,
                }
            )
        return result

    def artifact_list(self, type_name: str | None = None) -> list[dict]:
        result = []
        for artifact_id in sorted(self.artifacts):
            if type_name and self.artifacts[artifact_id].type != type_name:
                continue
            info = self.artifact_info(artifact_id)
            producer = info["producer"]["execution"] if info["producer"] else None
            info["reused_by"] = [
                self.execution_ref(e)
                for e, _ in sorted(self.producers[artifact_id])
                if e != producer and self.state(e) == "CACHED"
            ]
            info["consumers"] = [
                {**self.execution_ref(e), "key": key}
                for e, key in sorted(self.consumers[artifact_id])
            ]
            result.append(info)
        return result

    def trace(self, artifact_id: int) -> dict:
        """Upstream, data checks and downstream of one artifact (see the module docstring)."""
        if artifact_id not in self.artifacts:
            raise KeyError(f"no artifact with id {artifact_id} in the store")
        # Upstream: producer -> its inputs -> their producers ...
        up_artifacts, up_executions = {artifact_id}, set()
        todo = [artifact_id]
        while todo:
            current = todo.pop()
            sources = [current]
            if self.producer(current) is None:  # registered again elsewhere: go through it
                sources += sorted(self.aliases(current))
            for source in sources:
                up_artifacts.add(source)
                producer = self.producer(source)
                if producer is None or producer in up_executions:
                    continue
                up_executions.add(producer)
                for input_id, _ in self.inputs[producer]:
                    if input_id not in up_artifacts:
                        up_artifacts.add(input_id)
                        todo.append(input_id)
        # Data checks: same-run readers of the upstream data that finished before an upstream
        # step of their run started (and what read their outputs, under the same rule).
        checks: set[int] = set()
        frontier = set(up_artifacts)
        while frontier:
            next_frontier = set()
            for current in frontier:
                for e, _ in self.consumers[current]:
                    if e in up_executions or e in checks or self.state(e) == "CACHED":
                        continue
                    end = self.executions[e].last_update_time_since_epoch
                    if any(
                        self.run[u] == self.run[e]
                        and end <= self.executions[u].create_time_since_epoch
                        for u in up_executions
                    ):
                        checks.add(e)
                        next_frontier |= {a for a, _ in self.outputs[e]}
            frontier = next_frontier
        # Downstream: consumers -> their outputs -> their consumers ...
        down_executions: set[int] = set()
        seen = {artifact_id}
        todo = [artifact_id]
        while todo:
            current = todo.pop()
            for source in [current, *sorted(self.aliases(current))]:
                seen.add(source)
                for e, _ in self.consumers[source]:
                    if e in down_executions or e in up_executions or self.state(e) == "CACHED":
                        continue
                    down_executions.add(e)
                    for output_id, _ in self.outputs[e]:
                        if output_id not in seen:
                            seen.add(output_id)
                            todo.append(output_id)
        involved = set(up_artifacts) | seen
        for e in checks | down_executions | up_executions:
            involved |= {a for a, _ in self.inputs[e]} | {a for a, _ in self.outputs[e]}
        return {
            "artifact": self.artifact_info(artifact_id),
            "upstream": [self.step(e) for e in sorted(up_executions)],
            "data_checks": [self.step(e) for e in sorted(checks)],
            "downstream": [self.step(e) for e in sorted(down_executions)],
            "artifacts": {str(a): self.artifact_info(a) for a in sorted(involved)},
        }

    # -- finding an artifact from what a person types ----------------------------------------
    def resolve(self, spec: str) -> int:
        """An artifact id from an id, a path, a pushed version, `pushed` or `model`."""
        spec = spec.strip()
        pushed = [
            a
            for a in self.artifacts.values()
            if a.type == "PushedModel" and custom_property(a, "pushed", 0)
        ]
        if spec == "pushed":
            if not pushed:
                raise LookupError("no pushed model in the store (was any model blessed?)")
            return max(pushed, key=lambda a: a.id).id
        if spec == "model":
            models = [a for a in self.artifacts.values() if a.type == "Model"]
            if not models:
                raise LookupError("no Model artifact in the store")
            return max(models, key=lambda a: a.id).id
        for a in pushed:
            if str(custom_property(a, "pushed_version", "")) == spec:
                return a.id
        if spec.isdigit() and int(spec) in self.artifacts:
            return int(spec)
        path = _norm(spec)
        if path in self.by_uri:
            ids = self.by_uri[path]
            # A pushed model's directory: the PushedModel that put it there, else the oldest.
            return min(ids, key=lambda i: (self.artifacts[i].type != "PushedModel", i))
        # A file or folder inside an artifact (e.g. .../Format-Serving): the deepest artifact.
        holders = [
            (len(uri), min(ids))
            for uri, ids in self.by_uri.items()
            if path.startswith(uri.rstrip("/") + "/")
        ]
        if holders:
            return max(holders)[1]
        raise LookupError(
            f"{spec!r} is no artifact id, artifact URI, pushed model directory or version in "
            "this store (try `lineage artifacts`)"
        )


# -- text output ------------------------------------------------------------------------------
def _artifact_label(info: dict) -> str:
    return f"#{info['id']} {info['type']}"


def format_runs(runs: list[dict]) -> str:
    if not runs:
        return "no pipeline runs in this store"
    lines = []
    for run in runs:
        lines.append(
            f"run {run['run_id']}  pipeline={run['pipeline']}  {run['state']}  "
            f"{run['duration_s']:.1f}s  cache hits: {run['cache_hits']}/{len(run['components'])}"
        )
        for c in run["components"]:
            cached = "  (cache hit)" if c["cached"] else ""
            lines.append(
                f"  {c['node']:<32} {c['state']:<9} {c['duration_s']:>7.1f}s  "
                f"exec {c['execution']}{cached}"
            )
    return "\n".join(lines)


def format_artifacts(artifacts: list[dict]) -> str:
    if not artifacts:
        return "no artifacts"
    lines = []
    for a in artifacts:
        producer = a["producer"]
        made_by = f"{producer['node']} (exec {producer['execution']})" if producer else "-"
        lines.append(f"{_artifact_label(a)}  {a['uri']}")
        lines.append(f"    producer:  {made_by}")
        if a["reused_by"]:
            reused = ", ".join(f"{r['node']} (exec {r['execution']})" for r in a["reused_by"])
            lines.append(f"    reused by: {reused}  [cache]")
        consumers = ", ".join(
            f"{c['node']}.{c['key']} (exec {c['execution']}"
            + (", cached)" if c["state"] == "CACHED" else ")")
            for c in a["consumers"]
        )
        lines.append(f"    consumers: {consumers or '-'}")
    return "\n".join(lines)


def _format_step(step: dict, artifacts: dict) -> str:
    def side(by_key):
        return ", ".join(
            f"{key}={' '.join(_artifact_label(artifacts[str(i)]) for i in ids)}"
            for key, ids in sorted(by_key.items())
        )

    return (
        f"  {step['node']} (exec {step['execution']}, {step['state']}, {step['duration_s']:.1f}s, "
        f"run {step['run']})\n      in:  {side(step['inputs']) or '-'}\n"
        f"      out: {side(step['outputs']) or '-'}"
    )


def format_trace(trace: dict) -> str:
    a = trace["artifact"]
    extra = f"  pushed to {a['pushed_destination']}" if a.get("pushed_destination") else ""
    lines = [f"{_artifact_label(a)}  {a['uri']}{extra}", ""]
    sections = [
        ("upstream (what made it, oldest first):", "upstream"),
        ("data checks (same run, finished before the steps above used the data):", "data_checks"),
        ("downstream (what used it):", "downstream"),
    ]
    for title, key in sections:
        lines.append(title)
        lines += [_format_step(s, trace["artifacts"]) for s in trace[key]] or ["  none"]
        lines.append("")
    lines.append("artifacts:")
    for info in trace["artifacts"].values():
        lines.append(f"  {_artifact_label(info):<28} {info['uri']}")
    return "\n".join(lines)


# -- command line -----------------------------------------------------------------------------
def open_lineage(output: Path):
    path = Path(output) / "metadata.sqlite"
    if not path.is_file():
        raise SystemExit(f"no ML Metadata store at {path} (run local_runner.py --output {output})")
    store = open_store(path, readonly=True)
    return store, Lineage(store)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lineage", description="Runs, artifacts and lineage from a run's ML Metadata store."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--output",
        type=Path,
        default=configs.DEFAULT_OUTPUT,
        help="the runner's --output directory (holds metadata.sqlite)",
    )
    common.add_argument("--json", action="store_true", help="JSON for scripts")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("runs", parents=[common], help="pipeline runs and their components")
    artifacts = commands.add_parser(
        "artifacts", parents=[common], help="artifacts, producers, consumers"
    )
    artifacts.add_argument("--type", help="only artifacts of this type, e.g. Model")
    trace = commands.add_parser(
        "trace", parents=[common], help="upstream and downstream of a model or artifact"
    )
    trace.add_argument(
        "target",
        metavar="MODEL_OR_ARTIFACT",
        help="artifact id, URI or pushed model directory, pushed version, 'pushed' or 'model'",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    store, lineage = open_lineage(args.output)
    if args.command == "runs":
        data = lineage.runs(store)
        text = format_runs(data)
    elif args.command == "artifacts":
        data = lineage.artifact_list(args.type)
        text = format_artifacts(data)
    else:
        try:
            data = lineage.trace(lineage.resolve(args.target))
        except LookupError as e:
            print(f"lineage trace: {e}", file=sys.stderr)
            return 2
        text = format_trace(data)
    print(json.dumps(data, indent=2) if args.json else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
