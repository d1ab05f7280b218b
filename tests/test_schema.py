"""The curated schema: its limits, its environments, and agreement with the data's own types."""

from babyweight import features as F
from babyweight.layout import OutputLayout
from babyweight.local import staging

import pytest
import tensorflow_data_validation as tfdv
from helpers import REPO, write_rows
from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline import configs


@pytest.fixture(scope="module")
def schema():
    return tfdv.load_schema_text(str(configs.SCHEMA_PATH))


@pytest.fixture(scope="module")
def births_stats(tmp_path_factory):
    """Statistics of data/births.csv as staged for ExampleGen (TFDV on Beam, in memory)."""
    report = staging.stage_csv(
        REPO / "data" / "births.csv", OutputLayout(tmp_path_factory.mktemp("out"))
    )
    return tfdv.generate_statistics_from_csv(f"{report.examples_dir}/data.csv")


def feature(schema, name):
    return tfdv.get_feature(schema, name)


def test_schema_holds_the_model_columns(schema):
    assert sorted(f.name for f in schema.feature) == sorted([*F.REQUIRED_COLUMNS, F.SPLIT_KEY])


def test_limits_are_tightened_by_hand(schema):
    assert (
        feature(schema, F.MOTHER_AGE).int_domain.min,
        feature(schema, F.MOTHER_AGE).int_domain.max,
    ) == (11, 55)
    assert (
        feature(schema, F.PLURALITY).int_domain.min,
        feature(schema, F.PLURALITY).int_domain.max,
    ) == (1, 5)
    weeks = feature(schema, F.GESTATION_WEEKS).int_domain
    assert (weeks.min, weeks.max) == (17, 47)
    assert feature(schema, F.LABEL_KEY).float_domain.min > 0
    assert list(tfdv.get_domain(schema, F.IS_MALE).value) == F.IS_MALE_VALUES
    for f in schema.feature:
        assert f.presence.min_fraction == 1.0, f.name


SCHEMA_TYPES = {"string": schema_pb2.BYTES, "int64": schema_pb2.INT, "float32": schema_pb2.FLOAT}


def test_the_table_of_features_and_the_schema_agree(schema):
    """Each row of babyweight/features.py against the curated schema: type and domain."""
    for row in (F.LABEL, *F.FEATURES):
        declared = feature(schema, row.name)
        assert declared.type == SCHEMA_TYPES[row.stored_dtype], row.name
        if row.categorical and row.stored_dtype == "string":
            assert list(tfdv.get_domain(schema, row.name).value) == sorted(row.domain)
        elif row.categorical:  # categories held as numbers (plurality as a count)
            counts = [row.training_value(value) for value in row.domain]
            domain = declared.int_domain
            assert (domain.min, domain.max) == (min(counts), max(counts)), row.name
        elif row.stored_dtype == "int64":
            assert (declared.int_domain.min, declared.int_domain.max) == row.domain, row.name
        else:
            domain = declared.float_domain
            assert (domain.min, domain.max) == pytest.approx(row.domain), row.name


def test_label_and_split_key_are_absent_at_serving(schema):
    assert list(schema.default_environment) == ["TRAINING", "SERVING"]
    for name in (F.LABEL_KEY, F.SPLIT_KEY):
        assert list(feature(schema, name).not_in_environment) == ["SERVING"]
    for name in F.FEATURE_KEYS:
        assert not feature(schema, name).not_in_environment


def test_inferred_and_curated_schema_agree_on_types(schema, births_stats):
    inferred = tfdv.infer_schema(births_stats)
    inferred_types = {f.name: schema_pb2.FeatureType.Name(f.type) for f in inferred.feature}
    curated_types = {f.name: schema_pb2.FeatureType.Name(f.type) for f in schema.feature}
    assert inferred_types == curated_types


def test_embedded_data_has_no_anomalies(schema, births_stats):
    anomalies = tfdv.validate_statistics(births_stats, schema, environment="TRAINING")
    assert dict(anomalies.anomaly_info) == {}


def test_out_of_domain_values_are_anomalies_named_by_feature(schema, tmp_path):
    header = [*F.REQUIRED_COLUMNS, F.SPLIT_KEY]
    rows = [["7.0", "True", "30", "1", "39", "1"]] * 20
    rows += [["7.0", "Maybe", "10", "6", "50", "2"], ["25.0", "False", "56", "0", "16", "3"]]
    stats = tfdv.generate_statistics_from_csv(str(write_rows(tmp_path / "bad.csv", header, rows)))
    anomalies = tfdv.validate_statistics(stats, schema)
    assert set(anomalies.anomaly_info) == {
        F.LABEL_KEY,
        F.IS_MALE,
        F.MOTHER_AGE,
        F.PLURALITY,
        F.GESTATION_WEEKS,
    }


def test_serving_data_without_label_is_valid(schema, tmp_path):
    rows = [["True", "30", "1", "39"], ["Unknown", "22", "2", "35"]]
    stats = tfdv.generate_statistics_from_csv(
        str(write_rows(tmp_path / "serving.csv", F.FEATURE_KEYS, rows))
    )
    anomalies = tfdv.validate_statistics(stats, schema, environment="SERVING")
    assert dict(anomalies.anomaly_info) == {}
