"""Time one pipeline run with ML Metadata in SQLite and on a MySQL server, in alternating runs.

    python benchmarks/metadata_store.py --mysql mysql://USER:PASSWORD@HOST:PORT/DB [--rounds 2]
    python benchmarks/metadata_store.py --start-mariadb [--rounds 2]   # a throwaway local server

Each run is a fresh `local_runner.py --no-cache` on the embedded data (data/births.csv) in its
own process and output directory, as a person runs it; its wall time includes the imports. The
SQLite run keeps OUTPUT/metadata.sqlite; the MySQL run gets a new database on the server each
round (named after the URL's, `_r1`, `_r2`, ...; the user must be allowed to create it), so that
neither has a baseline model or a cache hit the other lacks. `--start-mariadb` starts Debian's
MariaDB on a temporary data directory and a loopback port (tests/mariadb.py) and stops it after.
Prints each round and the medians (docs/metadata-server.md, "Time of one run").
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from babyweight import console
from babyweight.metadata import connection

from pipeline import configs

REPO = Path(__file__).resolve().parent.parent


def run_seconds(output: Path, metadata: str | None) -> float:
    """The wall seconds of one fresh run; exits with its output when it did not bless a model."""
    cmd = [sys.executable, str(REPO / "local_runner.py"), "--data", str(configs.DEFAULT_DATA)]
    cmd += ["--output", str(output), "--no-cache"]
    cmd += ["--metadata", metadata] if metadata else []
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"run failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds


def in_database(url: str, suffix: str) -> str:
    """`url` with `suffix` added to its database name (its query, a password file, kept)."""
    base, _, query = url.partition("?")
    return f"{base}{suffix}" + (f"?{query}" if query else "")


@contextlib.contextmanager
def mariadb(where: Path):
    """A MariaDB server of the test suite's kind; its URL for a database `bw_bench`."""
    sys.path.insert(0, str(REPO / "tests"))
    from mariadb import MariaDB

    server = MariaDB(where)
    server.start()
    try:
        yield server.url("bw_bench")
    finally:
        server.stop()


def compare(url: str, rounds: int, work: Path) -> None:
    walls = {"SQLite": [], "MySQL": []}
    for i in range(1, rounds + 1):
        walls["SQLite"].append(run_seconds(work / f"sqlite{i}", None))
        walls["MySQL"].append(run_seconds(work / f"mysql{i}", in_database(url, f"_r{i}")))
        print(
            f"round {i}: SQLite {walls['SQLite'][-1]:.1f} s, MySQL {walls['MySQL'][-1]:.1f} s",
            flush=True,
        )
    shown = connection.parse(url).display
    print(f"\n{'ML Metadata store':<50}{'median wall (s)':>16}")
    for name, label in (("SQLite", "SQLite (OUTPUT/metadata.sqlite)"), ("MySQL", shown)):
        print(f"{label:<50}{statistics.median(walls[name]):>16.1f}")


def main(argv=None) -> None:
    console.quiet_command_logs()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--mysql", metavar="URL", help="mysql://user:password@host:port/database")
    where.add_argument("--start-mariadb", action="store_true", help="a throwaway local server")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.mysql:
            compare(args.mysql, args.rounds, Path(tmp))
            return
        with mariadb(Path(tmp) / "mariadb") as url:
            compare(url, args.rounds, Path(tmp))


if __name__ == "__main__":
    main()
