"""Every setting of the pipeline, in one place.

The constants are the defaults. SETTINGS declares each setting a person can change once: its
flag, environment variable, type, default, check and help; both runners' argparse, the
environment table and the checks are made from it. Runners hand one `PipelineSettings` to
`create_pipeline` (kubeflow_runner.py through `CloudSettings`, which adds where the pipeline runs).
Nothing here touches the environment or the network.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from babyweight import gcs_paths
from babyweight.layout import DEFAULT_OUTPUT, MODEL_NAME, PIPELINE_NAME, SPEC_FILE  # noqa: F401
from babyweight.schema import SCHEMA_PATH

REPO_ROOT = Path(__file__).resolve().parent.parent

# Inputs.
DEFAULT_DATA = REPO_ROOT / "data" / "births.csv"
DATA_SOURCES = ("csv", "bigquery")
BIGQUERY_TABLE = "bigquery-public-data.samples.natality"
BIGQUERY_ROW_LIMIT = None  # e.g. 100_000 for a sample of the table

# Spans: a --data directory whose subdirectories match SPAN_PATTERN ({SPAN} is the span number,
# TFX's placeholder) holds one span of data per subdirectory, e.g. data/span-7/*.csv. A span is
# complete once its SPAN_MARKER file exists: whatever delivers a span writes the marker last
# (as Hadoop, Spark and BigQuery exports do). Each run reads one span, the latest complete one
# unless told (local_runner.py --span N; KFP: the range_config parameter).
SPAN_PATTERN = "span-{SPAN}"
SPAN_MARKER = "_SUCCESS"
# Train on the last SPAN_WINDOW spans (1: the run's span only). ExampleGen reads one span per
# run; a window of K > 1 gathers the Examples of the last K spans this output has read, through
# a resolver (local runs only: KFP and Vertex cannot run it).
SPAN_WINDOW = 1
WATCH_POLL_SECONDS = 30.0  # local_runner.py --watch: how often it looks for a new span

# Code, by dotted path: no run-time wheel of a module file is built.
PREPROCESSING_FN = "preprocessing.preprocessing_fn"
RUN_FN = "models.model.run_fn"
TUNER_FN = "models.model.tuner_fn"

# Hash-bucket split of ExampleGen's output: 80% train, 10% eval, 10% test.
SPLIT_BUCKETS = {"train": 8, "eval": 1, "test": 1}
EVAL_SPLIT = "test"  # the Evaluator scores the split that neither Trainer nor Tuner saw
# The course's year-month split key is kept only when it gives every split its share: at least
# this many distinct year-months, and each split's fraction within SPLIT_TOLERANCE of its share
# (babyweight/local/splits.py). Otherwise the key is a fingerprint of the row.
YEAR_MONTH_MIN_KEYS = 20
SPLIT_TOLERANCE = 0.03
# A run whose test split would hold fewer rows stops before training: an RMSE of a handful of
# rows would bless or refuse a model by noise.
MIN_TEST_ROWS = 20

# Training.
TRAIN_STEPS = 1500
EVAL_STEPS = 50
HYPERPARAMETERS = {
    "learning_rate": 0.003,
    "hidden_units": [64, 32],
    "embedding_dim": 4,
    "batch_size": 64,
}
ENABLE_TUNING = False
TUNER_TRIALS = 6
TUNER_TRAIN_STEPS = 300
TUNER_SEARCH_SPACE = {  # the Tuner's random search: hyperparameter -> its choices
    "learning_rate": [0.001, 0.003, 0.01],
    "hidden_units": ["32,16", "64,32", "128,64"],
    "embedding_dim": [2, 4, 8],
}

# Continuous training. The Trainer starts from the weights of the last blessed model trained on
# other data when the model configuration (features, buckets, crosses, hidden units, embedding
# size) is unchanged; otherwise it trains from scratch and says why.
WARM_START = True
# Drift between spans: the new span's statistics (split DRIFT_SPLIT) against the previous span's,
# with TFDV's drift comparators (L-infinity for categorical features, approximate Jensen-Shannon
# divergence for numeric ones) under these thresholds. DRIFT_ACTION "stop" ends the run before
# Transform (exit 7), "warn" names the drifted features and goes on, "off" leaves the check out.
DRIFT_ACTIONS = ("stop", "warn", "off")
DRIFT_ACTION = "stop"
DRIFT_THRESHOLDS = {"categorical_linf": 0.1, "numeric_jensen_shannon": 0.15}
DRIFT_SPLIT = "train"
# Where the DAG runs decides which resolvers it may hold: LocalDagRunner runs any TFX resolver
# strategy; Vertex AI Pipelines only LatestArtifactStrategy and LatestBlessedModelStrategy; OSS
# KFP v2 none.
ORCHESTRATORS = ("local", "vertex", "kfp")

# Evaluation: a model is blessed when its RMSE on every slice listed in SLICES is known, the
# overall RMSE is under the bound, and it is not worse than the last blessed model by more than
# the tolerance (both in pounds).
RMSE_UPPER_BOUND = 2.0
BASELINE_RMSE_TOLERANCE = 0.05
# Edge (TFLite) variants are pushed only when their test RMSE is within this many pounds of the
# SavedModel's: "float" for float32, dynamic_range and float16, "int8" for full-integer.
EDGE_TOLERANCES = {"float": 0.005, "int8": 0.05}
# The prediction table the Pusher has the batch job fill beside each pushed version
# (babyweight/prediction_table.py): the whole input domain (25,110 rows today) when it has at most
# this many rows, else this many of the combinations most frequent in the training data.
PREDICTION_TABLE_ROWS = 1_000_000

# Beam, for the heavy steps (statistics, Transform, Evaluator). One in-process worker locally.
LOCAL_BEAM_ARGS = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


# Kubeflow Pipelines v2 and Vertex AI Pipelines (kubeflow_runner.py, babyweight/kfp/).
KFP_TARGETS = {
    "vertex": "Vertex AI Pipelines: the DAG with the baseline resolver (also the warm start)",
    "kfp": "OSS KFP v2 (AI Platform Pipelines / Kubeflow): no resolver; the baseline, warm "
    "start and previous span's statistics come from the push destination and its state record",
}
DEFAULT_KFP_TARGET = "vertex"  # what `tfx pipeline compile/create --engine vertex` compiles
BEAM_RUNNERS = ("dataflow", "direct")  # the heavy steps on Dataflow, or in the component's pod
DEFAULT_BEAM_RUNNER = "dataflow"
GCP_REGION = "us-central1"
DATAFLOW_MAX_WORKERS = 4
KFP_SPEC_FILE = SPEC_FILE  # the compiled PipelineJob, in the working directory
# The pipeline image (Dockerfile): the project is copied to IMAGE_PROJECT_DIR, and every path a
# component reads at run time must exist there.
DEFAULT_IMAGE = "gcr.io/{project}/babyweight-pipeline:latest"
IMAGE_PROJECT_DIR = "/pipeline"
IMAGE_SCHEMA_PATH = f"{IMAGE_PROJECT_DIR}/babyweight/schema.pbtxt"

# -- Each setting, declared once ----------------------------------------------------------------
# The runners' argparse (babyweight/local/cli.py, kubeflow_runner.py), the environment table
# (CLOUD_ENV), the checks of PipelineSettings and CloudSettings, and the docs' settings page are
# made from SETTINGS. A setting with no runner is not a flag: only code sets it.
LOCAL, KUBEFLOW = "local", "kubeflow"
RUNNERS = (LOCAL, KUBEFLOW)


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting: its field (and argparse dest), flag, environment variable, type, default,
    check and help, and the runners that take it as a flag."""

    name: str
    default: Any
    help: str
    type: Callable[[str], Any] = str  # bool: a switch that sets the opposite of the default
    choices: tuple = ()
    minimum: float | None = None  # the least value allowed
    above: float | None = None  # the value must be more than this
    flag: str = ""  # default: --NAME, underscores as dashes (none for a setting of no runner)
    env: str | None = None  # what kubeflow_runner.py reads (the stock tfx CLI passes no flags)
    runners: tuple[str, ...] = RUNNERS
    flags: Mapping[str, str] = dataclasses.field(default_factory=dict)  # runner -> its spelling
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # runner -> its default

    def __post_init__(self):
        if not self.flag and self.runners:  # the usual spelling: --NAME, underscores as dashes
            object.__setattr__(self, "flag", "--" + self.name.replace("_", "-"))

    def flag_for(self, runner: str) -> str:
        return self.flags.get(runner) or self.flag

    def default_for(self, runner: str) -> Any:
        return self.defaults.get(runner, self.default)

    def problem(self, value) -> str | None:
        """What is wrong with a value, in words; None when it is allowed (None is: not set)."""
        if value is None:
            return None
        if self.choices and value not in self.choices:
            return f"must be one of {tuple(self.choices)}"
        if self.minimum is not None and float(value) < self.minimum:
            return f"must be at least {self.minimum:g}"
        if self.above is not None and float(value) <= self.above:
            return f"must be more than {self.above:g}"
        return None

    def add_to(self, parser: argparse.ArgumentParser, runner: str, default: Any) -> None:
        """This setting's flag on a runner's parser, its value under args.NAME."""
        shown = self.default_for(runner)
        if isinstance(shown, Path) and shown.is_relative_to(REPO_ROOT):
            shown = shown.relative_to(REPO_ROOT)  # data/births.csv, not this checkout's path
        help_text = self.help + (f" (default: {shown})" if shown not in (None, False) else "")
        if runner == KUBEFLOW and self.env:
            help_text += f" [{self.env}]"
        kwargs: dict[str, Any] = dict(dest=self.name, default=default, help=help_text)
        if self.type is bool:
            kwargs["action"] = "store_false" if self.default else "store_true"
            kwargs["help"] = self.help
        else:
            metavar = self.flag_for(runner).lstrip("-").replace("-", "_").upper()
            kwargs.update(type=self.type, metavar=None if self.choices else metavar)
            if self.choices:
                kwargs["choices"] = self.choices
        parser.add_argument(self.flag_for(runner), **kwargs)


# fmt: off
SETTINGS = (
    # Input.
    Setting("data", DEFAULT_DATA, "CSV file or directory of CSVs, with the samples.natality or "
            "the CDC columns; a directory of span-N/ directories holds spans", type=Path,
            runners=(LOCAL,)),
    Setting("mapping", None, "TOML file mapping the CSV's own columns, units and codes to the "
            "model's features (see `babyweight inspect FILE`); default: the header's built-in "
            "format", type=Path, runners=(LOCAL,)),
    Setting("output", DEFAULT_OUTPUT, "where the pipeline root, MLMD, serving models and logs "
            "go", type=Path, runners=(LOCAL,)),
    Setting("metadata", None, "the ML Metadata store: a path (SQLite) or "
            "mysql://user[:password]@host:port/database (default: OUTPUT/metadata.sqlite)",
            env="BABYWEIGHT_METADATA", runners=(LOCAL,)),
    Setting("span", None, "the span of --data to run, its span-N/ directory (default: the "
            "latest complete)", type=int, minimum=0, runners=(LOCAL,)),
    Setting("data_source", "csv", "where the examples come from", choices=DATA_SOURCES,
            flag="--source", env="BABYWEIGHT_DATA_SOURCE", defaults={KUBEFLOW: "bigquery"}),
    Setting("data_root", None, "directory of staged CSV files (span-N/ directories), for "
            "--source csv", env="BABYWEIGHT_DATA_ROOT", runners=(KUBEFLOW,)),
    Setting("bigquery_table", BIGQUERY_TABLE, "BigQuery table, for --source bigquery",
            flag="--bq-table", env="BABYWEIGHT_BQ_TABLE"),
    Setting("bigquery_limit", BIGQUERY_ROW_LIMIT, "read at most this many rows of the table",
            type=int, minimum=1, flag="--bq-limit", env="BABYWEIGHT_BQ_LIMIT"),
    # Google Cloud.
    Setting("target", DEFAULT_KFP_TARGET, "where the compiled pipeline runs",
            choices=tuple(KFP_TARGETS), env="BABYWEIGHT_TARGET", runners=(KUBEFLOW,)),
    Setting("project", None, "GCP project (local_runner.py: --gcp-project): BigQuery's billing "
            "project; on KFP/Vertex also Dataflow's and the default image's",
            flag="--project", flags={LOCAL: "--gcp-project"},
            env="BABYWEIGHT_GCP_PROJECT"),
    Setting("region", GCP_REGION, "GCP region", env="BABYWEIGHT_GCP_REGION", runners=(KUBEFLOW,)),
    Setting("bucket", None, "GCS bucket: the default for every gs:// path",
            env="BABYWEIGHT_GCS_BUCKET", runners=(KUBEFLOW,)),
    Setting("temp_location", None, "gs:// temp location for Dataflow and BigQuery",
            env="BABYWEIGHT_TEMP_LOCATION"),
    Setting("pipeline_root", None, "where components write artifacts",
            env="BABYWEIGHT_PIPELINE_ROOT", runners=(KUBEFLOW,)),
    Setting("serving_model_dir", None, "where the Pusher copies blessed models",
            env="BABYWEIGHT_SERVING_MODEL_DIR", runners=(KUBEFLOW,)),
    Setting("image", None, f"pipeline image (default with --project: {DEFAULT_IMAGE})",
            env="BABYWEIGHT_IMAGE", runners=(KUBEFLOW,)),
    Setting("beam_runner", DEFAULT_BEAM_RUNNER, "where Beam runs the heavy steps",
            choices=BEAM_RUNNERS, env="BABYWEIGHT_BEAM_RUNNER", runners=(KUBEFLOW,)),
    Setting("schema_path", IMAGE_SCHEMA_PATH, "the curated schema file ImportSchemaGen reads",
            env="BABYWEIGHT_SCHEMA_PATH", runners=(KUBEFLOW,),
            defaults={LOCAL: str(SCHEMA_PATH)}),
    # Training.
    Setting("train_steps", TRAIN_STEPS, "the Trainer's step budget", type=int, minimum=1,
            env="BABYWEIGHT_TRAIN_STEPS"),
    Setting("eval_steps", EVAL_STEPS, "validation steps after each epoch", type=int, minimum=1,
            env="BABYWEIGHT_EVAL_STEPS"),
    Setting("enable_tuning", ENABLE_TUNING, "run the Tuner and train with its best "
            "hyperparameters", type=bool, flag="--tune"),
    Setting("tuner_trials", TUNER_TRIALS, "the Tuner's trials", type=int, minimum=1,
            runners=(LOCAL,)),
    Setting("tuner_train_steps", TUNER_TRAIN_STEPS, "training steps of each Tuner trial",
            type=int, minimum=1, runners=(LOCAL,)),
    # Continuous training.
    Setting("span_window", SPAN_WINDOW, "train on the last K spans this output has read",
            type=int, minimum=1, runners=(LOCAL,)),
    Setting("drift_action", DRIFT_ACTION, "drift from the previous span stops the run, only "
            "warns, or is not checked", choices=DRIFT_ACTIONS, flag="--on-drift",
            runners=(LOCAL,)),
    Setting("warm_start", WARM_START, "train from scratch, not from the last blessed model's "
            "weights", type=bool, flag="--no-warm-start", runners=(LOCAL,)),
    Setting("poll", WATCH_POLL_SECONDS, "--watch: seconds between looks for a new span",
            type=float, above=0, runners=(LOCAL,)),
    # Serving.
    Setting("prediction_table_rows", PREDICTION_TABLE_ROWS, "the most rows of a pushed version's "
            "prediction table: the whole input domain when it is no larger, else this many of the "
            "combinations most frequent in the training data", type=int, minimum=1,
            env="BABYWEIGHT_PREDICTION_TABLE_ROWS"),
    Setting("enable_cache", True, "caching off: every component runs again", type=bool,
            flag="--no-cache"),
    # Set by code only.
    Setting("orchestrator", "local", "where the DAG runs: which resolvers it may hold",
            choices=ORCHESTRATORS, runners=()),
    Setting("rmse_upper_bound", RMSE_UPPER_BOUND, "a blessed model's RMSE is below this (lb)",
            type=float, above=0, runners=()),
    Setting("baseline_rmse_tolerance", BASELINE_RMSE_TOLERANCE, "how much worse than the last "
            "blessed model a blessed one may be (lb)", type=float, minimum=0, runners=()),
)
# fmt: on
BY_NAME = {s.name: s for s in SETTINGS}
CLOUD_ENV = {s.name: s.env for s in SETTINGS if s.env}  # field -> its environment variable


def settings_of(runner: str) -> tuple[Setting, ...]:
    """The settings a runner takes as flags, in the order of SETTINGS."""
    return tuple(s for s in SETTINGS if runner in s.runners)


def add_settings(parser: argparse.ArgumentParser, runner: str, unset: bool = False) -> None:
    """The runner's flags, one per setting; `unset`: every default None (not given), so that the
    environment and the setting's default can apply after parsing."""
    for setting in settings_of(runner):
        setting.add_to(parser, runner, None if unset else setting.default_for(runner))


def _check(settings, names) -> None:
    """ValueError naming the first setting among `names` whose value is not allowed."""
    for name in names:
        value = getattr(settings, name)
        problem = BY_NAME[name].problem(value)
        if problem:
            raise ValueError(f"{name}={value!r}: {problem}")


@dataclasses.dataclass(frozen=True)
class PipelineSettings:
    """What one pipeline run needs; every runner builds one of these."""

    pipeline_root: str
    serving_model_dir: str
    data_source: str = "csv"
    data_root: str | None = None  # a directory of CSV files, for data_source == "csv"
    bigquery_table: str = BIGQUERY_TABLE  # for data_source == "bigquery"
    bigquery_limit: int | None = BIGQUERY_ROW_LIMIT
    pipeline_name: str = PIPELINE_NAME
    schema_path: str = str(SCHEMA_PATH)
    train_steps: int = TRAIN_STEPS
    eval_steps: int = EVAL_STEPS
    hyperparameters: dict = dataclasses.field(default_factory=lambda: dict(HYPERPARAMETERS))
    enable_tuning: bool = ENABLE_TUNING
    tuner_trials: int = TUNER_TRIALS
    tuner_train_steps: int = TUNER_TRAIN_STEPS
    rmse_upper_bound: float = RMSE_UPPER_BOUND
    baseline_rmse_tolerance: float = BASELINE_RMSE_TOLERANCE
    # Without a baseline the Evaluator keeps only its absolute threshold. (OSS KFP v2 runs no
    # resolver: its baseline comes from the push destination, pipeline/baseline.py.)
    use_baseline: bool = True
    split_buckets: dict = dataclasses.field(default_factory=lambda: dict(SPLIT_BUCKETS))
    # The span CsvExampleGen reads: a number, or None for the latest span under data_root.
    span: int | None = None
    span_window: int = SPAN_WINDOW
    warm_start: bool = WARM_START
    drift_action: str = DRIFT_ACTION
    drift_thresholds: dict = dataclasses.field(default_factory=lambda: dict(DRIFT_THRESHOLDS))
    orchestrator: str = "local"
    beam_pipeline_args: tuple[str, ...] = tuple(LOCAL_BEAM_ARGS)
    enable_cache: bool = True
    edge_tolerances: dict = dataclasses.field(default_factory=lambda: dict(EDGE_TOLERANCES))
    prediction_table_rows: int = PREDICTION_TABLE_ROWS

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Fail early, naming the setting and its value, rather than deep inside a component."""
        fields = {f.name for f in dataclasses.fields(self)}
        _check(self, [s.name for s in SETTINGS if s.name in fields])
        if self.data_source == "csv" and not self.data_root:
            raise ValueError("data_source='csv' needs data_root (a directory of CSV files)")
        if set(self.split_buckets) != set(SPLIT_BUCKETS):
            raise ValueError(
                f"split_buckets={self.split_buckets!r}: needs exactly the splits "
                f"{sorted(SPLIT_BUCKETS)}"
            )
        if any(n < 1 for n in self.split_buckets.values()):
            raise ValueError(f"split_buckets={self.split_buckets!r}: every split needs a bucket")
        if (
            set(self.edge_tolerances) != set(EDGE_TOLERANCES)
            or min(self.edge_tolerances.values()) < 0
        ):
            raise ValueError(f"edge_tolerances={self.edge_tolerances!r}: need float, int8 >= 0")
        missing = set(HYPERPARAMETERS) - set(self.hyperparameters)
        if missing:
            raise ValueError(f"hyperparameters: missing {sorted(missing)}")
        if self.span_window > 1 and self.orchestrator != "local":
            raise ValueError(
                f"span_window={self.span_window}: a window of spans needs a resolver that "
                f"{self.orchestrator} cannot run; use 1"
            )
        if set(self.drift_thresholds) != set(DRIFT_THRESHOLDS):
            raise ValueError(
                f"drift_thresholds={self.drift_thresholds!r}: needs exactly "
                f"{sorted(DRIFT_THRESHOLDS)}"
            )
        if any(not 0 < float(v) <= 1 for v in self.drift_thresholds.values()):
            raise ValueError(f"drift_thresholds={self.drift_thresholds!r}: each in (0, 1]")


PIPELINE_FIELDS = frozenset(f.name for f in dataclasses.fields(PipelineSettings))


@dataclasses.dataclass(frozen=True)
class CloudSettings:
    """Where and how the compiled pipeline runs on KFP v2 or Vertex: the cloud's own settings,
    next to the `pipeline` settings they lead to.

    `bucket` is a shortcut: pipeline root, serving directory, Dataflow temp location and CSV data
    default to folders under gs://BUCKET/babyweight/. Explicit values win.
    """

    pipeline: PipelineSettings
    target: str = DEFAULT_KFP_TARGET
    project: str | None = None
    region: str = GCP_REGION
    bucket: str | None = None
    image: str | None = None
    temp_location: str | None = None
    beam_runner: str = DEFAULT_BEAM_RUNNER

    @classmethod
    def resolve(cls, flags: Mapping[str, object], env: Mapping[str, str]) -> CloudSettings:
        """Flags (None: not given) over environment variables over defaults, then derived paths.

        Raises one ValueError that names every wrong or missing setting, each with its flag and
        its variable, so that one attempt shows everything to fix.
        """
        values, problems = _given(flags, env)
        _derive(values)
        problems += cloud_problems(values)
        if problems:
            raise ValueError(f"{len(problems)} setting(s) to fix: " + "; ".join(problems))
        own = {f.name: values[f.name] for f in dataclasses.fields(cls) if f.name != "pipeline"}
        pipeline = PipelineSettings(
            **{k: v for k, v in values.items() if k in PIPELINE_FIELDS},
            use_baseline=True,
            orchestrator=values["target"],
            beam_pipeline_args=cloud_beam_args(values),
        )
        return cls(pipeline=pipeline, **own)

    @property
    def use_baseline(self) -> bool:
        return self.pipeline.use_baseline

    def pipeline_settings(self, **changes) -> PipelineSettings:
        """The PipelineSettings of this target, with `changes` (e.g. enable_cache=False)."""
        return dataclasses.replace(self.pipeline, **changes)


def _given(flags: Mapping[str, object], env: Mapping[str, str]) -> tuple[dict, list[str]]:
    """Each kubeflow setting's value: its flag, else its variable, else its default."""
    values: dict[str, object] = {}
    problems = []
    for setting in settings_of(KUBEFLOW):
        value = flags.get(setting.name)
        if value is None and setting.env and env.get(setting.env):
            value = env[setting.env]
            try:
                value = setting.type(value)
            except ValueError:
                problems.append(f"{setting.env}={value!r}: {setting.name} must be a number")
                value = None
        values[setting.name] = setting.default_for(KUBEFLOW) if value is None else value
    return values, problems


def _derive(values: dict) -> None:
    """The paths under gs://BUCKET/babyweight/ and the default image, where not set."""
    if values.get("bucket"):
        bucket = str(values["bucket"]).removeprefix("gs://").rstrip("/")
        values["bucket"] = bucket
        base = f"gs://{bucket}/{PIPELINE_NAME}"
        derived = {
            "pipeline_root": f"{base}/pipeline_root",
            "serving_model_dir": f"{base}/serving_model/{MODEL_NAME}",
            "temp_location": f"{base}/tmp",
        }
        if values.get("data_source") == "csv":
            derived["data_root"] = f"{base}/data"
        for name, path in derived.items():
            values[name] = values.get(name) or path
    if values.get("project") and not values.get("image"):
        values["image"] = DEFAULT_IMAGE.format(project=values["project"])


def _where(name: str) -> str:
    setting = BY_NAME[name]
    return f"{setting.flag_for(KUBEFLOW)} or {setting.env}"


# The settings that name a place on GCS: each is checked by GCS's naming rules and by what TF
# 2.16 in the image can write (babyweight/gcs_paths.py).
GCS_PATH_SETTINGS = ("pipeline_root", "serving_model_dir", "temp_location", "data_root")


def cloud_problems(values: Mapping[str, object]) -> list[str]:
    """Every wrong or missing setting, each in words with its flag and variable."""
    found: list[str] = []
    for setting in settings_of(KUBEFLOW):
        value = values.get(setting.name)
        problem = setting.problem(value)
        if problem:
            found.append(f"{setting.name}={value!r} ({_where(setting.name)}): {problem}")

    def need(name: str, why: str) -> None:
        if not values.get(name) and not any(p.startswith(f"{name} is not set") for p in found):
            found.append(f"{name} is not set ({_where(name)}): {why}")

    need("pipeline_root", "where every component writes its artifacts (or set --bucket)")
    need("serving_model_dir", "where the Pusher copies a blessed model (or set --bucket)")
    need("image", "the pipeline image every task runs (or set --project for the default)")
    root = values.get("pipeline_root")
    if values.get("target") == "vertex" and root and not str(root).startswith("gs://"):
        found.append(f"pipeline_root={root!r}: Vertex AI Pipelines needs a gs:// root")
    if values.get("beam_runner") == "dataflow":
        for name in ("project", "region", "temp_location"):
            need(name, "the Dataflow runner needs it")
    if values.get("data_source") == "bigquery":
        for name in ("project", "temp_location"):
            need(name, "the BigQuery source needs it")
    if values.get("data_source") == "csv":
        need("data_root", "the directory of staged CSV files that CsvExampleGen reads")
    temp = values.get("temp_location")
    if temp and not str(temp).startswith("gs://"):
        found.append(f"temp_location={temp!r}: must be a gs:// path")
    paths = {name: values.get(name) for name in GCS_PATH_SETTINGS}
    found += gcs_paths.problems(paths, values.get("bucket"), _where)
    return found


def cloud_beam_args(values: Mapping[str, object]) -> tuple[str, ...]:
    """Beam args of the heavy steps (ExampleGen, StatisticsGen, Transform, Evaluator)."""
    project, temp = values["project"], values["temp_location"]
    if values["beam_runner"] == "direct":
        args = list(LOCAL_BEAM_ARGS)
        if values["data_source"] == "bigquery":  # BigQuery export needs a project and a bucket
            args += [f"--project={project}", f"--temp_location={temp}"]
        return tuple(args)
    return (
        "--runner=DataflowRunner",
        f"--project={project}",
        f"--region={values['region']}",
        f"--temp_location={temp}",
        # Dataflow workers run the pipeline image too, so preprocessing.py imports there.
        f"--sdk_container_image={values['image']}",
        "--experiments=use_runner_v2",
        f"--max_num_workers={DATAFLOW_MAX_WORKERS}",
    )
