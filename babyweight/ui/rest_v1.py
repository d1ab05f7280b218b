"""The few KFP v1beta1 reads the UI still makes for a v2 pipeline, from the same records.

frontend/src/pages/PipelineDetails.tsx asks for the pipeline and its versions by v1beta1 and by
v2beta1, and shows an error when either fails; the KFP API server answers both for every
pipeline (v1beta1 as a view of the same rows). These are those v1 views: a pipeline with its
default (newest) version, and the versions, each owned by its pipeline (resource_references).
Other v1beta1 paths stay unserved (404), e.g. the v1 run the run page asks for before it knows
the run is a v2 one.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PREFIX = "/apis/v1beta1"


def v1_version(version: dict) -> dict:
    return {
        "id": version["pipeline_version_id"],
        "name": version["display_name"],
        "created_at": version["created_at"],
        "description": version["description"],
        "resource_references": [
            {"key": {"type": "PIPELINE", "id": version["pipeline_id"]}, "relationship": "OWNER"}
        ],
    }


def routes(records) -> list[Route]:
    def missing(what: str) -> JSONResponse:
        return JSONResponse({"error": f"{what} not found", "code": 5}, status_code=404)

    async def pipeline(request: Request):
        pid = request.path_params["pid"]
        found, versions = records.pipeline(pid), records.pipeline_versions(pid)
        if not found:
            return missing(f"pipeline {pid}")
        body = {"id": pid, "name": found["display_name"], "description": found["description"],
                "created_at": found["created_at"]}  # fmt: skip
        if versions:
            body["default_version"] = v1_version(versions[0])
        return JSONResponse(body)

    async def versions(request: Request):
        pid = request.query_params.get("resource_key.id", "")
        found = [v1_version(v) for v in records.pipeline_versions(pid)]
        return JSONResponse({"versions": found, "total_size": len(found)} if found else {})

    async def version(request: Request):
        vid = request.path_params["vid"]
        for p in records.pipelines():
            found = records.version(p["pipeline_id"], vid)
            if found:
                return JSONResponse(v1_version(found))
        return missing(f"pipeline version {vid}")

    return [
        Route(f"{PREFIX}/pipelines/{{pid}}", pipeline, methods=["GET"]),
        Route(f"{PREFIX}/pipeline_versions", versions, methods=["GET"]),
        Route(f"{PREFIX}/pipeline_versions/{{vid}}", version, methods=["GET"]),
    ]
