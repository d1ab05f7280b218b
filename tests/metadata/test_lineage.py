"""The `lineage` command: unit tests on a hand-recorded MLMD store, then on the tiny e2e run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from babyweight.metadata import lineage, lineage_cli
from babyweight.metadata import store as mlmd
from babyweight.metadata import trace as trace_lib

import lineage_store
import pytest
from helpers import REPO


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("mlmd") / "metadata.sqlite"
    ids = lineage_store.build(path)
    store = mlmd.open_store(path, readonly=True)
    return path.parent, ids, store, lineage.Lineage(store)


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "babyweight", "lineage", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def nodes(steps) -> set[str]:
    return {s["node"] for s in steps}


def test_runs_list_components_states_and_cache_hits(demo):
    _, _, store, lin = demo
    runs = lineage.runs(lin)
    assert [r["run_id"] for r in runs] == ["run-1", "run-2"]
    assert runs[0]["cache_hits"] == 0 and len(runs[0]["components"]) == 7
    assert runs[1]["cache_hits"] == 2
    assert {c["state"] for c in runs[1]["components"]} == {"CACHED"}
    assert "cache hits: 2/2" in lineage_cli.format_runs(runs)


def test_trace_of_pushed_model_goes_up_to_the_examples_and_down_to_batch_predictions(demo):
    _, ids, _, lin = demo
    trace = trace_lib.trace(lin, ids["pushed"])
    assert nodes(trace["upstream"]) == {"ExampleGen", "ImportSchemaGen", "Trainer", "Evaluator"} | {
        "Pusher"
    }
    assert nodes(trace["data_checks"]) == {"StatisticsGen", "ExampleValidator"}
    # The batch job registered the model again under the serving directory: same model.
    assert [s["execution"] for s in trace["downstream"]] == [ids["batch"]]
    assert str(ids["predictions"]) in trace["artifacts"]


def test_trace_of_predictions_says_which_model_and_data_made_them(demo):
    _, ids, _, lin = demo
    trace = trace_lib.trace(lin, ids["predictions"])
    upstream = {int(a) for a in trace["artifacts"]}
    assert {ids["pushed"], ids["model"], ids["examples"], ids["blessing"]} <= upstream
    assert trace["downstream"] == []


def test_checks_exclude_what_ran_after_the_model(demo):
    _, ids, _, lin = demo
    trace = trace_lib.trace(lin, ids["model"])
    assert nodes(trace["upstream"]) == {"ExampleGen", "ImportSchemaGen", "Trainer"}
    assert nodes(trace["data_checks"]) == {"StatisticsGen", "ExampleValidator"}
    assert nodes(trace["downstream"]) == {"Evaluator", "Pusher", "BatchPredict"}


def test_resolve_by_id_path_version_and_words(demo):
    _, ids, _, lin = demo
    assert trace_lib.resolve(lin, str(ids["model"])) == ids["model"]
    assert trace_lib.resolve(lin, "1700000000") == ids["pushed"]
    assert trace_lib.resolve(lin, "/serving/demo/1700000000") == ids["pushed"]
    assert trace_lib.resolve(lin, "/root/Trainer/model/5/Format-Serving") == ids["model"]
    assert trace_lib.resolve(lin, "pushed") == ids["pushed"]
    assert trace_lib.resolve(lin, "model") == ids["served_model"]
    with pytest.raises(LookupError, match="'nothing-here'"):
        trace_lib.resolve(lin, "nothing-here")


def test_artifacts_list_producer_consumers_and_cache_reuse(demo):
    _, ids, _, lin = demo
    by_id = {a["id"]: a for a in lineage.artifact_list(lin)}
    examples = by_id[ids["examples"]]
    assert examples["producer"]["node"] == "ExampleGen" and examples["producer"]["run"] == "run-1"
    assert [r["run"] for r in examples["reused_by"]] == ["run-2"]
    assert {c["node"] for c in examples["consumers"]} >= {"StatisticsGen", "Trainer", "Evaluator"}
    assert [a["type"] for a in lineage.artifact_list(lin, "Model")] == ["Model", "Model"]


def test_cli_json_and_errors(demo):
    output, ids, _, _ = demo
    result = cli("trace", "pushed", "--output", str(output), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["artifact"]["id"] == ids["pushed"]
    result = cli("runs", "--output", str(output))
    assert result.returncode == 0 and "run-2" in result.stdout
    result = cli("trace", "12345678", "--output", str(output))
    assert result.returncode == 2 and "'12345678'" in result.stderr
    result = cli("runs", "--output", str(output / "missing"))
    assert result.returncode != 0 and "no ML Metadata store" in result.stderr


@pytest.mark.e2e
def test_trace_of_pushed_model_reaches_example_gen_through_every_component(tiny_run):
    output, summary = tiny_run
    result = cli("trace", summary["pushed_model"], "--output", str(output), "--json")
    assert result.returncode == 0, result.stderr
    trace = json.loads(result.stdout)
    assert trace["artifact"]["type"] == "PushedModel"
    assert trace["artifact"]["pushed_destination"] == summary["pushed_model"]
    store = mlmd.open_store(output / "metadata.sqlite", readonly=True)
    lin = lineage.Lineage(store)
    run = [r for r in lineage.runs(lin) if r["run_id"] == summary["run_id"]][0]
    # Every component that read or wrote an artifact in the run is on the way up.
    active = {
        c["node"]
        for c in run["components"]
        if lin.inputs[c["execution"]] or lin.outputs[c["execution"]]
    }
    assert active >= {"CsvExampleGen", "StatisticsGen", "Transform", "Trainer", "Evaluator"}
    assert nodes(trace["upstream"]) | nodes(trace["data_checks"]) == active
    types = {a["type"] for a in trace["artifacts"].values()}
    assert types >= {"Examples", "ExampleStatistics", "Schema", "TransformGraph", "Model"}
    assert types >= {"ModelEvaluation", "ModelBlessing", "PushedModel"}
    example_gen = [s for s in trace["upstream"] if s["node"] == "CsvExampleGen"]
    assert example_gen and example_gen[0]["outputs"]["examples"]
    text = cli("trace", "pushed", "--output", str(output))
    assert text.returncode == 0 and "CsvExampleGen" in text.stdout


@pytest.mark.e2e
def test_trace_follows_a_batch_prediction_recorded_by_anyone(tiny_run, tmp_path):
    output, summary = tiny_run
    shutil.copy(output / "metadata.sqlite", tmp_path / "metadata.sqlite")
    recorder = lineage_store.Recorder(tmp_path / "metadata.sqlite")
    model = recorder.artifact("Model", summary["pushed_model"])
    data = recorder.artifact("Dataset", "/data/to_score.csv")
    predictions = recorder.artifact("Predictions", str(tmp_path / "predictions"))
    recorder.execute(
        "SomeonesBatchJob",
        inputs={"model": model, "data": data},
        outputs={"predictions": predictions},
        context=("their_context", "job-7"),
    )
    down = json.loads(cli("trace", "pushed", "--output", str(tmp_path), "--json").stdout)
    assert [s["node"] for s in down["downstream"]] == ["SomeonesBatchJob"]
    up = json.loads(cli("trace", str(predictions), "--output", str(tmp_path), "--json").stdout)
    assert {"CsvExampleGen", "Trainer", "Pusher"} <= nodes(up["upstream"])


@pytest.mark.e2e
def test_runs_show_cache_hits_after_a_rerun(tiny_rerun, tiny_run):
    output, _ = tiny_run
    result = cli("runs", "--output", str(output), "--json")
    runs = json.loads(result.stdout)
    assert len(runs) >= 2
    assert runs[0]["cache_hits"] == 0
    assert runs[-1]["cache_hits"] >= 1
    cached = {c["node"] for c in runs[-1]["components"] if c["cached"]}
    assert "CsvExampleGen" in cached
