"""create_pipeline: the babyweight DAG, the same for every orchestrator.

ExampleGen (one span) -> StatisticsGen -> ImportSchemaGen -> ExampleValidator -> DataReport ->
gate, and StatisticsGen -> DistributionValidator (vs. the previous span) -> DriftGate; then
Transform -> [Tuner] -> Trainer (warm-started from the last blessed model) -> Evaluator (vs. the
latest blessed model) -> EdgeExport -> Pusher, RunReport. It reads no globals or environment and
runs nothing; runners choose where it runs, and where it runs decides which resolvers it holds
(settings.orchestrator; pipeline/resolvers.py).

What a person changes from run to run is a pipeline parameter (RUN_PARAMETERS): a field of the
KFP UI's run form, `--runtime_parameter NAME=VALUE` of `babyweight kfp run`; a local run takes the
default, which comes from the settings.
"""

from __future__ import annotations

import json

from babyweight import features as F
from babyweight.layout import SPAN_DIR

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx
from tfx.extensions.google_cloud_big_query.example_gen.component import BigQueryExampleGen

from . import baseline as kfp_baseline
from . import configs, drift, resolvers
from .bigquery import natality_query
from .edge import EdgeExport
from .gate import DataValidationGate
from .pusher import ServingPusher
from .reports import DataReport, RunReport

SLICE_FEATURES = [F.IS_MALE, F.PLURALITY, F.bucket_name(F.MOTHER_AGE)]
# Pipeline parameters: name -> what it sets. Values are JSON or text, as the components take them.
RUN_PARAMETERS = {
    "train_args": 'Trainer steps, e.g. {"num_steps": 1500}',
    "eval_args": 'Trainer evaluation steps, e.g. {"num_steps": 50}',
    "bigquery_input_config": "BigQueryExampleGen input_config: its pattern is the query; end it "
    "with LIMIT N to read N rows",
    "data_root": "the directory that CsvExampleGen reads: one span-N/ directory of CSV files per "
    "span",
    "range_config": 'the span CsvExampleGen reads: {"rolling_range": {"num_spans": 1}} the latest '
    '(the default), {"static_range": {"start_span_number": N, "end_span_number": N}} span N',
}
# What the Trainer is told about warm start when it gets no base model, by orchestrator.
NO_BASE_MODEL = {
    "local": "no blessed model trained on other data yet",
    "vertex": "no blessed model yet",
    "kfp": "no blessed model trained on other data yet (push destination's state record)",
}


def run_parameter(name: str, default) -> tfx.dsl.experimental.RuntimeParameter:
    """A per-run setting (one of RUN_PARAMETERS) whose default is the compiled setting."""
    value = default if isinstance(default, str) else json.dumps(default)
    return tfx.dsl.experimental.RuntimeParameter(name=name, ptype=str, default=value)


def bigquery_input_config(settings: configs.PipelineSettings) -> dict:
    """The query as one split of BigQueryExampleGen's input_config, on one line."""
    query = " ".join(natality_query(settings.bigquery_table, settings.bigquery_limit).split())
    return {"splits": [{"name": "single_split", "pattern": query}]}


def range_config(span: int | None) -> dict:
    """TFX's RangeConfig for CsvExampleGen: span N, or the latest span (None)."""
    if span is None:
        return {"rolling_range": {"num_spans": 1}}
    return {"static_range": {"start_span_number": int(span), "end_span_number": int(span)}}


def split_config(buckets: dict[str, int]) -> tfx.proto.Output:
    """Hash buckets over the split key, so a row lands in the same split on every run."""
    return tfx.proto.Output(
        split_config=tfx.proto.SplitConfig(
            splits=[
                tfx.proto.SplitConfig.Split(name=name, hash_buckets=n)
                for name, n in buckets.items()
            ],
            partition_feature_name=F.SPLIT_KEY,
        )
    )


def eval_config(settings: configs.PipelineSettings) -> tfma.EvalConfig:
    """Slices overall, by sex, by plurality and by mother-age bucket; RMSE, MAE and count.

    Blessing looks at the Overall slice: an RMSE under the bound and, when a baseline exists,
    no more than the tolerance above the baseline's. Per-slice metrics are reported, not gated:
    a slice of a handful of test rows would decide blessings by noise. Without a baseline
    (use_baseline=False) only the absolute threshold is kept.
    """
    change_threshold = None
    if settings.use_baseline:
        change_threshold = tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.LOWER_IS_BETTER,
            absolute={"value": settings.baseline_rmse_tolerance},
        )
    rmse_threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(
            upper_bound={"value": settings.rmse_upper_bound}
        ),
        change_threshold=change_threshold,
    )
    overall = tfma.SlicingSpec()
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name=F.EXAMPLE_SIGNATURE,
                preprocessing_function_names=[F.TRANSFORM_SIGNATURE],
                label_key=F.LABEL_KEY,
                prediction_key=F.PREDICTION_KEY,
            )
        ],
        slicing_specs=[overall] + [tfma.SlicingSpec(feature_keys=[key]) for key in SLICE_FEATURES],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(class_name="MeanAbsoluteError"),
                    tfma.MetricConfig(
                        class_name="RootMeanSquaredError",
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(
                                slicing_specs=[overall], threshold=rmse_threshold
                            )
                        ],
                    ),
                ]
            )
        ],
    )


def example_gen_of(settings: configs.PipelineSettings):
    """BigQueryExampleGen with the course's query, or CsvExampleGen reading one span of the data
    root (data_root/span-N/*.csv, the span picked by the range_config parameter)."""
    if settings.data_source == "bigquery":
        return BigQueryExampleGen(
            input_config=run_parameter("bigquery_input_config", bigquery_input_config(settings)),
            output_config=split_config(settings.split_buckets),
        )
    return tfx.components.CsvExampleGen(
        input_base=run_parameter("data_root", settings.data_root),
        input_config=tfx.proto.Input(
            splits=[tfx.proto.Input.Split(name="single_split", pattern=f"{SPAN_DIR}/*.csv")]
        ),
        range_config=run_parameter("range_config", range_config(settings.span)),
        output_config=split_config(settings.split_buckets),
    )


def drift_gate_of(settings: configs.PipelineSettings, example_gen, statistics) -> list:
    """[the previous span's statistics (a resolver locally; on OSS KFP the state record's,
    pipeline/baseline.py), DistributionValidator, DriftGate], or [] when drift is off or the
    orchestrator is Vertex."""
    if settings.drift_action == "off" or settings.orchestrator == "vertex":
        return []
    if settings.orchestrator == "kfp":
        previous = kfp_baseline.PreviousStatistics(
            examples=example_gen.outputs["examples"],
            statistics=statistics,
            serving_model_dir=settings.serving_model_dir,
            source="",  # ResolveSpan's answer (babyweight/kfp/spec_patch.py)
        ).with_id("previous_span_statistics")
    else:
        previous = resolvers.previous_span_statistics(example_gen.outputs["examples"])
    validator = drift.distribution_validator(
        statistics,
        previous.outputs["previous_statistics"].as_optional(),  # none for the first span
        settings,
    )
    gate = drift.DriftGate(
        anomalies=validator.outputs["anomalies"], stop=int(settings.drift_action == "stop")
    ).with_id("DriftGate")
    return [previous, validator, gate]


def base_model_of(settings: configs.PipelineSettings, transform, baseline):
    """(base model channel or None, why there is none, resolver nodes to add). Locally: the last
    blessed model trained on other data; on Vertex: the latest blessed model, the baseline (its
    resolver tasks know no other strategy); on OSS KFP: the state record's (pipeline/baseline.py),
    by the local rule."""
    if not settings.warm_start:
        return None, "warm start is off", []
    no_base = NO_BASE_MODEL[settings.orchestrator]
    if settings.orchestrator == "local":
        found = resolvers.base_model(transform.outputs["transformed_examples"])
        return found.outputs["model"], no_base, [found]
    if settings.orchestrator == "vertex":
        return baseline, no_base, []
    found = kfp_baseline.ImportModel(source="", note=no_base).with_id("base_model")
    return found.outputs["model"], no_base, [found]


def data_checks(statistics, schema) -> list:
    """[ExampleValidator, DataReport, DataValidationGate]: compare the statistics with the
    schema, report them (first, so a run the gate stops still shows why), and stop the run on
    any anomaly (the stock validator only records them)."""
    validator = tfx.components.ExampleValidator(statistics=statistics, schema=schema)
    report = DataReport(statistics=statistics, anomalies=validator.outputs["anomalies"]).with_id(
        "DataReport"
    )
    gate = DataValidationGate(anomalies=validator.outputs["anomalies"]).with_id(
        "DataValidationGate"
    )
    gate.add_upstream_node(report)
    return [validator, report, gate]


def span_window_of(settings: configs.PipelineSettings, example_gen, statistics) -> list:
    """[the resolver of the last span_window spans' Examples], or [] for this run's span only."""
    if settings.span_window <= 1:
        return []
    return [resolvers.span_window(example_gen, statistics, settings.span_window)]


def transform_of(examples, schema, gates: list):
    """Transform, after every gate: the feature work, the same graph at training and serving."""
    transform = tfx.components.Transform(
        examples=examples,
        schema=schema,
        preprocessing_fn=configs.PREPROCESSING_FN,
        # Its pre- and post-transform statistics: nothing reads them (StatisticsGen's do the
        # validation, drift and reports), and they took a third of its time.
        disable_statistics=True,
    )
    for upstream in gates:
        transform.add_upstream_node(upstream)
    return transform


def training_inputs(settings: configs.PipelineSettings, transform, schema) -> dict:
    """What the Tuner and the Trainer both read; the step budgets are pipeline parameters."""
    return dict(
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        train_args=run_parameter("train_args", {"num_steps": settings.train_steps}),
        eval_args=run_parameter("eval_args", {"num_steps": settings.eval_steps}),
    )


def tuner_of(settings: configs.PipelineSettings, inputs: dict) -> list:
    """[the Tuner, a random search], or [] when tuning is off."""
    if not settings.enable_tuning:
        return []
    custom = {
        "hyperparameters": settings.hyperparameters,
        "search_space": configs.TUNER_SEARCH_SPACE,
        "max_trials": settings.tuner_trials,
    }
    steps = tfx.proto.TrainArgs(num_steps=settings.tuner_train_steps)
    return [
        tfx.components.Tuner(
            tuner_fn=configs.TUNER_FN, custom_config=custom, **{**inputs, "train_args": steps}
        )
    ]


def baseline_of(settings: configs.PipelineSettings) -> list:
    """[the resolver of the latest blessed model, the Evaluator's baseline; on OSS KFP, which
    runs no resolver, the newest pushed version (pipeline/baseline.py)], or []."""
    if not settings.use_baseline:
        return []
    if settings.orchestrator == "kfp":
        return [
            kfp_baseline.ImportModel(source="", note="no blessed model yet").with_id(
                "baseline_model"
            )
        ]
    return [
        tfx.dsl.Resolver(
            strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
            model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
            model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
        ).with_id("latest_blessed_model_resolver")
    ]


def evaluator_of(settings: configs.PipelineSettings, example_gen, trainer, baseline_model):
    """The Evaluator on the held-out split, against the baseline when there is one."""
    return tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=baseline_model,
        eval_config=eval_config(settings),
        example_splits=[configs.EVAL_SPLIT],
    )


def edge_export_of(settings: configs.PipelineSettings, trainer, transform, example_gen, blessing):
    """The blessed model as TFLite variants on built-in ops, each gated on its test RMSE."""
    return EdgeExport(
        model=trainer.outputs["model"],
        transform_graph=transform.outputs["transform_graph"],
        examples=example_gen.outputs["examples"],
        blessing=blessing,
        float_tolerance=settings.edge_tolerances["float"],
        int8_tolerance=settings.edge_tolerances["int8"],
    ).with_id("EdgeExport")


def pusher_of(settings: configs.PipelineSettings, model, blessing, edge_model, examples):
    """Copy a blessed model (and its passing edge variants) to the serving directory (the stock
    Pusher skips unblessed ones), unless it is already the newest version there (a cached
    rerun); then the batch job fills its prediction table (from `examples`, the ones the model
    was trained on, when the table holds the most frequent combinations)."""
    destination = tfx.proto.PushDestination(
        filesystem=tfx.proto.PushDestination.Filesystem(base_directory=settings.serving_model_dir)
    )
    return ServingPusher(
        model=model,
        model_blessing=blessing,
        edge_model=edge_model,
        push_destination=destination,
        examples=examples,
        prediction_table_rows=settings.prediction_table_rows,
    ).with_id("Pusher")


def record_push_of(settings: configs.PipelineSettings, pusher, example_gen) -> list:
    """[RecordPush] on OSS KFP: what a push was trained on, for the next run's ResolveSpan
    (pipeline/baseline.py); [] elsewhere (ML Metadata holds it)."""
    if settings.orchestrator != "kfp":
        return []
    return [
        kfp_baseline.RecordPush(
            pushed_model=pusher.outputs["pushed_model"],
            examples=example_gen.outputs["examples"],
            serving_model_dir=settings.serving_model_dir,
        ).with_id("RecordPush")
    ]


def create_pipeline(
    settings: configs.PipelineSettings, metadata_connection_config=None
) -> tfx.dsl.Pipeline:
    """The DAG (the module docstring draws it); the local runner passes its MLMD connection."""
    # Read the data (one span of it) and split it by hash of the split key (train/eval/test).
    example_gen = example_gen_of(settings)
    # Statistics of every split: input to validation, drift and the reports.
    statistics_gen = tfx.components.StatisticsGen(
        examples=example_gen.outputs["examples"], stats_options=drift.statistics_options()
    )
    statistics = statistics_gen.outputs["statistics"]
    # The curated schema kept in the repo, not a fresh inference that would accept any data.
    schema_gen = tfx.components.ImportSchemaGen(schema_file=settings.schema_path)
    schema = schema_gen.outputs["schema"]
    # Anomalies against the schema stop the run; so does drift from the previous span.
    validator, data_report, gate = data_checks(statistics, schema)
    drift_nodes = drift_gate_of(settings, example_gen, statistics)
    # The examples to learn from: this run's span, or the last span_window spans.
    window = span_window_of(settings, example_gen, statistics)
    examples = (window[0] if window else example_gen).outputs["examples"]
    transform = transform_of(examples, schema, [gate, *drift_nodes[-1:]])
    # Optional hyperparameter search; the Trainer then uses its best values.
    inputs = training_inputs(settings, transform, schema)
    tuner = tuner_of(settings, inputs)
    # The last blessed model is the baseline, and (settings allowing) the warm start.
    baseline = baseline_of(settings)
    baseline_model = baseline[0].outputs["model"] if baseline else None
    base_model, no_base, found = base_model_of(settings, transform, baseline_model)
    # Wide-and-deep Keras model under MirroredStrategy (models/model.py).
    trainer = tfx.components.Trainer(
        run_fn=configs.RUN_FN,
        hyperparameters=tuner[0].outputs["best_hyperparameters"] if tuner else None,
        base_model=base_model,
        custom_config={"hyperparameters": settings.hyperparameters, "no_base_model": no_base},
        **inputs,
    )
    # Metrics per slice on the held-out test split, and the blessing.
    evaluator = evaluator_of(settings, example_gen, trainer, baseline_model)
    evaluation, blessing = evaluator.outputs["evaluation"], evaluator.outputs["blessing"]
    # The blessed model as built-in-only TFLite variants for phones, each gated on test accuracy.
    edge = edge_export_of(settings, trainer, transform, example_gen, blessing)
    pusher = pusher_of(
        settings, trainer.outputs["model"], blessing, edge.outputs["edge_model"], examples
    )
    # What the KFP UI shows of the run: report, summary and the Overall metrics.
    anomalies = validator.outputs["anomalies"]
    run_report = RunReport(
        statistics=statistics, anomalies=anomalies, evaluation=evaluation, blessing=blessing
    ).with_id("RunReport")
    components = [example_gen, statistics_gen, schema_gen, validator, data_report, gate]
    components += [*drift_nodes, *window, transform, *tuner, *baseline, *found, trainer]
    components += record_push_of(settings, pusher, example_gen)
    return tfx.dsl.Pipeline(
        pipeline_name=settings.pipeline_name,
        pipeline_root=settings.pipeline_root,
        components=[*components, evaluator, edge, pusher, run_report],
        enable_cache=settings.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(settings.beam_pipeline_args),
    )
