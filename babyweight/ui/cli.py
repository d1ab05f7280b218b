"""`babyweight ui`: the Kubeflow Pipelines UI over the runs recorded in a pipeline root.

    make ui                                   # once: build the UI from KFP's source into .ui/
    babyweight kfp-spec-run SPEC --pipeline-root DIR
    babyweight ui --pipeline-root DIR --spec SPEC

It serves, on 127.0.0.1 only, the UI's build, the v2beta1 REST API over the compiled specs and
the recorded runs, ML Metadata over gRPC-web and the pipeline root's files, prints the URL, and
runs until Ctrl-C, which stops all of it. `--output DIR` is the same flag under the name the
other commands use.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

from babyweight.errors import BabyweightError, ExitCode

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BUILD = REPO / ".ui" / "frontend" / "build"
STORE_NAME = "metadata.sqlite"  # where kfp-spec-run keeps ML Metadata in the root


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="babyweight ui", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--pipeline-root",
        "--output",
        dest="root",
        required=True,
        type=Path,
        help="the pipeline root of `babyweight kfp-spec-run` (holds metadata.sqlite)",
    )
    parser.add_argument(
        "--spec",
        action="append",
        type=Path,
        default=[],
        help="a compiled pipeline spec (repeat for more versions)",
    )
    parser.add_argument(
        "--metadata", type=Path, help="the MLMD SQLite file (default ROOT/metadata.sqlite)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="port on 127.0.0.1 (0: any free one)"
    )
    parser.add_argument("--build", type=Path, default=DEFAULT_BUILD, help="the UI build (make ui)")
    return parser


def check(args) -> Path:
    """The store's path, once every path given is checked (an error names the first wrong one)."""
    if not (args.build / "index.html").is_file():
        raise BabyweightError(
            f"--build {args.build}: no UI build there; run `make ui` (needs Node 20.19+)"
        )
    if not args.root.is_dir():
        raise BabyweightError(f"--pipeline-root {args.root}: no such directory")
    store = args.metadata or args.root / STORE_NAME
    if not store.is_file():
        raise BabyweightError(
            f"{store}: no ML Metadata store; record a run first with "
            f"`babyweight kfp-spec-run SPEC --pipeline-root {args.root}`"
        )
    if not args.spec:
        raise BabyweightError(
            "--spec: none given; name the compiled spec the runs ran (their graphs come from it)"
        )
    for spec in args.spec:
        if not spec.is_file():
            raise BabyweightError(f"--spec {spec}: no such file")
    return store


def listen(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:port (0: any free port); one line when it cannot."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as e:
        sock.close()
        raise BabyweightError(f"--port {port}: cannot listen on 127.0.0.1 ({e.strerror})") from None
    sock.listen(128)
    return sock


def serve(args, store: Path, announce=print) -> None:
    from babyweight.ui import mlmd_grpc_web, records, server

    import uvicorn

    versions = [records.read_version(p) for p in args.spec]
    sock = listen(args.port)
    grpc_server, grpc_port = mlmd_grpc_web.start_grpc(store)
    proxy = mlmd_grpc_web.GrpcWebProxy(grpc_port, args.root)
    try:
        kfp = records.KfpRecords(mlmd_grpc_web.open_read_only(store), versions)
        backends = server.Backends(kfp, proxy, args.root)
        config = uvicorn.Config(server.app(backends, args.build), log_level="warning")
        port = sock.getsockname()[1]
        announce(f"Kubeflow Pipelines UI: http://127.0.0.1:{port}/  (Ctrl-C stops it)", flush=True)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        proxy.close()
        grpc_server.stop(grace=None)
        sock.close()


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    store = check(args)
    try:
        serve(args, store)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    return 0


if __name__ == "__main__":
    sys.exit(main())
