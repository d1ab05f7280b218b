"""KfpApiDouble: a local HTTP test double of the KFP v2beta1 REST API, bound to 127.0.0.1.

It stands for the contract that the kfp 2 SDK client (kfp_server_api) speaks to a KFP 2.x API
server, the parts `kfp-pipeline` uses, with the server's rules that matter to a client:

    GET    /apis/v2beta1/healthz
    POST   /apis/v2beta1/pipelines/upload?name&description&namespace     multipart `uploadfile`
    POST   /apis/v2beta1/pipelines/upload_version?name&pipelineid&description   (same)
    GET    /apis/v2beta1/pipelines?filter&namespace&page_size             filter on display_name
    GET    /apis/v2beta1/pipelines/{id}/versions?sort_by=created_at desc
    DELETE /apis/v2beta1/pipelines/{id}/versions/{version_id}
    DELETE /apis/v2beta1/pipelines/{id}           refused while the pipeline has versions
    GET    /apis/v2beta1/experiments?filter       POST /apis/v2beta1/experiments
    POST   /apis/v2beta1/runs                     GET /apis/v2beta1/runs[/{id}]

    GET    /apis/v2beta1/pipelines/{id}/versions/{version_id}   with its pipeline_spec

An uploaded file must be a .yaml/.yml file holding a pipeline spec with pipelineInfo and root that
parses strictly as a KFP PipelineSpec (the server unmarshals it with protojson, which refuses
unknown fields); a PipelineJob JSON is refused as the server refuses it. Names are unique per
pipeline, unknown ids get 404, other paths 404; errors carry a JSON body {"code", "message"} as
grpc-gateway writes them. Every request is recorded for the tests.

It runs nothing: a created run stays PENDING until a test sets its state. What the backend would
start the run with is recorded in `launched[run_id]`, resolved as KFP 2 does: the pipeline root is
the run's runtime_config.pipeline_root, else the cluster's default (CLUSTER_DEFAULT_ROOT, the
`kfp-launcher` configmap's defaultPipelineRoot, unset here). The spec's own defaultPipelineRoot is
never read (kubeflow/pipelines@7b70c7b95f6832772efd6fd0029a4024491a0f44
backend/src/v2/driver/root_dag.go RootDAG: `opts.RuntimeConfig.GetGcsOutputDirectory()`, else
`cfg.DefaultPipelineRoot()`, v2/config/env.go); each parameter is the run's value, else the
spec's defaultValue.
A parameter with neither, unless optional, fails the run (the root driver's error), as on KFP.
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import itertools
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

API = "/apis/v2beta1"
CLUSTER_DEFAULT_ROOT = "minio://mlpipeline/v2/artifacts"  # KFP's default artifact root


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    files: dict[str, tuple[str, bytes]]  # multipart field -> (filename, content)

    def json(self):
        return json.loads(self.body)


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class KfpApiDouble:
    """Start with `with KfpApiDouble() as kfp:`; `kfp.url` is the endpoint."""

    def __init__(self):
        self.requests: list[Request] = []
        self.pipelines: dict[str, dict] = {}
        self.versions: dict[str, list[dict]] = {}  # pipeline id -> versions (with their spec)
        self.experiments: dict[str, dict] = {}
        self.runs: dict[str, dict] = {}
        self.launched: dict[str, dict] = {}  # run id -> {"pipeline_root", "parameters"}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> KfpApiDouble:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self, method: str, path_pattern: str) -> list[Request]:
        """Recorded requests whose method matches and whose path matches the regex fully."""
        return [
            r for r in self.requests if r.method == method and re.fullmatch(path_pattern, r.path)
        ]

    # --- the API -------------------------------------------------------------------------------

    def _new_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids)}"

    def _now(self) -> str:
        return f"2026-01-01T00:00:{len(self.requests):02d}Z"

    def _route(self, req: Request) -> tuple[int, dict]:
        m, p = req.method, req.path
        if not p.startswith(API + "/"):
            raise HttpError(404, f"Not Found: {p}")
        p = p[len(API) :]
        if m == "GET" and p == "/healthz":
            return 200, {"multi_user": False}
        if m == "POST" and p == "/pipelines/upload":
            return 200, self._upload(req)
        if m == "POST" and p == "/pipelines/upload_version":
            return 200, self._upload_version(req)
        if m == "GET" and p == "/pipelines":
            found = [x for x in self.pipelines.values() if _matches(x, req.query.get("filter"))]
            return 200, {"pipelines": found, "total_size": len(found)} if found else {}
        if match := re.fullmatch(r"/pipelines/([^/]+)", p):
            pid = self._pipeline(match[1])
            if m == "GET":
                return 200, self.pipelines[pid]
            if m == "DELETE":
                if self.versions[pid]:
                    raise HttpError(
                        400, f"Failed to delete pipeline {pid}: it has existing pipeline versions"
                    )
                del self.pipelines[pid], self.versions[pid]
                return 200, {}
        if match := re.fullmatch(r"/pipelines/([^/]+)/versions", p):
            pid = self._pipeline(match[1])
            versions = [_public(v) for v in self.versions[pid]]
            if req.query.get("sort_by") == "created_at desc":
                versions.reverse()
            versions = versions[: int(req.query.get("page_size", 100))]
            return 200, {"pipeline_versions": versions, "total_size": len(versions)}
        if match := re.fullmatch(r"/pipelines/([^/]+)/versions/([^/]+)", p):
            pid = self._pipeline(match[1])
            version = self._version(pid, match[2])
            if m == "DELETE":
                self.versions[pid].remove(version)
                return 200, {}
            return 200, version
        if p == "/experiments":
            if m == "GET":
                found = [
                    e for e in self.experiments.values() if _matches(e, req.query.get("filter"))
                ]
                return 200, {"experiments": found, "total_size": len(found)} if found else {}
            if m == "POST":
                body = req.json()
                if not body.get("display_name"):
                    raise HttpError(400, "experiment display_name is empty")
                eid = self._new_id("experiment")
                self.experiments[eid] = {**body, "experiment_id": eid, "created_at": self._now()}
                return 200, self.experiments[eid]
        if p == "/runs":
            if m == "POST":
                return 200, self._create_run(req.json())
            if m == "GET":
                runs = list(self.runs.values())
                if "experiment_id" in req.query:
                    runs = [r for r in runs if r["experiment_id"] == req.query["experiment_id"]]
                return 200, {"runs": runs, "total_size": len(runs)} if runs else {}
        if m == "GET" and (match := re.fullmatch(r"/runs/([^/:]+)", p)):
            if match[1] not in self.runs:
                raise HttpError(404, f"Run {match[1]} not found")
            return 200, self.runs[match[1]]
        raise HttpError(404, f"Not Found: {m} {req.path}")

    def _pipeline(self, pid: str) -> str:
        if pid not in self.pipelines:
            raise HttpError(404, f"Pipeline {pid} not found")
        return pid

    def _version(self, pid: str, vid: str) -> dict:
        for v in self.versions[pid]:
            if v["pipeline_version_id"] == vid:
                return v
        raise HttpError(404, f"Pipeline version {vid} not found")

    def _spec_from_upload(self, req: Request) -> dict:
        if "uploadfile" not in req.files:
            raise HttpError(400, "Failed to read the uploaded file: no uploadfile")
        filename, content = req.files["uploadfile"]
        if not filename.endswith((".yaml", ".yml")):
            raise HttpError(400, "Unexpected pipeline file format. Support .zip, .tar.gz or YAML.")
        try:
            spec = yaml.safe_load(content)
        except yaml.YAMLError as e:
            raise HttpError(400, f"pipeline spec is invalid: {e}") from None
        if not isinstance(spec, dict) or not spec.get("pipelineInfo") or "root" not in spec:
            raise HttpError(400, "pipeline spec is invalid: unknown template format")
        try:
            json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())
        except json_format.ParseError as e:
            raise HttpError(400, f"pipeline spec is invalid: {e}") from None
        return spec

    def _new_version(self, pid: str, name: str, spec: dict, description: str | None) -> dict:
        if any(v["display_name"] == name for v in self.versions[pid]):
            raise HttpError(409, f"Failed to create a pipeline version: {name!r} already exists")
        version = {
            "pipeline_id": pid,
            "pipeline_version_id": self._new_id("version"),
            "display_name": name,
            "description": description or "",
            "created_at": self._now(),
            "pipeline_spec": spec,
        }
        self.versions[pid].append(version)
        return version

    def _upload(self, req: Request) -> dict:
        spec = self._spec_from_upload(req)
        name = req.query.get("name") or spec["pipelineInfo"]["name"]
        if any(x["display_name"] == name for x in self.pipelines.values()):
            raise HttpError(409, f"Failed to create a pipeline: {name!r} already exists")
        pid = self._new_id("pipeline")
        self.pipelines[pid] = {
            "pipeline_id": pid,
            "display_name": name,
            "description": req.query.get("description", ""),
            "created_at": self._now(),
            "namespace": req.query.get("namespace", ""),
        }
        self.versions[pid] = []
        self._new_version(pid, name, spec, req.query.get("description"))
        return self.pipelines[pid]

    def _upload_version(self, req: Request) -> dict:
        spec = self._spec_from_upload(req)
        pid = self._pipeline(req.query.get("pipelineid", ""))
        name = req.query.get("name") or spec["pipelineInfo"]["name"]
        return _public(self._new_version(pid, name, spec, req.query.get("description")))

    def _create_run(self, body: dict) -> dict:
        if not body.get("display_name"):
            raise HttpError(400, "run display_name is empty")
        if body.get("experiment_id") not in self.experiments:
            raise HttpError(404, f"Experiment {body.get('experiment_id')} not found")
        ref = body.get("pipeline_version_reference")
        if ref:
            pid = self._pipeline(ref.get("pipeline_id", ""))
            spec = self._version(pid, ref.get("pipeline_version_id"))["pipeline_spec"]
        elif body.get("pipeline_spec"):
            spec = body["pipeline_spec"]
        else:
            raise HttpError(400, "a run needs a pipeline_version_reference or a pipeline_spec")
        rid = self._new_id("run")
        self.runs[rid] = {**body, "run_id": rid, "state": "PENDING", "created_at": self._now()}
        self._launch(rid, spec, body.get("runtime_config") or {})
        return self.runs[rid]

    def _launch(self, rid: str, spec: dict, runtime_config: dict) -> None:
        """What the backend starts the run with: its root and parameter values."""
        root = runtime_config.get("pipeline_root") or CLUSTER_DEFAULT_ROOT  # root_dag.go
        given = runtime_config.get("parameters") or {}
        definitions = spec["root"].get("inputDefinitions", {}).get("parameters", {})
        parameters = {}
        for name, definition in definitions.items():
            if name in given:
                parameters[name] = given[name]
            elif "defaultValue" in definition:
                parameters[name] = definition["defaultValue"]
            elif not definition.get("isOptional"):
                self.runs[rid]["state"] = "FAILED"
                self.runs[rid]["error"] = {
                    "message": "neither runtime parameter value nor default value is provided "
                    f"for non-optional parameter {name}"
                }
        self.launched[rid] = {"pipeline_root": root, "parameters": parameters}

    # --- HTTP plumbing -------------------------------------------------------------------------

    def _handler(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                url = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(
                    method=self.command,
                    path=url.path,
                    query=dict(urllib.parse.parse_qsl(url.query)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    files=_multipart(self.headers.get("Content-Type", ""), body),
                )
                with double._lock:
                    double.requests.append(req)
                    try:
                        status, payload = double._route(req)
                    except HttpError as e:
                        status, payload = e.status, {"code": e.status, "message": e.message}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, *args):  # quiet
                pass

        return Handler


def _public(version: dict) -> dict:
    return {k: v for k, v in version.items() if k != "pipeline_spec"}


def _matches(item: dict, flt: str | None) -> bool:
    """The display_name EQUALS predicate that the kfp client and kfp-pipeline send."""
    if not flt:
        return True
    for predicate in json.loads(flt).get("predicates", []):
        if predicate.get("operation") not in ("EQUALS", 1) or predicate["key"] != "display_name":
            raise HttpError(400, f"filter not supported by this double: {predicate}")
        if item.get("display_name") != predicate.get("stringValue", predicate.get("string_value")):
            return False
    return True


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]]:
    if not content_type.startswith("multipart/form-data"):
        return {}
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    files = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        files[name] = (part.get_filename() or "", part.get_payload(decode=True))
    return files
