"""ML Metadata as the OSS KFP v2 driver and launcher write it, in a local MLMD store.

From kubeflow/pipelines@7b70c7b95f6832772efd6fd0029a4024491a0f44,
backend/src/v2/metadata/client.go (types and keys), driver/root_dag.go, driver/container.go and
component/launcher_v2.go (when each record is written):

- contexts: `system.Pipeline` named by the pipeline, and `system.PipelineRun` named by the run id
  with custom properties namespace, resource_name, pipeline_root (`ROOT/PIPELINE/RUN`) and
  store_session_info; the run context is a child of the pipeline context (`GetPipeline`).
- the root DAG: a `system.DAGExecution` named `run/RUN_ID` holding the run's parameters as
  `inputs` (`RootDAG`).
- each task: a `system.ContainerExecution` (`CreateExecution`) with display_name, task_name,
  parent_dag_id (int), pod_name, pod_uid, namespace, image, cache_fingerprint and, on a cache hit,
  cached_execution_id; its input parameters as `inputs`; INPUT events keyed by the input name to
  the upstream artifacts; state RUNNING, then COMPLETE / FAILED, or CACHED for a hit.
- publishing (`PublishExecution`): output parameters as `outputs`, each output artifact recorded
  (`RecordArtifact`: type named by the schema title, state LIVE) with an OUTPUT event keyed by
  the output name; a cache hit gets OUTPUT events to the cached execution's artifacts.
- the cache table: the API server's task table keeps (fingerprint, pipeline "pipeline/NAME",
  MLMD execution id) for each launcher-completed task (launcher_v2.go `Execute`); a lookup takes
  the newest (cacheutils `GetExecutionCache`). Kept here as COMPLETE executions' fingerprints.
"""

from __future__ import annotations

from babyweight.kfp import launcher

from google.protobuf import json_format, struct_pb2
from ml_metadata.proto import metadata_store_pb2 as pb

PIPELINE_CONTEXT = "system.Pipeline"
RUN_CONTEXT = "system.PipelineRun"
DAG_EXECUTION = "system.DAGExecution"
CONTAINER_EXECUTION = "system.ContainerExecution"


def _struct(values: dict) -> pb.Value:
    s = struct_pb2.Struct()
    json_format.ParseDict(values, s)
    return pb.Value(struct_value=s)


def _set(props, key: str, kind: str, value) -> None:
    if kind == "struct_value":
        props[key].CopyFrom(_struct(value))
    else:
        setattr(props[key], kind, value)


def value_of(v: pb.Value):
    """(kind, python value) of an MLMD value."""
    kind = v.WhichOneof("value")
    if kind == "struct_value":
        return kind, json_format.MessageToDict(v.struct_value)
    return kind, getattr(v, kind)


class KfpMetadata:
    """The records of one KFP deployment's MLMD: a SQLite file or a mysql:// URL
    (babyweight/metadata/connection.py)."""

    def __init__(self, path: str):
        from babyweight.metadata import store as bw_store

        self.store = bw_store.open_store(path)

    def _type_id(self, kind: str, name: str) -> int:
        if kind == "artifact":
            return self.store.put_artifact_type(pb.ArtifactType(name=name))
        if kind == "context":
            return self.store.put_context_type(pb.ContextType(name=name))
        return self.store.put_execution_type(pb.ExecutionType(name=name))

    def _context(self, type_name: str, name: str, props: dict | None = None) -> pb.Context:
        found = self.store.get_context_by_type_and_name(type_name, name)
        if found:
            return found
        context = pb.Context(type_id=self._type_id("context", type_name), name=name)
        for key, value in (props or {}).items():
            context.custom_properties[key].string_value = value
        context.id = self.store.put_contexts([context])[0]
        return context

    def get_pipeline(
        self, pipeline_name: str, run_id: str, root: str, session_info: dict, namespace: str
    ) -> tuple[pb.Context, pb.Context]:
        """client.go GetPipeline: the pipeline and run contexts, the run a child of the pipeline."""
        pipeline = self._context(PIPELINE_CONTEXT, pipeline_name)
        run = self._context(
            RUN_CONTEXT,
            run_id,
            {
                "namespace": namespace,
                "resource_name": "run-resource",
                "pipeline_root": launcher.run_root(root, pipeline_name, run_id),
                "store_session_info": launcher.session_info_json(session_info),
            },
        )
        if not self.store.get_parent_contexts_by_context(run.id):
            self.store.put_parent_contexts(
                [pb.ParentContext(child_id=run.id, parent_id=pipeline.id)]
            )
        return pipeline, run

    def create_execution(
        self,
        contexts,
        execution_type: str,
        props: dict,
        input_parameters: dict | None,
        input_artifact_ids: dict[str, list[int]] | None = None,
        name: str | None = None,
    ) -> pb.Execution:
        """client.go CreateExecution: RUNNING, custom properties, INPUT events by input name."""
        e = pb.Execution(type_id=self._type_id("execution", execution_type))
        if name:
            e.name = name
        e.last_known_state = pb.Execution.RUNNING
        # client.go sets both on every execution, "" on the root DAG, which the UI finds by its
        # empty task_name (frontend/src/lib/v2/DynamicFlow.ts getExecutionLayers).
        for key in ("display_name", "task_name"):
            e.custom_properties[key].string_value = ""
        for key, (kind, value) in props.items():
            _set(e.custom_properties, key, kind, value)
        if input_parameters is not None:
            e.custom_properties["inputs"].CopyFrom(_struct(input_parameters))
        pairs = []
        for input_name, ids in (input_artifact_ids or {}).items():
            for artifact_id in ids:
                event = pb.Event(artifact_id=artifact_id, type=pb.Event.INPUT)
                event.path.steps.add().key = input_name
                pairs.append((None, event))
        execution_id, _, _ = self.store.put_execution(e, pairs, list(contexts))
        return self.store.get_executions_by_id([execution_id])[0]

    def record_artifact(
        self, output_name: str, schema: str, artifact: dict, session_info: dict
    ) -> pb.Artifact:
        """client.go RecordArtifact: LIVE, typed by the schema's title, metadata as custom
        properties with display_name and store_session_info added."""
        type_id = self._type_id("artifact", launcher.type_name(schema))
        a = pb.Artifact(type_id=type_id, uri=artifact["uri"], state=pb.Artifact.LIVE)
        props = launcher.recorded_custom_properties(
            output_name, artifact.get("metadata"), session_info
        )
        for key, (kind, value) in props.items():
            _set(a.custom_properties, key, kind, value)
        a.id = self.store.put_artifacts([a])[0]
        return self.store.get_artifacts_by_id([a.id])[0]

    def publish_execution(
        self,
        execution: pb.Execution,
        contexts,
        output_parameters: dict | None,
        outputs: list[tuple[str, pb.Artifact]],
        state: int,
    ) -> None:
        """client.go PublishExecution: state, `outputs`, OUTPUT events by output name."""
        execution.last_known_state = state
        if output_parameters is not None:
            execution.custom_properties["outputs"].CopyFrom(_struct(output_parameters))
        pairs = []
        for name, artifact in outputs:
            event = pb.Event(artifact_id=artifact.id, type=pb.Event.OUTPUT)
            event.path.steps.add().key = name
            pairs.append((artifact, event))
        self.store.put_execution(execution, pairs, list(contexts))

    def cached_execution_id(self, fingerprint: str, pipeline_context: pb.Context) -> int | None:
        """cacheutils GetExecutionCache: the newest launcher-completed task with this fingerprint
        in this pipeline."""
        found = [
            e
            for e in self.store.get_executions_by_context(pipeline_context.id)
            if e.last_known_state == pb.Execution.COMPLETE
            and e.custom_properties.get("cache_fingerprint", pb.Value()).string_value == fingerprint
        ]
        return max(found, key=lambda e: e.id).id if found else None

    def output_artifacts(self, execution_id: int) -> dict[str, pb.Artifact]:
        """client.go GetOutputArtifactsByExecutionId: {event key: artifact}."""
        events = self.store.get_events_by_execution_ids([execution_id])
        names = {e.artifact_id: e.path.steps[0].key for e in events if e.type == pb.Event.OUTPUT}
        artifacts = self.store.get_artifacts_by_id(list(names))
        return {names[a.id]: a for a in artifacts}

    def output_parameters(self, execution_id: int) -> dict:
        e = self.store.get_executions_by_id([execution_id])[0]
        if "outputs" not in e.custom_properties:
            return {}
        return json_format.MessageToDict(e.custom_properties["outputs"].struct_value)

    def as_input(self, artifact: pb.Artifact) -> dict:
        """The RuntimeArtifact a downstream task gets for this artifact (see launcher.py)."""
        props = {k: value_of(v) for k, v in artifact.properties.items()}
        props.update({k: value_of(v) for k, v in artifact.custom_properties.items()})
        return launcher.rebuilt_input(artifact.id, artifact.uri, props)
