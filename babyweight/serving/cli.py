"""`babyweight serve`: the pushed model over TF Serving's REST API, and a web page for people.

    babyweight serve [--output outputs] [--host 127.0.0.1] [--port 8501] [--serving-log PATH]
                     [--poll-seconds 1] [--num-versions 1] [--max-body-bytes N]

It serves the Pusher's versions under OUTPUT/serving_model/babyweight (`--model-dir` serves
another directory of numbered SavedModels instead) and appends every predicted row to
OUTPUT/serving_log.jsonl. It loads the newest `--num-versions` versions, polls for newly pushed
ones, loads and warms a new one in the background and then swaps it in; none is dropped.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from babyweight.layout import OutputLayout, add_output_argument
from babyweight.serving.app import DEFAULT_MAX_BODY_BYTES, BabyweightServer
from babyweight.serving.log import ServingLog
from babyweight.serving.registry import ModelRegistry

DEFAULT_PORT = 8501  # TF Serving's REST port


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="babyweight serve",
        description="Serve the pushed model over TF Serving's REST API, with a web page.",
    )
    add_output_argument(parser)
    parser.add_argument(
        "--model-dir",
        type=Path,
        help="a directory of numbered SavedModel versions to serve instead of the run's "
        "OUTPUT/serving_model/babyweight; its name is the model's name in the URLs",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--serving-log",
        default=None,
        help="JSON-lines log of every predicted row (default: OUTPUT/serving_log.jsonl); "
        "'' turns it off",
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=1.0, help="how often to look for new versions"
    )
    parser.add_argument("--num-versions", type=int, default=1, help="newest versions kept loaded")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--access-log", action="store_true", help="log every request (slower)")
    args = parser.parse_args(argv)
    if args.num_versions < 1:
        parser.error("--num-versions must be 1 or more")
    return args


def build(args: argparse.Namespace) -> BabyweightServer:
    layout = OutputLayout(args.output)
    model_dir = args.model_dir or layout.serving_model_dir
    registry = ModelRegistry(
        model_dir, num_versions=args.num_versions, poll_seconds=args.poll_seconds
    )
    if args.serving_log is None:
        log_path = layout.serving_log
    else:
        log_path = Path(args.serving_log) if args.serving_log else None
    server = BabyweightServer(
        registry,
        ServingLog(log_path),
        model_name=Path(model_dir).resolve().name,
        max_body_bytes=args.max_body_bytes,
    )
    registry.start()
    return server


def main(argv=None) -> int:
    import uvicorn

    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    server = build(args)
    latest = server.registry.latest()
    print(
        f"serving {server.model_name} "
        f"{'version ' + latest.version if latest else '(no version yet; watching)'} "
        f"from {server.registry.base_dir} at http://{args.host}:{args.port}/ ; "
        f"serving log: {server.serving_log.path or 'off'}",
        flush=True,
    )
    try:
        uvicorn.run(
            server.app,
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=args.access_log,
        )
    finally:
        server.registry.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
