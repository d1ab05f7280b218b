"""PipelineSettings refuses bad settings early, naming the setting and its value; SETTINGS
declares each setting once, and CloudSettings composes PipelineSettings."""

import dataclasses

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


def test_each_setting_is_declared_once_and_its_flags_are_unique():
    names = [s.name for s in configs.SETTINGS]
    assert len(names) == len(set(names))
    for runner in configs.RUNNERS:
        flags = [s.flag_for(runner) for s in configs.settings_of(runner)]
        assert len(flags) == len(set(flags)), runner
    # The environment table is made from the declarations: every kubeflow value has a variable.
    assert configs.CLOUD_ENV == {s.name: s.env for s in configs.SETTINGS if s.env}
    for setting in configs.settings_of(configs.KUBEFLOW):
        assert setting.env or setting.type is bool, setting.name


def test_pipeline_settings_defaults_are_the_declared_ones():
    """A PipelineSettings field and its Setting never disagree on the local default."""
    fields = {f.name: f for f in dataclasses.fields(configs.PipelineSettings)}
    checked = 0
    for setting in configs.SETTINGS:
        field = fields.get(setting.name)
        if field is not None and field.default is not dataclasses.MISSING:
            assert field.default == setting.default_for(configs.LOCAL), setting.name
            checked += 1
    assert checked >= 15


@pytest.mark.parametrize(
    "name, value, problem",
    [
        ("train_steps", 0, "must be at least 1"),
        ("span", -1, "must be at least 0"),
        ("poll", 0.0, "must be more than 0"),
        ("drift_action", "maybe", "must be one of ('stop', 'warn', 'off')"),
        ("train_steps", None, None),  # not set
        ("train_steps", 1, None),
    ],
)
def test_a_setting_says_what_is_wrong_with_a_value(name, value, problem):
    assert configs.BY_NAME[name].problem(value) == problem


def test_cloud_settings_hold_only_the_clouds_own_fields_next_to_the_pipelines():
    cloud = configs.CloudSettings.resolve({"project": "p", "bucket": "bkt"}, {})
    own = {f.name for f in dataclasses.fields(cloud)} - {"pipeline"}
    assert not own & configs.PIPELINE_FIELDS
    assert cloud.pipeline.pipeline_root == "gs://bkt/babyweight/pipeline_root"
    assert cloud.pipeline.orchestrator == "vertex" and cloud.use_baseline
    assert cloud.pipeline_settings(enable_cache=False).enable_cache is False
