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
    for spec in args.spec:
        if not spec.is_file():
            raise BabyweightError(f"--spec {spec}: no such file")
    return store


def serve(args, store: Path, announce=print) -> None:
    from babyweight.ui import mlmd_grpc_web, records, server

    import uvicorn

    versions = [records.read_version(p) for p in args.spec]
    grpc_server, grpc_port = mlmd_grpc_web.start_grpc(store)
    proxy = mlmd_grpc_web.GrpcWebProxy(grpc_port, args.root)
    try:
        backends = server.Backends(
            records.KfpRecords(mlmd_grpc_web.open_read_only(store), versions), proxy, args.root
        )
        config = uvicorn.Config(
            server.app(backends, args.build), host="127.0.0.1", port=args.port, log_level="warning"
        )
        web = uvicorn.Server(config)
        announce_when_up(web, announce)
        web.run()
    finally:
        proxy.close()
        grpc_server.stop(grace=None)


def announce_when_up(web, announce) -> None:
    """Print the URL once uvicorn listens (the port is known then, also for --port 0)."""
    startup = web.startup

    async def started(sockets=None):
        await startup(sockets=sockets)
        if web.started:
            port = web.servers[0].sockets[0].getsockname()[1]
            announce(
                f"Kubeflow Pipelines UI: http://127.0.0.1:{port}/  (Ctrl-C stops it)", flush=True
            )

    web.startup = started


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    store = check(args)
    try:
        serve(args, store)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except OSError as e:
        raise BabyweightError(
            f"--port {args.port}: cannot listen on 127.0.0.1 ({e.strerror})"
        ) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
