"""The lineage graph of one ML Metadata store: every execution, artifact, event and context,
indexed both ways, and the listings of `babyweight lineage runs` and `artifacts`.

The trace of one artifact is babyweight/metadata/trace.py; the command, lineage_cli.py.
"""

from __future__ import annotations

import os

from babyweight.metadata.store import (
    FINISHED_STATES,
    INPUT_EVENTS,
    MODEL_DIR_PROPERTY,
    OUTPUT_EVENTS,
    STATE_NAMES,
    custom_property,
    event_keys,
    original_times,
)

from ml_metadata import errors
from ml_metadata.proto import metadata_store_pb2

ARTIFACT_STATES = {v: k for k, v in metadata_store_pb2.Artifact.State.items()}


def normalized_path(path: str) -> str:
    return os.path.normpath(os.path.abspath(path)) if path and "://" not in path else path


def _seconds(ms_start: int, ms_end: int) -> float:
    return round(max(ms_end - ms_start, 0) / 1000.0, 1)


class Lineage:
    """Every execution, artifact, event and context of one MLMD store, indexed both ways."""

    def __init__(self, store):
        self.executions = {e.id: original_times(e) for e in store.get_executions()}
        self.artifacts = {a.id: original_times(a) for a in store.get_artifacts()}
        self.inputs: dict[int, list[tuple[int, str]]] = {e: [] for e in self.executions}
        self.outputs: dict[int, list[tuple[int, str]]] = {e: [] for e in self.executions}
        self.consumers: dict[int, list[tuple[int, str]]] = {a: [] for a in self.artifacts}
        self.producers: dict[int, list[tuple[int, str]]] = {a: [] for a in self.artifacts}
        events = store.get_events_by_execution_ids(list(self.executions)) if self.executions else []
        for ev in events:
            if ev.artifact_id not in self.artifacts or ev.execution_id not in self.executions:
                continue
            for key in event_keys(ev):  # one artifact may fill several keys (model, baseline)
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
            # named by its type, and by its own context (not the pipeline's, which it may
            # share with every other batch run).
            self.node[execution_id] = node or execution.type.rsplit(".", 1)[-1]
            own = (c.name for c in contexts if c.type != "pipeline")
            self.run[execution_id] = by_type.get("pipeline_run") or (
                None if node else next(own, None)
            )
            self.pipeline[execution_id] = by_type.get("pipeline")
        self.by_uri: dict[str, set[int]] = {}
        for artifact in self.artifacts.values():
            for uri in self._uris(artifact):
                self.by_uri.setdefault(uri, set()).add(artifact.id)
        # Executions that say which model directory they loaded (`model_dir`, as batch-predict
        # records next to its INPUT event to the Trainer's Model), by that directory.
        self.loaded_from: dict[str, list[int]] = {}
        for execution_id, execution in self.executions.items():
            model_dir = custom_property(execution, MODEL_DIR_PROPERTY)
            if isinstance(model_dir, str) and model_dir:
                self.loaded_from.setdefault(normalized_path(model_dir), []).append(execution_id)

    # -- small accessors -------------------------------------------------------------------
    def state(self, execution_id: int) -> str:
        return STATE_NAMES.get(self.executions[execution_id].last_known_state, "?")

    def duration(self, execution_id: int) -> float:
        e = self.executions[execution_id]
        return _seconds(e.create_time_since_epoch, e.last_update_time_since_epoch)

    def _uris(self, artifact) -> set[str]:
        uris = {normalized_path(artifact.uri)} if artifact.uri else set()
        destination = custom_property(artifact, "pushed_destination")
        if destination:
            uris.add(normalized_path(destination))
        return uris

    def aliases(self, artifact_id: int) -> set[int]:
        """Other artifacts with the same URI (or a pushed model's destination as their URI)."""
        found = set()
        for uri in self._uris(self.artifacts[artifact_id]):
            found |= self.by_uri.get(uri, set())
        return found - {artifact_id}

    def loaders(self, artifact_id: int) -> list[int]:
        """Executions that loaded the artifact from its directory (a pushed model's
        destination), as their `model_dir` says, whichever artifact their events name."""
        found = set()
        for uri in self._uris(self.artifacts[artifact_id]):
            found.update(self.loaded_from.get(uri, ()))
        return sorted(found)

    def loaded(self, execution_id: int) -> list[int]:
        """The artifacts whose directory an execution loaded (see `loaders`)."""
        model_dir = custom_property(self.executions[execution_id], MODEL_DIR_PROPERTY)
        if not isinstance(model_dir, str) or not model_dir:
            return []
        return sorted(self.by_uri.get(normalized_path(model_dir), ()))

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


def run_state(states: list[str], live: bool | None = None) -> str:
    """A run's state from its executions' states. A run with an execution still RUNNING is
    ABANDONED when `live` is False (no process holds the output's run lock for it: it was
    killed); None means not known (RUNNING stays RUNNING)."""
    if "FAILED" in states:
        return "FAILED"
    if "CANCELED" in states:
        return "CANCELED"  # interrupted (Ctrl-C): the runner marks what was running
    if all(s in FINISHED_STATES for s in states):
        return "COMPLETE"
    return "ABANDONED" if live is False else "RUNNING"


def runs(lin: Lineage, live_run: str | None = None, lock_known: bool = False) -> list[dict]:
    """Every pipeline run, oldest first, with each component's state, time and cache hit.

    lock_known: the caller asked the output's run lock, and `live_run` is the run holding it
    (None: no run holds it), so a RUNNING run that is not live shows as ABANDONED."""
    result = []
    for context in lin.run_contexts:
        ids = sorted(e for e, run in lin.run.items() if run == context.name)
        if not ids:
            continue
        executions = [lin.executions[i] for i in ids]
        start = min(e.create_time_since_epoch for e in executions)
        end = max(e.last_update_time_since_epoch for e in executions)
        live = context.name == live_run if lock_known else None
        state = run_state([lin.state(i) for i in ids], live)
        components = [
            {
                "node": lin.node[i],
                "execution": i,
                "state": lin.state(i),
                "duration_s": lin.duration(i),
                "cached": lin.state(i) == "CACHED",
            }
            for i in ids
        ]
        result.append(
            {
                "run_id": context.name,
                "pipeline": lin.pipeline[ids[0]],
                "state": state,
                "start_ms": start,
                "duration_s": _seconds(start, end),
                "cache_hits": sum(c["cached"] for c in components),
                "components": components,
            }
        )
    return result


def artifact_list(lin: Lineage, type_name: str | None = None) -> list[dict]:
    """Every artifact (or those of one type) with its producer, reusers and consumers."""
    result = []
    for artifact_id in sorted(lin.artifacts):
        if type_name and lin.artifacts[artifact_id].type != type_name:
            continue
        info = lin.artifact_info(artifact_id)
        producer = info["producer"]["execution"] if info["producer"] else None
        info["reused_by"] = [
            lin.execution_ref(e)
            for e, _ in sorted(lin.producers[artifact_id])
            if e != producer and lin.state(e) == "CACHED"
        ]
        info["consumers"] = [
            {**lin.execution_ref(e), "key": key} for e, key in sorted(lin.consumers[artifact_id])
        ]
        result.append(info)
    return result
