"""create_pipeline's DAG: the components, their order and wiring, and the optional parts."""

import json

from helpers import PIPELINE_COMPONENTS

from pipeline import configs
from pipeline.pipeline import RUN_PARAMETERS, create_pipeline


def build(tmp_path, **overrides):
    settings = configs.PipelineSettings(
        pipeline_root=str(tmp_path / "root"),
        serving_model_dir=str(tmp_path / "serving"),
        data_root=str(tmp_path / "data"),
        **overrides,
    )
    return create_pipeline(settings)


def ids(pipeline):
    return [c.id for c in pipeline.components]


def test_default_dag(tmp_path):
    pipeline = build(tmp_path)
    assert sorted(ids(pipeline)) == sorted(PIPELINE_COMPONENTS)
    order = ids(pipeline)
    for component in pipeline.components:  # dependency order: every node after its upstreams
        for upstream in component.upstream_nodes:
            assert order.index(upstream.id) < order.index(component.id)
    by_id = {c.id: c for c in pipeline.components}
    assert by_id["DataValidationGate"] in by_id["Transform"].upstream_nodes
    assert by_id["ExampleValidator"] in by_id["DataValidationGate"].upstream_nodes
    assert by_id["Trainer"].exec_properties["run_fn"] == "models.model.run_fn"
    assert (
        by_id["Transform"].exec_properties["preprocessing_fn"] == "preprocessing.preprocessing_fn"
    )
    assert "baseline_model" in by_id["Evaluator"].inputs
    assert json.loads(by_id["Evaluator"].exec_properties["example_splits"]) == ["test"]


def test_eval_config_slices_metrics_and_thresholds(tmp_path):
    evaluator = {c.id: c for c in build(tmp_path).components}["Evaluator"]
    config = json.loads(evaluator.exec_properties["eval_config"])
    slices = [s.get("feature_keys", []) for s in config["slicing_specs"]]
    assert slices == [[], ["is_male"], ["plurality"], ["mother_age_bucket_xf"]]
    metrics = {m["class_name"]: m for m in config["metrics_specs"][0]["metrics"]}
    assert set(metrics) == {"ExampleCount", "MeanAbsoluteError", "RootMeanSquaredError"}
    (gate,) = metrics["RootMeanSquaredError"]["per_slice_thresholds"]
    assert gate["slicing_specs"] == [{}]  # blessing looks at the Overall slice
    threshold = gate["threshold"]
    assert threshold["value_threshold"]["upper_bound"] == configs.RMSE_UPPER_BOUND
    assert threshold["change_threshold"]["absolute"] == configs.BASELINE_RMSE_TOLERANCE
    assert threshold["change_threshold"]["direction"] == "LOWER_IS_BETTER"


def test_without_baseline_there_is_no_resolver(tmp_path):
    pipeline = build(tmp_path, use_baseline=False)
    assert "latest_blessed_model_resolver" not in ids(pipeline)
    evaluator = {c.id: c for c in pipeline.components}["Evaluator"]
    assert "baseline_model" not in evaluator.inputs


def test_tuning_feeds_best_hyperparameters_to_the_trainer(tmp_path):
    pipeline = build(tmp_path, enable_tuning=True, tuner_trials=3)
    by_id = {c.id: c for c in pipeline.components}
    assert ids(pipeline).index("Tuner") < ids(pipeline).index("Trainer")
    assert by_id["Tuner"] in by_id["Trainer"].upstream_nodes
    assert "hyperparameters" in by_id["Trainer"].inputs
    assert json.loads(by_id["Tuner"].exec_properties["custom_config"])["max_trials"] == 3


def test_create_pipeline_reads_only_its_settings(tmp_path):
    a, b = build(tmp_path), build(tmp_path)
    assert ids(a) == ids(b)
    assert a.pipeline_info.pipeline_root == str(tmp_path / "root")


def test_reports_run_before_the_gate_and_after_the_evaluator(tmp_path):
    by_id = {c.id: c for c in build(tmp_path).components}
    data_report, run_report = by_id["DataReport"], by_id["RunReport"]
    assert data_report in by_id["DataValidationGate"].upstream_nodes  # written before a stop
    assert {u.id for u in data_report.upstream_nodes} == {"StatisticsGen", "ExampleValidator"}
    assert by_id["Evaluator"] in run_report.upstream_nodes
    assert set(run_report.inputs) == {"statistics", "anomalies", "evaluation", "blessing"}
    types = {key: channel.type.TYPE_NAME for key, channel in run_report.outputs.items()}
    assert types == {
        "html": "system.HTML",
        "markdown": "system.Markdown",
        "metrics": "system.Metrics",
    }


def test_per_run_settings_are_pipeline_parameters_with_the_settings_as_defaults(tmp_path):
    from tfx.orchestration import data_types

    def parameters(pipeline):
        return {
            value.name: value.default
            for c in pipeline.components
            for value in c.exec_properties.values()
            if isinstance(value, data_types.RuntimeParameter)
        }

    csv = parameters(build(tmp_path, train_steps=77, eval_steps=7))
    assert csv == {
        "data_root": str(tmp_path / "data"),
        "train_args": '{"num_steps": 77}',
        "eval_args": '{"num_steps": 7}',
    }
    bigquery = parameters(build(tmp_path, data_source="bigquery", bigquery_limit=500))
    (split,) = json.loads(bigquery["bigquery_input_config"])["splits"]
    assert split["pattern"].startswith("SELECT weight_pounds,") and split["pattern"].endswith(
        "LIMIT 500"
    )
    assert set(bigquery) | set(csv) == set(RUN_PARAMETERS)
