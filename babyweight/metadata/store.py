"""Small queries over a TFX pipeline's ML Metadata store, and the names they share.

Only ml_metadata is imported (not TFX, which takes seconds), so command-line tools stay fast.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import re
import sqlite3
import time

from babyweight.errors import UsageError
from babyweight.metadata import connection

from ml_metadata import errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

STATE_NAMES = {value: name for name, value in metadata_store_pb2.Execution.State.items()}
FINISHED_STATES = {"COMPLETE", "CACHED", "FAILED", "CANCELED"}  # an execution that ended
_Event = metadata_store_pb2.Event
INPUT_EVENTS = {_Event.INPUT, _Event.DECLARED_INPUT, _Event.INTERNAL_INPUT}
OUTPUT_EVENTS = {_Event.OUTPUT, _Event.DECLARED_OUTPUT, _Event.INTERNAL_OUTPUT}
# An execution's custom property naming the model directory it loaded (a batch prediction run).
MODEL_DIR_PROPERTY = "model_dir"
# The TFX artifact types that the tools look up by name, each named once.
EXAMPLES_TYPE, SCHEMA_TYPE, MODEL_TYPE = "Examples", "Schema", "Model"
PUSHED_MODEL_TYPE, BLESSING_TYPE = "PushedModel", "ModelBlessing"


@dataclasses.dataclass
class NodeRun:
    node_id: str
    state: str
    execution: metadata_store_pb2.Execution
    inputs: dict[str, list[metadata_store_pb2.Artifact]]
    outputs: dict[str, list[metadata_store_pb2.Artifact]]


class StoreError(UsageError):
    """The ML Metadata store cannot be read (corrupt, truncated, not a store): one line that
    names the file. Every command that opens the store says it the same way."""


# What SQLite says about a damaged file, and what MLMD says when a file has no (or only some)
# of its tables: MLMD then tries to create them, which a read-only connection cannot.
_DAMAGED = ("malformed", "not a database", "readonly database", "subset of tables")


def unreadable_store(path, error: BaseException) -> str:
    """One line for an MLMD error on `path` (MLMD's own is a RuntimeError or InternalError
    quoting a whole SQL statement, or nothing at all)."""
    text = str(error).strip().removeprefix("Error when executing query:").strip()
    reason = text.split(" query:", 1)[0].splitlines()[0][:200] if text else "unreadable"
    newer = re.search(r"database version (\d+) is greater than library version (\d+)", text)
    if newer:
        return (
            f"{path}: written by a newer ML Metadata (schema version {newer[1]}; this "
            f"ml-metadata reads version {newer[2]}); upgrade ml-metadata to use it (it is "
            "never migrated here)"
        )
    if "readonly database" in reason:
        reason = "no ML Metadata tables in it"
    elif "subset of tables" in reason:
        reason = "some ML Metadata tables are missing"
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        reason = "the file is empty"
    line = f"{path}: cannot read this ML Metadata store ({reason})"
    if reason == "the file is empty" or any(d in text for d in _DAMAGED) or not text:
        line += "; it is corrupt or truncated: rerun the pipeline, or restore the file"
    return line


# Tables every MLMD schema has; a file with tables and none of these is another application's.
MLMD_TABLES = {"Type", "Artifact", "Execution", "Context", "Event", "MLMDEnv"}


def foreign_sqlite(path) -> str | None:
    """The one line for an SQLite file that another application made (it has tables, none of
    MLMD's, or it has none and cannot be made a store: read-only); None for anything else,
    which MLMD opens or reports itself (a damaged file stays "corrupt")."""
    path = str(path)
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error:  # not SQLite, or damaged: MLMD says which
        return None
    if tables & MLMD_TABLES or not tables:
        return None
    return f"{path}: not an ML Metadata store (no MLMD tables)"


# What MLMD says on MySQL while another connection is creating a new database's tables.
_INIT_RACE = ("subset of tables", "Please retry connection", "Deadlock found")
_INIT_TRIES = 20


class _Store(metadata_store.MetadataStore):
    """MetadataStore whose failures to read the file are a StoreError naming it.

    Every query goes through MetadataStore._call (ml-metadata 1.16); NotFoundError and the other
    answers about the data itself pass through unchanged.
    """

    def __init__(self, config, path: str):
        self.sqlite_path = path
        try:
            self._connect(config)
        except RuntimeError as e:
            if "mysql_real_connect failed" in str(e):  # reachable (checked), so it said no
                raise StoreError(
                    f"{path}: the MySQL server refused the connection (wrong user or password, "
                    "or the user may not create or use this database)"
                ) from None
            denied = re.search(r"Creating database (\S+) in .*?(Access denied for \S+ \S+)", str(e))
            if denied:  # the database is missing and the user may not create it
                raise StoreError(
                    f"{path}: the MySQL server refused to create database {denied[1]!r} "
                    f"({denied[2]}); ask its admin to create it and grant this user on it"
                ) from None
            raise StoreError(unreadable_store(path, e)) from None

    def _connect(self, config) -> None:
        """MetadataStore.__init__; on MySQL, again while another command is creating the tables
        of the same new database (MLMD sees some of them, or no schema version yet, and says
        "retry"): two commands started at once on a new database both work."""
        for attempt in range(1, _INIT_TRIES + 1):
            try:
                return super().__init__(config)
            except RuntimeError as e:
                racing = any(sign in str(e) for sign in _INIT_RACE)
                if not (config.HasField("mysql") and racing) or attempt == _INIT_TRIES:
                    raise
                time.sleep(random.uniform(0.2, 0.6))

    def _call(self, method_name, request, response, extra_options=None):
        try:
            return super()._call(method_name, request, response, extra_options)
        except (errors.InternalError, errors.DataLossError, errors.UnknownError) as e:
            raise StoreError(unreadable_store(self.sqlite_path, e)) from None


def open_store(name, *, readonly: bool = False) -> metadata_store.MetadataStore:
    """The store a LocalDagRunner writes, named by a path (SQLite) or a mysql:// URL
    (babyweight/metadata/connection.py); `readonly` for tools that only look.

    A store that cannot be read raises StoreError (at open, or at the query that meets the
    damage), one line naming it (a URL with its password masked). An SQLite file of another
    application is refused before MLMD opens it, which would otherwise add its tables to it."""
    store_name = connection.parse(name)
    if store_name.is_mysql:
        connection.check_reachable(store_name)
    else:
        foreign = foreign_sqlite(store_name.path)
        if foreign:
            raise StoreError(foreign)
    return _Store(store_name.connection_config(readonly=readonly), store_name.display)


def display_name(name) -> str:
    """A store's name as it may be printed: a URL's password masked."""
    return connection.parse(name).display


# A copied record's times in its first store (babyweight/metadata/copy.py): MLMD stamps its own
# create and update times on every put, and lineage's answers read them.
ORIGINAL_TIMES = ("create_time_since_epoch", "last_update_time_since_epoch")


def original_times(record):
    """The record with the times of its first store, when it is a copy (ORIGINAL_TIMES)."""
    for field in ORIGINAL_TIMES:
        value = custom_property(record, f"copied_{field}")
        if value is not None:
            setattr(record, field, int(value))
    return record


def event_keys(event) -> list[str]:
    """Every key an event's path names. TFX records an artifact that fills several inputs of one
    execution (a cached rerun's Evaluator: `model` and `baseline_model`) as ONE event whose path
    is key, index, key, index (MLMD allows one event per artifact, execution and type)."""
    return [step.key for step in event.path.steps if step.HasField("key")] or [""]


def latest_run_id(store, pipeline_name: str) -> str | None:
    """The newest pipeline_run context of the pipeline (LocalDagRunner makes one per run)."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return None
    pipeline_executions = {e.id for e in store.get_executions_by_context(pipeline.id)}
    runs = [
        c
        for c in store.get_contexts_by_type("pipeline_run")
        if {e.id for e in store.get_executions_by_context(c.id)} & pipeline_executions
    ]
    if not runs:
        return None
    return max(runs, key=lambda c: (c.create_time_since_epoch, c.id)).name


def node_id_of(store, execution_id: int, default: str = "?") -> str:
    for context in store.get_contexts_by_execution(execution_id):
        if context.type == "node":
            return context.name.split(".", 1)[-1]
    return default


def run_nodes(store, run_id: str) -> dict[str, NodeRun]:
    """Every execution of one pipeline run, keyed by node id, with its input/output artifacts."""
    context = store.get_context_by_type_and_name("pipeline_run", run_id)
    if context is None:
        return {}
    executions = store.get_executions_by_context(context.id)
    events = store.get_events_by_execution_ids([e.id for e in executions])
    artifacts = {
        a.id: a for a in store.get_artifacts_by_id(list({ev.artifact_id for ev in events}))
    }
    nodes: dict[str, NodeRun] = {}
    for execution in sorted(executions, key=lambda e: e.id):
        node_id = node_id_of(store, execution.id)
        run = NodeRun(node_id, STATE_NAMES.get(execution.last_known_state, "?"), execution, {}, {})
        for event in events:
            if event.execution_id != execution.id or event.artifact_id not in artifacts:
                continue
            side = run.inputs if event.type in INPUT_EVENTS else run.outputs
            for key in event_keys(event):
                side.setdefault(key, []).append(artifacts[event.artifact_id])
        nodes[node_id] = run  # a retried node keeps its newest execution
    return nodes


def producer_inputs(store, artifact_id: int, key: str) -> set[int]:
    """The ids of the `key` inputs of every execution that output artifact `artifact_id` (a cache
    hit outputs it again, from the same inputs): what a model was trained on, what statistics
    describe."""
    producers = {
        e.execution_id
        for e in store.get_events_by_artifact_ids([artifact_id])
        if e.type in OUTPUT_EVENTS
    }
    if not producers:
        return set()
    return {
        e.artifact_id
        for e in store.get_events_by_execution_ids(sorted(producers))
        if e.type in INPUT_EVENTS and key in event_keys(e)
    }


def examples_span(artifact) -> int | None:
    """An Examples artifact's span, the custom property ExampleGen's driver writes."""
    return custom_property(artifact, "span")


def statistics_span(store, artifact_id: int) -> int | None:
    """The span of the examples an ExampleStatistics artifact describes. (StatisticsGen copies
    a `span` onto its output from a property that ExampleGen leaves unset: it reads 0.)"""
    described = producer_inputs(store, artifact_id, "examples")
    spans = [examples_span(a) for a in store.get_artifacts_by_id(sorted(described))]
    spans = [s for s in spans if s is not None]
    return max(spans) if spans else None


def custom_property(item, name: str, default=None):
    """A custom property as a plain value (str, int, float or bool), or `default`."""
    if name not in item.custom_properties:
        return default
    value = item.custom_properties[name]
    kind = value.WhichOneof("value")
    if kind in ("int_value", "double_value", "string_value", "bool_value"):
        return getattr(value, kind)
    return default


def decode_split_names(split_names: str) -> list[str]:
    """An artifact's `split_names` property ('["train", "eval"]') as a list."""
    return json.loads(split_names) if split_names else []


# -- records written outside a TFX pipeline -----------------------------------------------------
def type_id(store, name: str, kind: str) -> int:
    """The id of an artifact, context or execution type, registered when new (records written
    outside a TFX pipeline: batch prediction runs, rollout steps)."""
    if kind == "artifact":
        return store.put_artifact_type(metadata_store_pb2.ArtifactType(name=name))
    if kind == "context":
        return store.put_context_type(metadata_store_pb2.ContextType(name=name))
    return store.put_execution_type(metadata_store_pb2.ExecutionType(name=name))


def set_custom_properties(message, **values) -> None:
    """Plain values as custom properties (bool as int, None skipped)."""
    for name, value in values.items():
        if value is None:
            continue
        field = message.custom_properties[name]
        if isinstance(value, bool):
            field.int_value = int(value)
        elif isinstance(value, int):
            field.int_value = value
        elif isinstance(value, float):
            field.double_value = value
        else:
            field.string_value = str(value)


def new_event(kind, key: str) -> metadata_store_pb2.Event:
    """An event of `kind` for the input or output `key`, the path TFX writes (key, index 0)."""
    event = metadata_store_pb2.Event(type=kind)
    event.path.steps.add().key = key
    event.path.steps.add().index = 0
    return event
