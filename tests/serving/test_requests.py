"""Predict request bodies: every wrong field of every row in one 400, named as the client sent it
(rows `instances[i].f`, columns `inputs.f[i]`), with a bounded message."""

from __future__ import annotations

from babyweight.serving.requests import MAX_REPORTED_ERRORS, RequestError, parse_predict_request

import pytest
from serve_helpers import ROW


def error_of(body) -> RequestError:
    with pytest.raises(RequestError) as e:
        parse_predict_request(body)
    assert e.value.status == 400
    return e.value


def test_rows_name_every_wrong_field_of_every_row():
    bad = {**ROW, "mother_age": "٣٩", "gestation_weeks": 60}
    error = error_of({"instances": [ROW, bad, "x", {**ROW, "plurality": 9}]})
    assert [e["field"] for e in error.errors] == [
        "instances[1].mother_age",
        "instances[1].gestation_weeks",
        "instances[2]",
        "instances[3].plurality",
    ]
    assert error.body()["error"].count("; ") == 3 and "ASCII digits" in error.body()["error"]


def test_columns_name_every_wrong_value_by_feature_and_index():
    columns = {k: [v, v] for k, v in ROW.items()}
    columns["is_male"] = ["x", "True"]
    columns["mother_age"] = [26, "２６"]
    error = error_of({"inputs": columns})
    assert [e["field"] for e in error.errors] == ["inputs.is_male[0]", "inputs.mother_age[1]"]


def test_many_wrong_rows_give_a_bounded_message():
    error = error_of({"instances": [{}] * 1000})
    assert len(error.errors) == MAX_REPORTED_ERRORS
    assert error.message.endswith(f"and {4000 - MAX_REPORTED_ERRORS} more wrong fields")
    assert len(error.message) < 5000
