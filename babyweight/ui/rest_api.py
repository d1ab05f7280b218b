"""The KFP v2beta1 REST API the UI calls, read-only, over `records.KfpRecords`.

The routes are those of the UI's generated clients (frontend/src/apisv2beta1/*/apis/*.ts) that
read: pipelines (list, get, versions, get version), experiments, runs, recurring runs (none),
and healthz (frontend/src/lib/Apis.ts getBuildInfo). Lists come in one page. Anything that
would change the deployment (create, upload, archive, delete, retry, terminate) answers 501 with
the reason in KFP's error shape ({"error", "code", "message"}), as there is no cluster behind it.
"""

from __future__ import annotations

from babyweight.ui.build import KFP_COMMIT, KFP_TAG

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PREFIX = "/apis/v2beta1"
UNIMPLEMENTED = 12  # google.rpc.Code
NOT_FOUND = 5


def error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "code": code, "message": message}, status_code=status)


def listed(key: str, items: list[dict]) -> JSONResponse:
    return JSONResponse(
        {key: items, "total_size": len(items), "next_page_token": ""} if items else {}
    )


HEALTHZ = {  # frontend/server/handlers/healthz.ts HealthzStats: the side bar's "Version"
    "apiServerCommitHash": KFP_COMMIT,
    "apiServerTagName": KFP_TAG,
    "apiServerMultiUser": False,
    "multi_user": False,
    "apiServerReady": True,
    "buildDate": "",
    "frontendCommitHash": KFP_COMMIT,
    "frontendTagName": KFP_TAG,
    "pipelineStore": "babyweight ui (records on this machine)",
}


def found(obj, what: str) -> JSONResponse:
    return JSONResponse(obj) if obj else error(404, NOT_FOUND, f"{what} not found")


class V2Reads:
    """One handler per read of the v2beta1 API, over `records` (a KfpRecords)."""

    def __init__(self, records):
        self.records = records

    async def healthz(self, request: Request):
        return JSONResponse(HEALTHZ)

    async def pipelines(self, request: Request):
        return listed("pipelines", self.records.pipelines())

    async def pipeline(self, request: Request):
        pid = request.path_params["pid"]
        return found(self.records.pipeline(pid), f"pipeline {pid}")

    async def pipeline_by_name(self, request: Request):
        name = request.path_params["name"]
        match = [p for p in self.records.pipelines() if p["name"] == name]
        return found(match[0] if match else None, f"pipeline named {name}")

    async def versions(self, request: Request):
        pid = request.path_params["pid"]
        return listed("pipeline_versions", self.records.pipeline_versions(pid))

    async def version(self, request: Request):
        p = request.path_params
        return found(self.records.version(p["pid"], p["vid"]), f"pipeline version {p['vid']}")

    async def experiments(self, request: Request):
        return listed("experiments", [self.records.experiment()])

    async def experiment(self, request: Request):
        eid = request.path_params["eid"]
        e = self.records.experiment()
        return found(e if e["experiment_id"] == eid else None, f"experiment {eid}")

    async def runs(self, request: Request):
        eid = request.query_params.get("experiment_id")
        items = [r for r in self.records.runs() if not eid or r["experiment_id"] == eid]
        return listed("runs", items)

    async def run(self, request: Request):
        rid = request.path_params["rid"]
        return found(self.records.run(rid), f"run {rid}")

    async def recurring_runs(self, request: Request):
        return JSONResponse({})  # a cluster's scheduler makes these; none here


async def refused(request: Request):
    what = f"{request.method} {request.url.path}"
    return error(
        501, UNIMPLEMENTED, f"{what}: babyweight ui is read-only, there is no cluster behind it"
    )


def routes(records) -> list[Route]:
    """The v2beta1 routes over `records` (a KfpRecords)."""
    r = V2Reads(records)
    get = ["GET"]
    return [
        Route(f"{PREFIX}/healthz", r.healthz, methods=get),
        Route(f"{PREFIX}/pipelines", r.pipelines, methods=get),
        Route(f"{PREFIX}/pipelines/names/{{name}}", r.pipeline_by_name, methods=get),
        Route(f"{PREFIX}/pipelines/{{pid}}", r.pipeline, methods=get),
        Route(f"{PREFIX}/pipelines/{{pid}}/versions", r.versions, methods=get),
        Route(f"{PREFIX}/pipelines/{{pid}}/versions/{{vid}}", r.version, methods=get),
        Route(f"{PREFIX}/experiments", r.experiments, methods=get),
        Route(f"{PREFIX}/experiments/{{eid}}", r.experiment, methods=get),
        Route(f"{PREFIX}/runs", r.runs, methods=get),
        Route(f"{PREFIX}/runs/{{rid}}", r.run, methods=get),
        Route(f"{PREFIX}/recurringruns", r.recurring_runs, methods=get),
        Route(f"{PREFIX}/{{rest:path}}", refused, methods=[*get, "POST", "PUT", "PATCH", "DELETE"]),
    ]
