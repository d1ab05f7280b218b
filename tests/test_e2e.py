"""The real pipeline, end to end, with LocalDagRunner on a tiny slice of data/births.csv.

Slow (a few minutes): it trains and evaluates a model. The tiny run itself is the session
fixture `tiny_run` (conftest.py), shared with every test that needs a pushed model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from babyweight import features as F
from babyweight.errors import ExitCode
from babyweight.metadata import store as mlmd

import numpy as np
import pytest
import tensorflow as tf
from helpers import PIPELINE_COMPONENTS, read_rows, run_local_pipeline, write_rows

pytestmark = pytest.mark.e2e


def test_every_component_ran_and_is_recorded_in_mlmd(tiny_run):
    output, summary = tiny_run
    store = mlmd.open_store(output / "metadata.sqlite")
    nodes = mlmd.run_nodes(store, mlmd.latest_run_id(store, "babyweight"))
    assert sorted(nodes) == sorted(PIPELINE_COMPONENTS)
    assert {n.state for n in nodes.values()} == {"COMPLETE"}
    assert summary["components"] == {n: "COMPLETE" for n in nodes}


def test_summary_reports_splits_drops_metrics_and_blessing(tiny_run):
    output, summary = tiny_run
    assert set(summary) >= {
        "splits",
        "dropped",
        "anomalies",
        "metrics",
        "blessed",
        "blessing_reason",
        "pushed_model",
    }
    assert set(summary["splits"]) == {"train", "eval", "test"}
    assert summary["splits"]["train"] > summary["splits"]["eval"] > 0
    assert summary["anomalies"] == {}
    overall = summary["metrics"]["Overall"]
    assert overall["example_count"] == summary["splits"]["test"]
    assert 0 < overall["mae"] <= overall["rmse"] < 2.0
    assert any(k.startswith("is_male:") for k in summary["metrics"])
    assert any(k.startswith("plurality:") for k in summary["metrics"])
    assert any(k.startswith(F.bucket_name(F.MOTHER_AGE)) for k in summary["metrics"])
    assert summary["blessed"] is True
    text = (output / "runner.log").read_text()
    assert "blessed: yes" in text and "rows per split" in text


def test_pushed_model_serves_raw_rows(pushed_model_dir):
    assert pushed_model_dir.parent.name == "babyweight"
    assert pushed_model_dir.parent.parent.name == "serving_model"
    model = tf.saved_model.load(str(pushed_model_dir))
    assert {F.RAW_SIGNATURE, F.EXAMPLE_SIGNATURE, F.TRANSFORM_SIGNATURE} <= set(model.signatures)
    predict = model.signatures[F.RAW_SIGNATURE]
    out = predict(
        is_male=tf.constant(["True", "False", "Unknown", "True"]),
        mother_age=tf.constant([26, 26, 26, 35], tf.int64),
        plurality=tf.constant(["Single(1)", "1", "Multiple(2+)", "Twins(2)"]),
        gestation_weeks=tf.constant([39, 39, 39, 34], tf.int64),
    )[F.PREDICTION_KEY].numpy()
    assert out.shape == (4,)
    assert np.all((out > 3) & (out < 12)), out
    assert out[3] < out[0]  # twins at 34 weeks weigh less than a single baby at 39


def test_raw_and_example_signatures_agree(pushed_model_dir):
    model = tf.saved_model.load(str(pushed_model_dir))
    example = tf.train.Example()
    example.features.feature[F.IS_MALE].bytes_list.value.append(b"False")
    example.features.feature[F.MOTHER_AGE].int64_list.value.append(31)
    example.features.feature[F.PLURALITY].int64_list.value.append(1)
    example.features.feature[F.GESTATION_WEEKS].int64_list.value.append(40)
    from_example = model.signatures[F.EXAMPLE_SIGNATURE](
        examples=tf.constant([example.SerializeToString()])
    )[F.PREDICTION_KEY]
    from_raw = model.signatures[F.RAW_SIGNATURE](
        is_male=tf.constant(["False"]),
        mother_age=tf.constant([31], tf.int64),
        plurality=tf.constant(["Single(1)"]),
        gestation_weeks=tf.constant([40], tf.int64),
    )[F.PREDICTION_KEY]
    np.testing.assert_allclose(from_example.numpy(), from_raw.numpy(), rtol=1e-6)


def test_bad_plurality_spelling_is_rejected_by_name(pushed_model_dir):
    predict = tf.saved_model.load(str(pushed_model_dir)).signatures[F.RAW_SIGNATURE]
    with pytest.raises(tf.errors.InvalidArgumentError, match="invalid plurality"):
        predict(
            is_male=tf.constant(["True"]),
            mother_age=tf.constant([26], tf.int64),
            plurality=tf.constant(["Sextuplets"]),
            gestation_weeks=tf.constant([39], tf.int64),
        )


def test_second_run_hits_the_cache_and_compares_with_the_first_model(tiny_run, tiny_rerun):
    _, first = tiny_run
    second = tiny_rerun
    states = second["components"]
    for cached in ["CsvExampleGen", "StatisticsGen", "Transform", "Trainer"]:
        assert states[cached] == "CACHED", states
    assert states["Evaluator"] == "COMPLETE"  # a new input: the first model as its baseline
    assert first["baseline"] is None
    assert second["baseline"] == second["model"] == first["model"]
    assert second["blessed"] is True
    # the same model is already the newest version: nothing new is pushed (issue 10)
    assert states["Pusher"] == "COMPLETE" and second["pushed_model"] is None
    assert second["already_serving_version"] == Path(first["pushed_model"]).name
    assert second["metrics"]["Overall"]["rmse"] == pytest.approx(
        first["metrics"]["Overall"]["rmse"], abs=1e-6
    )


def test_tuner_feeds_the_trainer_and_the_evaluator_compares_with_the_baseline(
    tiny_run, tiny_tuned_rerun
):
    summary = tiny_tuned_rerun
    store = mlmd.open_store(tiny_run[0] / "metadata.sqlite")
    nodes = mlmd.run_nodes(store, summary["run_id"])
    best = nodes["Tuner"].outputs["best_hyperparameters"][0]
    assert [a.id for a in nodes["Trainer"].inputs["hyperparameters"]] == [best.id]
    states = summary["components"]
    assert states["Tuner"] == "COMPLETE" and states["Trainer"] == "COMPLETE"
    assert states["Transform"] == "CACHED"
    assert summary["baseline"]
    rmse = summary["metrics"]["Overall"]["rmse"]
    if summary["blessed"]:
        assert summary["blessing_reason"].startswith(
            f"every threshold passed: root_mean_squared_error on Overall is {rmse:.4f}, at most 2;"
        )
        assert summary["exit_code"] == ExitCode.BLESSED and summary["pushed_model"]
    else:  # a worse tuned model is refused with metric, slice, value and threshold named
        assert re.search(
            r"root_mean_squared_error on Overall is [+-]?\d+\.\d{4}[^;]*; it must be "
            r"(at most 2|no more than 0.05 above the baseline's)",
            summary["blessing_reason"],
        )
        assert summary["exit_code"] == ExitCode.NOT_BLESSED and summary["pushed_model"] is None


def test_bad_data_stops_at_validation_and_pushes_nothing(tmp_path, tiny_data):
    header, rows = read_rows(tiny_data)
    rows[0][header.index("plurality")] = "9"
    rows[1][header.index("mother_age")] = "99"
    rows[2][header.index("gestation_weeks")] = "forty"
    data = write_rows(tmp_path / "bad.csv", header, rows)
    output = tmp_path / "out"
    output.mkdir()
    result = run_local_pipeline(data, output)
    assert result.returncode == ExitCode.DATA_ANOMALIES
    summary = json.loads((output / "run_summary.json").read_text())
    assert set(summary["anomalies"]) == {"plurality", "mother_age", "gestation_weeks"}
    assert "Unexpectedly large value: 9" in " ".join(summary["anomalies"]["plurality"].values())
    assert summary["components"]["DataValidationGate"] == "FAILED"
    for never in ["Transform", "Trainer", "Evaluator", "Pusher"]:
        assert never not in summary["components"]
    assert summary["pushed_model"] is None and summary["blessed"] is False
    assert summary["outcome"] == "data_anomalies"
    assert not (output / "serving_model").exists()
    for feature in ["plurality", "mother_age", "gestation_weeks"]:
        assert feature in result.stdout
    assert "stopped at data validation" in result.stdout
