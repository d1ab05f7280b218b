"""The feature module is the one source of names; check it is consistent with itself."""

from babyweight import features as F


def test_bucket_labels_cover_every_bucket():
    assert F.bucket_labels([20, 25, 30]) == ["<20", "20-24", "25-29", "30+"]
    for key, boundaries in [
        (F.MOTHER_AGE, F.MOTHER_AGE_BOUNDARIES),
        (F.GESTATION_WEEKS, F.GESTATION_WEEKS_BOUNDARIES),
    ]:
        assert len(F.SLICE_LABELS[F.bucket_name(key)]) == F.CATEGORICAL_XF[F.bucket_name(key)]
        assert boundaries == sorted(boundaries)


def test_category_counts_match_the_lists():
    assert F.CATEGORICAL_XF[F.transformed_name(F.IS_MALE)] == len(F.IS_MALE_VALUES)
    assert F.CATEGORICAL_XF[F.transformed_name(F.PLURALITY)] == F.MAX_PLURALITY + 1
    assert set(F.IS_MALE_SPELLINGS.values()) == set(F.IS_MALE_VALUES)


def test_crosses_use_categorical_features_only():
    for a, b in F.CROSSES:
        assert a in F.CATEGORICAL_XF and b in F.CATEGORICAL_XF


def test_required_columns_are_the_bigquery_names():
    assert F.REQUIRED_COLUMNS == [
        "weight_pounds",
        "is_male",
        "mother_age",
        "plurality",
        "gestation_weeks",
    ]
