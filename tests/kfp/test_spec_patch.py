"""babyweight.kfp.spec_patch and babyweight.kfp.resolve_span: the `kfp` spec runs TFX tasks
through our task entry, and CsvExampleGen gets its span, pattern and fingerprint from a
never-cached ResolveSpan task, so KFP's cache key (driver/cache.go) changes with the files."""

from __future__ import annotations

import json

from babyweight.kfp import cache_key, resolve_span, spec_patch

TFX = ["python", "-m", spec_patch.TFX_ENTRYPOINT]
DRIVER = ["python", "-m", spec_patch.EXAMPLE_GEN_DRIVER]
CONFIG = json.dumps({"splits": [{"name": "single_split", "pattern": "span-{SPAN}/*.csv"}]})


def tfx_spec() -> dict:
    """The shape TFX's KubeflowV2DagRunner compiles: ExampleGen with its driver hook."""
    params = {
        k: {"parameterType": "STRING"} for k in ("input_base", "input_config", "range_config")
    }
    inputs_spec = json.dumps({"parameters": params})
    example_gen = {
        "image": "img",
        "command": list(TFX),
        "args": ["--executor_class_path", "X", "--json_serialized_invocation_args", "{{$}}",
                 "--json_serialized_inputs_spec_args", inputs_spec],
        "lifecycle": {"preCacheCheck": {"command": list(DRIVER), "args": []}},
    }  # fmt: skip
    return {
        "deploymentSpec": {
            "executors": {
                "CsvExampleGen_executor": {"container": example_gen},
                "StatisticsGen_executor": {"container": {"image": "img", "command": list(TFX)}},
            }
        },
        "components": {
            "CsvExampleGen": {
                "executorLabel": "CsvExampleGen_executor",
                "inputDefinitions": {"parameters": dict(params)},
            },
            "StatisticsGen": {"executorLabel": "StatisticsGen_executor"},
        },
        "root": {
            "dag": {
                "tasks": {
                    "CsvExampleGen": {
                        "componentRef": {"name": "CsvExampleGen"},
                        "cachingOptions": {"enableCache": True},
                        "inputs": {
                            "parameters": {
                                "input_base": {"componentInputParameter": "data_root"},
                                "input_config": {"runtimeValue": {"constant": CONFIG}},
                                "range_config": {"componentInputParameter": "range_config"},
                            }
                        },
                    },
                    "StatisticsGen": {"componentRef": {"name": "StatisticsGen"}},
                }
            }
        },
    }


def test_every_tfx_task_runs_the_task_entry():
    spec = spec_patch.for_oss_kfp(tfx_spec())
    for executor in spec["deploymentSpec"]["executors"].values():
        command = executor["container"]["command"]
        assert command in (spec_patch.TASK_COMMAND, spec_patch.RESOLVE_COMMAND)


def test_example_gen_takes_span_pattern_and_fingerprint_from_a_never_cached_task():
    spec = spec_patch.for_oss_kfp(tfx_spec())
    tasks = spec["root"]["dag"]["tasks"]
    resolve = tasks["ResolveSpan"]
    assert resolve["cachingOptions"] == {"enableCache": False}
    assert resolve["inputs"]["parameters"]["input_base"] == {"componentInputParameter": "data_root"}
    wired = tasks["CsvExampleGen"]["inputs"]["parameters"]
    for key in ("input_config", "span", "input_fingerprint"):
        assert wired[key] == {
            "taskOutputParameter": {"producerTask": "ResolveSpan", "outputParameterKey": key}
        }
    # the inputs spec TFX's entrypoint types parameters by knows the new ones
    args = spec["deploymentSpec"]["executors"]["CsvExampleGen_executor"]["container"]["args"]
    declared = json.loads(args[args.index("--json_serialized_inputs_spec_args") + 1])
    assert declared["parameters"]["span"] == {"parameterType": "NUMBER_INTEGER"}


def test_the_cache_key_of_example_gen_changes_with_the_files(tmp_path):
    (tmp_path / "span-0").mkdir()
    (tmp_path / "span-0" / "a.csv").write_text("x\n1\n")

    def example_gen_key(values: dict) -> str:
        executor_input = {"inputs": {"parameterValues": {"input_base": str(tmp_path), **values}}}
        return cache_key.fingerprint(cache_key.cache_key(executor_input, {}, TFX, [], "img"))

    def resolved() -> dict:
        executor_input = {"inputs": {"parameterValues": {
            "input_base": str(tmp_path), "input_config": CONFIG}}}  # fmt: skip
        return resolve_span.outputs_of(executor_input)

    first = resolved()
    assert first["span"] == 0 and "span-0/*.csv" in first["input_config"]
    assert example_gen_key(resolved()) == example_gen_key(first)  # same files: cache hit
    (tmp_path / "span-0" / "a.csv").write_text("x\n1\n2\n")
    assert example_gen_key(resolved()) != example_gen_key(first)  # new rows: a new key
    (tmp_path / "span-1").mkdir()
    (tmp_path / "span-1" / "a.csv").write_text("x\n3\n")
    assert resolved()["span"] == 1


def test_resolve_span_writes_its_outputs_where_the_launcher_reads_them(tmp_path):
    (tmp_path / "span-4").mkdir()
    (tmp_path / "span-4" / "a.csv").write_text("x\n1\n")
    out = tmp_path / "pod" / "output_metadata.json"
    executor_input = {
        "inputs": {"parameterValues": {"input_base": str(tmp_path), "input_config": CONFIG}},
        "outputs": {"outputFile": str(out)},
    }
    assert resolve_span.main(["--executor_input", json.dumps(executor_input)]) == 0
    values = json.loads(out.read_text())["parameterValues"]
    assert values["span"] == 4 and set(values) == set(resolve_span.OUTPUTS)


def with_choice_tasks(spec: dict) -> dict:
    """The spec with the tasks of pipeline/baseline.py, as the compiler writes them."""
    serving = {"runtimeValue": {"constant": "/serving/babyweight"}}
    tasks = spec["root"]["dag"]["tasks"]
    for name in [*spec_patch.CHOICE_TASKS, "RecordPush"]:
        spec["components"][name] = {"executorLabel": f"{name}_executor"}
        executor = {"container": {"image": "img", "command": list(TFX)}}
        spec["deploymentSpec"]["executors"][f"{name}_executor"] = executor
        source = {"runtimeValue": {"constant": ""}}
        tasks[name] = {"componentRef": {"name": name}, "inputs": {"parameters": {"source": source}}}
    tasks["RecordPush"]["inputs"]["parameters"] = {"serving_model_dir": serving}
    return spec


def test_the_choice_tasks_take_their_source_from_resolve_span():
    spec = spec_patch.for_oss_kfp(with_choice_tasks(tfx_spec()))
    tasks = spec["root"]["dag"]["tasks"]
    resolve = tasks["ResolveSpan"]["inputs"]["parameters"]
    assert resolve["serving_model_dir"] == {"runtimeValue": {"constant": "/serving/babyweight"}}
    outputs = spec["components"]["ResolveSpan"]["outputDefinitions"]["parameters"]
    for name, key in spec_patch.CHOICE_TASKS.items():
        assert tasks[name]["inputs"]["parameters"]["source"] == {
            "taskOutputParameter": {"producerTask": "ResolveSpan", "outputParameterKey": key}
        }
        assert outputs[key] == {"parameterType": "STRING"}


def test_resolve_span_answers_what_the_run_builds_on_from_the_serving_directory(tmp_path, capsys):
    from babyweight import baseline

    data, serving = tmp_path / "data", tmp_path / "serving"
    (data / "span-0").mkdir(parents=True)
    (data / "span-0" / "a.csv").write_text("x\n1\n")
    params = {"input_base": str(data), "input_config": CONFIG, "serving_model_dir": str(serving)}
    first = resolve_span.outputs_of({"inputs": {"parameterValues": params}})
    assert (first["baseline"], first["base_model"], first["previous_statistics"]) == ("", "", "")
    assert "no blessed model yet" in capsys.readouterr().out
    (serving / "1").mkdir(parents=True)
    baseline.record_push(str(serving), "1", 0, first["input_fingerprint"])
    (tmp_path / "stats-0").mkdir()
    baseline.record_statistics(str(serving), 0, str(tmp_path / "stats-0"))
    (data / "span-1").mkdir()
    (data / "span-1" / "a.csv").write_text("x\n2\n")
    second = resolve_span.outputs_of({"inputs": {"parameterValues": params}})
    assert second["span"] == 1
    assert second["baseline"] == second["base_model"] == str(serving / "1")
    assert second["previous_statistics"] == str(tmp_path / "stats-0")


BIGQUERY = "tfx.extensions.google_cloud_big_query.example_gen.executor.Executor"
QUERY = json.dumps({"splits": [{"name": "single_split", "pattern": "SELECT x FROM `p.d.t`"}]})


def bigquery_spec() -> dict:
    """The shape TFX compiles for BigQueryExampleGen: its executor class, a query as its
    input_config, no input_base and no driver hook; with the choice tasks."""
    spec = with_choice_tasks(tfx_spec())
    spec["components"]["BigQueryExampleGen"] = spec["components"].pop("CsvExampleGen")
    spec["components"]["BigQueryExampleGen"]["inputDefinitions"]["parameters"] = {
        "input_config": {"parameterType": "STRING"}
    }
    executors = spec["deploymentSpec"]["executors"]
    container = executors.pop("CsvExampleGen_executor")["container"]
    del container["lifecycle"]
    container["args"][1] = BIGQUERY
    query_only = {"parameters": {"input_config": {"parameterType": "STRING"}}}
    container["args"][-1] = json.dumps(query_only)
    executors["BigQueryExampleGen_executor"] = {"container": container}
    spec["components"]["BigQueryExampleGen"]["executorLabel"] = "BigQueryExampleGen_executor"
    tasks = spec["root"]["dag"]["tasks"]
    task = tasks["BigQueryExampleGen"] = tasks.pop("CsvExampleGen")
    task["componentRef"] = {"name": "BigQueryExampleGen"}
    task["cachingOptions"] = {"enableCache": False}
    task["inputs"]["parameters"] = {"input_config": {"componentInputParameter": "bq_config"}}
    return spec


def test_bigquery_example_gen_gets_a_never_cached_resolve_span_that_feeds_the_choices():
    spec = spec_patch.for_oss_kfp(bigquery_spec())
    tasks = spec["root"]["dag"]["tasks"]
    resolve = tasks["ResolveSpan"]
    assert resolve["cachingOptions"] == {"enableCache": False}
    assert resolve["inputs"]["parameters"] == {
        "input_config": {"componentInputParameter": "bq_config"},
        "serving_model_dir": {"runtimeValue": {"constant": "/serving/babyweight"}},
    }
    wired = tasks["BigQueryExampleGen"]["inputs"]["parameters"]
    for key in ("input_config", "span", "input_fingerprint"):
        assert wired[key] == {
            "taskOutputParameter": {"producerTask": "ResolveSpan", "outputParameterKey": key}
        }
    for name, key in spec_patch.CHOICE_TASKS.items():
        source = tasks[name]["inputs"]["parameters"]["source"]["taskOutputParameter"]
        assert source == {"producerTask": "ResolveSpan", "outputParameterKey": key}


def test_resolve_span_numbers_each_read_of_a_table_without_spans(tmp_path, capsys):
    """BigQuery (no input_base): each run is the next read; every pushed model was trained on an
    earlier read, and the previous statistics are the previous read's."""
    from babyweight import baseline

    serving = tmp_path / "serving"
    params = {"input_config": QUERY, "serving_model_dir": str(serving)}
    out = tmp_path / "pod" / "output_metadata.json"
    executor_input = {"inputs": {"parameterValues": params}, "outputs": {"outputFile": str(out)}}
    assert resolve_span.main(["--executor_input", json.dumps(executor_input)]) == 0
    first = json.loads(out.read_text())["parameterValues"]
    assert first["span"] == 0 and first["input_config"] == QUERY  # the query, unchanged
    assert (first["baseline"], first["base_model"], first["previous_statistics"]) == ("", "", "")
    assert "no blessed model yet" in capsys.readouterr().out
    (tmp_path / "stats-0").mkdir()
    baseline.record_statistics(str(serving), 0, str(tmp_path / "stats-0"))
    (serving / "1").mkdir(parents=True)
    baseline.record_push(str(serving), "1", 0, first["input_fingerprint"])
    assert resolve_span.main(["--executor_input", json.dumps(executor_input)]) == 0
    second = json.loads(out.read_text())["parameterValues"]
    assert second["span"] == 1 and second["input_fingerprint"] != first["input_fingerprint"]
    assert second["baseline"] == second["base_model"] == str(serving / "1")
    assert second["previous_statistics"] == str(tmp_path / "stats-0")
