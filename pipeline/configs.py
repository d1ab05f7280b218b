"""Every setting of the pipeline, in one place.

Runners read these defaults, let flags or the environment override them, and hand one
`PipelineSettings` to `create_pipeline`. Nothing here touches the environment or the network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from babyweight.kfp.spec import SPEC_FILE
from babyweight.layout import DEFAULT_OUTPUT, MODEL_NAME, PIPELINE_NAME  # noqa: F401
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
# (pipeline/splits.py). Otherwise the key is a fingerprint of the row.
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

# Beam, for the heavy steps (statistics, Transform, Evaluator). One in-process worker locally.
LOCAL_BEAM_ARGS = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def _require_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r}: must be one of {tuple(choices)}")


def _require_positive(settings, *names: str) -> None:
    for name in names:
        if int(getattr(settings, name)) < 1:
            raise ValueError(f"{name}={getattr(settings, name)!r}: must be at least 1")


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
    # OSS KFP v2 cannot run the resolver that finds the baseline: without it the Evaluator keeps
    # only its absolute threshold.
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

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Fail early, naming the setting and its value, rather than deep inside a component."""
        _require_choice("data_source", self.data_source, DATA_SOURCES)
        if self.data_source == "csv" and not self.data_root:
            raise ValueError("data_source='csv' needs data_root (a directory of CSV files)")
        _require_positive(self, "train_steps", "eval_steps", "tuner_trials", "tuner_train_steps")
        if self.bigquery_limit is not None:
            _require_positive(self, "bigquery_limit")
        if set(self.split_buckets) != set(SPLIT_BUCKETS):
            raise ValueError(
                f"split_buckets={self.split_buckets!r}: needs exactly the splits "
                f"{sorted(SPLIT_BUCKETS)}"
            )
        if any(n < 1 for n in self.split_buckets.values()):
            raise ValueError(f"split_buckets={self.split_buckets!r}: every split needs a bucket")
        if self.rmse_upper_bound <= 0:
            raise ValueError(f"rmse_upper_bound={self.rmse_upper_bound!r}: must be positive")
        if self.baseline_rmse_tolerance < 0:
            raise ValueError(
                f"baseline_rmse_tolerance={self.baseline_rmse_tolerance!r}: must be >= 0"
            )
        if (
            set(self.edge_tolerances) != set(EDGE_TOLERANCES)
            or min(self.edge_tolerances.values()) < 0
        ):
            raise ValueError(f"edge_tolerances={self.edge_tolerances!r}: need float, int8 >= 0")
        missing = set(HYPERPARAMETERS) - set(self.hyperparameters)
        if missing:
            raise ValueError(f"hyperparameters: missing {sorted(missing)}")
        self._validate_continuous_training()

    def _validate_continuous_training(self) -> None:
        _require_choice("orchestrator", self.orchestrator, ORCHESTRATORS)
        _require_choice("drift_action", self.drift_action, DRIFT_ACTIONS)
        if self.span is not None and int(self.span) < 0:
            raise ValueError(f"span={self.span!r}: must be 0 or more")
        _require_positive(self, "span_window")
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


# Kubeflow Pipelines v2 and Vertex AI Pipelines (kubeflow_runner.py, babyweight/kfp_cli.py).
# The runner fills CloudSettings from flags, then the environment variables of CLOUD_ENV, then
# these defaults; nothing here reads the environment.
KFP_TARGETS = {
    "vertex": "Vertex AI Pipelines: the DAG with the baseline resolver (also the warm start)",
    "kfp": "OSS KFP v2 (AI Platform Pipelines / Kubeflow): no resolver, so no baseline model; "
    "the Evaluator keeps only its absolute threshold",
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
CLOUD_ENV = {  # CloudSettings field -> environment variable that sets it
    "target": "BABYWEIGHT_TARGET",
    "project": "BABYWEIGHT_GCP_PROJECT",
    "region": "BABYWEIGHT_GCP_REGION",
    "bucket": "BABYWEIGHT_GCS_BUCKET",
    "pipeline_root": "BABYWEIGHT_PIPELINE_ROOT",
    "serving_model_dir": "BABYWEIGHT_SERVING_MODEL_DIR",
    "image": "BABYWEIGHT_IMAGE",
    "temp_location": "BABYWEIGHT_TEMP_LOCATION",
    "data_source": "BABYWEIGHT_DATA_SOURCE",
    "data_root": "BABYWEIGHT_DATA_ROOT",
    "bigquery_table": "BABYWEIGHT_BQ_TABLE",
    "bigquery_limit": "BABYWEIGHT_BQ_LIMIT",
    "beam_runner": "BABYWEIGHT_BEAM_RUNNER",
    "schema_path": "BABYWEIGHT_SCHEMA_PATH",
    "train_steps": "BABYWEIGHT_TRAIN_STEPS",
    "eval_steps": "BABYWEIGHT_EVAL_STEPS",
}


@dataclasses.dataclass(frozen=True)
class CloudSettings:
    """Where and how the compiled pipeline runs on KFP v2 or Vertex.

    `bucket` is a shortcut: pipeline root, serving directory, Dataflow temp location and CSV data
    default to folders under gs://BUCKET/babyweight/. Explicit values win.
    """

    target: str = DEFAULT_KFP_TARGET
    project: str | None = None
    region: str = GCP_REGION
    bucket: str | None = None
    pipeline_root: str | None = None
    serving_model_dir: str | None = None
    image: str | None = None
    temp_location: str | None = None
    data_source: str = "bigquery"
    data_root: str | None = None
    bigquery_table: str = BIGQUERY_TABLE
    bigquery_limit: int | None = BIGQUERY_ROW_LIMIT
    beam_runner: str = DEFAULT_BEAM_RUNNER
    schema_path: str = IMAGE_SCHEMA_PATH
    train_steps: int = TRAIN_STEPS
    eval_steps: int = EVAL_STEPS
    check: dataclasses.InitVar[bool] = True  # resolve() checks once, gathering every problem

    @classmethod
    def resolve(cls, flags: Mapping[str, object], env: Mapping[str, str]) -> CloudSettings:
        """Flags (None: not given) over environment variables over defaults, then derived paths.

        Raises one ValueError that names every wrong or missing setting, each with its flag and
        its variable, so that one attempt shows everything to fix.
        """
        values: dict[str, object] = {}
        problems = []
        for field in dataclasses.fields(cls):
            value = flags.get(field.name)
            if value is None and env.get(CLOUD_ENV[field.name]):
                value = env[CLOUD_ENV[field.name]]
                if field.name in ("bigquery_limit", "train_steps", "eval_steps"):
                    try:
                        value = int(value)
                    except ValueError:
                        problems.append(
                            f"{CLOUD_ENV[field.name]}={value!r}: {field.name} must be a number"
                        )
                        continue
            if value is not None:
                values[field.name] = value
        bucket = values.get("bucket")
        if bucket:
            bucket = str(bucket).removeprefix("gs://").rstrip("/")
            values["bucket"] = bucket
            base = f"gs://{bucket}/{PIPELINE_NAME}"
            values.setdefault("pipeline_root", f"{base}/pipeline_root")
            values.setdefault("serving_model_dir", f"{base}/serving_model/{MODEL_NAME}")
            values.setdefault("temp_location", f"{base}/tmp")
            if values.get("data_source") == "csv":
                values.setdefault("data_root", f"{base}/data")
        if values.get("project") and not values.get("image"):
            values["image"] = DEFAULT_IMAGE.format(project=values["project"])
        settings = cls(**values, check=False)
        problems += settings.problems()
        if problems:
            raise ValueError(f"{len(problems)} setting(s) to fix: " + "; ".join(problems))
        return settings

    def __post_init__(self, check: bool):
        if check:
            self.validate()

    @staticmethod
    def _where(name: str) -> str:
        return f"--{name.replace('_', '-')} or {CLOUD_ENV[name]}"

    def problems(self) -> list[str]:
        """Every wrong or missing setting, each in words with its flag and variable."""
        found: list[str] = []
        missing: set[str] = set()

        def need(name: str, why: str) -> None:
            if not getattr(self, name) and name not in missing:
                missing.add(name)
                found.append(f"{name} is not set ({self._where(name)}): {why}")

        def choice(name: str, choices) -> None:
            value = getattr(self, name)
            if value not in choices:
                found.append(f"{name}={value!r} ({self._where(name)}): one of {tuple(choices)}")

        choice("target", sorted(KFP_TARGETS))
        choice("beam_runner", BEAM_RUNNERS)
        choice("data_source", DATA_SOURCES)
        need("pipeline_root", "where every component writes its artifacts (or set --bucket)")
        need("serving_model_dir", "where the Pusher copies a blessed model (or set --bucket)")
        need("image", "the pipeline image every task runs (or set --project for the default)")
        root = self.pipeline_root
        if self.target == "vertex" and root and not root.startswith("gs://"):
            found.append(f"pipeline_root={root!r}: Vertex AI Pipelines needs a gs:// root")
        if self.beam_runner == "dataflow":
            for name in ("project", "region", "temp_location"):
                need(name, "the Dataflow runner needs it")
        if self.data_source == "bigquery":
            for name in ("project", "temp_location"):
                need(name, "the BigQuery source needs it")
        if self.data_source == "csv":
            need("data_root", "the directory of staged CSV files that CsvExampleGen reads")
        if self.temp_location and not self.temp_location.startswith("gs://"):
            found.append(f"temp_location={self.temp_location!r}: must be a gs:// path")
        for name in ("train_steps", "eval_steps", "bigquery_limit"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                found.append(f"{name}={value!r} ({self._where(name)}): must be at least 1")
        return found

    def validate(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def use_baseline(self) -> bool:
        return self.target == "vertex"

    def pipeline_settings(
        self, enable_tuning: bool = False, enable_cache: bool = True
    ) -> PipelineSettings:
        """The PipelineSettings of this target: its paths, source, Beam args and baseline."""
        return PipelineSettings(
            pipeline_root=self.pipeline_root,
            serving_model_dir=self.serving_model_dir,
            data_source=self.data_source,
            data_root=self.data_root,
            bigquery_table=self.bigquery_table,
            bigquery_limit=self.bigquery_limit,
            schema_path=self.schema_path,
            train_steps=int(self.train_steps),
            eval_steps=int(self.eval_steps),
            enable_tuning=enable_tuning,
            use_baseline=self.use_baseline,
            orchestrator=self.target,
            beam_pipeline_args=self.beam_pipeline_args(),
            enable_cache=enable_cache,
        )

    def beam_pipeline_args(self) -> tuple[str, ...]:
        """Beam args of the heavy steps (ExampleGen, StatisticsGen, Transform, Evaluator)."""
        if self.beam_runner == "direct":
            args = list(LOCAL_BEAM_ARGS)
            if self.data_source == "bigquery":  # BigQuery export needs a project and a bucket
                args += [f"--project={self.project}", f"--temp_location={self.temp_location}"]
            return tuple(args)
        return (
            "--runner=DataflowRunner",
            f"--project={self.project}",
            f"--region={self.region}",
            f"--temp_location={self.temp_location}",
            # Dataflow workers run the pipeline image too, so preprocessing.py imports there.
            f"--sdk_container_image={self.image}",
            "--experiments=use_runner_v2",
            f"--max_num_workers={DATAFLOW_MAX_WORKERS}",
        )
