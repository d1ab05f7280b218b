"""Prometheus metrics at TF Serving's path, /monitoring/prometheus/metrics (text format 0.0.4).

    babyweight_requests_total{api, version, label, code}        every answered request
    babyweight_request_errors_total{api, version, label, code}  those with a code of 400 or more
    babyweight_request_latency_seconds{api}                     a histogram, seconds
    babyweight_loaded_versions                                  how many versions are loaded
    babyweight_model_version_loaded{version, label}             1 per loaded version
    babyweight_prediction_table_rows_total{version, result}     rows answered by the prediction
                                                                table ("hit") or the model ("miss")

`api` is "rest" (/v1), "v2" (the Open Inference Protocol) or "grpc"; `code` is the HTTP status
(gRPC statuses are counted as the HTTP status they stand for: INVALID_ARGUMENT 400, ...).
Versions and labels are those that answered ("" when the request failed before one was picked).
The registry is the server's own, not prometheus_client's global one.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

PATH = "/monitoring/prometheus/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _LoadedVersions:
    """Collects the loaded versions and their labels when the page is scraped."""

    def __init__(self, server):
        self.server = server

    def collect(self):
        loaded = sorted(self.server.registry.loaded)
        labels = {v: k for k, v in self.server.router.rollout().labels().items()}
        count = GaugeMetricFamily("babyweight_loaded_versions", "Versions loaded and served")
        count.add_metric([], len(loaded))
        each = GaugeMetricFamily(
            "babyweight_model_version_loaded",
            "1 for each loaded version",
            labels=["version", "label"],
        )
        for version in loaded:
            each.add_metric([str(version), labels.get(version, "")], 1)
        return [count, each]


class Metrics:
    """The counters and the histogram; observe() after every request."""

    def __init__(self, server):
        self.registry = CollectorRegistry(auto_describe=True)
        names = ["api", "version", "label", "code"]
        self.requests = Counter(
            "babyweight_requests", "Requests answered", names, registry=self.registry
        )
        self.errors = Counter(
            "babyweight_request_errors",
            "Requests answered with an error",
            names,
            registry=self.registry,
        )
        self.latency = Histogram(
            "babyweight_request_latency_seconds",
            "Time to answer a request",
            ["api"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.table_rows = Counter(
            "babyweight_prediction_table_rows",
            "Rows answered by the prediction table (hit) or by the model (miss)",
            ["version", "result"],
            registry=self.registry,
        )
        self.registry.register(_LoadedVersions(server))

    def observe(self, api: str, version: str, label: str, code: int, start: float) -> None:
        """One answered request, started at time.perf_counter() `start`."""
        names = (api, str(version or ""), label or "", str(code))
        self.requests.labels(*names).inc()
        if code >= 400:
            self.errors.labels(*names).inc()
        self.latency.labels(api).observe(time.perf_counter() - start)

    def count_sources(self, version: str, sources: list[str]) -> None:
        hits = sum(1 for s in sources if s == "table")
        if hits:
            self.table_rows.labels(str(version), "hit").inc(hits)
        if len(sources) - hits:
            self.table_rows.labels(str(version), "miss").inc(len(sources) - hits)

    def page(self) -> bytes:
        return generate_latest(self.registry)


def api_of(path: str) -> str | None:
    """Which API a REST path belongs to ("rest", "v2"), or None for the rest (page, metrics)."""
    if path.startswith("/v1/"):
        return "rest"
    if path == "/v2" or path.startswith("/v2/"):
        return "v2"
    return None


class MetricsMiddleware:
    """ASGI middleware: counts each /v1 and /v2 request with the status code, and the version
    and label from the answer's X-Model-Version and X-Model-Label headers."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        api = api_of(scope.get("path", "")) if scope["type"] == "http" else None
        if api is None:
            return await self.app(scope, receive, send)
        start, seen = time.perf_counter(), {"code": 500, "version": "", "label": ""}

        async def watch(message):
            if message["type"] == "http.response.start":
                seen["code"] = message["status"]
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                seen["version"] = headers.get(b"x-model-version", b"").decode("latin-1")
                seen["label"] = headers.get(b"x-model-label", b"").decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.metrics.observe(api, seen["version"], seen["label"], seen["code"], start)
