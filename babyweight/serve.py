"""`serve`: the pushed model over TF Serving's REST API, and a web page for people.

    serve --model-dir outputs/serving_model/babyweight [--host 127.0.0.1] [--port 8501]
          [--serving-log PATH] [--poll-seconds 1] [--num-versions 1] [--max-body-bytes N]

(`python -m babyweight.serve` is the same.) Endpoints, as TensorFlow Serving has them:

    GET  /v1/models/babyweight[/versions/N]             version status
    GET  /v1/models/babyweight[/versions/N]/metadata    signatures
    POST /v1/models/babyweight[/versions/N]:predict     {"instances": [...]} or {"inputs": {...}}
    GET  /openapi.json                                  the OpenAPI document of all of them
    GET  / , POST /                                     the web page (a form; no JavaScript)

Rows are raw JSON features as people write them (babyweight.instances parses and checks them
against the schema). Row requests answer {"predictions": [...]}, columnar requests
{"outputs": [...]}, as TF Serving does; errors answer {"error": "..."} with a 4xx that names the
field. The server loads the newest `--num-versions` versions under --model-dir, polls for newly
pushed ones, loads and warms a new one in the background and then swaps it in: requests in flight
finish on the version they started on, none is dropped. Every predicted row is appended to the
serving log as a JSON line (time, model_version, features, prediction); a failed write is logged
and never fails the request.
"""

from __future__ import annotations

import argparse
import datetime
import html
import json
import logging
import re
import string
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl

from babyweight import model_store
from babyweight.instances import (
    Instance,
    InvalidInstance,
    instance_errors,
    integer_domains,
    parse_instance,
)
from models import features as F
from models.signatures import RAW_SIGNATURE

log = logging.getLogger("babyweight.serve")

DEFAULT_PORT = 8501  # TF Serving's REST port
DEFAULT_MAX_BODY_BYTES = 1 << 20  # 1 MiB: about 10,000 rows
KG_PER_POUND = 0.45359237
STATIC = Path(__file__).parent / "static"
FIELD_LABELS = {  # the web form's words for the features
    F.IS_MALE: "Baby's sex",
    F.PLURALITY: "Plurality",
    F.MOTHER_AGE: "Mother's age",
    F.GESTATION_WEEKS: "Gestation weeks",
}


class RequestError(Exception):
    """A request the server cannot serve; `status` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str):
        self.status, self.message = status, message
        super().__init__(message)


# ---------------------------------------------------------------------------------------------
# Models: the versions on disk, the loaded ones, hot swap.


class ModelRegistry:
    """The newest `num_versions` versions under `base_dir`, loaded; a poller keeps them newest.

    A version is loaded only when its directory is complete and unchanged between two polls (a
    push in progress is not), warmed up, and then published by swapping one dict: a request picks
    its model once, so it finishes on that version even when a newer one arrives meanwhile.
    """

    def __init__(self, base_dir: Path, *, num_versions: int = 1, poll_seconds: float = 1.0):
        self.base_dir = Path(base_dir)
        self.num_versions = num_versions
        self.poll_seconds = poll_seconds
        self.loaded: dict[int, model_store.LoadedModel] = {}
        self.failed: dict[int, str] = {}  # version -> why it did not load
        self._snapshots: dict[int, tuple] = {}
        self._failed_snapshots: dict[int, tuple] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def latest(self) -> model_store.LoadedModel | None:
        loaded = self.loaded
        return loaded[max(loaded)] if loaded else None

    def get(self, version: int | None) -> model_store.LoadedModel | None:
        return self.latest() if version is None else self.loaded.get(version)

    def refresh(self, *, wait_stable: bool = True) -> None:
        """Load what is new on disk, drop what fell out of the newest num_versions."""
        with self._lock:
            on_disk = model_store.versions(self.base_dir)
            wanted = on_disk[-self.num_versions :]
            # Copies, published by assignment: request threads read these without the lock.
            loaded = dict(self.loaded)
            failed = {v: why for v, why in self.failed.items() if v in on_disk}
            for version in wanted:
                if version in loaded:
                    continue
                path = self.base_dir / str(version)
                snapshot = _snapshot(path)
                stable = self._snapshots.get(version) == snapshot
                self._snapshots[version] = snapshot
                if (wait_stable and not stable) or self._failed_snapshots.get(version) == snapshot:
                    continue
                try:
                    loaded[version] = model_store.load(path)
                except Exception as e:  # a broken push must not stop the server
                    failed[version] = f"{type(e).__name__}: {e}"[:1000]
                    self._failed_snapshots[version] = snapshot
                    log.error("could not load version %s from %s: %s", version, path, e)
                    continue
                failed.pop(version, None)
                log.warning("loaded version %s from %s", version, path)
            keep = set(wanted) & set(loaded)
            if not keep and loaded:  # nothing wanted is loaded (yet): keep serving what we have
                keep = {max(loaded)}
            loaded = {v: m for v, m in loaded.items() if v in keep}
            self.failed = failed
            if loaded.keys() != self.loaded.keys():
                self.loaded = loaded  # one assignment: the swap
                log.warning("serving versions %s", sorted(loaded))

    def start(self) -> None:
        self.refresh(wait_stable=False)
        self._thread = threading.Thread(target=self._poll, name="model-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:
                log.exception("polling %s failed", self.base_dir)


def _snapshot(path: Path) -> tuple:
    try:
        return tuple(
            sorted(
                (str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
                for p in path.rglob("*")
            )
        )
    except OSError:
        return ()


# ---------------------------------------------------------------------------------------------
# The serving log.


class ServingLog:
    """Appends one JSON line per predicted row; a failure is logged, never raised."""

    def __init__(self, path: Path | None):
        self.path = path
        self.failures = 0
        self._lock = threading.Lock()

    def write(self, version: str, instances: list[Instance], predictions: list[float]) -> None:
        if self.path is None:
            return
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")
        lines = "".join(
            json.dumps(
                {
                    "time": now,
                    "model_version": version,
                    "features": instance.as_dict(),
                    "prediction": prediction,
                }
            )
            + "\n"
            for instance, prediction in zip(instances, predictions, strict=True)
        )
        try:
            with self._lock, open(self.path, "a", encoding="utf-8") as f:
                f.write(lines)
        except Exception as e:  # the log serves monitoring; the request matters more
            self.failures += 1
            if self.failures == 1 or self.failures % 1000 == 0:
                log.error(
                    "serving log %s: write failed (%d so far): %s", self.path, self.failures, e
                )


# ---------------------------------------------------------------------------------------------
# Requests: TF Serving's row and columnar formats to Instances.


def parse_predict_request(payload) -> tuple[list[Instance], bool]:
    """(instances, columnar) from a predict request body, or RequestError naming the field."""
    if not isinstance(payload, Mapping):
        raise RequestError(400, "request body: expected a JSON object with 'instances' or 'inputs'")
    signature = payload.get("signature_name", RAW_SIGNATURE)
    if signature != RAW_SIGNATURE:
        raise RequestError(
            400,
            f"signature_name: {signature!r} is not served; use {RAW_SIGNATURE!r} (raw features)",
        )
    if ("instances" in payload) == ("inputs" in payload):
        raise RequestError(
            400, "request body: expected exactly one of 'instances' (rows) or 'inputs' (columns)"
        )
    try:
        if "instances" in payload:
            return _rows(payload["instances"]), False
        return _columns(payload["inputs"]), True
    except InvalidInstance as e:
        raise RequestError(400, str(e)) from None


def _rows(rows) -> list[Instance]:
    if not isinstance(rows, list):
        raise InvalidInstance("instances", rows, "expected a list of objects, one per row")
    if not rows:
        raise InvalidInstance("instances", rows, "empty list; send at least one row")
    return [parse_instance(row, prefix=f"instances[{i}].") for i, row in enumerate(rows)]


def _columns(columns) -> list[Instance]:
    if not isinstance(columns, Mapping):
        raise InvalidInstance("inputs", columns, "expected an object of lists, one per feature")
    for key in F.FEATURE_KEYS:
        if key not in columns:
            raise InvalidInstance(f"inputs.{key}", None, "missing")
        if not isinstance(columns[key], list):
            raise InvalidInstance(f"inputs.{key}", columns[key], "expected a list of values")
    n = len(columns[F.FEATURE_KEYS[0]])
    if n == 0:
        raise InvalidInstance(f"inputs.{F.FEATURE_KEYS[0]}", [], "empty list; send at least one")
    for key in F.FEATURE_KEYS[1:]:
        if len(columns[key]) != n:
            raise InvalidInstance(
                f"inputs.{key}",
                f"{len(columns[key])} values",
                f"every feature needs as many values as inputs.{F.FEATURE_KEYS[0]} ({n})",
            )
    instances = []
    for i in range(n):
        try:
            instances.append(parse_instance({k: columns[k][i] for k in F.FEATURE_KEYS}))
        except InvalidInstance as e:
            raise InvalidInstance(f"inputs.{e.field}[{i}]", e.value, e.reason) from None
    return instances


# ---------------------------------------------------------------------------------------------
# The web app.


class BabyweightServer:
    """The state behind the ASGI app: models, log, limits. `app` is the Starlette app."""

    def __init__(
        self,
        registry: ModelRegistry,
        serving_log: ServingLog,
        *,
        model_name: str,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ):
        self.registry = registry
        self.serving_log = serving_log
        self.model_name = model_name
        self.max_body_bytes = max_body_bytes
        self.page_template = string.Template((STATIC / "index.html").read_text())
        self.app = self._make_app()

    # -- model API ----------------------------------------------------------------------------

    _MODEL_PATH = re.compile(r"/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?")

    async def models_api(self, request):
        from starlette.responses import JSONResponse

        try:
            return await self._models_api(request)
        except RequestError as e:
            return JSONResponse({"error": e.message}, status_code=e.status)

    async def _models_api(self, request):
        from starlette.responses import JSONResponse

        path = request.scope["path"]  # decoded; request.url would cut it at a "?" inside (%3F)
        action = ""
        if path.endswith(":predict"):
            path, action = path[: -len(":predict")], "predict"
        elif path.endswith("/metadata"):
            path, action = path[: -len("/metadata")], "metadata"
        match = self._MODEL_PATH.fullmatch(path)
        if not match:
            raise RequestError(404, f"no such endpoint: {request.scope['path']}")
        if (request.method == "POST") != (action == "predict"):
            allowed = "POST" if action == "predict" else "GET"
            return JSONResponse(
                {"error": f"{request.method} is not allowed here; use {allowed}"},
                status_code=405,
                headers={"Allow": allowed},
            )
        if match["name"] != self.model_name:
            raise RequestError(404, f"Servable not found: model {match['name']!r} is not served")
        version = None
        if match["version"] is not None:
            if not match["version"].isascii() or not match["version"].isdigit():
                raise RequestError(
                    400, f"version: expected a whole number, got {match['version']!r}"
                )
            version = int(match["version"])
        if action == "predict":
            return await self.predict(request, version)
        if action == "metadata":
            return JSONResponse(self.metadata(version))
        return JSONResponse(self.status(version))

    def _model(self, version: int | None) -> model_store.LoadedModel:
        model = self.registry.get(version)
        if model is not None:
            return model
        if version is None:
            raise RequestError(
                503,
                f"no version of {self.model_name} is loaded yet; watching {self.registry.base_dir}",
            )
        raise RequestError(
            404,
            f"Servable not found for request: Specific({self.model_name}, {version}); "
            f"loaded versions: {', '.join(map(str, sorted(self.registry.loaded))) or 'none'}",
        )

    def status(self, version: int | None) -> dict:
        states = {v: ("AVAILABLE", "OK", "") for v in self.registry.loaded}
        for v, why in self.registry.failed.items():
            states.setdefault(v, ("END", "UNKNOWN", why))
        if version is not None:
            if version not in states:
                raise RequestError(404, f"Could not find version {version} of {self.model_name}")
            states = {version: states[version]}
        if not states:
            raise RequestError(404, f"Could not find any versions of model {self.model_name}")
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

    def metadata(self, version: int | None) -> dict:
        model = self._model(version)
        return {
            "model_spec": {"name": self.model_name, "signature_name": "", "version": model.version},
            "metadata": {"signature_def": {"signature_def": model.signature_defs()}},
        }

    async def predict(self, request, version: int | None):
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        payload = await self._json_body(request)
        instances, columnar = parse_predict_request(payload)
        model = self._model(version)
        predictions = await run_in_threadpool(self._predict_and_log, model, instances)
        return JSONResponse({"outputs" if columnar else "predictions": predictions})

    def _predict_and_log(self, model, instances: list[Instance]) -> list[float]:
        import tensorflow as tf

        try:
            predictions = model.predict(instances)
        except tf.errors.InvalidArgumentError as e:  # the signature's own checks
            raise RequestError(400, f"the model rejected the input: {e.message[:500]}") from None
        self.serving_log.write(model.version, instances, predictions)
        return predictions

    async def _body(self, request) -> bytes:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            raise RequestError(413, self._too_large(int(length)))
        body, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise RequestError(413, self._too_large(size))
            body.append(chunk)
        return b"".join(body)

    def _too_large(self, size: int) -> str:
        return (
            f"request body: {size} bytes or more, over the limit of {self.max_body_bytes} bytes; "
            "send fewer rows per request"
        )

    async def _json_body(self, request):
        body = await self._body(request)
        if not body.strip():
            raise RequestError(400, "request body: empty; expected JSON")
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise RequestError(400, f"request body: malformed JSON: {e}") from None
        except RecursionError:
            raise RequestError(400, "request body: malformed JSON: nested too deeply") from None

    # -- web page -----------------------------------------------------------------------------

    async def page(self, request):
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import HTMLResponse

        values, errors, result, status = {}, {}, None, 200
        if request.method == "POST":
            try:
                body = await self._body(request)
                values = dict(parse_qsl(body.decode("utf-8", errors="replace")))
            except RequestError as e:
                return HTMLResponse(html.escape(e.message), status_code=e.status)
            filled = {k: v for k, v in values.items() if v.strip()}  # an empty box is missing
            errors = {
                k: f"{FIELD_LABELS.get(k, k)}: {e.reason}"
                for k, e in instance_errors(filled).items()
            }
            if not errors:
                try:
                    model = self._model(None)
                    instance = parse_instance(filled)
                    pounds = (await run_in_threadpool(self._predict_and_log, model, [instance]))[0]
                    result = (pounds, model.version)
                except RequestError as e:
                    errors, status = {"form": e.message}, e.status
            else:
                status = 400
        return HTMLResponse(self.render_page(values, errors, result), status_code=status)

    def render_page(self, values: dict, errors: dict, result: tuple | None) -> str:
        domains = integer_domains()
        sexes = {"True": "Male", "False": "Female", F.UNKNOWN: "Unknown"}
        pluralities = {
            label: "Multiple, number not known" if label == F.MULTIPLE else label.replace("(", " (")
            for label in F.PLURALITY_VALUES
        }

        def options(name: str, labels: dict, default: str) -> str:
            chosen = values.get(name, default)
            return "\n".join(
                f'<option value="{html.escape(v)}"{" selected" if v == chosen else ""}>'
                f"{html.escape(text)}</option>"
                for v, text in labels.items()
            )

        def number(name: str) -> str:
            lo, hi = domains[name]
            value = html.escape(values.get(name, ""), quote=True)
            return f'min="{lo}" max="{hi}" value="{value}"'

        def error(name: str) -> tuple[str, str]:
            if name not in errors:
                return "", ""
            message = f'<p class="error" id="{name}-error">{html.escape(errors[name])}</p>'
            return message, f' aria-invalid="true" aria-describedby="{name}-error"'

        fields = {}
        for name in F.FEATURE_KEYS:
            fields[f"{name}_label"] = html.escape(FIELD_LABELS[name])
            fields[f"{name}_error"], fields[f"{name}_invalid"] = error(name)
        fields[f"{F.IS_MALE}_options"] = options(F.IS_MALE, sexes, F.UNKNOWN)
        fields[f"{F.PLURALITY}_options"] = options(F.PLURALITY, pluralities, F.SINGLE)
        fields[f"{F.MOTHER_AGE}_attrs"] = number(F.MOTHER_AGE)
        fields[f"{F.GESTATION_WEEKS}_attrs"] = number(F.GESTATION_WEEKS)
        fields["mother_age_range"] = "{}-{}".format(*domains[F.MOTHER_AGE])
        fields["gestation_weeks_range"] = "{}-{}".format(*domains[F.GESTATION_WEEKS])
        if result is not None:
            pounds, version = result
            fields["result"] = (
                '<p>Predicted birth weight: <strong><span id="pounds" '
                f'data-pounds="{pounds!r}">{pounds:.2f}</span> lb</strong> '
                f'(<span id="kilograms">{pounds * KG_PER_POUND:.2f}</span> kg), '
                f'model version <span id="model-version">{html.escape(version)}</span>.</p>'
            )
        elif errors:
            summary = "Please correct the highlighted fields."
            if "form" in errors:
                summary = errors["form"]
            fields["result"] = f'<p class="error" id="form-error">{html.escape(summary)}</p>'
        else:
            fields["result"] = ""
        latest = self.registry.latest()
        fields["model_version"] = html.escape(latest.version if latest else "none loaded yet")
        fields["model_name"] = html.escape(self.model_name)
        return self.page_template.substitute(fields)

    async def openapi(self, request):
        from starlette.responses import JSONResponse

        from babyweight.openapi import openapi_document

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
        )


def default_serving_log(model_dir: Path) -> Path:
    """OUTPUT/serving_log.jsonl for OUTPUT/serving_model/NAME, next to the Pusher's output."""
    return Path(model_dir).resolve().parent.parent / "serving_log.jsonl"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="serve", description=__doc__.split("\n\n")[0].removeprefix("`serve`: ")
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path("outputs/serving_model/babyweight"),
        help="the Pusher's serving_model/<name> directory of numbered versions "
        "(default: outputs/serving_model/babyweight); <name> is the model's name in the URLs",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--serving-log",
        default=None,
        help="JSON-lines log of every predicted row (default: serving_log.jsonl two levels above "
        "--model-dir, i.e. OUTPUT/serving_log.jsonl); '' turns it off",
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
    registry = ModelRegistry(
        args.model_dir, num_versions=args.num_versions, poll_seconds=args.poll_seconds
    )
    if args.serving_log is None:
        log_path = default_serving_log(args.model_dir)
    else:
        log_path = Path(args.serving_log) if args.serving_log else None
    server = BabyweightServer(
        registry,
        ServingLog(log_path),
        model_name=Path(args.model_dir).resolve().name,
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
        f"from {args.model_dir} at http://{args.host}:{args.port}/ ; "
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
