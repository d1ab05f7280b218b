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


def test_every_row_of_the_table_is_complete():
    from babyweight.values import reader

    for row in (F.LABEL, *F.FEATURES):
        assert row.kind in (F.CATEGORICAL, F.NUMERIC), row.name
        assert set(row.sources) == {F.BIGQUERY_FORMAT, F.CDC_FORMAT}, row.name
        assert row.label and row.description and row.bigquery_type, row.name
        if row.categorical:
            assert set(row.spellings.values()) <= set(row.domain), row.name
            assert set(row.choices) == set(row.domain), row.name
            assert reader(row)(row.example) == row.example, row.name
        else:
            lo, hi = row.domain
            assert lo <= row.example <= hi and row.unit, row.name
    assert [f.name for f in F.FEATURES] == F.FEATURE_KEYS
    assert F.feature(F.LABEL_KEY) is F.LABEL


def test_multiple_plurality_counts_as_twins_everywhere():
    """One meaning of "Multiple(2+)" as a count: MULTIPLE_AS_COUNT, in training values too."""
    assert F.plurality_count(F.MULTIPLE) == F.MULTIPLE_AS_COUNT == 2
    assert [F.plurality_count(v) for v in F.PLURALITY_VALUES] == [1, 2, 3, 4, 5, 2]
    plurality = F.feature(F.PLURALITY)
    assert plurality.training_value(F.MULTIPLE) == F.MULTIPLE_AS_COUNT
