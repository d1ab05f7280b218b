"""babyweight.ui.cli (`babyweight ui`): wrong paths are one line and exit 2; the server starts on
127.0.0.1, prints its URL, answers, and Ctrl-C stops it (and its gRPC server) with exit 130."""

from __future__ import annotations

import socket
import urllib.request

from babyweight import cli

from helpers import ui_server


def run(capsys, *argv):
    code = cli.main(["ui", *argv])
    return code, capsys.readouterr().err.strip().splitlines()


def test_a_missing_build_store_or_spec_is_one_line(capsys, tmp_path, kfp_root):
    code, err = run(capsys, "--output", str(kfp_root), "--build", str(tmp_path / "none"))
    assert code == 2 and len(err) == 1 and "no UI build there; run `make ui`" in err[0]
    build = tmp_path / "build"
    build.mkdir()
    (build / "index.html").write_text("<html></html>")
    code, err = run(capsys, "--output", str(tmp_path), "--build", str(build))
    assert code == 2 and len(err) == 1 and "metadata.sqlite: no ML Metadata store" in err[0]
    code, err = run(capsys, "--output", str(kfp_root), "--build", str(build))
    assert code == 2 and len(err) == 1 and "--spec: none given" in err[0]
    args = ["--output", str(kfp_root), "--build", str(build), "--spec", str(tmp_path / "x.yaml")]
    code, err = run(capsys, *args)
    assert code == 2 and err == [f"babyweight ui: --spec {tmp_path / 'x.yaml'}: no such file"]


def test_it_serves_on_loopback_until_ctrl_c(tmp_path, kfp_root):
    build = tmp_path / "build"
    build.mkdir()
    (build / "index.html").write_text("<html>the UI</html>")
    spec = kfp_root.parent / "spec.yaml"
    with ui_server(kfp_root, spec, "--build", str(build)) as (url, proc):
        assert urllib.request.urlopen(url, timeout=10).read() == b"<html>the UI</html>"
        runs = urllib.request.urlopen(url + "apis/v2beta1/runs", timeout=10).read()
        assert b'"run_id":"done"' in runs
    assert "Traceback" not in proc.stderr.read()


def test_a_port_in_use_is_one_line(capsys, tmp_path, kfp_root):
    build = tmp_path / "build"
    build.mkdir()
    (build / "index.html").write_text("<html></html>")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        spec = str(kfp_root.parent / "spec.yaml")
        argv = ["--output", str(kfp_root), "--build", str(build), "--spec", spec]
        code, err = run(capsys, *argv, "--port", str(port))
    assert code == 2 and err == [
        f"babyweight ui: --port {port}: cannot listen on 127.0.0.1 (Address already in use)"
    ]
