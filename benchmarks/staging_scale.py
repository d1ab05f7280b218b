"""Staging at scale: rows/s and peak RSS of staging 100k, 1M and 4M rows (issue 26).

    python benchmarks/staging_scale.py [--sizes 100000 1000000 4000000] [--work DIR]

The input is ../shared/data/natality/natality2014_100k.csv (CDC names) repeated to each size,
written once under --work (default: a temporary directory, removed afterwards). Each size is
staged in a fresh process (babyweight/local/staging.py, as local_runner.py stages), so each
peak RSS is that size's own; the table also shows the RSS of the process after its imports,
before the first row. Every size checks that no row was lost or counted twice: rows read =
rows kept + rows dropped, and rows kept = the sum of the split counts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO.parent / "shared" / "data" / "natality" / "natality2014_100k.csv"
CHILD = """
import json, resource, sys, time
from pathlib import Path
from babyweight.layout import OutputLayout
from babyweight.local import staging
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
report = staging.stage_csv(Path(sys.argv[1]), OutputLayout(Path(sys.argv[2])))
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rss_after_imports_kb": before,
                  "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "read": report.rows_read, "kept": report.rows_kept,
                  "dropped": report.rows_dropped, "splits": report.split_counts}))
"""


def repeated(work: Path, rows: int, source: Path = SOURCE) -> Path:
    """`source` (the 100k CDC file) repeated, header once, to `rows` data rows."""
    path = work / f"{source.stem}_{rows}.csv"
    if path.exists():
        return path
    lines = source.read_bytes().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    with open(path, "wb") as out:
        out.write(header)
        left = rows
        while left > 0:
            out.writelines(body[:left])
            left -= len(body)
    return path


def measure(work: Path, rows: int) -> dict:
    data = repeated(work, rows)
    out = work / f"out_{rows}"
    found = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), str(out)],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = json.loads(found.stdout.strip().splitlines()[-1])
    result["rows"] = rows
    result["balanced"] = result["read"] == rows == result["kept"] + result["dropped"] and result[
        "kept"
    ] == sum(result["splits"].values())
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 4_000_000])
    parser.add_argument("--work", type=Path, help="where the inputs go (default: a temp dir)")
    args = parser.parse_args(argv)
    if not SOURCE.is_file():
        print(f"needs {SOURCE} (../shared/data/natality): not found", file=sys.stderr)
        return 2
    started = time.strftime("%Y-%m-%d")
    with tempfile.TemporaryDirectory(prefix="staging_scale", dir=args.work) as work:
        print(f"staging scale, {started}: rows, seconds, rows/s, RSS after imports, peak RSS")
        print("| rows | seconds | rows/s | RSS after imports | peak RSS | in = kept + dropped |")
        print("|---:|---:|---:|---:|---:|---|")
        for rows in args.sizes:
            r = measure(Path(work), rows)
            print(
                f"| {rows:,} | {r['seconds']:.1f} | {rows / r['seconds']:,.0f} | "
                f"{r['rss_after_imports_kb'] / 1024:.0f} MB | {r['peak_rss_kb'] / 1024:.0f} MB | "
                f"{'yes' if r['balanced'] else 'NO'} ({r['read']:,} = {r['kept']:,} + "
                f"{r['dropped']:,}) |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
