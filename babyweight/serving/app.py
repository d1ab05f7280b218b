"""The REST server's app: TF Serving's model API, the web page and the OpenAPI document.

    GET  /v1/models/babyweight[/versions/N | /labels/L]            version status
    GET  /v1/models/babyweight[/versions/N | /labels/L]/metadata   signatures
    POST /v1/models/babyweight[/versions/N | /labels/L]:predict    {"instances"} or {"inputs"}
    GET  /openapi.json                                  the OpenAPI document of all of them
    GET  / , POST /                                     the web page (serving/page.py)

Row requests answer {"predictions": [...]}, columnar requests {"outputs": [...]}, as TF Serving
does; errors answer {"error": "..."} with a 4xx that names the field ("errors" lists every wrong
field). A request picks its model once (serving/routing.py: by version, by label, or stable and
canary by the rollout), so it finishes on that version even when the labels change meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from babyweight import model_store
from babyweight.instances import Instance
from babyweight.serving import page, tf_serving_rest
from babyweight.serving.log import ServingLog
from babyweight.serving.registry import ModelRegistry
from babyweight.serving.requests import RequestError
from babyweight.serving.routing import Router

log = logging.getLogger("babyweight.serving")

DEFAULT_MAX_BODY_BYTES = 1 << 20  # 1 MiB: about 10,000 rows


def version_status(registry: ModelRegistry, model_name: str, version: int | None) -> dict:
    """TF Serving's model status answer: every version's state, or one version's (404 when it
    is unknown)."""
    states = {v: ("AVAILABLE", "OK", "") for v in registry.loaded}
    for v, why in registry.failed.items():
        states.setdefault(v, ("END", "UNKNOWN", why))
    if version is not None:
        if version not in states:
            raise RequestError(404, f"Could not find version {version} of {model_name}")
        states = {version: states[version]}
    if not states:
        raise RequestError(404, f"Could not find any versions of model {model_name}")
    return {
        "model_version_status": [
            {
                "version": str(v),
                "state": state,
                "status": {"error_code": code, "error_message": message},
            }
            for v, (state, code, message) in sorted(states.items(), reverse=True)
        ]
    }


class BabyweightServer:
    """The state behind the ASGI app (models, log, limits); `app` is the Starlette app."""

    def __init__(
        self,
        registry: ModelRegistry,
        router: Router,
        serving_log: ServingLog,
        *,
        model_name: str,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ):
        self.registry, self.router, self.serving_log = registry, router, serving_log
        self.model_name = model_name
        self.max_body_bytes = max_body_bytes
        self.metrics = None  # serving/metrics.py's Metrics, when mounted (api_flags.mount)
        self.model_threads = ThreadPoolExecutor(thread_name_prefix="model")
        self.app = self._make_app()

    async def in_model_thread(self, function, *args):
        """function(*args) in a worker thread, off the event loop (a model call: milliseconds).
        asyncio's run_in_executor on our own pool, not starlette's run_in_threadpool: anyio's
        path cost 0.8 ms more per call (docs/benchmarks.md, the REST model path)."""
        return await asyncio.get_running_loop().run_in_executor(self.model_threads, function, *args)

    @contextlib.asynccontextmanager
    async def _warm_request_path(self, app):
        """Before uvicorn accepts a request: start the model threads' first worker, so the
        first request that reaches the model does not pay for it, however well the version
        was warmed up (docs/benchmarks.md, first request)."""
        await self.in_model_thread(lambda: None)
        yield

    def predict_sourced(
        self, model, instances: list[Instance], label: str | None = None
    ) -> tuple[list[float], str]:
        """(predictions, "table" | "model" | "mixed"): a model with a prediction table
        (babyweight/prediction_table.py) answers the rows it holds from it; logged either way."""
        import tensorflow as tf

        try:
            if hasattr(model, "predict_sourced"):  # one source per row
                predictions, sources = model.predict_sourced(instances)
            else:
                predictions, sources = model.predict(instances), ["model"] * len(instances)
        except tf.errors.InvalidArgumentError as e:  # the signature's own checks
            raise RequestError(400, f"the model rejected the input: {e.message[:500]}") from None
        return self._logged(model, instances, predictions, label, sources)

    def table_answer(
        self, model, instances: list[Instance], label: str | None = None
    ) -> tuple[list[float], str] | None:
        """The fast path: (predictions, "table") when the version's table holds every row (no
        TensorFlow call, no worker thread), else None (then predict_sourced)."""
        answers = getattr(model, "table_answers", None)
        predictions = answers(instances) if answers is not None else None
        if predictions is None:
            return None
        return self._logged(model, instances, predictions, label, ["table"] * len(instances))

    async def answer(self, model, instances: list[Instance], label: str | None = None):
        """predict_sourced for an async handler: in the event loop when the table answers every
        row (a lookup of microseconds), in a model thread when the model runs."""
        answered = self.table_answer(model, instances, label)
        if answered is None:
            answered = await self.in_model_thread(self.predict_sourced, model, instances, label)
        return answered

    def _logged(self, model, instances, predictions, label, sources) -> tuple[list[float], str]:
        self.serving_log.write(model.version, instances, predictions, label, source=sources)
        if self.metrics is not None:
            self.metrics.count_sources(model.version, sources)
        distinct = set(sources)
        return predictions, distinct.pop() if len(distinct) == 1 else "mixed"

    def predict_and_log(
        self, model, instances: list[Instance], label: str | None = None
    ) -> list[float]:
        return self.predict_sourced(model, instances, label)[0]

    def status(self, version: int | None) -> dict:
        return version_status(self.registry, self.model_name, version)

    def metadata(self, model: model_store.LoadedModel) -> dict:
        return {
            "model_spec": {"name": self.model_name, "signature_name": "", "version": model.version},
            "metadata": {"signature_def": {"signature_def": model.signature_defs()}},
        }

    async def models_api(self, request):
        return await tf_serving_rest.handle(self, request)

    async def page(self, request):
        return await page.handle(self, request)

    async def openapi(self, request):
        from babyweight.serving.openapi import openapi_document

        from starlette.responses import JSONResponse

        return JSONResponse(openapi_document(self.model_name, self.max_body_bytes))

    def _make_app(self):
        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def http_error(request, exc):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

        async def server_error(request, exc):
            log.exception("unexpected error on %s", request.url.path, exc_info=exc)
            return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, 500)

        return Starlette(
            routes=[
                Route("/", self.page, methods=["GET", "POST"]),
                Route("/openapi.json", self.openapi, methods=["GET"]),
                Route("/v1/models/{rest:path}", self.models_api, methods=["GET", "POST"]),
            ],
            exception_handlers={HTTPException: http_error, Exception: server_error},
            lifespan=self._warm_request_path,
        )
