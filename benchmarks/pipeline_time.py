"""Time the full local pipeline, per component, on the embedded data and on the 100k CDC rows.

    python benchmarks/pipeline_time.py                 # both data sets, default training steps
    python benchmarks/pipeline_time.py --only embedded

Each run is a fresh `local_runner.py --no-cache` in its own process and output directory, as a
person runs it. Component times come from the MLMD executions (creation to last update); the
total is the wall time of the whole process, imports included. Targets (2 cores): the embedded
run under 3 minutes, the 100k run under twice the embedded time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from babyweight.metadata import store as mlmd

from pipeline import configs

REPO = Path(__file__).resolve().parent.parent

DATASETS = {
    "embedded": configs.DEFAULT_DATA,
    "100k": REPO.parent / "shared" / "data" / "natality" / "babyweight_2014_100k.csv",
}
EMBEDDED_TARGET_S = 180.0


def run(data: Path, output: Path, extra: list[str]) -> tuple[float, dict[str, float], int]:
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "local_runner.py"),
            "--data",
            str(data),
            "--output",
            str(output),
            "--no-cache",
            "--quiet",
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"run on {data} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    store = mlmd.open_store(str(output / "metadata.sqlite"))
    nodes = mlmd.run_nodes(store, mlmd.latest_run_id(store, configs.PIPELINE_NAME))
    seconds = {
        name: (n.execution.last_update_time_since_epoch - n.execution.create_time_since_epoch)
        / 1000
        for name, n in nodes.items()
    }
    import json

    rows = sum(json.loads((output / "run_summary.json").read_text())["splits"].values())
    return wall, seconds, rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(DATASETS))
    parser.add_argument("--train-steps", type=int, default=configs.TRAIN_STEPS)
    args = parser.parse_args(argv)
    names = [args.only] if args.only else list(DATASETS)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(f"running {name} ({DATASETS[name]}) ...", flush=True)
            results[name] = run(
                DATASETS[name], Path(tmp) / name, ["--train-steps", str(args.train_steps)]
            )

    components = list(next(iter(results.values()))[1])
    header = f"{'component':<32}" + "".join(f"{n + ' (s)':>16}" for n in names)
    print("\n" + header + "\n" + "-" * len(header))
    for component in components:
        cells = "".join(f"{results[n][1].get(component, float('nan')):>16.1f}" for n in names)
        print(f"{component:<32}{cells}")
    print("-" * len(header))
    print(f"{'rows through ExampleGen':<32}" + "".join(f"{results[n][2]:>16,}" for n in names))
    print(f"{'total wall (process)':<32}" + "".join(f"{results[n][0]:>16.1f}" for n in names))
    if "embedded" in results:
        embedded = results["embedded"][0]
        verdict = "met" if embedded < EMBEDDED_TARGET_S else "MISSED"
        print(f"\nembedded run: {embedded:.0f} s (target < {EMBEDDED_TARGET_S:.0f} s: {verdict})")
        if "100k" in results:
            ratio = results["100k"][0] / embedded
            print(
                f"100k run: {ratio:.2f}x the embedded time (target < 2x: "
                f"{'met' if ratio < 2 else 'MISSED'})"
            )


if __name__ == "__main__":
    main()
