"""serving/api_flags.py: --grpc-port, TF Serving's spellings (--model_name, --model_base_path,
--rest_api_port), and a model directory not named babyweight served under --model_name."""

from __future__ import annotations

from pathlib import Path

from babyweight.serving.cli import parse_args

import httpx
import pytest
from clients import GrpcClient, held_out_rows
from serve_helpers import free_port, push_copy, running_server


def test_tf_servings_spellings_are_aliases():
    args = parse_args(
        ["--model_base_path", "/m/other", "--model_name", "bw", "--rest_api_port", "9000"]
    )
    assert (args.model_dir, args.model_name, args.port, args.grpc_port) == (
        Path("/m/other"),
        "bw",
        9000,
        None,
    )
    args = parse_args(["--model-dir", "/m", "--port", "8502", "--grpc-port", "8500"])
    assert (args.port, args.grpc_port) == (8502, 8500)


def test_help_says_tf_servings_port_is_our_grpc_port(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "TF Serving's own --port is the gRPC port, which is --grpc-port here" in help_text


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--grpc-port", "8501"], "--grpc-port 8501 is the REST --port too"),
        (["--grpc-port", "70000"], "--grpc-port must be a port number 0-65535, got 70000"),
        (["--model_name", "a/b"], "--model_name 'a/b': no '/' or ':'"),
    ],
)
def test_wrong_flags_say_which(argv, words, capsys):
    with pytest.raises(SystemExit) as raised:
        parse_args(argv)
    assert raised.value.code == 2
    assert words in capsys.readouterr().err


def test_a_directory_not_named_babyweight_is_served_under_model_name(pushed_model_dir, tmp_path):
    base = tmp_path / "models" / "birthweight-v2"
    push_copy(pushed_model_dir, base, int(pushed_model_dir.name))
    grpc_port = free_port()
    rows = held_out_rows()[:4]
    with running_server(
        tmp_path / "output",
        tmp_path / "server.log",
        "--model_base_path",
        str(base),
        "--model_name",
        "babyweight",
        "--grpc-port",
        str(grpc_port),
        "--serving-log",
        "",
    ) as url:
        rest = httpx.post(f"{url}/v1/models/babyweight:predict", json={"instances": rows})
        assert rest.status_code == 200, rest.text
        other = httpx.post(f"{url}/v1/models/birthweight-v2:predict", json={"instances": rows})
        assert other.status_code == 404
        client = GrpcClient(f"127.0.0.1:{grpc_port}")
        try:
            assert client.predict_rows(rows)[0] == rest.json()["predictions"]
        finally:
            client.close()
