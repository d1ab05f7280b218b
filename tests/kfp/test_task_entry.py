"""babyweight.kfp.task_entry: the executor input the OSS KFP launcher hands a task, made into
what TFX 1.16's KFP v2 entrypoint reads. Each test feeds TFX's own parser the launcher's shape:
without the fix it fails as it fails on the cluster; with it, TFX reads the artifacts."""

from __future__ import annotations

import json

from babyweight.kfp import launcher, task_entry

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as tfx_utils

EXAMPLES_SCHEMA = (
    "title: tfx.Examples\ntype: object\nproperties:\n  span:\n    type: integer\n"
    "  version:\n    type: integer\n  split_names:\n    type: string\n"
)
BIGQUERY = "tfx.extensions.google_cloud_big_query.example_gen.executor.Executor"
INPUTS_SPEC = {"artifacts": {"examples": {"artifactType": {"instanceSchema": EXAMPLES_SCHEMA}}}}


def launcher_input(tmp_path) -> dict:
    """An executor input as the launcher builds it (launcher.py), for a task with one input."""
    stored = launcher.recorded_custom_properties(
        "examples", {"span": 3, "split_names": '["train"]', "is_external": True}, {}
    )
    outputs = launcher.provision_outputs(
        str(tmp_path), "StatisticsGen", {"artifacts": {"statistics": {"artifactType": {
            "instanceSchema": "title: tfx.ExampleStatistics\ntype: object\n"}}}},
    )  # fmt: skip
    return {
        "inputs": {
            "parameterValues": {},
            "artifacts": {"examples": {"artifacts": [launcher.rebuilt_input(5, "/x", stored)]}},
        },
        "outputs": outputs,
    }


def tfx_parse(executor_input: dict):
    """What kubeflow_v2_run_executor does first with the JSON it is given."""
    proto = pipeline_spec_pb2.ExecutorInput()
    json_format.Parse(json.dumps(executor_input), proto, ignore_unknown_fields=True)
    names = {}
    inputs = tfx_utils.parse_raw_artifact_dict(proto.inputs.artifacts, names)
    outputs = tfx_utils.parse_raw_artifact_dict(proto.outputs.artifacts, names)
    return inputs, outputs


def test_tfx_cannot_read_what_the_launcher_hands_it(tmp_path):
    given = launcher_input(tmp_path)
    with pytest.raises(AttributeError):  # yaml.safe_load("") is None: None.get(...)
        tfx_parse(given)
    no_inputs = {**given, "inputs": {"parameterValues": {}, "artifacts": {}}}
    with pytest.raises(ImportError, match="system.Artifact"):
        tfx_parse(no_inputs)


def test_after_the_fix_tfx_reads_the_inputs_with_their_real_type_and_values(tmp_path):
    fixed = task_entry.fix(launcher_input(tmp_path), INPUTS_SPEC, file_based_example_gen=False)
    inputs, outputs = tfx_parse(fixed)
    examples = inputs["examples"][0]
    assert type(examples).__name__ == "Examples"
    assert examples.span == 3  # an INT property again after the double round trip
    assert examples.split_names == '["train"]'
    assert examples.get_int_custom_property("is_external") == 1  # bool -> 1.0 -> 1
    assert examples.get_string_custom_property("display_name") == "examples"
    assert list(outputs) == ["statistics"]  # executor-logs is the launcher's


def test_a_typed_input_is_left_as_it_is_and_an_undeclared_one_is_named(tmp_path):
    given = launcher_input(tmp_path)
    typed = {"instanceSchema": "title: tfx.Schema\n"}
    given["inputs"]["artifacts"]["examples"]["artifacts"][0]["type"] = typed
    fixed = task_entry.restore_input_types(given, INPUTS_SPEC)
    assert fixed["inputs"]["artifacts"]["examples"]["artifacts"][0]["type"] == typed  # Vertex
    given["inputs"]["artifacts"]["examples"]["artifacts"][0]["type"] = {"instanceSchema": ""}
    with pytest.raises(task_entry.EntryError, match="input 'examples' has no type"):
        task_entry.restore_input_types(given, {})


def stage_span(root, span: int, text: str) -> None:
    (root / f"span-{span}").mkdir(parents=True)
    (root / f"span-{span}" / "data.csv").write_text(text)


def test_example_gen_reads_the_latest_span_without_a_driver(tmp_path):
    stage_span(tmp_path, 0, "a\n1\n")
    stage_span(tmp_path, 1, "a\n2\n3\n")
    config = json.dumps({"splits": [{"name": "single_split", "pattern": "span-{SPAN}/*.csv"}]})
    resolved = task_entry.resolve_span(str(tmp_path), config, None)
    assert resolved["span"] == 1
    assert json.loads(resolved["input_config"])["splits"][0]["pattern"] == "span-1/*.csv"
    examples = {"examples": {"artifactType": {"instanceSchema": EXAMPLES_SCHEMA}}}
    outputs = launcher.provision_outputs(
        str(tmp_path / "r"), "CsvExampleGen", {"artifacts": examples}
    )
    given = {
        "inputs": {"parameterValues": {"input_base": str(tmp_path), "input_config": config}},
        "outputs": outputs,
    }
    fixed = task_entry.fix(given, {}, file_based_example_gen=True)
    params = fixed["inputs"]["parameterValues"]
    assert params["span"] == 1 and "span-1/*.csv" in params["input_config"]
    _, parsed = tfx_parse(fixed)
    assert parsed["examples"][0].span == 1  # as TFX's driver would have set it
    (tmp_path / "span-1" / "data.csv").write_text("a\n2\n3\n4\n")
    again = task_entry.resolve_span(str(tmp_path), config, None)
    assert again["input_fingerprint"] != resolved["input_fingerprint"]  # new files, new key


def test_bigquery_examples_get_the_read_resolve_span_numbered_as_their_span(tmp_path):
    """BigQueryExampleGen has no files: the span and fingerprint are ResolveSpan's parameters
    (resolve_span.py numbers the read), set on its Examples for PreviousStatistics/RecordPush."""
    examples = {"examples": {"artifactType": {"instanceSchema": EXAMPLES_SCHEMA}}}
    outputs = launcher.provision_outputs(
        str(tmp_path / "r"), "BigQueryExampleGen", {"artifacts": examples}
    )
    assert task_entry.is_example_gen(BIGQUERY)  # so the entry calls fix(..., True) for it
    params = {"input_config": "{}", "span": 4, "input_fingerprint": "read 4 of query ab"}
    given = {"inputs": {"parameterValues": params}, "outputs": outputs}
    fixed = task_entry.fix(given, {}, file_based_example_gen=True)
    _, parsed = tfx_parse(fixed)
    assert parsed["examples"][0].span == 4
    fingerprint = parsed["examples"][0].get_string_custom_property("input_fingerprint")
    assert fingerprint == "read 4 of query ab"
    unresolved = {"inputs": {"parameterValues": {"input_config": "{}"}}, "outputs": outputs}
    fixed = task_entry.fix(unresolved, {}, file_based_example_gen=True)
    (left,) = fixed["outputs"]["artifacts"]["examples"]["artifacts"]
    assert "span" not in (left.get("metadata") or {})  # nothing numbered the read: left alone


def test_directory_markers_break_the_launchers_download_and_are_removed(tmp_path):
    # What TF's GCS filesystem leaves for an Examples output: a zero-byte object per directory.
    written = {
        "r/T/u/examples/": b"",
        "r/T/u/examples/Split-train/": b"",
        "r/T/u/examples/Split-train/data.gz": b"rows",
    }
    with pytest.raises(NotADirectoryError):  # objectstore DownloadBlob, kubeflow/pipelines#13476
        launcher.download_blob(written, "r/T/u/examples", str(tmp_path / "with-markers"))
    markers = task_entry.directory_markers([(k, len(v)) for k, v in written.items()])
    assert markers == ["r/T/u/examples/", "r/T/u/examples/Split-train/"]
    cleaned = {k: v for k, v in written.items() if k not in markers}
    launcher.download_blob(cleaned, "r/T/u/examples", str(tmp_path / "clean"))
    assert (tmp_path / "clean" / "Split-train" / "data.gz").read_bytes() == b"rows"
    assert task_entry.remove_directory_markers({"outputs": {"artifacts": {}}}) == []  # no gs://


def test_an_absent_choice_is_taken_out_of_the_inputs():
    from babyweight.baseline import ABSENT

    kept = {"name": "7", "uri": "/root/base", "metadata": {"babyweight_source": "/serving/1"}}
    absent = {"name": "8", "uri": "/root/none", "metadata": {ABSENT: 1.0}}  # a double after MLMD
    executor_input = {
        "inputs": {
            "artifacts": {
                "baseline_model": {"artifacts": [absent]},
                "base_model": {"artifacts": [kept]},
            }
        }
    }
    fixed = task_entry.drop_absent_inputs(executor_input)["inputs"]["artifacts"]
    assert fixed == {"baseline_model": {"artifacts": []}, "base_model": {"artifacts": [kept]}}
