"""A rollout step in the pipeline's ML Metadata store, linked to the pushed models it moved.

Each `babyweight rollout promote|rollback`, and each label change the server makes itself (the
stable version's directory gone: action `stable_gone`, parts `gone` and `stable`), is one
COMPLETE execution of type `babyweight.Rollout`
(properties: action, a description of what it did, the labels after it, the model directory)
with an INPUT event to the PushedModel artifact of each version it moved, keyed by its part:
`promoted` and `replaced` (promote), `rolled_back` and `stable` (rollback). It belongs to a
context of its own and to the pipeline's context, as a batch prediction run does
(batch/lineage.py), so `babyweight lineage trace` on a pushed model lists the rollouts that
moved it.

A served version is matched to its PushedModel by babyweight/metadata/pushed.py.
"""

from __future__ import annotations

import time
from pathlib import Path

from babyweight.metadata import store as mlmd
from babyweight.metadata.pushed import find_pushed
from babyweight.metadata.store import display_name

from ml_metadata.proto import metadata_store_pb2 as pb

EXECUTION_TYPE = "babyweight.Rollout"
CONTEXT_TYPE = "babyweight.rollout"


def server_recorder(metadata_path: Path, model_dir: Path):
    """For `babyweight serve`: a function that records a label change the server made itself
    (the stable version gone: action `stable_gone`) as record_rollout does. A store that cannot
    be written is logged, never raised: the server keeps serving."""
    import logging

    log = logging.getLogger("babyweight.serving")

    def record(action: str, message: str, moved: dict, labels: dict) -> None:
        moved = {part: version for part, version in moved.items() if version is not None}
        try:
            store = mlmd.open_store(str(metadata_path))
            execution, _ = record_rollout(store, model_dir, action, message, moved, labels)
        except Exception as e:  # noqa: BLE001  (serving matters more than the record)
            log.error(
                "not recorded in ML Metadata %s: %s", display_name(metadata_path), str(e)[:300]
            )
            return
        log.info("recorded in ML Metadata: execution %s (%s)", execution.id, action)

    return record


def record_rollout(
    store, model_dir: Path, action: str, message: str, moved: dict[str, int], labels: dict
) -> tuple[pb.Execution, list[str]]:
    """The COMPLETE Rollout execution, and the moved versions that have no PushedModel here
    (recorded in `unlinked`, so that nothing is silently missing)."""
    execution = pb.Execution(
        type_id=mlmd.type_id(store, EXECUTION_TYPE, "execution"),
        last_known_state=pb.Execution.COMPLETE,
    )
    artifact_events, unlinked, pipeline_context = [], [], None
    for part, version in moved.items():
        pushed, context = find_pushed(store, Path(model_dir), version)
        if pushed is None:
            unlinked.append(f"{part}={version}")
            continue
        artifact_events.append((pushed, part))
        pipeline_context = pipeline_context or context
    mlmd.set_custom_properties(
        execution,
        action=action,
        description=message,
        model_dir=str(Path(model_dir).resolve()),
        unlinked=", ".join(unlinked) or None,
        **{f"{part}_version": version for part, version in moved.items()},
        **{f"{label}_after": version for label, version in labels.items()},
    )
    name = (
        f"rollout_{Path(model_dir).name}_{time.strftime('%Y%m%dT%H%M%S')}_{time.time_ns() % 10**9}"
    )
    contexts = [pb.Context(type_id=mlmd.type_id(store, CONTEXT_TYPE, "context"), name=name)]
    if pipeline_context is not None:
        contexts.append(pipeline_context)
    execution_id, _, _ = store.put_execution(execution, [], contexts)
    # The PushedModels are the pipeline's own: link by id, leave them unchanged.
    events = []
    for pushed, part in artifact_events:
        event = mlmd.new_event(pb.Event.INPUT, part)
        event.artifact_id, event.execution_id = pushed.id, execution_id
        events.append(event)
    store.put_events(events)
    return store.get_executions_by_id([execution_id])[0], unlinked
