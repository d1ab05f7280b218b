"""/monitoring/prometheus/metrics, read with prometheus_client's own parser after requests over
REST, v2 and gRPC."""

from __future__ import annotations

import grpc
import httpx
import pytest
from clients import GrpcClient, held_out_rows, predict_request
from prometheus_client.parser import text_string_to_metric_families

ROWS = held_out_rows()[:5]


def scrape(api_server) -> dict:
    """{metric family name: {(sample name, frozen labels): value}}."""
    page = httpx.get(f"{api_server['rest']}/monitoring/prometheus/metrics", timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        family.name: {(s.name, frozenset(s.labels.items())): s.value for s in family.samples}
        for family in text_string_to_metric_families(page.text)
    }


def _value(families, family, sample, **labels) -> float:
    return families.get(family, {}).get((sample, frozenset(labels.items())), 0.0)


def test_requests_errors_latency_and_versions_are_counted(api_server):
    version = str(api_server["version"])
    ok = {"version": version, "label": "stable", "code": "200"}
    before = scrape(api_server)
    base = api_server["rest"]
    assert httpx.post(
        f"{base}/v1/models/babyweight:predict", json={"instances": ROWS}, timeout=30
    ).is_success
    bad = httpx.post(f"{base}/v1/models/babyweight:predict", json={"instances": []}, timeout=30)
    assert bad.status_code == 400
    client = GrpcClient(api_server["grpc"])
    try:
        client.predict_rows(ROWS)
        with pytest.raises(grpc.RpcError):
            client.predict(predict_request(ROWS, label="nope"))
    finally:
        client.close()
    after = scrape(api_server)

    def grew(family, sample, **labels):
        return _value(after, family, sample, **labels) - _value(before, family, sample, **labels)

    requests = ("babyweight_requests", "babyweight_requests_total")
    assert grew(*requests, api="rest", **ok) == 1
    assert grew(*requests, api="grpc", **ok) == 1
    assert grew(*requests, api="rest", version="", label="", code="400") == 1
    errors = ("babyweight_request_errors", "babyweight_request_errors_total")
    assert grew(*errors, api="rest", version="", label="", code="400") == 1
    assert grew(*errors, api="grpc", version="", label="", code="404") == 1
    assert grew(*errors, api="rest", **ok) == 0
    latency = "babyweight_request_latency_seconds"
    assert grew(latency, latency + "_count", api="grpc") == 2
    assert grew(latency, latency + "_bucket", api="rest", le="+Inf") == 2
    assert _value(after, "babyweight_loaded_versions", "babyweight_loaded_versions") == 1
    loaded = ("babyweight_model_version_loaded", "babyweight_model_version_loaded")
    assert _value(after, *loaded, version=version, label="stable") == 1
    rows = ("babyweight_prediction_table_rows", "babyweight_prediction_table_rows_total")
    hits = grew(*rows, version=version, result="hit")
    misses = grew(*rows, version=version, result="miss")
    assert hits + misses == 2 * len(ROWS)
