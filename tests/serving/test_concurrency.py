"""Many clients at once, REST and gRPC mixed, while versions are pushed and swapped in: no
request fails and every answer names the version that made it. Bounded in time and count;
loopback only."""

from __future__ import annotations

import threading
import time

import httpx
from clients import GrpcClient, held_out_rows
from serve_helpers import free_port, push_copy, running_server

CLIENTS = 4  # of each kind
MAX_REQUESTS = 300  # per client
DEADLINE = 240  # seconds, for the whole swap
ROWS = held_out_rows()[:10]


def _rest_client(url, results, stop):
    with httpx.Client(timeout=60) as client:
        for _ in range(MAX_REQUESTS):
            if stop.is_set():
                return
            answer = client.post(f"{url}/v1/models/babyweight:predict", json={"instances": ROWS})
            ok = answer.status_code == 200 and len(answer.json()["predictions"]) == len(ROWS)
            results.append(("rest", ok, answer.headers.get("X-Model-Version"), answer.text[:200]))


def _grpc_client(target, results, stop):
    client = GrpcClient(target)
    try:
        for _ in range(MAX_REQUESTS):
            if stop.is_set():
                return
            try:
                predictions, version = client.predict_rows(ROWS)
                results.append(("grpc", len(predictions) == len(ROWS), str(version), ""))
            except Exception as e:  # counted as a failure, with its message
                results.append(("grpc", False, None, str(e)[:200]))
    finally:
        client.close()


def _wait_loaded(url, version):
    deadline = time.monotonic() + DEADLINE
    while (
        httpx.get(f"{url}/v1/models/babyweight/versions/{version}", timeout=10).status_code != 200
    ):
        assert time.monotonic() < deadline, f"version {version} was never loaded"
        time.sleep(0.2)


def test_mixed_clients_during_hot_swaps(pushed_model_dir, tmp_path):
    base = tmp_path / "output" / "serving_model" / "babyweight"
    first = int(pushed_model_dir.name)
    push_copy(pushed_model_dir, base, first)
    grpc_port = free_port()
    results, stop = [], threading.Event()
    with running_server(
        tmp_path / "output",
        tmp_path / "server.log",
        "--grpc-port",
        str(grpc_port),
        "--canary-percent",
        "50",
        "--poll-seconds",
        "0.3",
        "--serving-log",
        "",
    ) as url:
        threads = [
            threading.Thread(target=_rest_client, args=(url, results, stop)) for _ in range(CLIENTS)
        ] + [
            threading.Thread(target=_grpc_client, args=(f"127.0.0.1:{grpc_port}", results, stop))
            for _ in range(CLIENTS)
        ]
        for t in threads:
            t.start()
        try:
            for new in (first + 1, first + 2):  # each becomes the canary; the one before goes
                time.sleep(1.0)
                push_copy(pushed_model_dir, base, new)
                _wait_loaded(url, new)
            time.sleep(1.0)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=120)
    failures = [r for r in results if not r[1]]
    assert not failures, failures[:5]
    versions = {r[2] for r in results}
    assert versions <= {str(first), str(first + 1), str(first + 2)}, versions
    assert len(versions) >= 2, versions  # answers came from before and after a swap
    assert {r[0] for r in results} == {"rest", "grpc"}
    assert len(results) >= 2 * CLIENTS
