"""Batch prediction in the pipeline's ML Metadata store: which model, which data, which output.

The pushed model is traced back to the pipeline's own artifacts: the Pusher execution whose
PushedModel has `pushed_destination` == the model directory, then that execution's input `model`
(the Trainer's Model artifact). A batch run is one execution of type `babyweight.BatchPredict`:
INPUT events to that Model and to a new input-data artifact, an OUTPUT event to a new prediction
artifact whose URI is the output prefix. It belongs to a context of its own and to the pipeline's
context, so lineage can answer "which model made these predictions".
"""

from __future__ import annotations

import dataclasses
import os
import time

from babyweight.metadata import store as mlmd

from ml_metadata.proto import metadata_store_pb2 as pb

EXECUTION_TYPE = "babyweight.BatchPredict"
INPUT_TYPE = "babyweight.PredictionInput"
OUTPUT_TYPE = "babyweight.Predictions"
CONTEXT_TYPE = "babyweight.batch_predict_run"
PUSHED_MODEL_TYPE = "PushedModel"
BLESSING_TYPE = "ModelBlessing"
MODEL_KEY, INPUT_KEY, OUTPUT_KEY = "model", "examples", "predictions"


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
    for pushed in store.get_artifacts_by_type(PUSHED_MODEL_TYPE):
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
        for b in store.get_artifacts_by_type(BLESSING_TYPE)
        if mlmd.custom_property(b, "blessed", 0) == 1
    }
    candidates = []
    for pushed in store.get_artifacts_by_type(PUSHED_MODEL_TYPE):
        destination = mlmd.custom_property(pushed, "pushed_destination", "")
        if mlmd.custom_property(pushed, "pushed", 0) != 1 or not os.path.isdir(destination):
            continue
        record = find_model(store, destination)
        if record and record.model.id in blessed_ids:
            candidates.append(record)
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.pushed.create_time_since_epoch, r.pushed.id))


def start_run(
    store, model: ModelRecord, input_uri: str, input_format: str, **properties
) -> tuple[pb.Execution, list[pb.Context]]:
    """A RUNNING BatchPredict execution with its INPUT events (the Model and the input data)."""
    execution = pb.Execution(
        type_id=mlmd.type_id(store, EXECUTION_TYPE, "execution"),
        last_known_state=pb.Execution.RUNNING,
    )
    mlmd.set_custom_properties(
        execution, **{mlmd.MODEL_DIR_PROPERTY: model.model_dir}, **properties
    )
    data = pb.Artifact(
        type_id=mlmd.type_id(store, INPUT_TYPE, "artifact"),
        uri=input_uri,
        state=pb.Artifact.LIVE,
    )
    mlmd.set_custom_properties(data, format=input_format)
    run_name = f"batch_predict_{time.strftime('%Y%m%dT%H%M%S')}_{time.time_ns() % 10**9}"
    contexts = [pb.Context(type_id=mlmd.type_id(store, CONTEXT_TYPE, "context"), name=run_name)]
    if model.pipeline_context is not None:
        contexts.append(model.pipeline_context)
    execution_id, _, context_ids = store.put_execution(
        execution, [(data, mlmd.new_event(pb.Event.INPUT, INPUT_KEY))], contexts
    )
    # The Model artifact is the pipeline's own: link to it by id and leave it unchanged (passing
    # it to put_execution would rewrite it and its update time).
    model_event = mlmd.new_event(pb.Event.INPUT, MODEL_KEY)
    model_event.artifact_id, model_event.execution_id = model.model.id, execution_id
    store.put_events([model_event])
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=model.model.id, context_id=context_ids[0])], []
    )
    execution = store.get_executions_by_id([execution_id])[0]
    contexts = store.get_contexts_by_id(context_ids)
    return execution, contexts


def finish_run(
    store,
    execution: pb.Execution,
    contexts: list[pb.Context],
    *,
    output_uri: str | None,
    output_format: str | None = None,
    counts: dict | None = None,
    error: str | None = None,
) -> pb.Execution:
    """COMPLETE with an OUTPUT event to the prediction artifact and the counts, or FAILED."""
    execution.last_known_state = pb.Execution.FAILED if error else pb.Execution.COMPLETE
    mlmd.set_custom_properties(execution, error=error, **(counts or {}))
    artifacts = []
    if not error and output_uri:
        predictions = pb.Artifact(
            type_id=mlmd.type_id(store, OUTPUT_TYPE, "artifact"),
            uri=output_uri,
            state=pb.Artifact.LIVE,
        )
        mlmd.set_custom_properties(predictions, format=output_format, **(counts or {}))
        artifacts.append((predictions, mlmd.new_event(pb.Event.OUTPUT, OUTPUT_KEY)))
    execution_id, _, _ = store.put_execution(execution, artifacts, contexts)
    return store.get_executions_by_id([execution_id])[0]
