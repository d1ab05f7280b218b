"""The REST server on the pushed model: TF Serving's contract, errors, the serving log, hot swap.

The server runs in its own process, as `python -m babyweight serve`, on a free loopback port."""

from __future__ import annotations

import json
import threading
import time

from babyweight import features as F

import httpx
import numpy as np
import pytest
from serve_helpers import (
    MODEL_NAME,
    ROW,
    in_process_predictions,
    push_copy,
    run_output,
    running_server,
)

pytestmark = pytest.mark.e2e

CANONICAL_ROWS = [
    ROW,
    {"is_male": "False", "mother_age": 41, "plurality": "Twins(2)", "gestation_weeks": 33},
    {"is_male": "Unknown", "mother_age": 19, "plurality": "Multiple(2+)", "gestation_weeks": 36},
    {"is_male": "True", "mother_age": 30, "plurality": "Triplets(3)", "gestation_weeks": 30},
]


url_server_out = {}  # a running server's URL -> the file with its stdout and stderr


@pytest.fixture(scope="module")
def server(pushed_model_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    log = tmp / "serving_log.jsonl"
    with running_server(
        run_output(pushed_model_dir), tmp / "server.out", "--serving-log", str(log)
    ) as url:
        url_server_out[url] = tmp / "server.out"
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
    expected_dtypes = {"string": "DT_STRING", "int64": "DT_INT64"}  # the exported signature
    assert {k: v["dtype"] for k, v in signature["inputs"].items()} == {  # is the table's
        f.name: expected_dtypes[f.dtype] for f in F.FEATURES
    }
    assert signature["outputs"][F.PREDICTION_KEY]["dtype"] == "DT_FLOAT"
    assert signature["inputs"][F.MOTHER_AGE]["tensor_shape"]["dim"] == [{"size": "-1", "name": ""}]


def test_row_and_columnar_predictions_equal_the_signature_in_process(server, pushed_model_dir):
    url, _ = server
    expected = in_process_predictions(pushed_model_dir, CANONICAL_ROWS)
    assert len(set(expected)) == len(expected), "rows chosen to give different weights"

    rows = httpx.post(f"{api(url)}:predict", json={"instances": CANONICAL_ROWS})
    assert rows.status_code == 200, rows.text
    # answered from the version's prediction table: equal to float32 rounding
    assert rows.json() == {"predictions": pytest.approx(expected, rel=2**-22)}

    columns = {k: [r[k] for r in CANONICAL_ROWS] for k in F.FEATURE_KEYS}
    by_column = httpx.post(
        f"{api(url)}/versions/{pushed_model_dir.name}:predict",
        json={"signature_name": F.RAW_SIGNATURE, "inputs": columns},
    )
    assert by_column.status_code == 200, by_column.text
    assert by_column.json() == {"outputs": pytest.approx(expected, rel=2**-22)}
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
    # The version's prediction table answers it (made in batches): equal to float32 rounding.
    assert response.json()["predictions"] == [pytest.approx(expected, rel=2**-22)]


def test_unknown_sex_and_multiple_plurality_are_served(server, pushed_model_dir):
    url, _ = server
    rows = [{**ROW, "is_male": "Unknown"}, {**ROW, "plurality": "Multiple(2+)"}]
    response = httpx.post(f"{api(url)}:predict", json={"instances": rows})
    assert response.status_code == 200, response.text
    expected = in_process_predictions(pushed_model_dir, rows)
    assert response.json()["predictions"] == pytest.approx(expected, rel=2**-22)


BAD_REQUESTS = [
    # (body, status, words the error must contain)
    (b'{"instances": [', 400, ["malformed JSON"]),
    (b"\xff\xfe\x00garbage", 400, ["not UTF-8", "byte offset 0"]),
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
    ({"instances": [{**ROW, F.MOTHER_AGE: "２６"}]}, 400, ["mother_age", "ASCII digits", "２６"]),
    ({"instances": [{**ROW, F.GESTATION_WEEKS: "٣٩"}]}, 400, ["gestation_weeks", "ASCII", "٣٩"]),
    (  # every wrong field at once, in every row
        {"instances": [{**ROW, F.MOTHER_AGE: 99, F.IS_MALE: "maybe"}, {F.PLURALITY: 9}]},
        400,
        [
            "instances[0].is_male",
            "instances[0].mother_age",
            "instances[1].is_male: missing",
            "instances[1].plurality",
            "instances[1].gestation_weeks: missing",
        ],
    ),
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


def test_every_wrong_field_is_listed_for_a_client(server):
    url, _ = server
    rows = [{**ROW, F.MOTHER_AGE: 99, F.GESTATION_WEEKS: "٣٩"}, ROW, {**ROW, F.IS_MALE: "x"}]
    response = httpx.post(f"{api(url)}:predict", json={"instances": rows})
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [
        "instances[0].mother_age",
        "instances[0].gestation_weeks",
        "instances[2].is_male",
    ]


@pytest.mark.parametrize("suffix", ["", "/metadata", ":predict"])
def test_a_version_of_thousands_of_digits_is_a_400_naming_it(server, suffix):
    """Python's int() refuses more than 4,300 digits: this was a 500 and a traceback."""
    url, _ = server
    server_out = url_server_out[url]
    before = server_out.read_text()
    version = "9" * 4301
    method = httpx.post if suffix == ":predict" else httpx.get
    kwargs = {"json": {"instances": [ROW]}} if suffix == ":predict" else {}
    response = method(f"{api(url)}/versions/{version}{suffix}", **kwargs)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert "version" in error and "999999" in error and "4301 characters" in error
    time.sleep(0.2)
    assert "Traceback" not in server_out.read_text()[len(before) :]


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
    assert lines[0]["request"] == lines[1]["request"]  # one request, two rows
    assert [line["features"] for line in lines] == [
        ROW,
        {**ROW, "is_male": "False", "plurality": F.MULTIPLE},
    ]
    for line in lines:
        assert set(line) == {
            *("time", "request", "model_version", "label", "source", "features", "prediction")
        }
        assert line["source"] in ("table", "model")  # serving/loader.py's prediction table
        assert line["model_version"] == pushed_model_dir.name
        assert line["label"] == "stable"  # the only version: labelled stable at start
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


BROKEN_VERSION = 9999999999  # higher than any version the Pusher writes today


def broken_version(base, version: int = BROKEN_VERSION) -> None:
    """A complete-looking version directory whose saved_model.pb is not a SavedModel."""
    path = base.parent / f".staging-{version}"
    (path / "variables").mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"not a SavedModel")
    (path / "variables" / "variables.index").write_bytes(b"")
    path.rename(base / str(version))


def states(url) -> dict[str, str]:
    return {v["version"]: v["state"] for v in httpx.get(api(url)).json()["model_version_status"]}


def wait_for(condition, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def test_a_broken_higher_version_blocks_no_good_version(pushed_model_dir, tmp_path):
    """Serving A, a broken version 9999999999 and then a good version B (A < B < broken) are
    pushed while a client keeps predicting: B loads (the new canary), A keeps serving, nothing
    fails. A restart on that directory serves again instead of answering 503."""
    base = tmp_path / "serving_model" / MODEL_NAME
    a = int(pushed_model_dir.name)
    b = a + 1
    push_copy(pushed_model_dir, base, a)
    log = tmp_path / "serving_log.jsonl"
    statuses, stop = [], threading.Event()

    def client(url):
        with httpx.Client() as c:
            while not stop.is_set():
                r = c.post(f"{api(url)}:predict", json={"instances": [ROW, ROW]}, timeout=30)
                statuses.append(r.status_code)

    with running_server(tmp_path, tmp_path / "server.out", "--poll-seconds", "0.5") as url:
        thread = threading.Thread(target=client, args=(url,))
        thread.start()
        try:
            broken_version(base)
            wait_for(lambda: states(url).get(str(BROKEN_VERSION)) == "END")
            push_copy(pushed_model_dir, base, b)
            wait_for(lambda: states(url).get(str(b)) == "AVAILABLE")
        finally:
            stop.set()
            thread.join(timeout=60)
        assert states(url) == {str(BROKEN_VERSION): "END", str(b): "AVAILABLE", str(a): "AVAILABLE"}
        (failed,) = [
            v for v in httpx.get(api(url)).json()["model_version_status"] if v["state"] == "END"
        ]
        assert "SavedModel" in failed["status"]["error_message"]
        response = httpx.post(f"{api(url)}/versions/{b}:predict", json={"instances": [ROW]})
        assert response.status_code == 200, response.text
        assert response.headers["X-Model-Version"] == str(b)
        canary = httpx.post(f"{api(url)}/labels/canary:predict", json={"instances": [ROW]})
        assert canary.headers["X-Model-Version"] == str(b)
        # a new version is the canary: unlabelled requests stay on stable A
        assert httpx.get(f"{api(url)}/metadata").json()["model_spec"]["version"] == str(a)
    assert statuses and set(statuses) == {200}, f"{len(statuses)} requests: {set(statuses)}"
    served = {
        json.loads(line)["model_version"]
        for line in log.read_text().splitlines()
        if "features" in line
    }
    assert served == {str(a), str(b)}

    with running_server(tmp_path, tmp_path / "server2.out") as url:  # a restart: same labels
        assert states(url) == {str(BROKEN_VERSION): "END", str(b): "AVAILABLE", str(a): "AVAILABLE"}
        response = httpx.post(f"{api(url)}:predict", json={"instances": [ROW]})
        assert response.status_code == 200 and response.headers["X-Model-Version"] == str(a)


def test_a_broken_higher_version_at_start_up_serves_the_newest_good_one(pushed_model_dir, tmp_path):
    """First start on a directory with A, B and a broken higher version: B, the newest good
    version, is loaded and labelled stable (this was a 503)."""
    base = tmp_path / "serving_model" / MODEL_NAME
    a = int(pushed_model_dir.name)
    push_copy(pushed_model_dir, base, a)
    push_copy(pushed_model_dir, base, a + 1)
    broken_version(base)
    with running_server(tmp_path, tmp_path / "server.out") as url:
        assert states(url) == {str(BROKEN_VERSION): "END", str(a + 1): "AVAILABLE"}
        response = httpx.post(f"{api(url)}:predict", json={"instances": [ROW]})
        assert response.status_code == 200, response.text
        assert response.headers["X-Model-Version"] == str(a + 1)
        assert httpx.get(f"{api(url)}/labels/stable").json() == {
            "model_version_status": [
                {
                    "version": str(a + 1),
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        }
