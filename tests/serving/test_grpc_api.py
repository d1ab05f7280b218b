"""TF Serving's gRPC API, spoken to with the stock tensorflow-serving-api stubs, against the
server started as a user does (`babyweight serve --grpc-port N`)."""

from __future__ import annotations

import grpc
import httpx
import numpy as np
import pytest
import tensorflow as tf
from clients import GrpcClient, held_out_rows, predict_request

ROWS = held_out_rows()


@pytest.fixture(scope="module")
def client(api_server):
    c = GrpcClient(api_server["grpc"])
    yield c
    c.close()


def test_predict_equals_rest_for_the_same_rows(api_server, client):
    assert len(ROWS) > 50
    predictions, version = client.predict_rows(ROWS)
    rest = httpx.post(
        f"{api_server['rest']}/v1/models/babyweight:predict", json={"instances": ROWS}, timeout=60
    )
    assert rest.status_code == 200, rest.text
    assert predictions == rest.json()["predictions"]
    assert version == api_server["version"] == int(rest.headers["X-Model-Version"])
    assert rest.headers["X-Prediction-Source"] == "table"


def test_predict_by_version_and_by_label_names_the_version(api_server, client):
    version = api_server["version"]
    by_version, answered = client.predict_rows(ROWS[:3], version=version)
    assert answered == version
    by_label, answered = client.predict_rows(ROWS[:3], label="stable")
    assert answered == version and by_label == by_version
    _, metadata = client.predict(predict_request(ROWS[:1]))
    assert metadata["x-model-version"] == str(version)
    assert metadata["x-model-label"] == "stable"
    assert metadata["x-prediction-source"] == "table"  # the Pusher wrote the version's table


def test_metadata_is_the_saved_models_signature_defs(api_server, client):
    response, defs = client.metadata()
    assert response.model_spec.version.value == api_server["version"]
    served = defs.signature_def["serving_default"]
    assert set(served.inputs) == {"is_male", "mother_age", "plurality", "gestation_weeks"}
    assert served.inputs["mother_age"].dtype == tf.int64.as_datatype_enum
    assert set(served.outputs) == {"predicted_weight_pounds"}
    rest = httpx.get(f"{api_server['rest']}/v1/models/babyweight/metadata", timeout=30).json()
    assert set(defs.signature_def) == set(rest["metadata"]["signature_def"]["signature_def"])


def test_model_status(api_server, client):
    for status in (client.status(), client.status(version=api_server["version"])):
        (one,) = status.model_version_status
        assert one.version == api_server["version"]
        assert one.state == one.AVAILABLE and one.status.error_code == 0
    assert client.status(label="stable").model_version_status[0].version == api_server["version"]


def _with_input(key, tensor):
    request = predict_request(ROWS[:2])
    request.inputs[key].CopyFrom(tensor)
    return request


def _without(key):
    request = predict_request(ROWS[:2])
    del request.inputs[key]
    return request


def _huge_shape():
    request = predict_request(ROWS[:2])
    request.inputs["mother_age"].tensor_shape.dim[0].size = 10**12
    return request


BAD = {
    "wrong dtype": (
        lambda: _with_input("mother_age", tf.make_tensor_proto(np.array([26, 41], np.int32))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "inputs.mother_age: dtype DT_INT32, expected DT_INT64",
    ),
    "missing input": (
        lambda: _without("plurality"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "inputs: missing plurality",
    ),
    "10 MB tensor": (
        lambda: _with_input(
            "is_male", tf.make_tensor_proto(np.array([b"x" * (10 << 20), b"True"], object))
        ),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "larger than max",
    ),
    "unknown signature": (
        lambda: predict_request(ROWS[:1], signature="nope"),
        grpc.StatusCode.FAILED_PRECONDITION,
        'Serving signature key "nope" not found',
    ),
    "4,301-digit version label": (
        lambda: predict_request(ROWS[:1], label="9" * 4301),
        grpc.StatusCode.NOT_FOUND,
        "(4301 characters)",
    ),
    "unknown version": (
        lambda: predict_request(ROWS[:1], version=2**63 - 1),
        grpc.StatusCode.NOT_FOUND,
        "Specific(babyweight, 9223372036854775807)",
    ),
    "unknown model": (
        lambda: predict_request(ROWS[:1], name="other"),
        grpc.StatusCode.NOT_FOUND,
        "'other' is not served",
    ),
    "shape larger than the values": (
        _huge_shape,
        grpc.StatusCode.INVALID_ARGUMENT,
        "inputs.mother_age: shape [1000000000000] but the tensor holds 2 values",
    ),
    "value out of the schema's range": (
        lambda: predict_request([{**ROWS[0], "gestation_weeks": 99}]),
        grpc.StatusCode.INVALID_ARGUMENT,
        "inputs.gestation_weeks[0]",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_request_gets_a_clear_status_and_the_server_lives_on(client, case):
    make, code, words = BAD[case]
    with pytest.raises(grpc.RpcError) as raised:
        client.predict(make())
    assert raised.value.code() == code, raised.value.details()
    assert words in raised.value.details()
    assert raised.value.code() not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)
    assert client.predict_rows(ROWS[:1])[0]  # still answering


def test_a_4301_digit_version_cannot_even_be_sent():
    """ModelSpec.version is an int64: the stub refuses it before anything reaches the server."""
    with pytest.raises((ValueError, OverflowError)):
        predict_request(ROWS[:1], version=10**4300)
