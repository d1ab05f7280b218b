"""Pushed models in the pipeline's ML Metadata store, and the pipeline artifacts behind them.

A pushed model directory is traced back to the pipeline's own artifacts: the Pusher execution
whose PushedModel has `pushed_destination` == the directory, then that execution's input `model`
(the Trainer's Model artifact). Batch prediction records which model made its predictions
(babyweight/batch/lineage.py) and a rollout which versions it moved
(babyweight/serving/rollout_lineage.py), both through these look-ups.

A served version is matched to its PushedModel by the Pusher's `pushed_destination`, or, where
the served directory is a copy of the pushed one (synced from a bucket, say), by the Pusher's
`pushed_version` under a destination of the same model name.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from babyweight.metadata import store as mlmd

from ml_metadata.proto import metadata_store_pb2 as pb

MODEL_KEY = "model"  # the Pusher's input key of the Trainer's Model


@dataclasses.dataclass
class ModelRecord:
    """A pushed model directory and the pipeline artifacts it came from."""

    model_dir: str
    model: pb.Artifact  # the Trainer's Model artifact
    pushed: pb.Artifact  # the Pusher's PushedModel artifact
    pipeline_context: pb.Context | None


def _same_path(a: str, b: str) -> bool:
    return os.path.normpath(os.path.abspath(a)) == os.path.normpath(os.path.abspath(b))


def _events_of(store, artifact_id: int, kind) -> list[pb.Event]:
    return [e for e in store.get_events_by_artifact_ids([artifact_id]) if e.type == kind]


def _input_model_of(store, execution_id: int) -> pb.Artifact | None:
    for event in store.get_events_by_execution_ids([execution_id]):
        key = event.path.steps[0].key if event.path.steps else ""
        if event.type == pb.Event.INPUT and key == MODEL_KEY:
            return store.get_artifacts_by_id([event.artifact_id])[0]
    return None


def _pipeline_context(store, execution_id: int) -> pb.Context | None:
    for context in store.get_contexts_by_execution(execution_id):
        if context.type == "pipeline":
            return context
    return None


def find_model(store, model_dir: str) -> ModelRecord | None:
    """The Trainer's Model artifact behind a pushed model directory, or None if not pushed here."""
    for pushed in store.get_artifacts_by_type(mlmd.PUSHED_MODEL_TYPE):
        destination = mlmd.custom_property(pushed, "pushed_destination", "")
        if not destination or not _same_path(destination, model_dir):
            continue
        for event in _events_of(store, pushed.id, pb.Event.OUTPUT):
            model = _input_model_of(store, event.execution_id)
            if model is not None:
                context = _pipeline_context(store, event.execution_id)
                return ModelRecord(destination, model, pushed, context)
    return None


def newest_blessed_model(store) -> ModelRecord | None:
    """The newest pushed model whose Model artifact the Evaluator blessed (blessed == 1)."""
    blessed_ids = {
        int(mlmd.custom_property(b, "current_model_id", -1))
        for b in store.get_artifacts_by_type(mlmd.BLESSING_TYPE)
        if mlmd.custom_property(b, "blessed", 0) == 1
    }
    candidates = []
    for pushed in store.get_artifacts_by_type(mlmd.PUSHED_MODEL_TYPE):
        destination = mlmd.custom_property(pushed, "pushed_destination", "")
        if mlmd.custom_property(pushed, "pushed", 0) != 1 or not os.path.isdir(destination):
            continue
        record = find_model(store, destination)
        if record and record.model.id in blessed_ids:
            candidates.append(record)
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.pushed.create_time_since_epoch, r.pushed.id))


def find_pushed(store, model_dir: Path, version: int):
    """(PushedModel artifact, pipeline context or None) of a served version, or (None, None)."""
    record = find_model(store, str(model_dir / str(version)))
    if record is not None:
        return record.pushed, record.pipeline_context
    for pushed in store.get_artifacts_by_type(mlmd.PUSHED_MODEL_TYPE):
        destination = str(mlmd.custom_property(pushed, "pushed_destination", ""))
        if (
            str(mlmd.custom_property(pushed, "pushed_version", "")) == str(version)
            and os.path.basename(os.path.dirname(os.path.normpath(destination))) == model_dir.name
        ):
            record = find_model(store, destination)
            return pushed, record.pipeline_context if record else None
    return None, None
