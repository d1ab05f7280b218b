"""The server as a user starts it, with every API on (REST, gRPC, v2, metrics), once for the
serving tests that speak to it through stock clients."""

from __future__ import annotations

import pytest
from serve_helpers import free_port, push_copy, running_server


@pytest.fixture(scope="session")
def api_server(pushed_model_dir, tmp_path_factory) -> dict:
    """{"rest": URL, "grpc": "127.0.0.1:PORT", "log": serving log path, "version": int}."""
    tmp = tmp_path_factory.mktemp("api_server")
    # A copy of its own: other tests push versions into the run's serving_model/ and label them.
    output = tmp / "output"
    push_copy(pushed_model_dir, output / "serving_model" / "babyweight", int(pushed_model_dir.name))
    grpc_port = free_port()
    log_path = tmp / "serving_log.jsonl"
    with running_server(
        output,
        tmp / "server.log",
        "--grpc-port",
        str(grpc_port),
        "--serving-log",
        str(log_path),
    ) as url:
        yield {
            "rest": url,
            "grpc": f"127.0.0.1:{grpc_port}",
            "log": log_path,
            "version": int(pushed_model_dir.name),
            "server_log": tmp / "server.log",
            "model_dir": output / "serving_model" / "babyweight",
        }
