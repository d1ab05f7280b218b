"""babyweight/edge/transform_values.py: the values read from the Transform layer reproduce it."""

import dataclasses

import babyweight  # noqa: F401  (Keras 2 before TensorFlow)
from babyweight import features as F
from babyweight.edge import transform_values as tv

import pytest
import tensorflow_transform as tft
from edge_run import transform_graph


@pytest.fixture(scope="module")
def layer(tiny_run):
    output, _ = tiny_run
    return tft.TFTransformOutput(str(transform_graph(output))).transform_features_layer()


@pytest.fixture(scope="module")
def values(layer):
    counts = {F.MOTHER_AGE: 6, F.GESTATION_WEEKS: 7}
    return tv.read(layer, counts)


def test_the_values_are_transforms_own(values, layer):
    # preprocessing.py buckets on these boundaries; the reader found them without being told
    assert values.boundaries[F.MOTHER_AGE] == [float(b) for b in F.MOTHER_AGE_BOUNDARIES]
    assert values.boundaries[F.GESTATION_WEEKS] == [float(b) for b in F.GESTATION_WEEKS_BOUNDARIES]
    assert values.is_male_codes == {"False": 0, "True": 1, "Unknown": 2}
    assert list(values.plurality_codes.values()) == [0, 1, 2, 3, 4, 5]
    assert all(values.z_slope[f] > 0 for f in tv.NUMERIC)
    tv.check_against_layer(values, layer)  # no difference on any whole number 0..120


def test_a_boundary_that_differs_from_transform_is_refused(values, layer):
    moved = dict(values.boundaries)
    moved[F.MOTHER_AGE] = [b + 1 for b in moved[F.MOTHER_AGE]]
    wrong = dataclasses.replace(values, boundaries=moved)
    with pytest.raises(tv.TransformMismatchError, match="mother_age_bucket_xf.*mother_age=20"):
        tv.check_against_layer(wrong, layer)


def test_a_mean_that_differs_from_transform_is_refused(values, layer):
    shifted = dataclasses.replace(values, z_at_zero={**values.z_at_zero, F.GESTATION_WEEKS: 0.0})
    with pytest.raises(tv.TransformMismatchError, match="gestation_weeks_xf"):
        tv.check_against_layer(shifted, layer)
