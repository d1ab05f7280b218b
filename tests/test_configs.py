"""PipelineSettings refuses bad settings early, naming the setting and its value."""

import pytest

from pipeline import configs


def settings(**overrides):
    base = dict(pipeline_root="/tmp/root", serving_model_dir="/tmp/serving", data_root="/tmp/data")
    return configs.PipelineSettings(**{**base, **overrides})


def test_defaults_are_valid():
    s = settings()
    assert s.data_source == "csv" and s.use_baseline and not s.enable_tuning
    assert s.hyperparameters == configs.HYPERPARAMETERS
    assert s.hyperparameters is not configs.HYPERPARAMETERS  # a copy per settings object


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"data_source": "parquet"}, r"data_source='parquet'"),
        ({"data_root": None}, r"needs data_root"),
        ({"data_source": "bigquery", "bigquery_limit": 0}, r"bigquery_limit=0: must be at least 1"),
        ({"train_steps": 0}, r"train_steps=0"),
        ({"split_buckets": {"train": 9, "eval": 1}}, r"split_buckets=.*exactly the splits"),
        ({"split_buckets": {"train": 9, "eval": 1, "test": 0}}, r"every split needs a bucket"),
        ({"rmse_upper_bound": 0}, r"rmse_upper_bound=0"),
        ({"baseline_rmse_tolerance": -0.1}, r"baseline_rmse_tolerance=-0.1"),
        ({"hyperparameters": {"learning_rate": 0.1}}, r"hyperparameters: missing"),
        ({"edge_tolerances": {"float": -0.1, "int8": 0.05}}, r"edge_tolerances=.*>= 0"),
        ({"edge_tolerances": {"float": 0.1}}, r"edge_tolerances=.*need float, int8"),
    ],
)
def test_bad_settings_are_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        settings(**overrides)
