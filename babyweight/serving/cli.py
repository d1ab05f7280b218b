"""`babyweight serve`: the pushed model over TF Serving's REST API, and a web page for people.

    babyweight serve [--output outputs] [--host 127.0.0.1] [--port 8501] [--serving-log PATH]
                     [--serving-log-max-bytes N] [--serving-log-backups K]
                     [--poll-seconds 1] [--num-versions 1] [--max-body-bytes N]
                     [--canary-percent P] [--grpc-port 8500] [--model_name NAME]

TF Serving's flag spellings work too: --model_base_path (--model-dir), --rest_api_port (--port);
TF Serving's --port is --grpc-port here. The other APIs: serving/api_flags.py.

It serves the Pusher's versions under OUTPUT/serving_model/babyweight (`--model-dir` serves
another directory of numbered SavedModels instead) and appends every predicted row to
OUTPUT/serving_log.jsonl, rotated by size. It loads the newest `--num-versions` good versions
and the labelled ones, polls for newly pushed ones and loads and warms each in the background.
A new version becomes the canary: it answers `labels/canary` and P% of unlabelled requests
(`--canary-percent`) until `babyweight rollout promote` makes it stable. When the stable
version's directory goes away, stable moves to the newest remaining good version that is not the
canary (none: the canary becomes stable); the rollout file, one log line, the serving log and
the run's ML Metadata store (when OUTPUT has one) say so.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from babyweight.errors import UsageError
from babyweight.layout import add_output_argument, layout_of, rollout_file_of
from babyweight.serving.api_flags import (
    add_api_arguments,
    check_api_arguments,
    mount,
    start_apis,
    stop_apis,
)
from babyweight.serving.app import DEFAULT_MAX_BODY_BYTES, BabyweightServer
from babyweight.serving.log import (
    DEFAULT_BACKUPS,
    DEFAULT_MAX_BYTES,
    ServingLog,
    path_from_flag,
)
from babyweight.serving.registry import ModelRegistry
from babyweight.serving.rollout import RolloutFile
from babyweight.serving.routing import ROLLOUT_KEY_HEADER, Router


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="babyweight serve",
        description="Serve the pushed model over TF Serving's REST and gRPC APIs and the Open "
        "Inference Protocol (v2), with Prometheus metrics and a web page.",
    )
    add_output_argument(parser)
    parser.add_argument("--host", default="127.0.0.1")
    add_api_arguments(parser)
    parser.add_argument(
        "--serving-log",
        default=None,
        help="JSON-lines log of every predicted row (default: OUTPUT/serving_log.jsonl); "
        "'' turns it off",
    )
    parser.add_argument(
        "--serving-log-max-bytes",
        type=int,
        default=DEFAULT_MAX_BYTES,
        help="rotate the serving log when it would grow past this size; 0 never rotates "
        f"(default: {DEFAULT_MAX_BYTES >> 20} MiB)",
    )
    parser.add_argument(
        "--serving-log-backups",
        type=int,
        default=DEFAULT_BACKUPS,
        help=f"rotated files kept, PATH.1 (newest) to PATH.K (default: {DEFAULT_BACKUPS})",
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=1.0, help="how often to look for new versions"
    )
    parser.add_argument(
        "--num-versions",
        type=int,
        default=1,
        help="newest good versions kept loaded, besides the labelled ones",
    )
    parser.add_argument(
        "--canary-percent",
        type=float,
        default=None,
        help="share of unlabelled requests sent to the canary, 0-100; written to the rollout "
        "file, which keeps it (default: as the file says, 0 when there is none). Requests with "
        f"the header {ROLLOUT_KEY_HEADER} are split by that key, so one key keeps one version",
    )
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--access-log", action="store_true", help="log every request (slower)")
    args = parser.parse_args(argv)
    check_api_arguments(parser, args)
    if args.num_versions < 1:
        raise UsageError(f"--num-versions {args.num_versions}: must be 1 or more")
    if args.canary_percent is not None and not 0 <= args.canary_percent <= 100:
        raise UsageError(f"--canary-percent {args.canary_percent:g}: must be within 0-100")
    if args.serving_log_max_bytes < 0:
        raise UsageError(
            f"--serving-log-max-bytes {args.serving_log_max_bytes}: must be 0 (no rotation) or more"
        )
    if args.serving_log_backups < 1:
        raise UsageError(f"--serving-log-backups {args.serving_log_backups}: must be 1 or more")
    return args


def build(args: argparse.Namespace) -> BabyweightServer:
    layout = layout_of(args)
    model_dir = args.model_dir or layout.serving_model_dir
    registry = ModelRegistry(
        model_dir, num_versions=args.num_versions, poll_seconds=args.poll_seconds
    )
    serving_log = ServingLog(
        path_from_flag(args.serving_log, layout.serving_log),
        max_bytes=args.serving_log_max_bytes,
        backups=args.serving_log_backups,
    )
    model_name = args.model_name or Path(model_dir).resolve().name
    record = None
    if layout.has_store():  # label changes the server makes are recorded with the run's
        from babyweight.serving.rollout_lineage import server_recorder

        record = server_recorder(layout.store(), Path(model_dir))
    router = Router(
        registry,
        RolloutFile(rollout_file_of(model_dir)),
        serving_log,
        model_name=model_name,
        canary_percent=args.canary_percent,
        record=record,
    )
    server = BabyweightServer(
        registry,
        router,
        serving_log,
        model_name=model_name,
        max_body_bytes=args.max_body_bytes,
    )
    mount(server)
    registry.start()
    return server


def main(argv=None) -> int:
    import uvicorn

    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    server = build(args)
    rollout = server.router.rollout()
    loaded = [
        f"{v} ({rollout.label_of(v)})" if rollout.label_of(v) else str(v)
        for v in sorted(server.registry.loaded, reverse=True)
    ]
    print(
        f"serving {server.model_name} "
        f"{'version ' + ', '.join(loaded) if loaded else '(no version yet; watching)'} "
        f"from {server.registry.base_dir} at http://{args.host}:{args.port}/ ; "
        f"{'gRPC at ' + args.host + ':' + str(args.grpc_port) + ' ; ' if args.grpc_port else ''}"
        f"rollout file: {server.router.file.path}; "
        f"serving log: {server.serving_log.path or 'off'}",
        flush=True,
    )
    apis = start_apis(server, args)
    try:
        uvicorn.run(
            server.app,
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=args.access_log,
        )
    finally:
        stop_apis(apis)
        server.registry.stop()
    return 0


if __name__ == "__main__":
    from babyweight import cli

    sys.exit(cli.run("serve", sys.argv[1:]))
