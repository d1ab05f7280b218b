"""Copying one ML Metadata store into another (an SQLite file into a team's MySQL server):
types, artifacts, executions, contexts, parent contexts, events, attributions and
associations, each with its properties. Ids are the destination's own; the order is kept, so
"the newest run" is the same on both."""

from __future__ import annotations

import dataclasses

from babyweight.errors import UsageError
from babyweight.metadata import store as mlmd


@dataclasses.dataclass
class Copied:
    """How many of each were copied."""

    types: int = 0
    artifacts: int = 0
    executions: int = 0
    contexts: int = 0
    events: int = 0
    attributions: int = 0
    associations: int = 0


def _copy_types(src, dst) -> dict[str, dict[int, int]]:
    """Every type, keyed by kind: old id -> new id."""
    ids: dict[str, dict[int, int]] = {"artifact": {}, "execution": {}, "context": {}}
    for kind, get, put in (
        ("artifact", src.get_artifact_types, dst.put_artifact_type),
        ("execution", src.get_execution_types, dst.put_execution_type),
        ("context", src.get_context_types, dst.put_context_type),
    ):
        for t in get():
            old = t.id
            t.ClearField("id")
            ids[kind][old] = put(t, can_add_fields=True)
    return ids


def _copy_nodes(items, type_ids: dict[int, int], put) -> dict[int, int]:
    """Artifacts, executions or contexts, in id order: old id -> new id."""
    items = sorted(items, key=lambda n: n.id)
    old_ids = [n.id for n in items]
    for n in items:
        # MLMD stamps its own times: keep the first store's (a double: MySQL's int is 32 bits)
        for field in mlmd.ORIGINAL_TIMES:
            if f"copied_{field}" not in n.custom_properties:
                n.custom_properties[f"copied_{field}"].double_value = getattr(n, field)
        n.ClearField("id")
        n.type_id = type_ids[n.type_id]
    return dict(zip(old_ids, put(items) if items else [], strict=True))


def copy_store(src, dst) -> Copied:
    """Everything in `src` into `dst`, which must hold no records yet (UsageError otherwise:
    names would collide, and a half-merged store answers nobody's questions)."""
    if dst.get_artifacts() or dst.get_executions() or dst.get_contexts():
        raise UsageError(
            "--to: the destination store already holds records; copy into an empty one"
        )
    copied = Copied()
    types = _copy_types(src, dst)
    copied.types = sum(len(t) for t in types.values())
    artifacts = _copy_nodes(src.get_artifacts(), types["artifact"], dst.put_artifacts)
    executions = _copy_nodes(src.get_executions(), types["execution"], dst.put_executions)
    contexts = _copy_nodes(src.get_contexts(), types["context"], dst.put_contexts)
    copied.artifacts, copied.executions, copied.contexts = (
        len(artifacts), len(executions), len(contexts)
    )  # fmt: skip
    parents = []
    for old in contexts:
        for parent in src.get_parent_contexts_by_context(old):
            parents.append(mlmd.metadata_store_pb2.ParentContext(
                child_id=contexts[old], parent_id=contexts[parent.id]
            ))  # fmt: skip
    if parents:
        dst.put_parent_contexts(parents)
    events = sorted(src.get_events_by_execution_ids(list(executions)), key=_event_order)
    for e in events:
        e.artifact_id, e.execution_id = artifacts[e.artifact_id], executions[e.execution_id]
    if events:
        dst.put_events(events)
    copied.events = len(events)
    copied.attributions, copied.associations = _copy_links(
        src, dst, artifacts, executions, contexts
    )
    return copied


def _event_order(event):
    return (event.milliseconds_since_epoch, event.execution_id, event.artifact_id)


def _copy_links(src, dst, artifacts, executions, contexts) -> tuple[int, int]:
    """Attributions (context, artifact) and associations (context, execution)."""
    pb = mlmd.metadata_store_pb2
    attributions = [
        pb.Attribution(context_id=contexts[c.id], artifact_id=new)
        for old, new in artifacts.items()
        for c in src.get_contexts_by_artifact(old)
    ]
    associations = [
        pb.Association(context_id=contexts[c.id], execution_id=new)
        for old, new in executions.items()
        for c in src.get_contexts_by_execution(old)
    ]
    if attributions or associations:
        dst.put_attributions_and_associations(attributions, associations)
    return len(attributions), len(associations)
