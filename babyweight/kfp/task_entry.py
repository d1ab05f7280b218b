"""The image's entrypoint for a TFX task on OSS KFP v2: the executor input the OSS launcher
hands a task, made into what TFX 1.16's own KFP v2 entrypoint expects, then TFX's entrypoint.

    python -m babyweight.kfp.task_entry --executor_class_path ... \\
        --json_serialized_invocation_args '{{$}}' --json_serialized_inputs_spec_args '...'

The compiled `kfp` spec runs every TFX task with this command instead of
`python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor` (spec_patch.py);
the Vertex spec keeps TFX's command (Vertex's launcher hands what TFX expects). It changes the
JSON it is given, never TFX's code, and passes anything it does not need to fix unchanged.
TFX's side is tfx 1.16.0 (the pinned package, tfx/orchestration/kubeflow/v2/container/):
kubeflow_v2_run_executor.py `_run_executor` parses the JSON, reads a driver's parameters back
from `outputs.outputFile` if it exists, and runs the executor; kubeflow_v2_entrypoint_utils.py
`_retrieve_class_path` imports each artifact's type by its schema title and `_parse_raw_artifact`
turns metadata into (custom) properties. What it fixes (launcher.py has the launcher's side,
kubeflow/pipelines@7b70c7b9):

1. `executor-logs`: the launcher adds this output (`schemaTitle: system.Artifact`) to every task
   and writes the task's log there itself. TFX's entrypoint would import the title as a class
   path (`ImportError: Could not import system.Artifact`); the output is the launcher's, not the
   executor's, so it is taken out of what TFX sees.
2. Input types: an input rebuilt from ML Metadata has `type: {instanceSchema: ""}`, which TFX
   parses with `yaml.safe_load` into None (`AttributeError`). The component's inputs spec
   (`--json_serialized_inputs_spec_args`, compiled into the command) has each input's real
   type; it is put back. An input already typed (Vertex) is left as it is.
3. Metadata after the MLMD round trip (ints and bools as doubles, `display_name` and
   `store_session_info` added): TFX's parser already turns a double into an INT property where
   the type declares one, and keeps the rest as custom properties; nothing to change, and the
   tests check that a round-tripped artifact reads back the same.
4. No driver runs on KFP: for a file-based ExampleGen, the span, version and fingerprint and the
   span's own file pattern are resolved here (TFX's own FileBasedInputProcessor, as its driver
   does), unless an upstream task resolved them already (`input_fingerprint` given, also for a
   query-based one: the read's number as span); the output Examples get span, version and
   fingerprint, as the driver would have set.
5. No resolver runs on KFP: an input artifact marked `babyweight_absent` (pipeline/baseline.py's
   "nothing found", babyweight/baseline.py ABSENT) is taken out of the inputs, so the executor
   sees no baseline, base model or previous statistics, as after a resolver that found none.
"""

from __future__ import annotations

import json
import sys

from babyweight.errors import BabyweightError, ExitCode

LOGS_KEY = "executor-logs"
EXAMPLE_GEN_PARAMETERS = ("input_base", "input_config")
RESOLVED = "input_fingerprint"


class EntryError(BabyweightError, RuntimeError):
    """The executor input cannot be made into TFX's: names the input and why (the task fails)."""

    code = ExitCode.FAILED


def drop_launcher_outputs(executor_input: dict) -> dict:
    outputs = dict(executor_input.get("outputs", {}))
    outputs["artifacts"] = {k: v for k, v in outputs.get("artifacts", {}).items() if k != LOGS_KEY}
    return {**executor_input, "outputs": outputs}


def restore_input_types(executor_input: dict, inputs_spec: dict) -> dict:
    """Each input artifact without a schema gets its type from the component's inputs spec."""
    declared = inputs_spec.get("artifacts", {})
    artifacts = {}
    for key, listed in executor_input.get("inputs", {}).get("artifacts", {}).items():
        fixed = []
        for artifact in listed.get("artifacts", []):
            artifact_type = artifact.get("type") or {}
            if not (artifact_type.get("instanceSchema") or artifact_type.get("schemaTitle")):
                if key not in declared:
                    raise EntryError(
                        f"input {key!r} has no type and the inputs spec does not declare it"
                    )
                artifact = {**artifact, "type": declared[key]["artifactType"]}
            fixed.append(artifact)
        artifacts[key] = {**listed, "artifacts": fixed}
    inputs = {**executor_input.get("inputs", {}), "artifacts": artifacts}
    return {**executor_input, "inputs": inputs}


def drop_absent_inputs(executor_input: dict) -> dict:
    """Take the artifacts marked ABSENT out of every input list (item 5 above)."""
    from babyweight.baseline import ABSENT

    artifacts = {}
    for key, listed in executor_input.get("inputs", {}).get("artifacts", {}).items():
        kept = [a for a in listed.get("artifacts", []) if not (a.get("metadata") or {}).get(ABSENT)]
        artifacts[key] = {**listed, "artifacts": kept}
    inputs = {**executor_input.get("inputs", {}), "artifacts": artifacts}
    return {**executor_input, "inputs": inputs}


def resolve_span(input_base: str, input_config: str, range_config: str | None) -> dict:
    """What TFX's file-based ExampleGen driver decides: span, version, fingerprint and the
    input config whose patterns name that span (tfx/orchestration/kubeflow/v2/
    file_based_example_gen/driver.py `_run_driver`, with TFX's own input processor)."""
    from tfx.components.example_gen import input_processor
    from tfx.proto import example_gen_pb2, range_config_pb2
    from tfx.utils import proto_utils

    config = proto_utils.json_to_proto(input_config, example_gen_pb2.Input())
    ranges = (
        proto_utils.json_to_proto(range_config, range_config_pb2.RangeConfig())
        if range_config
        else None
    )
    processor = input_processor.FileBasedInputProcessor(input_base, config.splits, ranges)
    span, version = processor.resolve_span_and_version()
    fingerprint = processor.get_input_fingerprint(span, version)
    for split in config.splits:
        split.pattern = processor.get_pattern_for_span_version(split.pattern, span, version)
    resolved = {
        "span": span,
        "input_fingerprint": fingerprint,
        "input_config": proto_utils.proto_to_json(config),
    }
    if version is not None:
        resolved["version"] = version
    return resolved


def resolve_example_gen(executor_input: dict) -> dict:
    """An ExampleGen's parameters and Examples output, as its driver leaves them (a query-based
    one's only when ResolveSpan numbered its read: it has no files to resolve here)."""
    params = dict(executor_input.get("inputs", {}).get("parameterValues", {}))
    outputs = executor_input.get("outputs", {}).get("artifacts", {})
    if "input_config" not in params or "examples" not in outputs:
        return executor_input
    if RESOLVED not in params:  # a query-based ExampleGen gets it from ResolveSpan, or nothing
        if not all(p in params for p in EXAMPLE_GEN_PARAMETERS):
            return executor_input
        params.update(
            resolve_span(params["input_base"], params["input_config"], params.get("range_config"))
        )
    metadata = {"span": float(params["span"])}
    if "version" in params:
        metadata["version"] = float(params["version"])
    metadata[RESOLVED] = params[RESOLVED]
    examples = [
        {**a, "metadata": {**(a.get("metadata") or {}), **metadata}}
        for a in outputs["examples"]["artifacts"]
    ]
    new_outputs = {**executor_input["outputs"]}
    new_outputs["artifacts"] = {**outputs, "examples": {"artifacts": examples}}
    inputs = {**executor_input["inputs"], "parameterValues": params}
    return {**executor_input, "inputs": inputs, "outputs": new_outputs}


def fix(executor_input: dict, inputs_spec: dict, file_based_example_gen: bool) -> dict:
    fixed = restore_input_types(drop_launcher_outputs(executor_input), inputs_spec)
    fixed = drop_absent_inputs(fixed)
    return resolve_example_gen(fixed) if file_based_example_gen else fixed


def is_example_gen(executor_class_path: str) -> bool:
    """An ExampleGen executor (file-based ones take `input_base`; resolve_example_gen checks)."""
    from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
    from tfx.utils import import_utils

    return issubclass(
        import_utils.import_class_by_path(executor_class_path), BaseExampleGenExecutor
    )


def directory_markers(listing: list[tuple[str, int]]) -> list[str]:
    """The keys of a bucket listing [(key, size)] that are TF's zero-byte directory markers."""
    return [key for key, size in listing if key.endswith("/") and size == 0]


def remove_directory_markers(executor_input: dict) -> list[str]:
    """Delete the markers under each gs:// output of the task; returns the gs:// URIs deleted."""
    uris = [
        a["uri"]
        for listed in executor_input.get("outputs", {}).get("artifacts", {}).values()
        for a in listed.get("artifacts", [])
        if a.get("uri", "").startswith("gs://")
    ]
    if not uris:
        return []
    from google.cloud import storage

    client = storage.Client()
    deleted = []
    for uri in uris:
        bucket_name, _, prefix = uri[len("gs://") :].partition("/")
        bucket = client.bucket(bucket_name)
        blobs = {b.name: b for b in client.list_blobs(bucket_name, prefix=prefix.rstrip("/"))}
        for key in directory_markers([(n, b.size or 0) for n, b in blobs.items()]):
            bucket.delete_blob(key)
            deleted.append(f"gs://{bucket_name}/{key}")
    return deleted


def run_tfx(args, beam_args, fixed: dict) -> None:
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor as tfx_entry

    tfx_entry.main((args, beam_args))
    for uri in remove_directory_markers(fixed):
        print(f"babyweight.kfp.task_entry: removed directory marker {uri}")


def main(argv: list[str] | None = None) -> None:
    from absl import app
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor as tfx_entry

    argv = list(sys.argv if argv is None else argv)
    args, beam_args = tfx_entry._parse_flags(argv[1:])
    try:
        inputs_spec = json.loads(args.json_serialized_inputs_spec_args or "{}")
        executor_input = json.loads(args.json_serialized_invocation_args)
        fixed = fix(executor_input, inputs_spec, is_example_gen(args.executor_class_path))
    except (EntryError, ValueError) as e:
        sys.exit(f"babyweight.kfp.task_entry: {e}")
    args.json_serialized_invocation_args = json.dumps(fixed)
    app.run(lambda _: run_tfx(args, beam_args, fixed), argv=argv[:1])


if __name__ == "__main__":
    main()
