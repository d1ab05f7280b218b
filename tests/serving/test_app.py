"""The REST server on the pushed model: TF Serving's contract, errors, the serving log, hot swap.

The server runs in its own process, as `python -m babyweight serve`, on a free loopback port."""

from __future__ import annotations

import json
import shutil
import threading
import time

from babyweight import features as F

import httpx
import numpy as np
import pytest
from serve_helpers import MODEL_NAME, ROW, in_process_predictions, run_output, running_server

from models.signatures import RAW_INPUT_DTYPES

pytestmark = pytest.mark.e2e

CANONICAL_ROWS = [
    ROW,
    {"is_male": "False", "mother_age": 41, "plurality": "Twins(2)", "gestation_weeks": 33},
    {"is_male": "Unknown", "mother_age": 19, "plurality": "Multiple(2+)", "gestation_weeks": 36},
    {"is_male": "True", "mother_age": 30, "plurality": "Triplets(3)", "gestation_weeks": 30},
]


@pytest.fixture(scope="module")
def server(pushed_model_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    log = tmp / "serving_log.jsonl"
    with running_server(
        run_output(pushed_model_dir), tmp / "server.out", "--serving-log", str(log)
    ) as url:
        yield url, log


def api(url: str) -> str:
    return f"{url}/v1/models/{MODEL_NAME}"


def test_status_and_metadata_follow_tf_serving(server, pushed_model_dir):
    url, _ = server
    version = pushed_model_dir.name
    status = httpx.get(api(url)).json()
    assert status == {
        "model_version_status": [
            {
                "version": version,
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    assert httpx.get(f"{api(url)}/versions/{version}").json() == status
    assert httpx.get(f"{api(url)}/versions/1").status_code == 404

    metadata = httpx.get(f"{api(url)}/metadata").json()
    assert metadata["model_spec"] == {"name": MODEL_NAME, "signature_name": "", "version": version}
    signature = metadata["metadata"]["signature_def"]["signature_def"][F.RAW_SIGNATURE]
    expected_dtypes = {"string": "DT_STRING", "int64": "DT_INT64"}
    assert {k: v["dtype"] for k, v in signature["inputs"].items()} == {
        k: expected_dtypes[d.name] for k, d in RAW_INPUT_DTYPES.items()
    }
    assert signature["outputs"][F.PREDICTION_KEY]["dtype"] == "DT_FLOAT"
    assert signature["inputs"][F.MOTHER_AGE]["tensor_shape"]["dim"] == [{"size": "-1", "name": ""}]


def test_row_and_columnar_predictions_equal_the_signature_in_process(server, pushed_model_dir):
    url, _ = server
    expected = in_process_predictions(pushed_model_dir, CANONICAL_ROWS)
    assert len(set(expected)) == len(expected), "rows chosen to give different weights"

    rows = httpx.post(f"{api(url)}:predict", json={"instances": CANONICAL_ROWS})
    assert rows.status_code == 200, rows.text
    assert rows.json() == {"predictions": expected}

    columns = {k: [r[k] for r in CANONICAL_ROWS] for k in F.FEATURE_KEYS}
    by_column = httpx.post(
        f"{api(url)}/versions/{pushed_model_dir.name}:predict",
        json={"signature_name": F.RAW_SIGNATURE, "inputs": columns},
    )
    assert by_column.status_code == 200, by_column.text
    assert by_column.json() == {"outputs": expected}
    assert all(0 < p < 20 for p in expected)


@pytest.mark.parametrize(
    "spelling",
    [
        {"is_male": True},
        {"is_male": 1},
        {"is_male": "true"},
        {"plurality": 1},
        {"plurality": "1"},
        {"mother_age": "26", "gestation_weeks": 39.0},
    ],
)
def test_people_spellings_give_the_canonical_prediction(server, pushed_model_dir, spelling):
    url, _ = server
    (expected,) = in_process_predictions(pushed_model_dir, [ROW])
    response = httpx.post(f"{api(url)}:predict", json={"instances": [{**ROW, **spelling}]})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == [expected]


def test_unknown_sex_and_multiple_plurality_are_served(server, pushed_model_dir):
    url, _ = server
    rows = [{**ROW, "is_male": "Unknown"}, {**ROW, "plurality": "Multiple(2+)"}]
    response = httpx.post(f"{api(url)}:predict", json={"instances": rows})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == in_process_predictions(pushed_model_dir, rows)


BAD_REQUESTS = [
    # (body, status, words the error must contain)
    (b'{"instances": [', 400, ["malformed JSON"]),
    (b"\xff\xfe\x00garbage", 400, ["malformed JSON"]),
    (b"[" * 100_000, 400, ["malformed JSON"]),
    (b"", 400, ["empty"]),
    ({"instances": []}, 400, ["instances", "empty"]),
    ({"inputs": {k: [] for k in F.FEATURE_KEYS}}, 400, ["empty"]),
    ({"rows": [ROW]}, 400, ["instances", "inputs"]),
    ({"instances": [ROW], "inputs": {}}, 400, ["exactly one"]),
    ({"instances": ROW}, 400, ["instances", "list"]),
    ({"instances": [ROW, "x"]}, 400, ["instances[1]", "object"]),
    (
        {"instances": [{k: v for k, v in ROW.items() if k != F.PLURALITY}]},
        400,
        ["plurality", "missing"],
    ),
    (
        {"instances": [{**ROW, F.MOTHER_AGE: "twenty"}]},
        400,
        ["mother_age", "whole number", "twenty"],
    ),
    ({"instances": [{**ROW, F.MOTHER_AGE: 26.5}]}, 400, ["mother_age", "whole number"]),
    ({"instances": [{**ROW, F.MOTHER_AGE: 10**400}]}, 400, ["mother_age", "range"]),
    ({"instances": [{**ROW, F.MOTHER_AGE: [26]}]}, 400, ["mother_age", "whole number"]),
    ({"instances": [{**ROW, F.MOTHER_AGE: 99}]}, 400, ["mother_age", "range 11-55", "99"]),
    (
        {"instances": [ROW, {**ROW, F.GESTATION_WEEKS: 60}]},
        400,
        ["instances[1].gestation_weeks", "60"],
    ),
    ({"instances": [{**ROW, F.IS_MALE: "maybe"}]}, 400, ["is_male", "maybe"]),
    ({"instances": [{**ROW, F.IS_MALE: 2}]}, 400, ["is_male"]),
    ({"instances": [{**ROW, F.PLURALITY: 6}]}, 400, ["plurality", "6"]),
    ({"instances": [{**ROW, F.PLURALITY: "Sextuplets(6)"}]}, 400, ["plurality", "Sextuplets"]),
    ({"instances": [{**ROW, F.PLURALITY: True}]}, 400, ["plurality", "boolean"]),
    ({"inputs": [ROW]}, 400, ["inputs", "object"]),
    (
        {"inputs": {**{k: [v] for k, v in ROW.items()}, F.PLURALITY: "Twins(2)"}},
        400,
        ["inputs.plurality", "list"],
    ),
    (
        {"inputs": {k: [v] for k, v in ROW.items() if k != F.IS_MALE}},
        400,
        ["inputs.is_male", "missing"],
    ),
    (
        {"inputs": {**{k: [v] for k, v in ROW.items()}, F.GESTATION_WEEKS: [39, 40]}},
        400,
        ["inputs.gestation_weeks"],
    ),
    (
        {"inputs": {**{k: [v, v] for k, v in ROW.items()}, F.MOTHER_AGE: [26, 5]}},
        400,
        ["inputs.mother_age[1]", "range"],
    ),
    ({"signature_name": "serving_tf_example", "instances": [ROW]}, 400, ["signature_name"]),
]


@pytest.mark.parametrize("body, status, words", BAD_REQUESTS)
def test_bad_input_is_a_4xx_that_names_the_field(server, body, status, words):
    url, _ = server
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = httpx.post(f"{api(url)}:predict", content=content)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    for word in words:
        assert word in error, (word, error)


def test_body_over_the_size_limit_is_413(server):
    url, _ = server
    big = json.dumps({"instances": [ROW] * 20_000}).encode()  # about 1.6 MB
    response = httpx.post(f"{api(url)}:predict", content=big)
    assert response.status_code == 413
    assert "limit" in response.json()["error"]

    def chunks():  # no Content-Length: the server counts while it reads
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    response = httpx.post(f"{api(url)}:predict", content=chunks())
    assert response.status_code == 413


def test_wrong_model_version_or_method_is_a_4xx(server):
    url, _ = server
    assert (
        httpx.post(f"{url}/v1/models/other:predict", json={"instances": [ROW]}).status_code == 404
    )
    response = httpx.post(f"{api(url)}/versions/7:predict", json={"instances": [ROW]})
    assert response.status_code == 404 and "7" in response.json()["error"]
    assert httpx.post(f"{api(url)}/versions/x:predict", json={}).status_code == 400
    # a "?" inside the path (%3F) is part of the version, not a query (found by the fuzz test)
    response = httpx.post(f"{api(url)}/versions/%3F:predict", json={"instances": [ROW]})
    assert response.status_code == 400 and "version" in response.json()["error"]
    assert httpx.get(f"{api(url)}:predict").status_code == 405
    assert httpx.delete(api(url)).status_code == 405


def test_every_predicted_row_is_in_the_serving_log(server, pushed_model_dir):
    url, log = server
    rows = [ROW, {**ROW, "is_male": 0, "plurality": "Multiple(2+)"}]
    before = len(log.read_text().splitlines()) if log.exists() else 0
    predictions = httpx.post(f"{api(url)}:predict", json={"instances": rows}).json()["predictions"]
    httpx.post(f"{api(url)}:predict", json={"instances": [{**ROW, F.MOTHER_AGE: 99}]})  # no line
    lines = [json.loads(line) for line in log.read_text().splitlines()[before:]]
    assert [line["prediction"] for line in lines] == predictions
    assert [line["features"] for line in lines] == [
        ROW,
        {**ROW, "is_male": "False", "plurality": F.MULTIPLE},
    ]
    for line in lines:
        assert set(line) == {"time", "model_version", "features", "prediction"}
        assert line["model_version"] == pushed_model_dir.name
        assert line["time"].endswith("+00:00")
        assert abs(np.datetime64(line["time"][:26]) - np.datetime64("now")) < np.timedelta64(
            300, "s"
        )


def test_a_failing_serving_log_never_fails_a_request(pushed_model_dir, tmp_path):
    unwritable = tmp_path / "a_directory"
    unwritable.mkdir()
    with running_server(
        run_output(pushed_model_dir), tmp_path / "server.out", "--serving-log", str(unwritable)
    ) as url:
        for _ in range(3):
            response = httpx.post(f"{api(url)}:predict", json={"instances": [ROW]})
            assert response.status_code == 200, response.text
    assert "write failed" in (tmp_path / "server.out").read_text()


def test_a_new_version_is_swapped_in_without_dropping_requests(pushed_model_dir, tmp_path):
    """Copy the pushed model into a fresh serving_model/babyweight, serve it, then push a broken
    version and a good newer one while a client keeps predicting."""
    base = tmp_path / "serving_model" / MODEL_NAME
    old = int(pushed_model_dir.name)
    shutil.copytree(pushed_model_dir, base / str(old))
    log = tmp_path / "serving_log.jsonl"
    statuses, stop = [], threading.Event()

    def client(url):
        with httpx.Client() as c:
            while not stop.is_set():
                r = c.post(f"{api(url)}:predict", json={"instances": [ROW, ROW]}, timeout=30)
                statuses.append(r.status_code)

    def push(version: int, source) -> None:  # as a Pusher would: copy, then rename into place
        staging = base.parent / f".staging-{version}"
        source(staging)
        staging.rename(base / str(version))

    def broken(path):
        path.mkdir()
        (path / "saved_model.pb").write_bytes(b"not a SavedModel")
        (path / "variables").mkdir()
        (path / "variables" / "variables.index").write_bytes(b"")

    with running_server(tmp_path, tmp_path / "server.out", "--poll-seconds", "0.5") as url:
        thread = threading.Thread(target=client, args=(url,))
        thread.start()
        try:
            push(old + 1, broken)
            deadline = time.monotonic() + 60
            while True:
                versions = httpx.get(api(url)).json()["model_version_status"]
                if any(v["state"] == "END" for v in versions) or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            assert [v["version"] for v in versions if v["state"] == "AVAILABLE"] == [str(old)]
            (failed,) = [v for v in versions if v["state"] == "END"]
            assert failed["version"] == str(old + 1) and failed["status"]["error_message"]

            push(old + 2, lambda path: shutil.copytree(pushed_model_dir, path))
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                versions = httpx.get(api(url)).json()["model_version_status"]
                if any(v["version"] == str(old + 2) for v in versions):
                    break
                time.sleep(0.3)
            n = len(statuses)
            while len(statuses) < n + 5 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            stop.set()
            thread.join(timeout=60)
        available = [v["version"] for v in versions if v["state"] == "AVAILABLE"]
        assert available == [str(old + 2)], versions
        assert httpx.get(f"{api(url)}/metadata").json()["model_spec"]["version"] == str(old + 2)
        gone = httpx.post(f"{api(url)}/versions/{old}:predict", json={"instances": [ROW]})
        assert gone.status_code == 404

    assert statuses and set(statuses) == {200}, f"{len(statuses)} requests: {set(statuses)}"
    served = [json.loads(line)["model_version"] for line in log.read_text().splitlines()]
    assert served[0] == str(old) and served[-1] == str(old + 2)
    assert served == sorted(served), "once swapped, never back"
    assert str(old + 1) not in served
