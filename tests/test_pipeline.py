"""create_pipeline's DAG: the components, their order and wiring, and the optional parts."""

import json

from helpers import PIPELINE_COMPONENTS

from pipeline import configs
from pipeline.pipeline import NO_BASE_MODEL, RUN_PARAMETERS, create_pipeline


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
    # Drift from the previous span gates Transform too; the Trainer gets a base model.
    assert by_id["DriftGate"] in by_id["Transform"].upstream_nodes
    assert by_id["DistributionValidator"] in by_id["DriftGate"].upstream_nodes
    assert by_id["base_model_resolver"] in by_id["Trainer"].upstream_nodes
    assert by_id["Trainer"].inputs["base_model"].producer_component_id == "base_model_resolver"


def test_examplegen_reads_one_span_directory_picked_by_range_config(tmp_path):
    example_gen = {c.id: c for c in build(tmp_path, span=7).components}["CsvExampleGen"]
    (split,) = json.loads(example_gen.exec_properties["input_config"])["splits"]
    assert split["pattern"] == "span-{SPAN}/*.csv"
    wanted = {"static_range": {"start_span_number": 7, "end_span_number": 7}}
    assert json.loads(example_gen.exec_properties["range_config"].default) == wanted
    latest = {c.id: c for c in build(tmp_path).components}["CsvExampleGen"]
    assert json.loads(latest.exec_properties["range_config"].default) == {
        "rolling_range": {"num_spans": 1}
    }


def test_drift_compares_every_feature_with_the_skew_checks_comparators(tmp_path):
    from babyweight import features as F

    by_id = {c.id: c for c in build(tmp_path).components}
    validator = by_id["DistributionValidator"]
    config = validator.exec_properties["distribution_validator_config"]
    comparators = {
        f.path.step[0]: f.distribution_comparator for f in config.default_slice_config.feature
    }
    assert set(comparators) == set(F.FEATURE_KEYS)
    linf, js = configs.DRIFT_THRESHOLDS.values()
    for name in (F.IS_MALE, F.PLURALITY):
        assert comparators[name].infinity_norm.threshold == linf
    for name in (F.MOTHER_AGE, F.GESTATION_WEEKS):
        assert comparators[name].jensen_shannon_divergence.threshold == js
    assert json.loads(validator.exec_properties["include_split_pairs"]) == [["train", "train"]]
    assert by_id["DriftGate"].exec_properties["stop"] == 1
    options = json.loads(by_id["StatisticsGen"].exec_properties["stats_options_json"])
    assert '"isCategorical": true' in options["schema_json"]  # plurality: L-infinity needs it
    warn = {c.id: c for c in build(tmp_path, drift_action="warn").components}["DriftGate"]
    assert warn.exec_properties["stop"] == 0
    assert "DriftGate" not in ids(build(tmp_path, drift_action="off"))


def test_what_each_orchestrator_can_run(tmp_path):
    vertex = {c.id: c for c in build(tmp_path, orchestrator="vertex").components}
    assert not set(vertex) & {"base_model_resolver", "DistributionValidator", "DriftGate"}
    base = vertex["Trainer"].inputs["base_model"]
    assert base.producer_component_id == "latest_blessed_model_resolver"  # its only strategy
    # OSS KFP: no resolver; pipeline/baseline.py's tasks hand on what ResolveSpan chose.
    kfp = {c.id: c for c in build(tmp_path, orchestrator="kfp").components}
    assert not any("resolver" in n for n in kfp)
    wired = {
        ("Trainer", "base_model"): "base_model",
        ("Evaluator", "baseline_model"): "baseline_model",
        ("DistributionValidator", "baseline_statistics"): "previous_span_statistics",
    }
    for (node, key), producer in wired.items():
        assert kfp[node].inputs[key].producer_component_id == producer
    assert kfp["RecordPush"].inputs["pushed_model"].producer_component_id == "Pusher"
    custom = json.loads(kfp["Trainer"].exec_properties["custom_config"])
    assert custom["no_base_model"] == NO_BASE_MODEL["kfp"]
    off = {c.id: c for c in build(tmp_path, warm_start=False).components}
    assert "base_model" not in off["Trainer"].inputs and "base_model_resolver" not in off


def test_a_window_of_spans_feeds_transform_through_a_resolver(tmp_path):
    by_id = {c.id: c for c in build(tmp_path, span_window=3).components}
    window = by_id["span_window_resolver"]
    assert by_id["StatisticsGen"] in window.upstream_nodes  # after this run's span is read
    assert by_id["Transform"].inputs["examples"].producer_component_id == "span_window_resolver"
    assert window.exec_properties["source_uri"] == {"num_spans": 3}


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
        "range_config": '{"rolling_range": {"num_spans": 1}}',
        "train_args": '{"num_steps": 77}',
        "eval_args": '{"num_steps": 7}',
    }
    bigquery = parameters(build(tmp_path, data_source="bigquery", bigquery_limit=500))
    (split,) = json.loads(bigquery["bigquery_input_config"])["splits"]
    assert split["pattern"].startswith("SELECT weight_pounds,") and split["pattern"].endswith(
        "LIMIT 500"
    )
    assert set(bigquery) | set(csv) == set(RUN_PARAMETERS)
