"""TF Serving's REST model API on the server (serving/app.py): version status, metadata and
predict under /v1/models/NAME[/versions/N | /labels/L], answered as TF Serving answers them."""

from __future__ import annotations

from babyweight.serving.requests import RequestError, parse_predict_request, read_json, shown
from babyweight.serving.routing import ROLLOUT_KEY_HEADER, parse_model_path, version_number

MODEL_VERSION_HEADER = "X-Model-Version"  # on every prediction: the version that answered
MODEL_LABEL_HEADER = "X-Model-Label"  # ... the label it answered under ("" when none)
SOURCE_HEADER = "X-Prediction-Source"  # ... "table", "model" or "mixed" (prediction_table.py)


def answer_headers(version: str, label: str | None, source: str) -> dict:
    return {MODEL_VERSION_HEADER: version, MODEL_LABEL_HEADER: label or "", SOURCE_HEADER: source}


async def handle(server, request):
    from starlette.responses import JSONResponse

    # scope["path"] is decoded; request.url would cut it at a "?" inside (%3F)
    try:
        target = parse_model_path(request.scope["path"])
        if (request.method == "POST") != (target.action == "predict"):
            allowed = "POST" if target.action == "predict" else "GET"
            return JSONResponse(
                {"error": f"{request.method} is not allowed here; use {allowed}"},
                status_code=405,
                headers={"Allow": allowed},
            )
        if target.name != server.model_name:
            raise RequestError(404, f"Servable not found: model {shown(target.name)} is not served")
        version = version_number(target.version)
        if target.action == "":
            if target.label is not None:
                version = server.router.labelled_version(target.label)
            return JSONResponse(server.status(version))
        if target.action == "metadata":
            model, _ = server.router.pick(version, target.label)
            return JSONResponse(server.metadata(model))
        instances, columnar = parse_predict_request(await read_json(request, server.max_body_bytes))
        key = request.headers.get(ROLLOUT_KEY_HEADER)
        model, label = server.router.pick(version, target.label, key)
        predictions, source = await server.answer(model, instances, label)
        return JSONResponse(
            {"outputs" if columnar else "predictions": predictions},
            headers=answer_headers(model.version, label, source),
        )
    except RequestError as e:
        return JSONResponse(e.body(), status_code=e.status)
