"""The drift gate between spans on real rows: StatisticsGen's statistics of each span (the
pipeline's stats options), TFX's DistributionValidator executor with the pipeline's config, and
what the gate and the summary read back. Span 2 is like span 1; span 3 (mothers 35 and older)
drifts in mother_age, and only there."""

from __future__ import annotations

import csv

from babyweight import features as F
from babyweight.metadata import drift as drift_lib

import pytest
from helpers import natality_span
from tfx.components.distribution_validator.executor import Executor
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.utils import json_utils

from pipeline import configs, drift


def span_statistics(tmp_path, span: int):
    """An ExampleStatistics artifact of a span's real rows (the model columns, as staged)."""
    import pandas as pd
    import tensorflow_data_validation as tfdv

    folder = natality_span(tmp_path / "data", span)
    with open(folder / "births.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r[F.LABEL_KEY] and r[F.GESTATION_WEEKS]]
    frame = pd.DataFrame(rows)[F.REQUIRED_COLUMNS]
    for name in (F.MOTHER_AGE, F.PLURALITY, F.GESTATION_WEEKS):
        frame[name] = frame[name].astype("int64")
    frame[F.LABEL_KEY] = frame[F.LABEL_KEY].astype("float64")
    stats = tfdv.generate_statistics_from_dataframe(frame, drift.statistics_options())
    artifact = standard_artifacts.ExampleStatistics()
    artifact.uri = str(tmp_path / f"statistics-{span}")
    artifact.split_names = artifact_utils.encode_split_names(["train"])
    (tmp_path / f"statistics-{span}" / "Split-train").mkdir(parents=True)
    path = tmp_path / f"statistics-{span}" / "Split-train" / "FeatureStats.pb"
    path.write_bytes(stats.SerializeToString())  # as StatisticsGen writes it
    return artifact


def validate(tmp_path, new, previous, name: str):
    """What TFX's DistributionValidator executor, configured as the pipeline configures it, found
    (drift.read_drift of its anomalies artifact)."""
    anomalies = run_validator(tmp_path, new, previous, name)
    return drift_lib.read_drift(anomalies.uri, anomalies.split_names)


def run_validator(tmp_path, new, previous, name: str):
    """TFX's DistributionValidator executor, as the pipeline configures it: its anomalies."""
    anomalies = standard_artifacts.ExampleAnomalies()
    anomalies.uri = str(tmp_path / name)
    Executor().Do(
        {
            standard_component_specs.STATISTICS_KEY: [new],
            standard_component_specs.BASELINE_STATISTICS_KEY: [previous] if previous else [],
        },
        {standard_component_specs.ANOMALIES_KEY: [anomalies]},
        {
            standard_component_specs.INCLUDE_SPLIT_PAIRS_KEY: json_utils.dumps(
                [(configs.DRIFT_SPLIT, configs.DRIFT_SPLIT)]
            ),
            standard_component_specs.DISTRIBUTION_VALIDATOR_CONFIG_KEY: drift.validator_config(
                configs.DRIFT_THRESHOLDS
            ),
        },
    )
    return anomalies


@pytest.fixture(scope="module")
def statistics(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("drift")
    return tmp, {span: span_statistics(tmp, span) for span in (1, 2, 3)}


def test_a_span_like_the_last_passes_with_every_feature_measured(statistics):
    tmp, stats = statistics
    found = validate(tmp, stats[2], stats[1], "two")
    assert found["features"] == {}
    assert set(found["measurements"]) == set(F.FEATURE_KEYS)
    for name in (F.IS_MALE, F.PLURALITY):  # plurality counted as a category: L-infinity
        assert "drift l_infty" in found["measurements"][name]
    for name in (F.MOTHER_AGE, F.GESTATION_WEEKS):
        js = found["measurements"][name]["drift jensen_shannon_divergence"]
        assert 0 < js < configs.DRIFT_THRESHOLDS["numeric_jensen_shannon"], found


def test_older_mothers_drift_in_mother_age_and_the_gate_names_it(statistics):
    tmp, stats = statistics
    found = validate(tmp, stats[3], stats[2], "three")
    assert list(found["features"]) == [F.MOTHER_AGE]
    js = found["measurements"][F.MOTHER_AGE]["drift jensen_shannon_divergence"]
    assert js > 2 * configs.DRIFT_THRESHOLDS["numeric_jensen_shannon"]
    assert drift_lib.describe(found) == f"mother_age (Jensen-Shannon {js:.3g} > 0.15)"


def test_the_first_span_has_nothing_to_compare_with(statistics):
    tmp, stats = statistics
    assert validate(tmp, stats[1], None, "first") is None


def test_the_gate_stops_or_warns_as_configured(statistics):
    tmp, stats = statistics
    drifted = run_validator(tmp, stats[3], stats[2], "gate")
    with pytest.raises(drift.DriftError, match=r"Drift from the previous span in mother_age \("):
        drift.check(drifted.uri, drifted.split_names, stop=True)
    warned = drift.check(drifted.uri, drifted.split_names, stop=False)
    assert warned.startswith("mother_age (Jensen-Shannon ")
    alike = run_validator(tmp, stats[2], stats[1], "gate-alike")
    assert drift.check(alike.uri, alike.split_names, stop=True) is None
    first = run_validator(tmp, stats[1], None, "gate-first")
    assert drift.check(first.uri, first.split_names, stop=True) is None


def test_the_config_as_json_text_kfp_v2_hands_it_finds_the_same_drift(statistics, tmp_path):
    """Under TFX's KFP v2 entrypoint the config arrives as JSON text; the stock executor fails
    on it ('str' object has no attribute 'default_slice_config'), ours parses it."""
    from tfx.utils import proto_utils

    tmp, stats = statistics
    anomalies = standard_artifacts.ExampleAnomalies()
    anomalies.uri = str(tmp_path / "as-text")
    drift.ConfigParsingExecutor().Do(
        {
            standard_component_specs.STATISTICS_KEY: [stats[3]],
            standard_component_specs.BASELINE_STATISTICS_KEY: [stats[2]],
        },
        {standard_component_specs.ANOMALIES_KEY: [anomalies]},
        {
            standard_component_specs.INCLUDE_SPLIT_PAIRS_KEY: json_utils.dumps(
                [(configs.DRIFT_SPLIT, configs.DRIFT_SPLIT)]
            ),
            standard_component_specs.DISTRIBUTION_VALIDATOR_CONFIG_KEY: proto_utils.proto_to_json(
                drift.validator_config(configs.DRIFT_THRESHOLDS)
            ),
        },
    )
    found = drift_lib.read_drift(anomalies.uri, anomalies.split_names)
    assert list(found["features"]) == [F.MOTHER_AGE]
