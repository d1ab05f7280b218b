"""One loopback server for the KFP UI: its static build, the v2beta1 REST API, ML Metadata over
gRPC-web and the artifact endpoint, on the paths the UI's own Node server serves them
(frontend/server/app.ts: /apis, /ml_metadata, /artifacts, /system, /visualizations).

What only a cluster has (pods, their Kubernetes logs, TensorBoard apps, visualization servers)
answers 404 with the reason, which the UI shows as the cluster would show a missing service.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babyweight.ui import artifacts, rest_api, rest_v1
from babyweight.ui.mlmd_grpc_web import CONTENT_TYPE, PATH_PREFIX, GrpcWebProxy
from babyweight.ui.records import KfpRecords

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

NO_CLUSTER = "not on this machine: babyweight ui has no Kubernetes cluster"


@dataclass
class Backends:
    records: KfpRecords
    mlmd: GrpcWebProxy
    root: Path


def artifact_route(root: Path) -> Route:
    async def get(request: Request):
        q = request.query_params
        try:
            peek = int(q.get("peek") or 0)
            found = await run_in_threadpool(
                artifacts.read,
                root,
                q.get("source", ""),
                q.get("bucket", ""),
                q.get("key", ""),
                peek,
            )
        except ValueError:
            return PlainTextResponse(f"peek {q.get('peek')!r}: not a whole number", status_code=400)
        except artifacts.ArtifactError as e:
            return PlainTextResponse(str(e), status_code=e.status)
        return Response(found.body, media_type=found.content_type)

    return Route("/artifacts/get", get, methods=["GET"])


def grpc_web_route(proxy: GrpcWebProxy) -> Route:
    async def call(request: Request):
        body = await request.body()
        reply = await run_in_threadpool(proxy.call, request.path_params["method"], body)
        return Response(
            reply, media_type=CONTENT_TYPE, headers={"grpc-accept-encoding": "identity"}
        )

    return Route(PATH_PREFIX + "{method}", call, methods=["POST"])


def cluster_only(request: Request):
    return PlainTextResponse(f"{request.url.path}: {NO_CLUSTER}", status_code=404)


def app(backends: Backends, build: Path) -> Starlette:
    # /system, /k8s, /apps, /apis/v1beta1 ...: what a cluster serves and this machine has not.
    cluster = [
        Mount(p, routes=[Route("/{rest:path}", cluster_only, methods=["GET", "POST"])])
        for p in ("/system", "/k8s", "/apps", "/apis", "/visualizations")
    ]
    return Starlette(
        routes=[
            *rest_api.routes(backends.records),
            *rest_v1.routes(backends.records),
            grpc_web_route(backends.mlmd),
            artifact_route(backends.root),
            Route("/visualizations/allowed", lambda r: PlainTextResponse("false")),
            *cluster,
            Mount("/", StaticFiles(directory=build, html=True)),
        ]
    )
