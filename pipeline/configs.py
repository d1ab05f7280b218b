"""Every setting of the pipeline, in one place.

Runners read these defaults, let flags or the environment override them, and hand one
`PipelineSettings` to `create_pipeline`. Nothing here touches the environment or the network.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

PIPELINE_NAME = "babyweight"
MODEL_NAME = "babyweight"

# Inputs.
DEFAULT_DATA = REPO_ROOT / "data" / "births.csv"
DEFAULT_OUTPUT = Path("outputs")
SCHEMA_PATH = REPO_ROOT / "schema" / "schema.pbtxt"
DATA_SOURCES = ("csv", "bigquery")
BIGQUERY_TABLE = "bigquery-public-data.samples.natality"
BIGQUERY_ROW_LIMIT = None  # e.g. 100_000 for a sample of the table

# Code, by dotted path: no run-time wheel of a module file is built.
PREPROCESSING_FN = "preprocessing.preprocessing_fn"
RUN_FN = "models.model.run_fn"
TUNER_FN = "models.model.tuner_fn"

# Hash-bucket split of ExampleGen's output: 80% train, 10% eval, 10% test.
SPLIT_BUCKETS = {"train": 8, "eval": 1, "test": 1}
EVAL_SPLIT = "test"  # the Evaluator scores the split that neither Trainer nor Tuner saw

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

# Evaluation: a model is blessed when its RMSE on every slice listed in SLICES is known, the
# overall RMSE is under the bound, and it is not worse than the last blessed model by more than
# the tolerance (both in pounds).
RMSE_UPPER_BOUND = 2.0
BASELINE_RMSE_TOLERANCE = 0.05

# Training-serving skew and drift (babyweight.skew): a feature fails when the distance between
# its training distribution (or an earlier serving log's) and the served one is over these.
SKEW_THRESHOLDS = {
    "categorical_linf": 0.1,  # L-infinity distance of the category frequencies
    "numeric_jensen_shannon": 0.15,  # approximate Jensen-Shannon divergence of the histograms
}

# Beam, for the heavy steps (statistics, Transform, Evaluator). One in-process worker locally.
LOCAL_BEAM_ARGS = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


@dataclasses.dataclass(frozen=True)
class PipelineSettings:
    """What one pipeline run needs; every runner builds one of these."""

    pipeline_root: str
    serving_model_dir: str
    data_source: str = "csv"
    data_root: str | None = None  # a directory of CSV files, for data_source == "csv"
    bigquery_query: str | None = None  # for data_source == "bigquery"
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
    use_baseline: bool = True  # OSS KFP v2 cannot run the resolver that finds the baseline
    split_buckets: dict = dataclasses.field(default_factory=lambda: dict(SPLIT_BUCKETS))
    beam_pipeline_args: tuple[str, ...] = tuple(LOCAL_BEAM_ARGS)
    enable_cache: bool = True

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Fail early, naming the setting and its value, rather than deep inside a component."""
        if self.data_source not in DATA_SOURCES:
            raise ValueError(f"data_source={self.data_source!r}: must be one of {DATA_SOURCES}")
        if self.data_source == "csv" and not self.data_root:
            raise ValueError("data_source='csv' needs data_root (a directory of CSV files)")
        if self.data_source == "bigquery" and not self.bigquery_query:
            raise ValueError("data_source='bigquery' needs bigquery_query")
        for name in ("train_steps", "eval_steps", "tuner_trials", "tuner_train_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r}: must be at least 1")
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
        missing = set(HYPERPARAMETERS) - set(self.hyperparameters)
        if missing:
            raise ValueError(f"hyperparameters: missing {sorted(missing)}")
