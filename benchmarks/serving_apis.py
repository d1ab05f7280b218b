"""The prediction table against the model, and REST against gRPC: p50/p99 latency and rows/s at
1 and 100 rows per request, one client, sequential requests; and the first request's latency
with and without the warm-up file.

    python benchmarks/serving_apis.py --model-dir outputs/serving_model/babyweight

It copies the newest version three times into a temp directory and has the batch prediction job
(babyweight/batch/table.py, as the Pusher does) fill each one's prediction table:
- table: the whole input domain, so every valid row is a hit;
- model: no table, so the model answers every row;
- mix: a table of the --mix-rows combinations most frequent in the first half of the rows
  (the Pusher's "most frequent combinations" mode), so rare rows go to the model.
Every case is asked the same requests: the second half of real natality rows
(../shared/data/natality/babyweight_2014_100k.csv when it is there, else data/births.csv), in
file order, so the mix follows their real distribution. Each case is measured four ways:
- call: in-process, the call the handlers make once a request is parsed (the table's fast
  path, else HybridModel.predict_sourced, logging included);
- handler: in-process, the whole REST handler (ASGI app) and gRPC servicer, without a socket;
- REST (/v1 predict, http.client with keep-alive) and gRPC (the stock stubs), over loopback to
  `babyweight serve --grpc-port`.
Goals: table rows/s at least 5x the model's at 1 row per request; REST's p50 overhead over the
in-process call under 1 ms; gRPC's overhead under REST's.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from babyweight import model_store, warmup_requests
from babyweight import prediction_table as T
from babyweight.batch import table as batch_table

import numpy as np
from serving import DATA, REPO, free_port, load_rows, wait_until_up

sys.path.insert(0, str(REPO / "tests" / "serving"))
from clients import GrpcClient, predict_request  # noqa: E402 (the tests' stock-stub client)

REQUESTS = {1: 2000, 100: 100}  # requests measured per case (after WARM not measured)
WARM = 200  # a fresh server's first requests are slower: the first case would pay for them
CASES = ("table", "model", "mix")
MIX_ROWS = 1000


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of process `pid` (from /proc/PID/task/*/schedstat, in ns)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):  # a thread that ended meanwhile
            pass
    return total / 1e9


def timed(work, n: int, server_pid: int | None = None) -> dict:
    """p50/p99 latency and requests/s of n sequential calls of work(i); and the CPU each
    request cost this process (the client, its library's threads included) and the server."""
    for i in range(WARM):
        work(i)
    latencies = []
    server_cpu = cpu_seconds(server_pid) if server_pid else 0.0
    cpu, start = time.process_time(), time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        work(i)
        latencies.append(time.perf_counter() - t)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    server_cpu = cpu_seconds(server_pid) - server_cpu if server_pid else float("nan")
    latencies.sort()
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(n - 1, int(0.99 * n))],
        "requests_per_s": n / wall,
        "client_cpu_ms": 1000 * cpu / n,
        "server_cpu_ms": 1000 * server_cpu / n,
    }


def copies(model_dir: Path, tmp: Path, counted: list, mix_rows: int) -> dict[str, Path]:
    """case -> a model dir whose one version has that case's table (filled by the batch job)."""
    version = model_store.newest_version_dir(model_dir)
    dirs = {}
    domain = T.Domain.from_features()
    index = domain.indices(counted)
    counts = np.bincount(index[index >= 0], minlength=domain.size)
    for case in CASES:
        copy = tmp / case / "babyweight" / version.name
        shutil.copytree(version, copy)
        T.table_path(copy).unlink(missing_ok=True)
        if case != "model":
            batch_table.fill(copy, max_rows=mix_rows if case == "mix" else domain.size,
                             counts=counts)  # fmt: skip
        dirs[case] = copy.parent
    return dirs


def start_server(model_dir: Path, log: Path) -> tuple[subprocess.Popen, int, int]:
    port, grpc_port = free_port(), free_port()
    command = [sys.executable, "-m", "babyweight", "serve", "--model-dir", str(model_dir)]
    command += ["--port", str(port), "--grpc-port", str(grpc_port), "--serving-log", ""]
    with open(log, "w") as out:
        proc = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    wait_until_up(proc, port, "/v2/health/ready", log)
    return proc, port, grpc_port


class _Context:
    """What PredictionService.Predict uses of a grpc.ServicerContext, for the handler case."""

    def invocation_metadata(self):
        return ()

    def send_initial_metadata(self, metadata):
        pass

    def abort(self, code, message):
        raise RuntimeError(f"{code}: {message}")


LOOP = asyncio.new_event_loop()  # one loop for every in-process request, as a server has


def asgi_post(app, path: str, body: bytes) -> bytes:
    """One POST through the ASGI app on LOOP, no socket; the response body (200 only)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8501),
        "headers": [(b"content-length", str(len(body)).encode())],
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    LOOP.run_until_complete(app(scope, receive, send))
    if sent[0]["status"] != 200:
        raise RuntimeError(sent[1]["body"][:300])
    return sent[1]["body"]


def requests_of(rows: list, size: int) -> tuple[list, list, list]:
    """(Instance batches, REST bodies, gRPC requests) of `rows`, `size` rows each."""
    batches = [rows[i : i + size] for i in range(0, len(rows) - size + 1, size)][: 2000 // size]
    dicts = [[r.as_dict() for r in b] for b in batches]
    bodies = [json.dumps({"instances": d}).encode() for d in dicts]
    return batches, bodies, [predict_request(d) for d in dicts]


def in_process(model_dir: Path, rows: list, case: str) -> tuple[dict, float]:
    """The call and the handlers, in this process; (results, share of rows from the table)."""
    from babyweight.serving import cli
    from babyweight.serving.grpc_api import PredictionService

    server = cli.build(cli.parse_args(["--model-dir", str(model_dir), "--serving-log", ""]))
    try:
        [model] = server.registry.loaded.values()
        sources = model.predict_sourced(rows)[1]
        hits = sources.count("table") / len(sources)
        service, path = PredictionService(server), "/v1/models/babyweight:predict"

        def call(batch):
            return server.table_answer(model, batch) or server.predict_sourced(model, batch)

        results = {}
        for size, n in REQUESTS.items():
            batches, bodies, grpc_requests = requests_of(rows, size)
            work = {
                "call": lambda i, b=batches: call(b[i % len(b)]),
                "REST handler": lambda i, b=bodies: asgi_post(server.app, path, b[i % len(b)]),
                "gRPC handler": lambda i, r=grpc_requests: service.Predict(
                    r[i % len(r)], _Context()
                ),
            }
            for how, one in work.items():
                results[(how, case, size)] = timed(one, n)
        return results, hits
    finally:
        server.registry.stop()


def over_the_wire(pid: int, port: int, grpc_port: int, rows: list, case: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    client = GrpcClient(f"127.0.0.1:{grpc_port}")
    results = {}
    for size, n in REQUESTS.items():
        _, bodies, grpc_requests = requests_of(rows, size)
        conn.close()  # reconnect: uvicorn closes a connection idle for 5 s (the gRPC cases)

        def rest_get(path):
            conn.request("GET", path)
            response = conn.getresponse()
            if response.status != 200:
                raise RuntimeError(response.read()[:300])
            response.read()

        def rest(i, bodies=bodies):
            conn.request("POST", "/v1/models/babyweight:predict", body=bodies[i % len(bodies)])
            response = conn.getresponse()
            if response.status != 200:
                raise RuntimeError(response.read()[:300])
            response.read()

        results[("REST", case, size)] = timed(rest, n, pid)
        if size == 1:  # the floor: a request that does no work (ready status, model status)
            results[("REST", "floor", 1)] = timed(lambda i: rest_get("/v2/health/live"), n, pid)
            results[("gRPC", "floor", 1)] = timed(lambda i: client.status(), n, pid)
        results[("gRPC", case, size)] = timed(
            lambda i, r=grpc_requests: client.predictions.Predict(r[i % len(r)], timeout=30),
            n,
            pid,
        )
    client.close()
    conn.close()
    return results


def first_request_ms(model_dir: Path, warmup_file: bool) -> list[float]:
    """A fresh server's first three 6-row requests, with or without the version's warm-up
    file."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "babyweight"
        shutil.copytree(model_dir, copy)
        version = model_store.newest_version_dir(copy)
        warmup_requests.warmup_path(version).unlink(missing_ok=True)
        if warmup_file:
            warmup_requests.write(version, "babyweight")
        T.table_path(version).unlink(missing_ok=True)  # the model answers
        proc, port, _ = start_server(copy, Path(tmp) / "server.log")
        try:
            body = json.dumps({"instances": warmup_requests.ROWS[::-1]}).encode()
            conn = http.client.HTTPConnection("127.0.0.1", port)
            latencies = []
            for _ in range(3):
                start = time.perf_counter()
                conn.request("POST", "/v1/models/babyweight:predict", body=body)
                response = conn.getresponse()
                assert response.status == 200 and response.read()
                latencies.append(1000 * (time.perf_counter() - start))
            return latencies
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def print_first_requests(model_dir: Path, rounds: int = 2) -> None:
    for warmup_file in (False, True) * rounds:
        ms = ", ".join(f"{x:.1f}" for x in first_request_ms(model_dir, warmup_file))
        how = "the warm-up file" if warmup_file else "one row (no warm-up file)"
        print(f"fresh server warmed with {how}: 6-row requests 1-3 took {ms} ms")


HOWS = ("call", "REST handler", "gRPC handler", "REST", "gRPC")


def report(results: dict, hits: dict) -> None:
    """The table, then the goals twice: as one sequential client sees them (its library's
    cost included), and at the server (its CPU per request, so the client's cost is out)."""
    print(f"{'how':<13}{'answer':<7}{'rows':>5}{'p50 ms':>9}{'p99 ms':>9}{'rows/s':>10}"
          f"{'client CPU':>12}{'server CPU':>12}   (CPU: ms per request)")  # fmt: skip
    for how in HOWS:
        for case in CASES:
            for size in REQUESTS:
                r = results[(how, case, size)]
                rows_s = r["requests_per_s"] * size
                server = "-" if math.isnan(r["server_cpu_ms"]) else f"{r['server_cpu_ms']:.3f}"
                cpu = f"{r['client_cpu_ms']:>12.3f}{server:>12}"  # "-": in-process, no server
                print(f"{how:<13}{case:<7}{size:>5}{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}"
                      f"{rows_s:>10.0f}{cpu}")  # fmt: skip
    for how in ("REST", "gRPC"):
        r = results[(how, "floor", 1)]
        what = "GET /v2/health/live" if how == "REST" else "ModelService.GetModelStatus"
        print(f"{how} floor ({what}, last server): p50 {r['p50_ms']:.3f} ms, "
              f"p99 {r['p99_ms']:.3f} ms; CPU per request: client {r['client_cpu_ms']:.3f} ms, "
              f"server {r['server_cpu_ms']:.3f} ms")  # fmt: skip
    for case, share in hits.items():
        print(f"{case}: {100 * share:.1f} % of the rows answered from the table")
    print_goals(results, HOWS, GOAL_VIEWS["one client"])
    print_goals(results, ("REST", "gRPC"), GOAL_VIEWS["server"])
    grpc_client = results[("gRPC", "floor", 1)]["client_cpu_ms"]
    rest_trip = results[("REST", "floor", 1)]["p50_ms"]
    print(f"The stock gRPC stub's own CPU per request: {grpc_client:.3f} ms; REST's whole round "
          f"trip that does no work: {rest_trip:.3f} ms p50")  # fmt: skip


class GoalView(NamedTuple):
    """One way to read the goals: a request's cost (for table/model), and the figure whose
    excess over the in-process call's is the overhead."""

    title: str
    ratio: str
    overhead: str
    cost: Callable[[dict], float]  # of one result
    wire: str  # the REST and gRPC results' column ...
    call: str  # ... over this column of the in-process call's


GOAL_VIEWS = {
    "one client": GoalView(
        "One client, sequential requests (latency; the client library's cost included):",
        "rows/s", "p50 overhead over the call", lambda r: 1 / r["requests_per_s"],
        "p50_ms", "p50_ms"),
    "server": GoalView(
        "At the server (its CPU per request; rows/s per core = rows / CPU):",
        "rows per CPU second", "server CPU over the call's", lambda r: r["server_cpu_ms"],
        "server_cpu_ms", "client_cpu_ms"),
}  # fmt: skip


def print_goals(results: dict, hows, view: GoalView) -> None:
    """The goals as `view` reads them: table/model at 1 row, and REST's and gRPC's overhead."""
    met = {True: "met", False: "MISSED"}
    print(view.title)
    for how in hows:
        x = view.cost(results[(how, "model", 1)]) / view.cost(results[(how, "table", 1)])
        print(f"  table / model {view.ratio} at 1 row, {how}: {x:.1f}x "
              f"(goal >= 5x: {met[x >= 5]})")  # fmt: skip
    for case in ("model", "table"):
        base = results[("call", case, 1)][view.call]
        rest = results[("REST", case, 1)][view.wire] - base
        grpc = results[("gRPC", case, 1)][view.wire] - base
        print(f"  {case}: REST {view.overhead}, 1 row: {rest:.3f} ms "
              f"(goal < 1 ms: {met[rest < 1]}); gRPC's: {grpc:.3f} ms "
              f"(goal < REST's: {met[grpc < rest]})")  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model-dir", type=Path, default=REPO / "outputs" / "serving_model" / "babyweight"
    )
    parser.add_argument(
        "--data", type=Path, default=next((p for p in DATA if p.exists()), DATA[-1])
    )
    parser.add_argument("--mix-rows", type=int, default=MIX_ROWS, help="rows of the mix's table")
    parser.add_argument("--no-first-requests", action="store_true", help="skip the warm-up part")
    args = parser.parse_args(argv)
    rows = load_rows(args.data, limit=40000)
    counted, asked = rows[: len(rows) // 2], rows[len(rows) // 2 :]
    results, hits = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        dirs = copies(args.model_dir, Path(tmp), counted, args.mix_rows)
        for case, model_dir in dirs.items():
            found, hits[case] = in_process(model_dir, asked, case)
            results.update(found)
            proc, port, grpc_port = start_server(model_dir, Path(tmp) / f"{case}.log")
            try:
                results.update(over_the_wire(proc.pid, port, grpc_port, asked, case))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        print(f"{len(asked)} rows of {args.data} asked (the mix's table counted on {len(counted)} "
              f"others, {args.mix_rows} rows); one client, sequential requests")  # fmt: skip
        report(results, hits)
        if not args.no_first_requests:
            print_first_requests(dirs["model"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
