"""The APIs beside TF Serving's REST one: their flags (with TF Serving's spellings as aliases),
mounting the Open Inference Protocol and the metrics on the REST app, and starting gRPC.

    --port / --rest_api_port N   REST (TF Serving's REST port is --rest_api_port)
    --grpc-port N                TF Serving's gRPC API (TF Serving calls this one --port)
    --model_name NAME            the name in URLs and ModelSpecs (default: the directory's name)
    --model_base_path DIR        TF Serving's spelling of --model-dir
"""

from __future__ import annotations

import argparse
from pathlib import Path

from babyweight.serving.metrics import CONTENT_TYPE, PATH, Metrics, MetricsMiddleware
from babyweight.serving.v2_api import V2Api

DEFAULT_PORT = 8501  # TF Serving's REST port


def add_api_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model-dir",
        "--model_base_path",
        dest="model_dir",
        type=Path,
        help="a directory of numbered SavedModel versions to serve instead of the run's "
        "OUTPUT/serving_model/babyweight; its name is the model's name in the URLs unless "
        "--model_name says another (TF Serving's --model_base_path)",
    )
    parser.add_argument(
        "--port",
        "--rest_api_port",
        dest="port",
        type=int,
        default=DEFAULT_PORT,
        help="the REST port (TF Serving's --rest_api_port; TF Serving's own --port is the gRPC "
        f"port, which is --grpc-port here) (default: {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--grpc-port",
        type=int,
        default=None,
        help="serve TF Serving's gRPC API (PredictionService, ModelService) on this port too; "
        "TF Serving spells it --port (default: off)",
    )
    parser.add_argument(
        "--model_name",
        "--model-name",
        dest="model_name",
        default=None,
        help="the model's name in URLs and ModelSpecs (default: the model directory's name)",
    )


def check_api_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for flag, port in (("--port", args.port), ("--grpc-port", args.grpc_port)):
        if port is not None and not 0 <= port <= 65535:
            parser.error(f"{flag} must be a port number 0-65535, got {port}")
    if args.grpc_port and args.grpc_port == args.port:
        parser.error(f"--grpc-port {args.grpc_port} is the REST --port too; pick another")
    if args.model_name is not None and not args.model_name.strip("/"):
        parser.error("--model_name must not be empty")
    if args.model_name is not None and ("/" in args.model_name or ":" in args.model_name):
        parser.error(f"--model_name {args.model_name!r}: no '/' or ':' (it is part of URLs)")


def mount(server) -> Metrics:
    """Add the v2 routes, the metrics page and the metrics middleware to the server's app, and
    load versions with their warm-up and prediction table (serving/loader.py)."""
    from babyweight.serving.loader import load_version

    from starlette.responses import Response
    from starlette.routing import Route

    server.registry.load = load_version
    metrics = Metrics(server)
    server.metrics = metrics

    async def page(request):
        return Response(metrics.page(), media_type=CONTENT_TYPE)

    routes = [*V2Api(server).routes(), Route(PATH, page, methods=["GET"])]
    server.app.router.routes[0:0] = routes
    server.app.add_middleware(MetricsMiddleware, metrics=metrics)
    return metrics


def start_apis(server, args: argparse.Namespace) -> list:
    """Start what runs beside uvicorn (the gRPC server); stop_apis() stops it."""
    if not args.grpc_port:
        return []
    from babyweight.serving.grpc_api import start_grpc

    return [start_grpc(server, args.host, args.grpc_port, metrics=server.metrics)]


def stop_apis(apis: list) -> None:
    for api in apis:
        api.stop(grace=2).wait(5)
