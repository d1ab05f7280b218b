"""The split key choice and the split of a row, as ExampleGen computes it (tests/test_split.py
checks the prediction against the real CsvExampleGen)."""

import random

from babyweight.local import splits

import pytest

from pipeline import configs


def test_the_split_key_is_serialized_as_tensorflow_serializes_an_int64_feature():
    import tensorflow as tf

    keys = [0, 1, 127, 128, 2**62, 2**63 - 1] + [random.Random(3).getrandbits(63)] * 50
    for key in keys:
        feature = tf.train.Feature(int64_list=tf.train.Int64List(value=[key]))
        assert splits._serialized_int64_feature(key) == feature.SerializeToString(
            deterministic=True
        )


def counter_with(year_months: list[str], rows_per_key: int = 5) -> splits.KeyCounter:
    counter = splits.KeyCounter(configs.SPLIT_BUCKETS)
    for year_month in year_months:
        for j in range(rows_per_key):
            counter.add(splits.fingerprint(f"{year_month}|{j}"), year_month)
    return counter


def test_the_course_key_is_kept_with_many_months_whose_shares_are_right():
    months = [f"{y}-{m}" for y in range(1969, 2009) for m in range(1, 13)]  # samples.natality
    choice = counter_with(months).choose(min_keys=20, tolerance=0.03)
    assert choice.key == splits.YEAR_MONTH
    assert choice.reason == "480 distinct year-months split 82.3%/7.7%/10.0%, within 3%"
    assert choice.counts == {"train": 1975, "eval": 185, "test": 240}


def test_one_year_of_months_is_too_few_keys():
    choice = counter_with([f"2014-{m}" for m in range(1, 13)]).choose(20, 0.03)
    assert choice.key == splits.ROW
    assert choice.reason == "only 12 distinct year-months (needs 20)"
    assert all(choice.counts.values())


def test_rows_without_a_month_use_the_row_key():
    counter = counter_with([f"2014-{m}" for m in range(1, 13)] * 3)
    counter.add(splits.fingerprint("x"), None)
    assert counter.choose(20, 0.03).reason == "1 of 181 rows have no year and month"
    empty = splits.KeyCounter(configs.SPLIT_BUCKETS)
    empty.add(splits.fingerprint("x"), None)
    assert empty.choose(20, 0.03).reason == "the rows have no year and month"


@pytest.mark.parametrize(
    "counts, expected",
    [
        ({"train": 30, "eval": 0, "test": 5}, "the eval split would have no rows"),
        ({"train": 30, "eval": 4, "test": 3}, "the test split would have only 3 rows"),
        ({"train": 300, "eval": 40, "test": 40}, None),
    ],
)
def test_a_split_that_cannot_train_or_evaluate_is_named(counts, expected):
    found = splits.unusable_split(counts, "test", min_test_rows=20)
    if expected is None:
        assert found is None
    else:
        assert found.startswith(expected) and "\n" not in found
