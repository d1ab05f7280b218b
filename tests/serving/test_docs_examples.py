"""docs/serving-apis.md's examples, one per client, run as written against the server started as
a user starts it (`babyweight serve --grpc-port`): the Python blocks (tensorflow-serving-api,
tritonclient, prometheus_client) in a fresh interpreter and the curl blocks in bash, with only
the documented ports replaced by the test server's."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from serve_helpers import REPO

DOC = REPO / "docs" / "serving-apis.md"
BLOCK = re.compile(r"```(python|bash)\n(.*?)```", re.S)


def blocks(language: str, needle: str) -> list[str]:
    return [
        code for lang, code in BLOCK.findall(DOC.read_text()) if lang == language and needle in code
    ]


def on_test_server(code: str, api_server) -> str:
    rest = api_server["rest"].removeprefix("http://")
    return code.replace("localhost:8501", rest).replace("localhost:8500", api_server["grpc"])


@pytest.mark.parametrize(
    "needle", ["prediction_service_pb2_grpc", "tritonclient.http", "prometheus_client"]
)
def test_the_python_example_of_each_client_works(api_server, needle):
    [code] = blocks("python", needle)
    done = subprocess.run(
        [sys.executable, "-c", on_test_server(code, api_server)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    if needle == "prometheus_client":
        assert "babyweight_requests_total" in done.stdout
    else:  # the version, then the prediction in pounds
        version, prediction = done.stdout.split(maxsplit=1)
        assert int(version) == api_server["version"]
        assert 1 < float(prediction.strip("[] \n")) < 20


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl on this machine")
@pytest.mark.parametrize("needle", ["/v1/models/babyweight:predict", "/v2/models/babyweight/infer"])
def test_the_curl_example_of_each_api_works(api_server, needle):
    [code] = blocks("bash", needle)
    command = on_test_server(code.split("\n#")[0], api_server)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    values = answer["predictions"] if "predictions" in answer else answer["outputs"][0]["data"]
    assert len(values) == 1 and 1 < values[0] < 20
