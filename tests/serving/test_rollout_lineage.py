"""A rollout step in ML Metadata, on the hand-recorded store of tests/lineage_store.py: one
Rollout execution linked to the PushedModel of each version it moved, found by the pushed
directory or, for a copy, by the pushed version; shown downstream by `lineage trace`."""

from __future__ import annotations

from pathlib import Path

from babyweight.metadata import lineage
from babyweight.metadata import store as mlmd
from babyweight.metadata import trace as trace_lib
from babyweight.metadata.pushed import find_pushed
from babyweight.serving.rollout_lineage import (
    CONTEXT_TYPE,
    EXECUTION_TYPE,
    record_rollout,
    server_recorder,
)

import lineage_store


def test_a_rollout_is_an_execution_linked_to_the_pushed_models(tmp_path):
    path = tmp_path / "metadata.sqlite"
    ids = lineage_store.build(path)
    store = mlmd.open_store(path)
    served = Path("/serving/demo")  # the Pusher's destination is /serving/demo/1700000000
    assert find_pushed(store, served, 1700000000)[0].id == ids["pushed"]
    copy = tmp_path / "synced" / "demo"  # a copy of the serving directory: by pushed_version
    assert find_pushed(store, copy, 1700000000)[0].id == ids["pushed"]
    assert find_pushed(store, tmp_path / "other", 1700000000) == (None, None)

    execution, unlinked = record_rollout(
        store,
        copy,
        "promote",
        "canary 1700000100 promoted to stable (stable was 1700000000)",
        {"promoted": 1700000100, "replaced": 1700000000},
        {"stable": 1700000100},
    )
    assert unlinked == ["promoted=1700000100"]
    (recorded,) = store.get_executions_by_type(EXECUTION_TYPE)
    assert recorded.id == execution.id
    assert mlmd.custom_property(recorded, "action") == "promote"
    assert mlmd.custom_property(recorded, "stable_after") == 1700000100
    assert mlmd.custom_property(recorded, "replaced_version") == 1700000000
    assert mlmd.custom_property(recorded, "unlinked") == "promoted=1700000100"
    events = store.get_events_by_execution_ids([execution.id])
    assert [(e.artifact_id, e.path.steps[0].key) for e in events] == [(ids["pushed"], "replaced")]
    contexts = {(c.type, c.name) for c in store.get_contexts_by_execution(execution.id)}
    assert ("pipeline", "demo") in contexts and {t for t, _ in contexts} == {
        "pipeline",
        CONTEXT_TYPE,
    }
    downstream = trace_lib.trace(lineage.Lineage(store), ids["pushed"])["downstream"]
    assert execution.id in {step["execution"] for step in downstream}


def test_the_server_records_a_stable_gone_from_disk(tmp_path):
    path = tmp_path / "metadata.sqlite"
    ids = lineage_store.build(path)
    record = server_recorder(path, Path("/serving/demo"))
    message = "stable version 1700000000 is gone from disk; stable moved to 1690000000"
    record("stable_gone", message, {"gone": 1700000000, "stable": 1690000000},
           {"stable": 1690000000})  # fmt: skip
    store = mlmd.open_store(path, readonly=True)
    (recorded,) = store.get_executions_by_type(EXECUTION_TYPE)
    assert mlmd.custom_property(recorded, "action") == "stable_gone"
    assert mlmd.custom_property(recorded, "description") == message
    assert mlmd.custom_property(recorded, "gone_version") == 1700000000
    events = store.get_events_by_execution_ids([recorded.id])
    assert [(e.artifact_id, e.path.steps[0].key) for e in events] == [(ids["pushed"], "gone")]


def test_a_store_the_server_cannot_write_is_logged_not_raised(tmp_path, caplog):
    bad = tmp_path / "metadata.sqlite"
    bad.write_bytes(b"not a store")
    server_recorder(bad, tmp_path)("stable_gone", "m", {"gone": 1}, {})
    assert "not recorded in ML Metadata" in caplog.text
