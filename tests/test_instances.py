"""babyweight.instances: what a valid prediction input is, and errors that name the field."""

from babyweight import features as F
from babyweight.instances import (
    InvalidInstance,
    parse_instance,
    parse_instances,
    signature_inputs,
)

import numpy as np
import pytest

GOOD = {"is_male": "True", "mother_age": 26, "plurality": "Single(1)", "gestation_weeks": 39}


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({}, ("True", 26, "Single(1)", 39)),
        ({"is_male": True}, ("True", 26, "Single(1)", 39)),
        ({"is_male": 0}, ("False", 26, "Single(1)", 39)),
        ({"is_male": "unknown"}, ("Unknown", 26, "Single(1)", 39)),
        ({"plurality": "Multiple(2+)"}, ("True", 26, "Multiple(2+)", 39)),
        ({"plurality": 2}, ("True", 26, "Twins(2)", 39)),
        ({"plurality": "3"}, ("True", 26, "Triplets(3)", 39)),
        ({"mother_age": 26.0, "gestation_weeks": "40"}, ("True", 26, "Single(1)", 40)),
        ({"extra": "ignored"}, ("True", 26, "Single(1)", 39)),
    ],
)
def test_people_spellings_are_normalized(overrides, expected):
    got = parse_instance({**GOOD, **overrides})
    assert (got.is_male, got.mother_age, got.plurality, got.gestation_weeks) == expected


@pytest.mark.parametrize(
    "overrides, field, words",
    [
        ({"is_male": "maybe"}, "is_male", "True, False or Unknown"),
        ({"is_male": 2}, "is_male", "True, False or Unknown"),
        ({"plurality": 9}, "plurality", "Single(1)"),
        ({"plurality": True}, "plurality", "boolean"),
        ({"mother_age": 99}, "mother_age", "range 11-55"),
        ({"mother_age": 26.5}, "mother_age", "whole number"),
        ({"mother_age": "old"}, "mother_age", "whole number"),
        ({"gestation_weeks": 16}, "gestation_weeks", "range 17-47"),
        ({"gestation_weeks": float("nan")}, "gestation_weeks", "whole number"),
        ({"gestation_weeks": None}, "gestation_weeks", "missing"),
        ({"gestation_weeks": ""}, "gestation_weeks", "missing"),  # an empty CSV cell
        ({"mother_age": "  "}, "mother_age", "missing"),
        ({"is_male": ""}, "is_male", "missing"),
    ],
)
def test_bad_values_name_the_field(overrides, field, words):
    with pytest.raises(InvalidInstance) as e:
        parse_instance({**GOOD, **overrides})
    assert e.value.field == field
    assert words in str(e.value) and field in str(e.value)


def test_error_quotes_the_value_as_sent():
    with pytest.raises(InvalidInstance, match=r"\(got 9\)$"):
        parse_instance({**GOOD, "plurality": 9})


def test_missing_field_and_index_are_named():
    with pytest.raises(InvalidInstance, match=r"instances\[1\]\.plurality: missing"):
        parse_instances([GOOD, {k: v for k, v in GOOD.items() if k != "plurality"}])
    with pytest.raises(InvalidInstance, match=r"instances\[0\]: expected an object"):
        parse_instances([[1, 2]])


def test_plurality_count_and_signature_inputs():
    rows = parse_instances([GOOD, {**GOOD, "plurality": "Multiple(2+)", "is_male": "Unknown"}])
    assert [F.plurality_count(r[F.PLURALITY]) for r in rows] == [1, F.MULTIPLE_AS_COUNT]
    inputs = signature_inputs(rows)
    assert set(inputs) == set(F.FEATURE_KEYS)
    assert inputs[F.MOTHER_AGE].dtype == np.int64
    assert list(inputs[F.PLURALITY]) == ["Single(1)", "Multiple(2+)"]


@pytest.mark.parametrize("spelling", ["２６", "٣٩", "२६", "1_000", "26\u0663"])
def test_numbers_are_ascii_digits_only(spelling):
    with pytest.raises(InvalidInstance) as e:
        parse_instance({**GOOD, "mother_age": spelling})
    assert e.value.field == "mother_age" and "whole number" in e.value.reason
    if not spelling.isascii():
        assert "ASCII digits 0-9" in str(e.value)


@pytest.mark.parametrize("spelling", ["26", " 26 ", "+26", "26.0", "2.6e1"])
def test_ascii_spellings_of_numbers_still_read(spelling):
    assert parse_instance({**GOOD, "mother_age": spelling}).mother_age == 26


def test_every_wrong_field_is_named_at_once():
    row = {"is_male": "maybe", "mother_age": 99, "plurality": "Single(1)"}
    with pytest.raises(InvalidInstance) as e:
        parse_instances([GOOD, row])
    assert [(err.field, err.reason) for err in e.value.errors] == [  # missing fields first
        ("instances[1].gestation_weeks", "missing"),
        ("instances[1].is_male", "expected True, False or Unknown (also true/false, 1/0)"),
        ("instances[1].mother_age", "outside the schema's range 11-55"),
    ]
    message = str(e.value)
    assert message.count("; ") == 2 and "maybe" in message and "99" in message
    # the first one stays the error's own field, as batch prediction's dead letters read it
    assert (e.value.field, e.value.value) == ("instances[1].gestation_weeks", None)
