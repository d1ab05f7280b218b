"""Predict request bodies: every wrong field of every row in one 400, named as the client sent it
(rows `instances[i].f`, columns `inputs.f[i]`), with a bounded message."""

from __future__ import annotations

import json
import re
import warnings

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


# -- the app's answers to bad requests, in process, with no model loaded ------------------------
@pytest.fixture
def client(tmp_path):
    """The real app over an empty model directory: bodies and paths are refused before a model
    is picked, so no model is needed."""
    from babyweight.serving.app import BabyweightServer
    from babyweight.serving.log import ServingLog
    from babyweight.serving.registry import ModelRegistry
    from babyweight.serving.rollout import RolloutFile
    from babyweight.serving.routing import Router

    with warnings.catch_warnings():  # starlette: "Using `httpx` ... is deprecated"
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    model_dir = tmp_path / "babyweight"
    model_dir.mkdir()
    registry = ModelRegistry(model_dir)
    log = ServingLog(None)
    router = Router(registry, RolloutFile(tmp_path / "rollout.json"), log, model_name="babyweight")
    server = BabyweightServer(registry, router, log, model_name="babyweight")
    return TestClient(server.app)


def test_a_body_that_is_not_utf8_says_so_with_the_byte_offset(client):
    body = b'{"instances": [{"is_male": "' + b"\xff\xfe" + b'"}]}'
    response = client.post("/v1/models/babyweight:predict", content=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error == "request body: not UTF-8 (byte offset 28)", error
    assert body[28:29] == b"\xff"


def test_a_utf16_body_is_not_utf8_either(client):
    body = json.dumps({"instances": [ROW]}).encode("utf-16")  # json.loads would accept it
    response = client.post("/v1/models/babyweight:predict", content=body)
    assert response.status_code == 400
    assert response.json()["error"] == "request body: not UTF-8 (byte offset 0)"


def test_malformed_json_in_utf8_is_still_malformed_json(client):
    response = client.post("/v1/models/babyweight:predict", content=b'{"instances": [')
    assert response.status_code == 400
    assert response.json()["error"].startswith("request body: malformed JSON: ")


LONG = "m" * 60_000  # httpx refuses URLs over 64 KiB


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", f"/v1/models/{LONG}:predict", {"instances": [ROW]}),
        ("get", f"/v1/models/{LONG}", None),
        ("post", "/v1/models/babyweight:predict", {"signature_name": LONG, "instances": [ROW]}),
        ("get", f"/v1/models/babyweight/labels/{LONG}", None),
        ("get", f"/v1/models/babyweight/versions/{LONG}", None),
        ("get", f"/v1/models/babyweight/{LONG}", None),
    ],
)
def test_every_echoed_value_in_a_4xx_is_cut_to_a_bounded_length(client, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(path, **kwargs)
    assert 400 <= response.status_code < 500
    error = response.json()["error"]
    assert len(response.content) < 500, error[:300]
    assert re.search(r"'\.\.\. \(600\d\d characters\)", error), error


def test_shown_keeps_short_values_whole_and_cuts_long_ones():
    from babyweight.serving.requests import MAX_SHOWN, shown

    assert shown("stable") == "'stable'"
    cut = shown("x" * 10_000)
    assert cut.startswith("'xxx") and cut.endswith("(10000 characters)")
    assert len(cut) <= MAX_SHOWN + 30
    assert shown(7) == "7"
