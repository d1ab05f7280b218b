"""A small real ML Metadata store, recorded by hand, for fast tests of the lineage tools.

It has the shape LocalDagRunner records (contexts pipeline / pipeline_run / node, executions,
INPUT and OUTPUT events with keys), so the tools are tested on MLMD itself, without a pipeline
run: ExampleGen -> Examples -> {StatisticsGen -> ExampleValidator, Trainer} -> Model -> Evaluator
-> Pusher -> PushedModel, then a batch prediction job that registers the pushed model again
under its serving directory, and a second, cached run.
"""

from __future__ import annotations

import time

from ml_metadata import errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

COMPLETE, CACHED, RUNNING = pb.Execution.COMPLETE, pb.Execution.CACHED, pb.Execution.RUNNING


class Recorder:
    def __init__(self, path):
        config = pb.ConnectionConfig()
        config.sqlite.filename_uri = str(path)
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        self.store = metadata_store.MetadataStore(config)
        self.types: dict[tuple[str, str], int] = {}

    def _type(self, kind: str, name: str) -> int:
        if (kind, name) not in self.types:
            getter = {
                "artifact": self.store.get_artifact_type,
                "execution": self.store.get_execution_type,
                "context": self.store.get_context_type,
            }[kind]
            try:  # a type the store already has (a TFX store has Model, for one)
                self.types[(kind, name)] = getter(name).id
                return self.types[(kind, name)]
            except errors.NotFoundError:
                pass
            if kind == "artifact":
                t = pb.ArtifactType(name=name)
                self.types[(kind, name)] = self.store.put_artifact_type(t)
            elif kind == "execution":
                t = pb.ExecutionType(name=name)
                self.types[(kind, name)] = self.store.put_execution_type(t)
            else:
                t = pb.ContextType(name=name)
                self.types[(kind, name)] = self.store.put_context_type(t)
        return self.types[(kind, name)]

    def context(self, type_name: str, name: str) -> int:
        found = self.store.get_context_by_type_and_name(type_name, name)
        if found:
            return found.id
        context = pb.Context(type_id=self._type("context", type_name), name=name)
        return self.store.put_contexts([context])[0]

    def artifact(self, type_name: str, uri: str, **custom) -> int:
        a = pb.Artifact(type_id=self._type("artifact", type_name), uri=uri, state=pb.Artifact.LIVE)
        for key, value in custom.items():
            if isinstance(value, int):
                a.custom_properties[key].int_value = value
            else:
                a.custom_properties[key].string_value = str(value)
        return self.store.put_artifacts([a])[0]

    def execute(self, node, inputs=None, outputs=None, run=None, state=COMPLETE, context=None):
        """Record one execution of `node` in `run`, reading and writing artifact ids by key."""
        time.sleep(0.003)  # MLMD stamps the times (ms): keep executions apart, in order
        execution = pb.Execution(
            type_id=self._type("execution", f"test.{node}"), last_known_state=state
        )
        events = []
        for side, items in ((pb.Event.INPUT, inputs), (pb.Event.OUTPUT, outputs)):
            # One event per artifact and side, as TFX records it: an artifact that fills several
            # keys (an Evaluator's model and baseline_model) has a path key, index, key, index.
            by_artifact: dict[int, pb.Event] = {}
            for key, artifact_id in (items or {}).items():
                event = by_artifact.setdefault(artifact_id, pb.Event(type=side))
                event.artifact_id = artifact_id
                event.path.steps.add().key = key
                event.path.steps.add().index = 0
            events += [(None, event) for event in by_artifact.values()]
        contexts = []
        if run is not None:
            contexts = [
                self.store.get_contexts_by_id([self.context("pipeline", "demo")])[0],
                self.store.get_contexts_by_id([self.context("pipeline_run", run)])[0],
                self.store.get_contexts_by_id([self.context("node", f"demo.{node}")])[0],
            ]
        if context is not None:
            contexts.append(self.store.get_contexts_by_id([self.context(*context)])[0])
        execution_id, _, _ = self.store.put_execution(execution, events, contexts)
        return execution_id


def build(path, root="/root") -> dict:
    """Record the demo store at `path`, its artifacts under `root`; returns the ids the tests
    look for."""
    r = Recorder(path)
    ids = {}
    ids["examples"] = r.artifact("Examples", f"{root}/ExampleGen/examples/1")
    r.execute("ExampleGen", outputs={"examples": ids["examples"]}, run="run-1")
    ids["schema"] = r.artifact("Schema", f"{root}/ImportSchemaGen/schema/2")
    r.execute("ImportSchemaGen", outputs={"schema": ids["schema"]}, run="run-1")
    ids["statistics"] = r.artifact("ExampleStatistics", f"{root}/StatisticsGen/statistics/3")
    r.execute(
        "StatisticsGen",
        inputs={"examples": ids["examples"]},
        outputs={"statistics": ids["statistics"]},
        run="run-1",
    )
    ids["anomalies"] = r.artifact("ExampleAnomalies", f"{root}/ExampleValidator/anomalies/4")
    r.execute(
        "ExampleValidator",
        inputs={"statistics": ids["statistics"], "schema": ids["schema"]},
        outputs={"anomalies": ids["anomalies"]},
        run="run-1",
    )
    ids["model"] = r.artifact("Model", f"{root}/Trainer/model/5")
    ids["trainer"] = r.execute(
        "Trainer",
        inputs={"examples": ids["examples"], "schema": ids["schema"]},
        outputs={"model": ids["model"]},
        run="run-1",
    )
    ids["blessing"] = r.artifact("ModelBlessing", f"{root}/Evaluator/blessing/6", blessed=1)
    ids["evaluator"] = r.execute(
        "Evaluator",
        inputs={"examples": ids["examples"], "model": ids["model"]},
        outputs={"blessing": ids["blessing"]},
        run="run-1",
    )
    ids["pushed"] = r.artifact(
        "PushedModel",
        f"{root}/Pusher/pushed_model/7",
        pushed=1,
        pushed_destination="/serving/demo/1700000000",
        pushed_version="1700000000",
    )
    r.execute(
        "Pusher",
        inputs={"model": ids["model"], "model_blessing": ids["blessing"]},
        outputs={"pushed_model": ids["pushed"]},
        run="run-1",
    )
    # A batch prediction job, recorded by someone else: no pipeline_run, its own names, and
    # the model it loaded registered again under the serving directory.
    ids["served_model"] = r.artifact("Model", "/serving/demo/1700000000")
    ids["input_data"] = r.artifact("Dataset", "/data/to_score.csv")
    ids["predictions"] = r.artifact("Predictions", "/predictions/1")
    ids["batch"] = r.execute(
        "BatchPredict",
        inputs={"model": ids["served_model"], "data": ids["input_data"]},
        outputs={"predictions": ids["predictions"]},
        context=("batch_prediction", "job-1"),
    )
    # A second run where everything is a cache hit but the Trainer.
    r.execute("ExampleGen", outputs={"examples": ids["examples"]}, run="run-2", state=CACHED)
    r.execute(
        "StatisticsGen",
        inputs={"examples": ids["examples"]},
        outputs={"statistics": ids["statistics"]},
        run="run-2",
        state=CACHED,
    )
    return ids
