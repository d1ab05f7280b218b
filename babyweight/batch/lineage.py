"""Batch prediction in the pipeline's ML Metadata store: which model, which data, which output.

The pushed model is traced back to the pipeline's own artifacts by babyweight/metadata/pushed.py
(the Trainer's Model artifact behind the model directory). A batch run is one execution of type
`babyweight.BatchPredict`: INPUT events to that Model and to a new input-data artifact, an OUTPUT
event to a new prediction artifact whose URI is the output prefix. It belongs to a context of its
own and to the pipeline's context, so lineage can answer "which model made these predictions".
"""

from __future__ import annotations

import time

from babyweight.metadata import store as mlmd
from babyweight.metadata.pushed import MODEL_KEY, ModelRecord

from ml_metadata.proto import metadata_store_pb2 as pb

EXECUTION_TYPE = "babyweight.BatchPredict"
INPUT_TYPE = "babyweight.PredictionInput"
OUTPUT_TYPE = "babyweight.Predictions"
CONTEXT_TYPE = "babyweight.batch_predict_run"
INPUT_KEY, OUTPUT_KEY = "examples", "predictions"


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
