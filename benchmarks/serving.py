"""Serving latency and throughput: the REST server against the model called in-process.

    python benchmarks/serving.py                                  # outputs/serving_model/babyweight
    python benchmarks/serving.py --model-dir /path/serving_model/babyweight --seconds 5

It starts `python -m babyweight serve` on a free loopback port (serving log on, as in use), loads
the same version in this process, and for 1, 4 and 16 concurrent clients measures
- single-row requests: p50 and p99 latency, requests/s;
- 100-row batches: rows/s (and p50 latency of a batch);
once through HTTP (stdlib http.client with keep-alive, one connection per client thread) and once
calling the model in-process (LoadedModel.predict, one thread per client) on the same rows. Rows
are real: drawn from ../shared/data/natality/babyweight_2014_100k.csv when it is there, else
data/births.csv. Targets (2 cores): single-row p50 overhead under 3 ms; 100-row batches at
5,000 rows/s or more.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from babyweight import model_store
from babyweight.instances import InvalidInstance, parse_instance

REPO = Path(__file__).resolve().parent.parent

DATA = [REPO.parent / "shared" / "data" / "natality" / "babyweight_2014_100k.csv"]
DATA.append(REPO / "data" / "births.csv")
CONCURRENCY = (1, 4, 16)
BATCH = 100
P50_OVERHEAD_TARGET_MS = 3.0
ROWS_PER_S_TARGET = 5000


def load_rows(path: Path, limit: int = 5000) -> list:
    rows = []
    with open(path, newline="") as f:
        for record in csv.DictReader(f):
            try:
                rows.append(parse_instance(record))
            except InvalidInstance:
                continue  # a row the schema refuses is not a serving request
            if len(rows) >= limit:
                break
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_dir: Path, tmp: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    out = open(tmp / "server.out", "w")  # noqa: SIM115 (lives as long as the server)
    proc = subprocess.Popen(
        [sys.executable, "-m", "babyweight", "serve", "--model-dir", str(model_dir)]
        + ["--port", str(port), "--serving-log", str(tmp / "serving_log.jsonl")],
        cwd=REPO,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    wait_until_up(proc, port, "/v1/models/babyweight", tmp / "server.out")
    return proc, port


def wait_until_up(proc: subprocess.Popen, port: int, path: str, log: Path) -> None:
    """Until GET `path` answers 200 (300 s at most); exits with the server's log if it dies."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    proc.kill()
    sys.exit("server did not answer in 300 s")


def run_clients(work, clients: int, seconds: float) -> tuple[list[float], float]:
    """Run `work(client_index, i)` in `clients` threads for `seconds`; (latencies s, wall s)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    stop = time.perf_counter() + seconds
    errors = []

    def loop(c: int) -> None:
        try:
            i = 0
            while time.perf_counter() < stop:
                t = time.perf_counter()
                work(c, i)
                latencies[c].append(time.perf_counter() - t)
                i += 1
        except Exception as e:  # a failed request ends the benchmark, loudly
            errors.append(e)

    threads = [threading.Thread(target=loop, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    return [x for per in latencies for x in per], wall


def bodies(rows: list, size: int) -> list[bytes]:
    return [
        json.dumps({"instances": [r.as_dict() for r in rows[i : i + size]]}).encode()
        for i in range(0, len(rows) - size + 1, size)
    ]


def measure(rows, model, port: int, seconds: float) -> list[dict]:
    singles = [[r] for r in rows]
    batches = [rows[i : i + BATCH] for i in range(0, len(rows) - BATCH + 1, BATCH)]
    single_bodies, batch_bodies = bodies(rows, 1), bodies(rows, BATCH)
    results = []
    for clients in CONCURRENCY:
        conns = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(clients)]

        def post(c: int, body: bytes, expected: int, conns=conns) -> None:
            conns[c].request(
                "POST",
                "/v1/models/babyweight:predict",
                body=body,
                headers={"Content-Type": "application/json"},
            )
            response = conns[c].getresponse()
            data = response.read()
            if response.status != 200 or len(json.loads(data)["predictions"]) != expected:
                raise RuntimeError(f"HTTP {response.status}: {data[:300]!r}")

        cases = {
            ("in-process", 1): lambda c, i: model.predict(singles[(c * 997 + i) % len(singles)]),
            ("in-process", BATCH): lambda c, i: model.predict(batches[(c * 7 + i) % len(batches)]),
            ("REST", 1): lambda c, i: post(c, single_bodies[(c * 997 + i) % len(singles)], 1),
            ("REST", BATCH): lambda c, i: post(c, batch_bodies[(c * 7 + i) % len(batches)], BATCH),
        }
        for (how, size), work in cases.items():
            run_clients(work, clients, min(0.5, seconds))  # warm-up: connections, threads
            latencies, wall = run_clients(work, clients, seconds)
            latencies.sort()
            results.append(
                {
                    "how": how,
                    "clients": clients,
                    "rows": size,
                    "requests": len(latencies),
                    "p50_ms": 1000 * statistics.median(latencies),
                    "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
                    "rows_per_s": len(latencies) * size / wall,
                }
            )
        for conn in conns:
            conn.close()
    return results


def table(results: list[dict]) -> str:
    by = {(r["how"], r["clients"], r["rows"]): r for r in results}
    lines = [
        "single-row requests                                      | 100-row batches",
        "clients  how         p50 ms  p99 ms   req/s  +p50 ms    |  rows/s   p50 ms",
    ]
    for clients in CONCURRENCY:
        for how in ("in-process", "REST"):
            one, many = by[(how, clients, 1)], by[(how, clients, BATCH)]
            overhead = one["p50_ms"] - by[("in-process", clients, 1)]["p50_ms"]
            lines.append(
                f"{clients:>7}  {how:<10} {one['p50_ms']:>7.2f} {one['p99_ms']:>7.2f} "
                f"{one['rows_per_s']:>7.0f} {overhead if how == 'REST' else 0:>8.2f}    | "
                f"{many['rows_per_s']:>7.0f} {many['p50_ms']:>8.2f}"
            )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model-dir", type=Path, default=REPO / "outputs" / "serving_model" / "babyweight"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=next((p for p in DATA if p.exists()), DATA[-1]),
        help="CSV of natality rows to send (default: the 100k file, else data/births.csv)",
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    rows = load_rows(args.data)
    model = model_store.load(model_store.newest_version_dir(args.model_dir))
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_server(args.model_dir, Path(tmp))
        try:
            results = measure(rows, model, port, args.seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"model {model.path}; {len(rows)} rows of {args.data}; {args.seconds:g} s each")
    print(table(results))
    single = {r["how"]: r["p50_ms"] for r in results if r["clients"] == 1 and r["rows"] == 1}
    overhead = single["REST"] - single["in-process"]
    best = max(r["rows_per_s"] for r in results if r["how"] == "REST" and r["rows"] == BATCH)
    met = {True: "met", False: "MISSED"}
    print(
        f"p50 overhead, one row, 1 client: {overhead:.2f} ms "
        f"(target < {P50_OVERHEAD_TARGET_MS} ms: {met[overhead < P50_OVERHEAD_TARGET_MS]}); "
        f"best 100-row batch throughput: {best:.0f} rows/s "
        f"(target >= {ROWS_PER_S_TARGET}: {met[best >= ROWS_PER_S_TARGET]})"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
