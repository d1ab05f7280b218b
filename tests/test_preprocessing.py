"""preprocessing_fn through tf.Transform on Beam, in memory: values, not just shapes."""

import tempfile

from babyweight import features as F

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

import preprocessing

RAW_SPEC = {
    F.IS_MALE: tf.io.FixedLenFeature([1], tf.string),
    F.MOTHER_AGE: tf.io.FixedLenFeature([1], tf.int64),
    F.PLURALITY: tf.io.FixedLenFeature([1], tf.int64),
    F.GESTATION_WEEKS: tf.io.FixedLenFeature([1], tf.int64),
    F.LABEL_KEY: tf.io.FixedLenFeature([1], tf.float32),
}
ROWS = [
    # is_male, mother_age, plurality, gestation_weeks, weight_pounds
    ("True", 19, 1, 39, 7.5),
    ("False", 25, 2, 36, 5.25),
    ("Unknown", 31, 3, 30, 3.0),
    ("true", 40, 5, 41, 8.0),
    ("0", 44, 1, 42, 9.1),
]


@pytest.fixture(scope="module")
def transformed():
    raw = [
        {
            F.IS_MALE: [s.encode()],
            F.MOTHER_AGE: [a],
            F.PLURALITY: [p],
            F.GESTATION_WEEKS: [g],
            F.LABEL_KEY: [w],
        }
        for s, a, p, g, w in ROWS
    ]
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(RAW_SPEC))
    with tft_beam.Context(temp_dir=tempfile.mkdtemp(), force_tf_compat_v1=False):
        (data, _), _ = (raw, metadata) | tft_beam.AnalyzeAndTransformDataset(
            preprocessing.preprocessing_fn
        )
    return data


def column(rows, key):
    return np.array([np.asarray(r[key]).reshape(-1)[0] for r in rows])


def test_is_male_spellings_map_to_categories(transformed):
    ids = column(transformed, F.transformed_name(F.IS_MALE))
    names = [F.IS_MALE_VALUES[i] for i in ids]
    assert names == ["True", "False", "Unknown", "True", "False"]


def test_plurality_ids_follow_the_category_list(transformed):
    ids = column(transformed, F.transformed_name(F.PLURALITY))
    assert [F.PLURALITY_VALUES[i] for i in ids] == [
        "Single(1)",
        "Twins(2)",
        "Triplets(3)",
        "Quintuplets(5)",
        "Single(1)",
    ]


def test_buckets_use_the_fixed_boundaries(transformed):
    age = column(transformed, F.bucket_name(F.MOTHER_AGE))
    labels = F.SLICE_LABELS[F.bucket_name(F.MOTHER_AGE)]
    assert [labels[i] for i in age] == ["<20", "25-29", "30-34", "40+", "40+"]
    weeks = column(transformed, F.bucket_name(F.GESTATION_WEEKS))
    labels = F.SLICE_LABELS[F.bucket_name(F.GESTATION_WEEKS)]
    assert [labels[i] for i in weeks] == ["39-40", "35-36", "28-31", "41+", "41+"]


def test_numerics_are_z_scores_over_the_data(transformed):
    for key, raw_index in [(F.MOTHER_AGE, 1), (F.GESTATION_WEEKS, 3)]:
        raw = np.array([r[raw_index] for r in ROWS], dtype=np.float64)
        expected = (raw - raw.mean()) / raw.std()
        np.testing.assert_allclose(
            column(transformed, F.transformed_name(key)), expected, rtol=1e-4
        )


def test_label_passes_through_unchanged(transformed):
    np.testing.assert_allclose(column(transformed, F.LABEL_KEY), [r[4] for r in ROWS], rtol=1e-6)


def test_unknown_spellings_get_minus_one():
    ids = preprocessing.category_ids(tf.constant([["maybe"], ["TRUE"], [" false "]]))
    assert ids.numpy().reshape(-1).tolist() == [-1, 1, 0]
    assert preprocessing.plurality_ids(tf.constant([[0], [6], [2]])).numpy().reshape(
        -1
    ).tolist() == [
        -1,
        -1,
        1,
    ]
