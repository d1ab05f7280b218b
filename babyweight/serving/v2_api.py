"""The Open Inference Protocol (KServe v2, Triton's HTTP API) beside TF Serving's REST API, from
the same loaded versions, labels and rollout.

    GET  /v2/health/live   /v2/health/ready   /v2
    GET  /v2/models/NAME[/versions/V]          metadata: versions, inputs, outputs
    GET  /v2/models/NAME[/versions/V]/ready
    POST /v2/models/NAME[/versions/V]/infer    raw features in, predicted_weight_pounds (FP32) out

Without a version, a request is routed as an unlabelled REST one (stable, and the canary's
share; the header X-Rollout-Key splits by key). Errors answer {"error": "..."} with the status
REST gives (400 naming the input, 404 for an unknown model or version, 503 while nothing is
loaded). Tensors: serving/v2_tensors.py.
"""

from __future__ import annotations

from babyweight import features as F
from babyweight.serving.requests import RequestError, parse_predict_request, read_body
from babyweight.serving.routing import ROLLOUT_KEY_HEADER, version_number
from babyweight.serving.v2_tensors import (
    ACCEPTED,
    BINARY_HEADER,
    OUTPUT_DATATYPE,
    infer_response,
    inputs_to_columns,
    split_body,
    wants_binary,
)

PLATFORM = "tensorflow_savedmodel"


class V2Api:
    """The handlers; `routes()` gives the Starlette routes to add to the REST app."""

    def __init__(self, server):
        self.server = server

    def _model(self, request, *, key: str | None = None):
        """The model the path names (its version, or the router's pick)."""
        name = request.path_params["name"]
        if name != self.server.model_name:
            raise RequestError(404, f"model {name[:100]!r} is not served")
        text = request.path_params.get("version")
        return self.server.router.pick(version_number(text), None, key)

    async def live(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse({"live": True})

    async def ready(self, request):
        from starlette.responses import JSONResponse

        ready = bool(self.server.registry.loaded)
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    async def server_metadata(self, request):
        from importlib.metadata import version

        from starlette.responses import JSONResponse

        return JSONResponse(
            {
                "name": "babyweight",
                "version": version("babyweight"),
                "extensions": ["binary_tensor_data"],
            }
        )

    async def model_metadata(self, request):
        from starlette.responses import JSONResponse

        try:
            model, _ = self._model(request)
        except RequestError as e:
            return JSONResponse(e.body(), status_code=e.status)
        versions = [str(v) for v in sorted(self.server.registry.loaded)]
        return JSONResponse(
            {
                "name": self.server.model_name,
                "versions": versions if "version" not in request.path_params else [model.version],
                "platform": PLATFORM,
                "inputs": [
                    {"name": k, "datatype": ACCEPTED[k][0], "shape": [-1]} for k in F.FEATURE_KEYS
                ],
                "outputs": [{"name": F.PREDICTION_KEY, "datatype": OUTPUT_DATATYPE, "shape": [-1]}],
            }
        )

    async def model_ready(self, request):
        from starlette.responses import JSONResponse

        try:
            model, _ = self._model(request)
        except RequestError as e:
            return JSONResponse({**e.body(), "ready": False}, status_code=e.status)
        return JSONResponse(
            {"name": self.server.model_name, "version": model.version, "ready": True}
        )

    async def infer(self, request):
        from babyweight.serving.tf_serving_rest import answer_headers

        from starlette.responses import JSONResponse, Response

        try:
            body = await read_body(request, self.server.max_body_bytes)
            payload, binary = split_body(body, request.headers.get(BINARY_HEADER))
            instances, _ = parse_predict_request({"inputs": inputs_to_columns(payload, binary)})
            model, label = self._model(request, key=request.headers.get(ROLLOUT_KEY_HEADER))
            predictions, source = await self.server.answer(model, instances, label)
        except RequestError as e:
            return JSONResponse(e.body(), status_code=e.status)
        head = {"model_name": self.server.model_name, "model_version": model.version}
        if isinstance(payload.get("id"), str):
            head["id"] = payload["id"]
        content, headers = infer_response(head, predictions, wants_binary(payload))
        return Response(
            content,
            media_type="application/octet-stream" if headers else "application/json",
            headers={**headers, **answer_headers(model.version, label, source)},
        )

    def routes(self) -> list:
        from starlette.routing import Route

        routes = [
            Route("/v2", self.server_metadata, methods=["GET"]),
            Route("/v2/health/live", self.live, methods=["GET"]),
            Route("/v2/health/ready", self.ready, methods=["GET"]),
        ]
        for base in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
            routes += [
                Route(base, self.model_metadata, methods=["GET"]),
                Route(base + "/ready", self.model_ready, methods=["GET"]),
                Route(base + "/infer", self.infer, methods=["POST"]),
            ]
        return routes
