"""The Open Inference Protocol (v2), spoken to with the stock tritonclient.http client (JSON
and binary tensors) against the server started as a user does.

kserve's InferenceRESTClient is not used: no kserve release resolves with the pinned stack
(0.13 needs httpx<0.27 and uvicorn<0.22, 0.14-0.16 protobuf>=4.25.4, 0.17+ urllib3>=2.6 where
kfp 2.5 needs urllib3<2)."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from clients import held_out_rows
from tritonclient.utils import InferenceServerException

ROWS = held_out_rows()
DATATYPES = {
    "is_male": "BYTES",
    "mother_age": "INT64",
    "plurality": "BYTES",
    "gestation_weeks": "INT64",
}


@pytest.fixture(scope="module")
def client(api_server):
    c = triton.InferenceServerClient(api_server["rest"].removeprefix("http://"))
    yield c
    c.close()


def triton_inputs(rows, binary: bool) -> list:
    inputs = []
    for key, datatype in DATATYPES.items():
        values = np.array([r[key] for r in rows], dtype=object if datatype == "BYTES" else "i8")
        tensor = triton.InferInput(key, [len(rows)], datatype)
        tensor.set_data_from_numpy(values, binary_data=binary)
        inputs.append(tensor)
    return inputs


def rest_predictions(api_server, rows) -> list[float]:
    url = f"{api_server['rest']}/v1/models/babyweight:predict"
    return httpx.post(url, json={"instances": rows}, timeout=60).json()["predictions"]


def test_health_and_metadata(api_server, client):
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("babyweight")
    assert client.is_model_ready("babyweight", str(api_server["version"]))
    assert not client.is_model_ready("babyweight", "12345")
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    metadata = client.get_model_metadata("babyweight")
    assert metadata["versions"] == [str(api_server["version"])]
    assert {i["name"]: i["datatype"] for i in metadata["inputs"]} == DATATYPES
    assert metadata["outputs"] == [
        {"name": "predicted_weight_pounds", "datatype": "FP32", "shape": [-1]}
    ]


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_infer_equals_rest_for_the_same_rows(api_server, client, binary):
    result = client.infer(
        "babyweight",
        triton_inputs(ROWS, binary),
        outputs=[triton.InferRequestedOutput("predicted_weight_pounds", binary_data=binary)],
    )
    predictions = result.as_numpy("predicted_weight_pounds")
    assert predictions.dtype == np.float32
    assert predictions.tolist() == rest_predictions(api_server, ROWS)
    assert result.get_response()["model_version"] == str(api_server["version"])


def test_infer_by_version(api_server, client):
    version = str(api_server["version"])
    result = client.infer("babyweight", triton_inputs(ROWS[:3], True), model_version=version)
    assert result.get_response()["model_version"] == version
    with pytest.raises(InferenceServerException, match="Servable not found"):
        client.infer("babyweight", triton_inputs(ROWS[:3], True), model_version="7")


def test_missing_input_through_the_client(client):
    with pytest.raises(InferenceServerException, match=r"\[400\] inputs: missing gestation_weeks"):
        client.infer("babyweight", triton_inputs(ROWS[:2], False)[:3])


def _body(**change) -> dict:
    inputs = [
        {"name": k, "datatype": d, "shape": [2], "data": [r[k] for r in ROWS[:2]]}
        for k, d in DATATYPES.items()
    ]
    for i, tensor in enumerate(inputs):
        tensor.update(change.get(tensor["name"], {}))
        inputs[i] = {k: v for k, v in tensor.items() if v is not None}
    return {"inputs": inputs}


BAD = {
    "shape and data disagree": (
        _body(mother_age={"shape": [3]}),
        "inputs[1] (mother_age): shape [3] but data holds 2 values",
    ),
    "unknown datatype": (
        _body(mother_age={"datatype": "INT128"}),
        "inputs[1] (mother_age): unknown datatype 'INT128'",
    ),
    "datatype of another input": (
        _body(is_male={"datatype": "FP32"}),
        "inputs[0] (is_male): datatype FP32, expected BYTES",
    ),
    "data not of the datatype": (
        _body(mother_age={"data": ["26", "41"]}),
        "inputs[1] (mother_age): '26' in data is not INT64",
    ),
    "no data": (_body(plurality={"data": None}), "inputs[2] (plurality): no 'data'"),
    "unknown input": (
        {"inputs": [*_body()["inputs"], {"name": "x", "datatype": "FP32", "shape": [1]}]},
        "inputs[4] (x): not an input of the model",
    ),
    "value out of range": (
        _body(gestation_weeks={"data": [39, 99]}),
        "inputs.gestation_weeks[1]: outside the schema's range",
    ),
    "binary data past the end": (
        _body(mother_age={"data": None, "parameters": {"binary_data_size": 16}}),
        "binary_data_size 16 is past the body's end",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_infer_is_a_400_naming_it(api_server, case):
    body, words = BAD[case]
    answer = httpx.post(f"{api_server['rest']}/v2/models/babyweight/infer", json=body, timeout=30)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["error"]


def test_unknown_model_and_version_are_404(api_server):
    base = api_server["rest"]
    assert httpx.get(f"{base}/v2/models/other", timeout=30).status_code == 404
    answer = httpx.get(f"{base}/v2/models/babyweight/versions/{'9' * 4301}/ready", timeout=30)
    assert answer.status_code == 400 and "(4301 characters)" in answer.json()["error"]
