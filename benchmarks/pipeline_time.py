"""Time the full local pipeline, per component, and against the stock TFX penguin template.

    python benchmarks/pipeline_time.py                      # embedded data and the 100k CDC rows
    python benchmarks/pipeline_time.py --only embedded
    python benchmarks/pipeline_time.py --vs-template 3      # alternating runs: template, ours
    python benchmarks/pipeline_time.py --evaluator-slices   # the Evaluator with and without slices

Each pipeline run is a fresh `local_runner.py --no-cache` in its own process and output
directory, as a person runs it. Component times come from the MLMD executions (creation to last
update); the total is the wall time of the whole process, imports included; the test RMSE of
the run is printed beside its time. `--vs-template` copies the stock TFX 1.16 penguin template
with TFX's own template code (benchmarks/penguin_template.py) and runs it and this pipeline in
alternating runs, then prints both medians and the ratio. Targets (2 cores): the embedded run
under 3 minutes, the 100k run under twice the embedded time, this pipeline no slower than the
template, the Evaluator's slices costing under 1.5x an overall-only evaluation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from babyweight import console
from babyweight.layout import OutputLayout
from babyweight.metadata import store as mlmd

from pipeline import configs

REPO = Path(__file__).resolve().parent.parent
DATASETS = {
    "embedded": configs.DEFAULT_DATA,
    "100k": REPO.parent / "shared" / "data" / "natality" / "babyweight_2014_100k.csv",
}
EMBEDDED_TARGET_S = 180.0
SLICES_TARGET = 1.5


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


class Run:
    """One finished local_runner.py process: wall seconds, seconds per component, rows, RMSE."""

    def __init__(self, data: Path, output: Path, extra: list[str]):
        start = time.perf_counter()
        cmd = [sys.executable, str(REPO / "local_runner.py"), "--data", str(data)]
        cmd += ["--output", str(output), "--no-cache", *extra]
        result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        self.wall = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"run on {data} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        layout = OutputLayout(output)
        store = mlmd.open_store(str(layout.metadata), readonly=True)
        nodes = mlmd.run_nodes(store, mlmd.latest_run_id(store, configs.PIPELINE_NAME))
        self.seconds = {
            name: (n.execution.last_update_time_since_epoch - n.execution.create_time_since_epoch)
            / 1000
            for name, n in nodes.items()
        }
        summary = json.loads(layout.run_summary.read_text())
        self.rows = sum(summary["splits"].values())
        self.rmse = summary["metrics"].get("Overall", {}).get("rmse", float("nan"))
        self.layout = layout


def per_component(names: list[str], train_steps: int) -> None:
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(f"running {name} ({DATASETS[name]}) ...", flush=True)
            runs[name] = Run(DATASETS[name], Path(tmp) / name, ["--train-steps", str(train_steps)])
    components = list(next(iter(runs.values())).seconds)
    header = f"{'component':<32}" + "".join(f"{n + ' (s)':>16}" for n in names)
    print("\n" + header + "\n" + "-" * len(header))
    for component in components:
        cells = "".join(f"{runs[n].seconds.get(component, float('nan')):>16.1f}" for n in names)
        print(f"{component:<32}{cells}")
    print("-" * len(header))
    print(f"{'rows through ExampleGen':<32}" + "".join(f"{runs[n].rows:>16,}" for n in names))
    print(f"{'total wall (process)':<32}" + "".join(f"{runs[n].wall:>16.1f}" for n in names))
    print(f"{'test RMSE (Overall, lb)':<32}" + "".join(f"{runs[n].rmse:>16.3f}" for n in names))
    if "embedded" in runs:
        embedded = runs["embedded"].wall
        met = verdict(embedded < EMBEDDED_TARGET_S)
        print(f"\nembedded run: {embedded:.0f} s (target < {EMBEDDED_TARGET_S:.0f} s: {met})")
        if "100k" in runs:
            ratio = runs["100k"].wall / embedded
            print(f"100k run: {ratio:.2f}x the embedded time (target < 2x: {verdict(ratio < 2)})")


def template_run(template_dir: Path) -> float:
    """One fresh run of the penguin template's own local_runner.py; its wall seconds."""
    for name in ("tfx_pipeline_output", "tfx_metadata"):
        subprocess.run(["rm", "-rf", str(template_dir / name)], check=True)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "local_runner.py"], cwd=template_dir, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"the penguin template failed:\n{result.stderr[-4000:]}")
    return wall


def versus_template(rounds: int) -> None:
    from penguin_template import copy_template

    with tempfile.TemporaryDirectory() as tmp:
        template = copy_template(Path(tmp) / "penguin")
        ours, theirs, rmse = [], [], []
        for i in range(rounds):
            theirs.append(template_run(template))
            run = Run(DATASETS["embedded"], Path(tmp) / f"ours{i}", [])
            ours.append(run.wall)
            rmse.append(run.rmse)
            print(
                f"round {i + 1}: template {theirs[-1]:.1f} s, babyweight {ours[-1]:.1f} s "
                f"(test RMSE {rmse[-1]:.3f} lb)",
                flush=True,
            )
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"\n{'pipeline':<44}{'median wall (s)':>16}")
    print(f"{'stock penguin template (342 rows)':<44}{statistics.median(theirs):>16.1f}")
    print(f"{'babyweight (data/births.csv)':<44}{statistics.median(ours):>16.1f}")
    print(f"ratio babyweight/template: {ratio:.2f}x (target <= 1.0x: {verdict(ratio <= 1.0)})")
    print(f"babyweight test RMSE, median of the runs: {statistics.median(rmse):.3f} lb")


def evaluator_slices() -> None:
    """TFMA on the test split of one finished run: with the pipeline's slices, then overall
    only; each timed in this process after a warm-up evaluation."""
    import tensorflow_model_analysis as tfma
    from tfx.components.evaluator import executor  # noqa: F401  (TFMA's TFX extractors)

    from pipeline.pipeline import eval_config

    with tempfile.TemporaryDirectory() as tmp:
        run = Run(DATASETS["embedded"], Path(tmp) / "run", [])
        store = mlmd.open_store(str(run.layout.metadata), readonly=True)
        nodes = mlmd.run_nodes(store, mlmd.latest_run_id(store, configs.PIPELINE_NAME))
        model_uri = nodes["Trainer"].outputs["model"][0].uri + "/Format-Serving"
        examples = nodes["CsvExampleGen"].outputs["examples"][0].uri
        settings = configs.PipelineSettings(
            pipeline_root=tmp, serving_model_dir=tmp, data_root=tmp, use_baseline=False
        )
        sliced = eval_config(settings)
        overall = tfma.EvalConfig()
        overall.CopyFrom(sliced)
        del overall.slicing_specs[1:]
        times = {}
        for name, config in [
            ("warm-up", overall),
            ("overall only", overall),
            ("4 slicings", sliced),
        ]:
            model = tfma.default_eval_shared_model(model_uri, eval_config=config)
            start = time.perf_counter()
            tfma.run_model_analysis(
                eval_shared_model=model,
                eval_config=config,
                data_location=f"{examples}/Split-{configs.EVAL_SPLIT}/*",
                file_format="tfrecords",
                output_path=str(Path(tmp) / name.replace(" ", "_")),
            )
            times[name] = time.perf_counter() - start
    ratio = times["4 slicings"] / times["overall only"]
    print(f"\n{'Evaluator (TFMA, test split)':<32}{'seconds':>10}")
    for name in ("overall only", "4 slicings"):
        print(f"{name:<32}{times[name]:>10.1f}")
    met = verdict(ratio < SLICES_TARGET)
    print(f"slices cost {ratio:.2f}x overall only (target < {SLICES_TARGET}x: {met})")


def main(argv=None) -> None:
    console.quiet_command_logs()  # the tables only: no TF, absl or Beam start-up lines
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(DATASETS))
    parser.add_argument("--train-steps", type=int, default=configs.TRAIN_STEPS)
    parser.add_argument("--vs-template", type=int, metavar="ROUNDS", help="alternating runs")
    parser.add_argument("--evaluator-slices", action="store_true")
    args = parser.parse_args(argv)
    if args.vs_template:
        versus_template(args.vs_template)
        return
    if args.evaluator_slices:
        evaluator_slices()
        return
    names = [args.only] if args.only else list(DATASETS)
    missing = [n for n in names if not DATASETS[n].is_file()]
    for name in missing:
        print(f"skipping {name}: {DATASETS[name]} is not there (../shared/data/natality)")
    names = [n for n in names if n not in missing]
    if names:
        per_component(names, args.train_steps)


if __name__ == "__main__":
    main()
