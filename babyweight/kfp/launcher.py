"""What the OSS KFP v2 driver and launcher hand a container task, and what they read back.

Written from kubeflow/pipelines at commit 7b70c7b95f6832772efd6fd0029a4024491a0f44 (KFP_SOURCE);
each function names the Go function it follows. In short, a task gets:

- **Outputs** (driver/driver.go `provisionOutputs`): one RuntimeArtifact per output key, named by
  the key, typed by the component's output definition, with the URI
  `ROOT/PIPELINE/RUN/TASK/UUID/KEY` (`metadata.GenerateOutputURI` of the run's root, which
  `metadata/client.go GetPipeline` made `ROOT/PIPELINE/RUN`, then TASK and a fresh UUID in
  driver/container.go). Since publish_logs is on by default, an extra output **`executor-logs`**
  of `schemaTitle: system.Artifact` is added to every task; the launcher writes the task's
  stdout and stderr there (component/launcher_v2.go `getLogWriter`).
- **The output metadata file** (`provisionOutputs`): `LOCAL_TASK_ROOT/output_metadata.json` where
  the root's scheme maps to a local path (gs:// -> /gcs/, minio:// -> /minio/, s3:// -> /s3/,
  `component.LocalPathForURI`), else the pod-local `/tmp/kfp_outputs/output_metadata.json`
  (`OutputMetadataFilepath`). It is pod-local: nothing of it survives the pod but what the
  launcher reads back (`getExecutorOutputFile`; a missing file is an empty ExecutorOutput).
- **Inputs rebuilt from ML Metadata** (driver/resolve.go via metadata/client.go
  `GetOutputArtifactsByExecutionId` + `OutputArtifact.ToRuntimeArtifact`): the upstream output's
  MLMD artifact, with `name` = its numeric MLMD id as text, `type: {instanceSchema: ""}` (the
  schema is not kept: "TODO(Bobgy): figure out how to get schema"), and `metadata` = every
  property and custom property, converted by metadata/converter.go `toRuntimeArtifact`.
- **The metadata round trip** (converter.go `toMLMDArtifact`, `StructValueToMLMDValue`,
  `toRuntimeArtifact`; client.go `RecordArtifact`): a number becomes an MLMD double, a bool an
  MLMD int 1/0, a list `{"list": [...]}` and a struct `{"struct": {...}}`; on the way back ints
  and doubles are both numbers (so a bool comes back as 1.0). `RecordArtifact` adds
  `display_name` (the output key) and `store_session_info` (JSON of the bucket session) unless
  the task set them. `_kfp_workspace` is never stored.
- **Merging the executor's output** (launcher_v2.go `mergeRuntimeArtifacts`): the task's
  ExecutorOutput may change an output's URI and add metadata; `executor-logs` stays as provisioned.
- **Output parameters** (`collectOutputParameters`): from the ExecutorOutput, else read from
  `/tmp/kfp/outputs/NAME` and parsed by type (`metadata.TextToPbValue`).

This module is pure: dicts in, dicts out, no store and no subprocess.
"""

from __future__ import annotations

import json
import posixpath
import uuid

import yaml

KFP_SOURCE = "kubeflow/pipelines@7b70c7b95f6832772efd6fd0029a4024491a0f44"
LOGS_KEY = "executor-logs"  # driver.go provisionOutputs
LOGS_TYPE = {"schemaTitle": "system.Artifact"}
OUTPUT_METADATA_FILEPATH = "/tmp/kfp_outputs/output_metadata.json"  # launcher_v2.go
OUTPUT_PARAMETER_DIR = "/tmp/kfp/outputs"  # driver.go provisionOutputs
LOCAL_MOUNTS = {"gs://": "/gcs/", "minio://": "/minio/", "s3://": "/s3/"}  # LocalPathForURI
NOT_STORED = ("_kfp_workspace",)  # converter.go toMLMDArtifact


def output_uri(root: str, *paths: str) -> str:
    """metadata/client.go GenerateOutputURI (query string dropped, as for outputs)."""
    root = root.split("?")[0] if root.count("?") == 1 else root
    return f"{root.rstrip('/')}/{posixpath.join(*paths)}"


def run_root(pipeline_root: str, pipeline_name: str, run_id: str) -> str:
    """The run's root as metadata/client.go GetPipeline stores it in the run context."""
    return output_uri(pipeline_root, pipeline_name, run_id)


def local_path_for_uri(uri: str) -> str | None:
    """component/launcher_v2.go LocalPathForURI; None where it errors (no known scheme)."""
    for scheme, mount in LOCAL_MOUNTS.items():
        if uri.startswith(scheme):
            return mount + uri[len(scheme) :]
    return None


def provision_outputs(
    the_run_root: str,
    task_name: str,
    outputs_spec: dict,
    salt: str | None = None,
    publish_logs: bool = True,
) -> dict:
    """driver/driver.go provisionOutputs: ExecutorInput.outputs of one task."""
    artifacts = dict(outputs_spec.get("artifacts", {}))
    if publish_logs:
        artifacts[LOGS_KEY] = {"artifactType": LOGS_TYPE}
    task_root = output_uri(the_run_root, task_name, salt or str(uuid.uuid4()))
    outputs: dict = {"artifacts": {}, "parameters": {}}
    for name, spec in artifacts.items():
        artifact = {"name": name, "uri": output_uri(task_root, name), "type": spec["artifactType"]}
        if spec.get("metadata"):
            artifact["metadata"] = spec["metadata"]
        outputs["artifacts"][name] = {"artifacts": [artifact]}
    for name in outputs_spec.get("parameters", {}):
        outputs["parameters"][name] = {"outputFile": f"{OUTPUT_PARAMETER_DIR}/{name}"}
    local_root = local_path_for_uri(task_root)
    outputs["outputFile"] = (
        posixpath.join(local_root, "output_metadata.json")
        if local_root
        else OUTPUT_METADATA_FILEPATH
    )
    return outputs


def schema_of(artifact_type: dict) -> str:
    """component/launcher_v2.go getArtifactSchema: the schema text an output is recorded by."""
    if "instanceSchema" in artifact_type:
        return artifact_type["instanceSchema"]
    if "schemaTitle" in artifact_type:
        return "title: " + artifact_type["schemaTitle"]
    raise ValueError("SchemaUri is unsupported")


def type_name(schema: str) -> str:
    """metadata/client.go SchemaToArtifactType: the MLMD artifact type is the schema's title."""
    title = (yaml.safe_load(schema) or {}).get("title", "")
    if not title:
        raise ValueError("No title specified")  # the launcher's glog.Fatal
    return title


def merge_runtime_artifacts(src: dict, dst: dict) -> dict:
    """launcher_v2.go mergeRuntimeArtifacts: the executor's output over the provisioned."""
    merged = dict(dst)
    if src.get("uri"):
        merged["uri"] = src["uri"]
    if src.get("metadata") is not None:
        merged["metadata"] = {**(dst.get("metadata") or {}), **src["metadata"]}
    return merged


def to_mlmd_value(value) -> tuple[str, object]:
    """converter.go StructValueToMLMDValue: (MLMD value kind, value) of a JSON value."""
    if isinstance(value, bool):
        return "int_value", int(value)
    if isinstance(value, str):
        return "string_value", value
    if isinstance(value, (int, float)):
        return "double_value", float(value)
    if isinstance(value, list):
        return "struct_value", {"list": value}
    if isinstance(value, dict):
        return "struct_value", {"struct": value}
    raise ValueError(f"unknown/unsupported value type {type(value).__name__}")


def from_mlmd_value(kind: str, value) -> object:
    """converter.go toRuntimeArtifact: ints and doubles both come back as numbers (floats)."""
    if kind in ("int_value", "double_value"):
        return float(value)
    if kind in ("string_value", "struct_value"):
        return value
    raise ValueError(f"unknown property type in MLMD artifact: {kind}")


def recorded_custom_properties(output_name: str, metadata: dict, session_info: dict) -> dict:
    """{key: (kind, value)} that client.go RecordArtifact stores for an output's metadata."""
    props = {k: to_mlmd_value(v) for k, v in (metadata or {}).items() if k not in NOT_STORED}
    props.setdefault("display_name", ("string_value", output_name))
    props.setdefault("store_session_info", ("string_value", session_info_json(session_info)))
    return props


def session_info_json(session_info: dict) -> str:
    """Go's json.Marshal of objectstore.SessionInfo{Provider, Params} (field order kept)."""
    body = {"Provider": session_info.get("Provider", ""), "Params": session_info.get("Params")}
    return json.dumps(body, separators=(",", ":"))


def rebuilt_input(artifact_id: int, uri: str, properties: dict) -> dict:
    """The RuntimeArtifact a downstream task gets for an upstream output (resolve.go ->
    OutputArtifact.ToRuntimeArtifact): id as name, no schema, metadata from MLMD."""
    metadata = {k: from_mlmd_value(kind, v) for k, (kind, v) in properties.items()}
    return {
        "name": str(artifact_id),
        "type": {"instanceSchema": ""},
        "uri": uri,
        "metadata": metadata,
    }


def parameter_from_text(text: str, parameter_type: str) -> object:
    """converter.go TextToPbValue: an output parameter file's text by the declared type."""
    if parameter_type == "STRING":
        return text
    if parameter_type in ("NUMBER_INTEGER",):
        return float(int(text.strip()))
    if parameter_type == "NUMBER_DOUBLE":
        return float(text.strip())
    if parameter_type == "BOOLEAN":
        return {"true": True, "false": False, "1": True, "0": False}[text.strip().lower()]
    if parameter_type in ("LIST", "STRUCT"):
        return json.loads(text)
    raise ValueError(f"unknown type {parameter_type}")


def add_default_params(executor_input: dict, component: dict) -> dict:
    """launcher_v2.go addDefaultParams: a component's defaults for parameters not given."""
    values = dict(executor_input.get("inputs", {}).get("parameterValues", {}))
    for name, definition in component.get("inputDefinitions", {}).get("parameters", {}).items():
        if "defaultValue" in definition and name not in values:
            values[name] = definition["defaultValue"]
    inputs = {**executor_input.get("inputs", {}), "parameterValues": values}
    return {**executor_input, "inputs": inputs}
