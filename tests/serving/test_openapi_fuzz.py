"""Fuzz the REST server from its own OpenAPI document (schemathesis): no input gives a 5xx.

Schemathesis generates valid and invalid requests for every operation in /openapi.json (paths,
versions, labels, bodies) and checks each answer: never a server error, a documented status code
and content type, and a body that matches the documented schema. The number of examples per
operation is bounded so the test takes well under a minute. Versions the generator does not
reach (thousands of digits, past int64, other scripts' digits) are added as explicit cases of
every version path, under the same checks.
"""

from __future__ import annotations

import collections

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from serve_helpers import run_output, running_server

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
EXTREME_VERSIONS = ["9" * 4301, "1" + "0" * 5000, "9223372036854775808", "0" * 30 + "1", "٣٩"]


@pytest.fixture(scope="module")
def api_schema(pushed_model_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    with running_server(
        run_output(pushed_model_dir), tmp / "server.out", "--serving-log", str(tmp / "log.jsonl")
    ) as url:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")


# schemathesis.pytest.from_fixture breaks on pytest 9 (it reads a private node attribute), so
# each operation's strategy is driven by Hypothesis here.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_makes_a_server_error(api_schema, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    seen = collections.Counter()

    def record(ctx, response, case):
        seen[(case.operation.label, response.status_code // 100)] += 1

    assert len(operations) == 9, [op.label for op in operations]
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not (
            len(operation.path_parameters) or len(operation.body)
        ):
            continue  # nothing to make invalid (GET /v1/models/babyweight)

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(checks=[*CHECKS, response_schema_conformance, record])

        check()
    # The fuzzer reached the model: valid rows were predicted, invalid ones refused.
    predict = "POST /v1/models/babyweight:predict"
    expected = {2} if mode is GenerationMode.POSITIVE else {4}
    assert expected <= {kind for (label, kind) in seen if label == predict}, seen


def test_extreme_versions_are_a_4xx_on_every_version_path(api_schema):
    """A version path with more than 4,300 digits was a 500 (Python's int() limit)."""
    from serve_helpers import ROW

    operations = [result.ok() for result in api_schema.get_all_operations()]
    version_paths = [op for op in operations if "{version}" in op.path]
    assert len(version_paths) == 3
    for operation in version_paths:
        for version in EXTREME_VERSIONS:
            body = {"body": {"instances": [ROW]}} if operation.method == "post" else {}
            case = operation.Case(path_parameters={"version": version}, **body)
            response = case.call()
            case.validate_response(response, checks=[*CHECKS, response_schema_conformance])
            expected = 404 if version.startswith("000") else 400  # version 1 is not loaded
            assert response.status_code == expected, (operation.label, response.text)
            assert "version" in response.json()["error"]
