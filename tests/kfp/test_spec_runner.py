"""babyweight.kfp.spec_runner: the compiled KFP spec is runnable, not just well formed.

The e2e tests compile the OSS KFP target with local paths and run the uploadable YAML's tasks as
the OSS KFP v2 backend does (test_kfp_backend.py pins that contract): each task's container
command (our task entry before TFX's KFP v2 entrypoint) as a subprocess, in DAG order, on the
tiny slice, with a pipeline parameter set for the run; a rerun is served from KFP's cache; then
compare with the local run (`tiny_run`): the same components and artifact types, the same splits,
a pushed SavedModel that serves raw rows; and open what the KFP UI would show (the report steps'
system.HTML in headless Chromium, system.Metrics against the run's own evaluation).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

from babyweight import baseline as baseline_state
from babyweight import cli as babyweight_cli
from babyweight import features as F
from babyweight import model_config
from babyweight.kfp import spec_runner
from babyweight.kfp.kfp_mlmd import KfpMetadata
from babyweight.kfp.spec import ir_path
from babyweight.layout import OutputLayout
from babyweight.local import staging
from babyweight.metadata import store as mlmd
from babyweight.metadata import summary

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from helpers import (
    PIPELINE_COMPONENTS,
    REPO,
    TINY_TRAIN_STEPS,
    compile_local_kfp,
    open_in_chromium,
)

from pipeline import configs

# The tasks of the kfp spec that the local DAG does not have: ResolveSpan (the span and what the
# run builds on) and pipeline/baseline.py's tasks in place of the resolvers.
KFP_ONLY = ["ResolveSpan", "baseline_model", "base_model", "previous_span_statistics", "RecordPush"]
ON_KFP = [c for c in PIPELINE_COMPONENTS if "resolver" not in c] + KFP_ONLY


@pytest.fixture(scope="module")
def kfp_spec(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spec")
    return compile_local_kfp(tmp, str(tmp / "data"))


def test_tasks_run_in_dependency_order(kfp_spec):
    spec, _ = spec_runner.read_spec(kfp_spec)
    order = spec_runner.task_order(spec)
    assert sorted(order) == sorted(ON_KFP)
    before = {name: i for i, name in enumerate(order)}
    for a, b in [
        ("ResolveSpan", "CsvExampleGen"),
        ("CsvExampleGen", "StatisticsGen"),
        ("ExampleValidator", "DataReport"),
        ("DataReport", "DataValidationGate"),
        ("DataValidationGate", "Transform"),
        ("Transform", "Trainer"),
        ("Trainer", "Evaluator"),
        ("Evaluator", "Pusher"),
        ("Evaluator", "RunReport"),
        ("ResolveSpan", "baseline_model"),
        ("baseline_model", "Evaluator"),
        ("ResolveSpan", "base_model"),
        ("base_model", "Trainer"),
        ("previous_span_statistics", "DistributionValidator"),
        ("DriftGate", "Transform"),
        ("Pusher", "RecordPush"),
    ]:
        assert before[a] < before[b]


def test_the_vertex_spec_is_refused_with_the_oss_compilers_message(tmp_path, kfp_spec, capsys):
    vertex = compile_local_kfp(tmp_path, str(tmp_path / "data"), target="vertex")
    message = r'error processing component name=".*resolver.*non-importer executor not implemented'
    with pytest.raises(spec_runner.SpecError, match=message):
        spec_runner.run_spec(vertex, pipeline_root=str(tmp_path / "root"))
    with pytest.raises(spec_runner.SpecError, match=r"'gs://bkt/root'.*local directory"):
        spec_runner.run_spec(kfp_spec, pipeline_root="gs://bkt/root")
    assert babyweight_cli.call("kfp-spec-run", [str(tmp_path / "nope.json")]) == 2
    assert "nope.json: no such file" in capsys.readouterr().err
    assert not (tmp_path / "root").exists()


def test_a_ui_output_must_be_one_file_at_its_uri(tmp_path):
    (tmp_path / "page").write_text("<p>hi</p>")
    (tmp_path / "dir").mkdir()
    good = {"html": [{"uri": str(tmp_path / "page"), "type": "system.HTML"}]}
    assert spec_runner.check_ui_outputs("R", good) == [
        ("html", "system.HTML", good["html"][0]["uri"])
    ]
    other = {"examples": [{"uri": str(tmp_path / "dir"), "type": "tfx.Examples"}]}
    assert spec_runner.check_ui_outputs("R", other) == []  # a tfx.* artifact is a directory
    bad = {"html": [{"uri": str(tmp_path / "dir"), "type": "system.HTML"}]}
    with pytest.raises(spec_runner.TaskFailed, match=r"R output html \(system.HTML\).*a directory"):
        spec_runner.check_ui_outputs("R", bad)


def test_unknown_runtime_parameters_are_refused(tmp_path, kfp_spec, capsys):
    argv = [str(kfp_spec), "--pipeline-root", str(tmp_path), "--runtime_parameter", "steps=3"]
    assert babyweight_cli.call("kfp-spec-run", argv) == 2
    err = capsys.readouterr().err
    assert "no pipeline parameter ['steps']" in err and "train_args" in err
    assert babyweight_cli.call("kfp-spec-run", [*argv[:-1], "train_args"]) == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err


def test_a_dependency_cycle_is_named():
    spec = {
        "root": {"dag": {"tasks": {"A": {"dependentTasks": ["B"]}, "B": {"dependentTasks": ["A"]}}}}
    }
    with pytest.raises(spec_runner.SpecError, match=r"dependency cycle among \['A', 'B'\]"):
        spec_runner.task_order(spec)


def test_a_failing_task_stops_the_run_with_its_log(tmp_path, kfp_spec):
    # The spec's data_root does not exist: ResolveSpan finds no span to read and fails, with the
    # reason in the log tail, and nothing downstream runs.
    root = str(tmp_path / "root")
    failed = r"ResolveSpan exited with 1; log .*span-\{SPAN\}/\*"
    with pytest.raises(spec_runner.TaskFailed, match=re.compile(failed, re.S)):
        spec_runner.run_spec(kfp_spec, pipeline_root=root, run_id="r", echo=lambda line: None)
    assert not (tmp_path / "root" / "babyweight" / "r" / "CsvExampleGen").exists()


def count_examples(uri: str, split: str) -> int:
    files = tf.io.gfile.glob(f"{uri}/Split-{split}/*")
    return sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))


def local_outputs(output_dir: Path) -> dict[str, dict[str, str]]:
    """{node: {output key: artifact type}} of the local run, from its MLMD."""
    store = mlmd.open_store(output_dir / "metadata.sqlite")
    nodes = mlmd.run_nodes(store, mlmd.latest_run_id(store, configs.PIPELINE_NAME))
    types = {t.id: t.name for t in store.get_artifact_types()}
    return {
        node: {key: types[arts[0].type_id] for key, arts in run.outputs.items()}
        for node, run in nodes.items()
    }


@pytest.fixture(scope="module")
def spec_run(tmp_path_factory, tiny_data):
    """The uploadable YAML, run here as the OSS backend runs it: the root is the run's own (the
    spec's defaultPipelineRoot is not read); the train steps come from a pipeline parameter of
    the run, not from the compiled default."""
    tmp = tmp_path_factory.mktemp("spec_run")
    staged = staging.stage_csv(tiny_data, OutputLayout(tmp))
    spec = compile_local_kfp(tmp, staged.data_root, train_steps=configs.TRAIN_STEPS)
    lines = []
    steps = json.dumps({"num_steps": TINY_TRAIN_STEPS})
    run = spec_runner.run_spec(
        ir_path(spec),
        pipeline_root=str(tmp / "root"),
        run_id="spec-run",
        python=sys.executable,
        workdir=REPO,
        echo=lines.append,
        parameters={"train_args": steps},
    )
    return tmp, run, lines


def metadata(run, task: str, key: str) -> dict:
    """An output's custom properties as KFP's launcher recorded them in ML Metadata."""
    [artifact] = KfpMetadata(run.metadata).store.get_artifacts_by_id(
        [run.outputs(task, key)[0]["id"]]
    )
    return {k: getattr(v, v.WhichOneof("value")) for k, v in artifact.custom_properties.items()}


@pytest.mark.e2e
def test_the_compiled_kfp_spec_runs_here_like_the_local_run(spec_run, tiny_run):
    tmp_path, run, lines = spec_run
    local_dir, local = tiny_run
    assert Path(run.run_dir).parent.parent == tmp_path / "root"  # the run's root
    assert sorted(t.name for t in run.tasks) == sorted(ON_KFP)
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == [
        t.name for t in run.tasks
    ]
    seconds = {t.name: t.seconds for t in run.tasks}
    print("spec run, seconds per task:", json.dumps(seconds))
    trainer_log = Path(next(t.log for t in run.tasks if t.name == "Trainer")).read_text()
    assert f'{{"num_steps": {TINY_TRAIN_STEPS}}}' in trainer_log  # the run's parameter ...
    assert f'"num_steps": {configs.TRAIN_STEPS}' not in trainer_log  # ... not the default

    # The same components and artifacts (key and type) as the local run, less the resolver;
    # every task also has the launcher's executor-logs.
    expected = local_outputs(local_dir)
    for local_only in [c for c in expected if "resolver" in c]:
        expected.pop(local_only)
    got = {
        t.name: {k: v[0]["type"].removeprefix("tfx.") for k, v in t.outputs.items()}
        for t in run.tasks
        if t.name not in KFP_ONLY
    }
    assert all(outputs.pop("executor-logs") == "system.Artifact" for outputs in got.values())
    assert got == expected

    # The same rows in each split, so the same test rows were scored.
    examples = run.outputs("CsvExampleGen", "examples")[0]["uri"]
    assert {s: count_examples(examples, s) for s in local["splits"]} == local["splits"]
    metrics = summary.slice_metrics(run.outputs("Evaluator", "evaluation")[0]["uri"])
    assert metrics["Overall"]["example_count"] == local["splits"]["test"]
    assert metrics["Overall"]["rmse"] < configs.RMSE_UPPER_BOUND
    assert metadata(run, "Evaluator", "blessing")["blessed"] == 1.0  # a double after MLMD

    # Pushed, like the local run, to a new version under the serving directory.
    pushed = metadata(run, "Pusher", "pushed_model")
    assert pushed["pushed"] == 1.0 and local["pushed_model"]
    version_dir = Path(pushed["pushed_destination"])
    assert version_dir.parent == tmp_path / "serving" / configs.MODEL_NAME
    model = tf.saved_model.load(str(version_dir))
    local_model = tf.saved_model.load(local["pushed_model"])
    assert set(model.signatures) == set(local_model.signatures)
    out = model.signatures[F.RAW_SIGNATURE](
        is_male=tf.constant(["True", "Unknown"]),
        mother_age=tf.constant([26, 35], tf.int64),
        plurality=tf.constant(["Single(1)", "Twins(2)"]),
        gestation_weeks=tf.constant([39, 34], tf.int64),
    )[F.PREDICTION_KEY].numpy()
    assert out.shape == (2,) and np.all((out > 3) & (out < 12)), out
    recorded = json.loads((Path(run.log_dir) / "spec_run.json").read_text())
    assert [t["name"] for t in recorded["tasks"]] == [t.name for t in run.tasks]


def task_log(run, task: str) -> str:
    return Path(next(t.log for t in run.tasks if t.name == task)).read_text()


@pytest.mark.e2e
def test_the_first_run_goes_the_same_way_with_nothing_pushed_and_says_so(spec_run):
    tmp_path, first, _ = spec_run
    serving = tmp_path / "serving" / configs.MODEL_NAME
    resolve_log = task_log(first, "ResolveSpan")
    assert f"no blessed model yet: nothing pushed to {serving}" in resolve_log
    assert "no span before span 0 to compare with" in resolve_log
    # Each of pipeline/baseline.py's tasks ran and handed on "none", which the task entry drops:
    for task, key in [
        ("baseline_model", "model"),
        ("base_model", "model"),
        ("previous_span_statistics", "previous_statistics"),
    ]:
        assert metadata(first, task, key)[baseline_state.ABSENT] == 1.0, task
    # ... so the Evaluator had no baseline (its absolute threshold only) ...
    assert "baseline_model" not in metadata(first, "Evaluator", "blessing")
    # ... the Trainer trained from scratch and said why ...
    warm = model_config.read_warm_start(first.outputs("Trainer", "model")[0]["uri"])
    assert warm["warm_start"] is False
    assert "no blessed model trained on other data yet" in warm["reason"]
    # ... and the drift gate had nothing to compare with.
    assert "drift: no previous span to compare with" in task_log(first, "DriftGate")


@pytest.mark.e2e
def test_a_rerun_over_the_same_files_is_cached_and_pushes_nothing_new(spec_run):
    tmp_path, first, _ = spec_run
    serving = tmp_path / "serving" / configs.MODEL_NAME
    before = sorted(p.name for p in serving.iterdir())
    again = spec_runner.run_spec(
        ir_path(tmp_path / "kfp.json"),
        pipeline_root=str(tmp_path / "root"),
        run_id="spec-rerun",
        workdir=REPO,
        echo=lambda line: None,
        parameters={"train_args": json.dumps({"num_steps": TINY_TRAIN_STEPS})},
    )
    states = {t.name: t.state for t in again.tasks}
    assert states.pop("ResolveSpan") == "COMPLETE"  # never cached: it looks at the files
    # The first push is now the baseline (as locally, the model is evaluated against itself);
    # everything up to the Trainer is reused, and the Pusher sees the model already serving.
    after_baseline = {"baseline_model", "Evaluator", "EdgeExport", "Pusher", "RecordPush"}
    ran = {name for name, state in states.items() if state != "CACHED"}
    assert ran <= after_baseline | {"RunReport"}, states
    assert states["Trainer"] == states["Transform"] == states["CsvExampleGen"] == "CACHED"
    first_version = metadata(first, "Pusher", "pushed_model")["pushed_destination"]
    assert metadata(again, "baseline_model", "model")[baseline_state.SOURCE] == first_version
    assert metadata(again, "Pusher", "pushed_model")["pushed"] == 0.0
    assert sorted(p.name for p in serving.iterdir()) == before


@pytest.mark.e2e
def test_the_kfp_ui_outputs_are_single_files_a_browser_opens(spec_run):
    tmp_path, run, lines = spec_run
    report = {key: run.outputs("RunReport", key)[0] for key in ("html", "markdown", "metrics")}
    data = {key: run.outputs("DataReport", key)[0] for key in ("html", "markdown")}
    for artifact in [*report.values(), *data.values()]:
        assert Path(artifact["uri"]).is_file(), artifact  # as the KFP UI reads it
        assert any(artifact["uri"] in line for line in lines)  # the runner says where

    # system.Metrics: the Overall slice of this run's own evaluation, as file and as metadata.
    evaluation = run.outputs("Evaluator", "evaluation")[0]["uri"]
    overall = summary.slice_metrics(evaluation)["Overall"]
    written = json.loads(Path(report["metrics"]["uri"]).read_text())
    assert written == {
        "rmse": overall["rmse"],
        "mae": overall["mae"],
        "example_count": overall["example_count"],
    }
    recorded = metadata(run, "RunReport", "metrics")
    assert recorded["rmse"] == overall["rmse"] < configs.RMSE_UPPER_BOUND
    assert recorded["display_name"]

    # system.Markdown: the blessing and the overall row.
    markdown = Path(report["markdown"]["uri"]).read_text()
    assert "**blessed**" in markdown and f"| Overall | {overall['example_count']:.0f} |" in markdown
    assert "Anomalies: none" in Path(data["markdown"]["uri"]).read_text()

    # system.HTML: one self-contained page that opens with nothing broken and nothing fetched.
    page = Path(report["html"]["uri"])
    shown = open_in_chromium(page, tmp_path / "kfp_report.png")
    if shown is None:
        pytest.skip("no Chromium could be found or installed")
    assert shown["images"] == [] and shown["requested"] == [shown["url"]]
    plots = [s for s in shown["svgs"] if s[0] == "RMSE and MAE per slice"]
    assert len(plots) == 1 and plots[0][1] > 300 and plots[0][2] > 100
    for text in ("Data statistics per split", "Anomalies", "TFMA metrics per slice", "blessed"):
        assert text in shown["text"]
    assert f"{overall['rmse']:.3f}" in shown["text"]
    data_page = open_in_chromium(Path(data["html"]["uri"]))
    assert "babyweight data checks" in data_page["text"] and data_page["images"] == []


def stage_rows(tmp_path: Path, span: int, keep) -> None:
    """Stage rows of data/births.csv (those `keep(index, row)` picks) as span `span` beside the
    first run's span 0: a new span-N/ under the same data_root."""
    with open(REPO / "data" / "births.csv", newline="") as f:
        header, *rows = list(csv.reader(f))
    source = tmp_path / f"span-{span}.csv"
    with open(source, "w", newline="") as f:
        csv.writer(f).writerows([header, *(r for i, r in enumerate(rows) if keep(i, header, r))])
    staging.stage_csv(source, OutputLayout(tmp_path), span=span)


def run_again(tmp_path: Path, run_id: str):
    return spec_runner.run_spec(
        ir_path(tmp_path / "kfp.json"),
        pipeline_root=str(tmp_path / "root"),
        run_id=run_id,
        workdir=REPO,
        echo=lambda line: None,
        parameters={"train_args": json.dumps({"num_steps": TINY_TRAIN_STEPS})},
    )


@pytest.mark.e2e
def test_a_new_span_warm_starts_from_the_first_model_and_is_evaluated_against_it(spec_run):
    tmp_path, first, _ = spec_run
    first_version = metadata(first, "Pusher", "pushed_model")["pushed_destination"]
    serving = tmp_path / "serving" / configs.MODEL_NAME
    recorded = baseline_state.read_state(str(serving))
    assert recorded["versions"] == {
        Path(first_version).name: {
            "span": 0,
            "fingerprint": metadata(first, "CsvExampleGen", "examples")["input_fingerprint"],
        }
    }
    stage_rows(tmp_path, 1, lambda i, header, row: i % 8 == 2)  # other rows, same mix
    run = run_again(tmp_path, "spec-span-1")
    assert metadata(run, "CsvExampleGen", "examples")["span"] == 1.0
    # New files, a new cache key: CsvExampleGen runs again and reads span 1's rows, not span 0's.
    assert {t.name: t.state for t in run.tasks}["CsvExampleGen"] == "COMPLETE"
    staged = OutputLayout(tmp_path).staged_span(1) / "data.csv"
    with open(staged, newline="") as f:
        rows = sum(1 for _ in csv.reader(f)) - 1
    examples = run.outputs("CsvExampleGen", "examples")[0]["uri"]
    assert sum(count_examples(examples, s) for s in configs.SPLIT_BUCKETS) == rows
    resolve_log = task_log(run, "ResolveSpan")
    assert f"warm start from version {Path(first_version).name} (trained on span 0)" in resolve_log
    assert "drift compared with span 0" in resolve_log
    # Warm-started from the first run's pushed model ...
    assert metadata(run, "base_model", "model")[baseline_state.SOURCE] == first_version
    warm = model_config.read_warm_start(run.outputs("Trainer", "model")[0]["uri"])
    assert warm["warm_start"] is True, warm
    assert warm["base_model"].startswith(run.outputs("base_model", "model")[0]["uri"])
    # ... evaluated against it as the baseline ...
    baseline_uri = run.outputs("baseline_model", "model")[0]["uri"]
    assert metadata(run, "baseline_model", "model")[baseline_state.SOURCE] == first_version
    blessing = metadata(run, "Evaluator", "blessing")
    assert blessing["baseline_model"] == baseline_uri
    # ... and blessed or not by that comparison: pushed exactly when blessed.
    validation = tfma.load_validation_result(run.outputs("Evaluator", "evaluation")[0]["uri"])
    assert blessing["blessed"] == float(validation.validation_ok)
    pushed = metadata(run, "Pusher", "pushed_model")
    assert pushed["pushed"] == blessing["blessed"]
    # The drift gate compared span 1 with span 0 and found nothing beyond the thresholds.
    assert (
        metadata(run, "previous_span_statistics", "previous_statistics")[baseline_state.SOURCE]
        == first.outputs("StatisticsGen", "statistics")[0]["uri"]
    )


@pytest.mark.e2e
def test_a_drifted_span_stops_at_the_drift_gate_naming_the_features(spec_run):
    tmp_path = spec_run[0]
    serving = tmp_path / "serving" / configs.MODEL_NAME
    before = sorted(p.name for p in serving.iterdir())
    age = F.MOTHER_AGE
    stage_rows(tmp_path, 2, lambda i, header, row: int(row[header.index(age)]) >= 35)
    with pytest.raises(
        spec_runner.TaskFailed,
        match=r"(?s)DriftGate.*Drift from the previous "
        r"span in .*mother_age",
    ):
        run_again(tmp_path, "spec-span-2-drift")
    assert sorted(p.name for p in serving.iterdir()) == before
