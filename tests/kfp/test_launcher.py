"""babyweight.kfp.launcher: what the OSS KFP v2 driver and launcher hand a task
(kubeflow/pipelines@7b70c7b9; each test names the Go function it pins)."""

from __future__ import annotations

import re

from babyweight.kfp import launcher

EXAMPLES = {"instanceSchema": "title: tfx.Examples\ntype: object\n"}


def test_every_task_gets_an_executor_logs_output_of_type_system_artifact():
    # driver.go provisionOutputs, publish_logs on (the default since KFP 2.5)
    outputs = launcher.provision_outputs("gs://b/r/p/run", "T", {"artifacts": {}})
    logs = outputs["artifacts"]["executor-logs"]["artifacts"][0]
    assert logs["type"] == {"schemaTitle": "system.Artifact"}
    assert logs["name"] == "executor-logs"
    off = launcher.provision_outputs("gs://b/r/p/run", "T", {}, publish_logs=False)
    assert off["artifacts"] == {}


def test_output_uris_are_root_pipeline_run_task_uuid_key():
    # GetPipeline stores ROOT/PIPELINE/RUN; provisionOutputs adds TASK/UUID/KEY
    run_root = launcher.run_root("gs://b/root/", "babyweight", "run-1")
    assert run_root == "gs://b/root/babyweight/run-1"
    outputs = launcher.provision_outputs(
        run_root, "Trainer", {"artifacts": {"model": {"artifactType": EXAMPLES}}}
    )
    uri = outputs["artifacts"]["model"]["artifacts"][0]["uri"]
    assert re.fullmatch(r"gs://b/root/babyweight/run-1/Trainer/[0-9a-f-]{36}/model", uri)
    assert outputs["artifacts"]["model"]["artifacts"][0]["name"] == "model"  # the key, not an id
    assert launcher.output_uri("gs://b/r?region=x", "T") == "gs://b/r/T"  # query dropped


def test_the_output_metadata_file_is_pod_local():
    # provisionOutputs: LocalPathForURI(task root)/output_metadata.json, else the legacy path
    gs = launcher.provision_outputs("gs://b/p/r", "T", {}, salt="u")
    assert gs["outputFile"] == "/gcs/b/p/r/T/u/output_metadata.json"
    minio = launcher.provision_outputs("minio://mlpipeline/v2/artifacts/p/r", "T", {}, salt="u")
    assert minio["outputFile"] == "/minio/mlpipeline/v2/artifacts/p/r/T/u/output_metadata.json"
    local = launcher.provision_outputs("/data/p/r", "T", {"parameters": {"n": {}}}, salt="u")
    assert local["outputFile"] == "/tmp/kfp_outputs/output_metadata.json"
    assert local["parameters"] == {"n": {"outputFile": "/tmp/kfp/outputs/n"}}


def test_an_input_is_rebuilt_from_mlmd_with_its_id_as_name_and_no_schema():
    # metadata/client.go GetOutputArtifactsByExecutionId (Schema "") + ToRuntimeArtifact
    rebuilt = launcher.rebuilt_input(42, "gs://b/x", {"span": ("int_value", 3)})
    assert rebuilt == {
        "name": "42",
        "type": {"instanceSchema": ""},
        "uri": "gs://b/x",
        "metadata": {"span": 3.0},
    }


def test_the_mlmd_round_trip_turns_ints_and_bools_into_doubles_and_adds_two_properties():
    # converter.go StructValueToMLMDValue / toRuntimeArtifact; client.go RecordArtifact
    metadata = {"blessed": True, "span": 2, "name": "m", "splits": ["a"], "conf": {"k": 1}}
    stored = launcher.recorded_custom_properties("model", metadata, {"Provider": "gs"})
    assert stored["blessed"] == ("int_value", 1)
    assert stored["span"] == ("double_value", 2.0)
    assert stored["splits"] == ("struct_value", {"list": ["a"]})
    assert stored["conf"] == ("struct_value", {"struct": {"k": 1}})
    assert stored["display_name"] == ("string_value", "model")
    assert stored["store_session_info"] == ("string_value", '{"Provider":"gs","Params":null}')
    back = launcher.rebuilt_input(1, "u", stored)["metadata"]
    assert back["blessed"] == 1.0 and isinstance(back["blessed"], float)
    assert back["span"] == 2.0 and back["splits"] == {"list": ["a"]}
    kept = launcher.recorded_custom_properties("x", {"display_name": "mine"}, {})
    assert kept["display_name"] == ("string_value", "mine")
    assert "_kfp_workspace" not in launcher.recorded_custom_properties(
        "x", {"_kfp_workspace": True}, {}
    )


def test_the_recorded_type_is_the_schema_title():
    # launcher_v2.go getArtifactSchema + client.go SchemaToArtifactType
    assert launcher.type_name(launcher.schema_of(EXAMPLES)) == "tfx.Examples"
    assert (
        launcher.type_name(launcher.schema_of({"schemaTitle": "system.Artifact"}))
        == "system.Artifact"
    )


def test_the_executor_output_changes_uri_and_adds_metadata():
    # launcher_v2.go mergeRuntimeArtifacts
    dst = {"name": "m", "uri": "gs://a", "metadata": {"a": 1}}
    merged = launcher.merge_runtime_artifacts({"uri": "gs://b", "metadata": {"b": 2}}, dst)
    assert merged == {"name": "m", "uri": "gs://b", "metadata": {"a": 1, "b": 2}}
    assert launcher.merge_runtime_artifacts({}, dst) == dst


def test_output_parameter_files_are_parsed_by_declared_type():
    # converter.go TextToPbValue
    assert launcher.parameter_from_text(" 7\n", "NUMBER_INTEGER") == 7.0
    assert launcher.parameter_from_text("true", "BOOLEAN") is True
    assert launcher.parameter_from_text('["a"]', "LIST") == ["a"]
    assert launcher.parameter_from_text("x", "STRING") == "x"
