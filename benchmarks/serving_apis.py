"""The prediction table against the model, and REST against gRPC: p50/p99 latency and rows/s at
1 and 100 rows per request, one client; and the first request's latency with and without the
warm-up file.

    python benchmarks/serving_apis.py --model-dir outputs/serving_model/babyweight

It copies the newest version twice into a temp directory, one with its prediction table (built
here when the Pusher did not write one) and one without, starts `babyweight serve --grpc-port`
on each, and measures, on real natality rows (../shared/data/natality/babyweight_2014_100k.csv
when it is there, else data/births.csv):
- in-process: the model (LoadedModel.predict), the table (serving/loader.py's HybridModel), and
  a mix: a table that holds only the combinations seen twice or more in the first half of the
  rows, asked the second half (so rare rows go to the model, as they would with a table of the
  most frequent combinations);
- REST (/v1 predict, http.client with keep-alive) and gRPC (the stock stubs), table and model.
Goals: table rows/s at least 5x the model's at 1 row per request; REST's p50 overhead over the
in-process call under 1 ms; gRPC's overhead under REST's.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from babyweight import model_store, prediction_table, warmup_requests
from babyweight.serving import loader

import numpy as np
from serving import DATA, REPO, free_port, load_rows, wait_until_up

REQUESTS = {1: 400, 100: 60}  # requests measured per case (after 20 not measured)


def timed(work, n: int) -> dict:
    for i in range(20):
        work(i)
    latencies = []
    start = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        work(i)
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - start
    latencies.sort()
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(n - 1, int(0.99 * n))],
        "requests_per_s": n / wall,
    }


def copies(model_dir: Path, tmp: Path) -> tuple[Path, Path]:
    """(a model dir whose version has its table, one whose version has none)."""
    version = model_store.newest_version_dir(model_dir)
    with_table = tmp / "with_table" / "babyweight" / version.name
    shutil.copytree(version, with_table)
    try:
        prediction_table.read(with_table)
    except prediction_table.TableError:
        model = model_store.load(with_table, warm_up=False)
        prediction_table.write(with_table, prediction_table.build(with_table, model.predict))
    model_only = tmp / "model_only" / "babyweight" / version.name
    shutil.copytree(with_table, model_only)
    prediction_table.table_path(model_only).unlink()
    return with_table.parent, model_only.parent


def start_server(model_dir: Path, log: Path) -> tuple[subprocess.Popen, int, int]:
    port, grpc_port = free_port(), free_port()
    command = [sys.executable, "-m", "babyweight", "serve", "--model-dir", str(model_dir)]
    command += ["--port", str(port), "--grpc-port", str(grpc_port), "--serving-log", ""]
    with open(log, "w") as out:
        proc = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    wait_until_up(proc, port, "/v2/health/ready", log)
    return proc, port, grpc_port


def partial_table(table, rows):
    """The table with only the combinations seen twice or more in `rows` filled."""
    counts = collections.Counter(table.domain.indices(rows).tolist())
    keep = np.array([i for i, n in counts.items() if n >= 2 and i >= 0], dtype=np.int64)
    values = np.full_like(table.predictions, np.nan)
    values[keep] = table.predictions[keep]
    return prediction_table.PredictionTable(table.version, table.digest, table.domain, values)


def in_process(with_table: Path, rows: list) -> dict:
    version = model_store.newest_version_dir(with_table)
    hybrid = loader.load_version(version)
    half = len(rows) // 2
    mixed = loader.HybridModel(hybrid.model)
    mixed.table = partial_table(hybrid.table, rows[:half])
    mixed.RECHECK_SECONDS = 1e9  # keep the partial table
    mixed._checked = time.monotonic()
    hits = sum(s == "table" for s in mixed.predict_sourced(rows[half:])[1]) / (len(rows) - half)
    cases = {"model": (hybrid.model.predict, rows), "table": (hybrid.predict, rows)}
    cases["mix"] = (mixed.predict, rows[half:])
    results = {}
    for name, (predict, some) in cases.items():
        for size, n in REQUESTS.items():
            batches = [some[i : i + size] for i in range(0, len(some) - size + 1, size)]
            results[("in-process", name, size)] = timed(
                lambda i, p=predict, b=batches: p(b[i % len(b)]), n
            )
    return results, hits


def over_the_wire(port: int, grpc_port: int, rows: list, name: str) -> dict:
    sys.path.insert(0, str(REPO / "tests" / "serving"))
    from clients import GrpcClient, predict_request

    conn = http.client.HTTPConnection("127.0.0.1", port)
    client = GrpcClient(f"127.0.0.1:{grpc_port}")
    results = {}
    for size, n in REQUESTS.items():
        dicts = [[r.as_dict() for r in rows[i : i + size]] for i in range(0, 2000, size)]
        bodies = [json.dumps({"instances": d}).encode() for d in dicts]
        requests = [predict_request(d) for d in dicts]

        def rest(i, bodies=bodies):
            conn.request("POST", "/v1/models/babyweight:predict", body=bodies[i % len(bodies)])
            response = conn.getresponse()
            if response.status != 200:
                raise RuntimeError(response.read()[:300])
            response.read()

        results[("REST", name, size)] = timed(rest, n)
        results[("gRPC", name, size)] = timed(
            lambda i, r=requests: client.predictions.Predict(r[i % len(r)], timeout=30), n
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
        prediction_table.table_path(version).unlink(missing_ok=True)  # the model answers
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


def report(results: dict, hits: float) -> None:
    print(f"{'how':<11}{'answer':<7}{'rows':>5}{'p50 ms':>9}{'p99 ms':>9}{'rows/s':>10}")
    for (how, name, size), r in sorted(results.items()):
        rows_s = r["requests_per_s"] * size
        print(f"{how:<11}{name:<7}{size:>5}{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}{rows_s:>10.0f}")
    print(f"mix: {100 * hits:.1f} % of the rows answered from the (partial) table")
    speed = {
        how: results[(how, "table", 1)]["requests_per_s"]
        / results[(how, "model", 1)]["requests_per_s"]
        for how in ("in-process", "REST", "gRPC")
    }
    rest = results[("REST", "model", 1)]["p50_ms"] - results[("in-process", "model", 1)]["p50_ms"]
    grpc = results[("gRPC", "model", 1)]["p50_ms"] - results[("in-process", "model", 1)]["p50_ms"]
    met = {True: "met", False: "MISSED"}
    for how, x in speed.items():
        print(f"table / model rows/s at 1 row, {how}: {x:.1f}x (goal >= 5x: {met[x >= 5]})")
    print(f"REST p50 overhead, 1 row: {rest:.3f} ms (goal < 1 ms: {met[rest < 1]})")
    print(f"gRPC p50 overhead, 1 row: {grpc:.3f} ms (goal < REST's: {met[grpc < rest]})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model-dir", type=Path, default=REPO / "outputs" / "serving_model" / "babyweight"
    )
    parser.add_argument(
        "--data", type=Path, default=next((p for p in DATA if p.exists()), DATA[-1])
    )
    args = parser.parse_args(argv)
    rows = load_rows(args.data, limit=20000)
    with tempfile.TemporaryDirectory() as tmp:
        with_table, model_only = copies(args.model_dir, Path(tmp))
        results, hits = in_process(with_table, rows)
        for name, model_dir in (("table", with_table), ("model", model_only)):
            proc, port, grpc_port = start_server(model_dir, Path(tmp) / f"{name}.log")
            try:
                results.update(over_the_wire(port, grpc_port, rows, name))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        print(f"{len(rows)} rows of {args.data}; one client, sequential requests")
        report(results, hits)
        print_first_requests(model_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
