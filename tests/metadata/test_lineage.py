"""The `lineage` command: unit tests on a hand-recorded MLMD store, then on the tiny e2e run."""

from __future__ import annotations

import json
import shutil
import subprocess

from babyweight.batch import lineage as batch_lineage
from babyweight.metadata import lineage, lineage_cli, pushed
from babyweight.metadata import store as mlmd
from babyweight.metadata import trace as trace_lib

import lineage_store
import pytest
from helpers import REPO, run_babyweight


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("mlmd") / "metadata.sqlite"
    ids = lineage_store.build(path)
    store = mlmd.open_store(path, readonly=True)
    return path.parent, ids, store, lineage.Lineage(store)


def cli(*args) -> subprocess.CompletedProcess:
    return run_babyweight("lineage", *args)


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


def test_an_artifact_in_two_roles_of_one_execution_shows_both(tmp_path):
    """A cached rerun: the Trainer is a cache hit, so the Evaluator's model and its baseline (the
    last blessed model) are one artifact. TFX records one INPUT event with both keys."""
    path = tmp_path / "metadata.sqlite"
    ids = lineage_store.build(path)
    recorder = lineage_store.Recorder(path)
    blessing = recorder.artifact("ModelBlessing", "/root/Evaluator/blessing/9", blessed=1)
    evaluator = recorder.execute(
        "Evaluator",
        inputs={"examples": ids["examples"], "model": ids["model"], "baseline_model": ids["model"]},
        outputs={"blessing": blessing},
        run="run-3",
    )
    lin = lineage.Lineage(mlmd.open_store(path, readonly=True))
    step = lin.step(evaluator)
    assert step["inputs"]["model"] == step["inputs"]["baseline_model"] == [ids["model"]]
    text = lineage_cli.format_trace(trace_lib.trace(lin, blessing))
    assert f"baseline_model=#{ids['model']} Model" in text
    assert f"examples=#{ids['examples']} Examples, model=#{ids['model']} Model" in text
    [model] = [a for a in lineage.artifact_list(lin, "Model") if a["id"] == ids["model"]]
    roles = {c["key"] for c in model["consumers"] if c["execution"] == evaluator}
    assert roles == {"model", "baseline_model"}
    listing = lineage_cli.format_artifacts([model])
    assert f"Evaluator.model (exec {evaluator})" in listing
    assert f"Evaluator.baseline_model (exec {evaluator})" in listing


def test_trace_pushed_lists_the_batch_predictions_made_with_it(tmp_path):
    """batch-predict links its run to the Trainer's Model and names the pushed directory in
    `model_dir` (babyweight/batch/lineage.py): `trace pushed` finds it as `trace model` does."""
    path = tmp_path / "metadata.sqlite"
    ids = lineage_store.build(path)
    store = mlmd.open_store(path)
    record = pushed.find_model(store, "/serving/demo/1700000000")
    rows = REPO / "data" / "births.csv"
    execution, contexts = batch_lineage.start_run(store, record, str(rows), "csv")
    batch_lineage.finish_run(
        store, execution, contexts, output_uri=str(tmp_path / "preds"), counts={"predictions": 9}
    )
    lin = lineage.Lineage(mlmd.open_store(path, readonly=True))
    by_model = trace_lib.trace(lin, ids["model"])
    by_pushed = trace_lib.trace(lin, trace_lib.resolve(lin, "pushed"))
    assert execution.id in [s["execution"] for s in by_model["downstream"]]
    assert execution.id in [s["execution"] for s in by_pushed["downstream"]]
    assert "babyweight.Predictions" in {a["type"] for a in by_pushed["artifacts"].values()}
    # The batch run is its own run, not a data check of the other batch job.
    [predictions] = [a for a in lin.artifacts.values() if a.type == "babyweight.Predictions"]
    up = trace_lib.trace(lin, predictions.id)
    assert str(ids["pushed"]) in up["artifacts"]  # which pushed model made them
    assert "BatchPredict" not in nodes(up["data_checks"])
    assert up["upstream"][-1]["run"].startswith("batch_predict_")


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
    # Every component that read or wrote an artifact in the run is on the way up, but the run
    # report, which reads the Evaluator's outputs beside the Pusher.
    active = {
        c["node"]
        for c in run["components"]
        if lin.inputs[c["execution"]] or lin.outputs[c["execution"]]
    } - {"RunReport"}
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
    # Other tests' batch-predict runs on the shared tiny run are downstream of it too.
    downstream = [s["node"] for s in down["downstream"]]
    assert "SomeonesBatchJob" in downstream
    assert set(downstream) <= {"SomeonesBatchJob", "BatchPredict"}
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


@pytest.mark.e2e
def test_a_rerun_evaluator_reads_one_model_in_both_roles(tiny_rerun, tiny_run):
    """The rerun's Trainer is a cache hit, so its Evaluator compares the model with itself as
    the baseline: `trace` and `artifacts` show both roles."""
    output, _ = tiny_run
    runs = json.loads(cli("runs", "--output", str(output), "--json").stdout)
    rerun = {c["node"]: c for c in runs[1]["components"]}
    assert rerun["Trainer"]["cached"] and not rerun["Evaluator"]["cached"]
    evaluator = rerun["Evaluator"]["execution"]
    lin = lineage.Lineage(mlmd.open_store(output / "metadata.sqlite", readonly=True))
    step = lin.step(evaluator)
    assert step["inputs"]["model"] == step["inputs"]["baseline_model"]
    [model] = step["inputs"]["model"]
    trace = cli("trace", str(model), "--output", str(output))
    assert f"baseline_model=#{model} Model" in trace.stdout
    assert f"Examples, model=#{model} Model" in trace.stdout
    listing = cli("artifacts", "--type", "Model", "--output", str(output)).stdout
    assert f"Evaluator.baseline_model (exec {evaluator}), Evaluator.model (exec {evaluator})" in (
        listing
    )
