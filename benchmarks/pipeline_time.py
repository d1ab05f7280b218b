"""Time the full local pipeline, per component, and against the stock TFX penguin template.

    python benchmarks/pipeline_time.py                      # embedded data and the 100k CDC rows
    python benchmarks/pipeline_time.py --only embedded
    python benchmarks/pipeline_time.py --vs-template 3      # alternating runs: template, ours
    python benchmarks/pipeline_time.py --evaluator-slices   # the Evaluator with and without slices
    python benchmarks/pipeline_time.py --scale 100000 1000000 4000000 [--inputs repeated mix]
        [--beam-mode multi_processing] [--work DIR]          # the whole run at scale (issue 26)

Each pipeline run is a fresh `local_runner.py --no-cache` in its own process and output
directory, as a person runs it. Component times come from the MLMD executions (creation to last
update); the total is the wall time of the whole process, imports included; the test RMSE of
the run is printed beside its time. `--vs-template` copies the stock TFX 1.16 penguin template
with TFX's own template code (benchmarks/penguin_template.py) and runs it and this pipeline in
alternating runs, then prints both medians and the ratio. Targets (2 cores): the embedded run
under 3 minutes, the 100k run under twice the embedded time, this pipeline no slower than the
template, the Evaluator's slices costing under 1.5x an overall-only evaluation.

`--scale` runs the whole pipeline on real rows made in a temp dir (--work) from
../shared/data/natality, never in the repo: `repeated` is the 100k CDC file repeated to each size,
`mix` a directory of the CDC file and the BigQuery-layout file (babyweight_2014_100k.csv), each
repeated to half the size, read in one run. Per size it prints the wall time, staging (from the
run's start to its stage_report.json) and each component, the peak RSS of the runner's whole
process tree (sampled from /proc every 0.5 s, Beam's workers included) and rows in = rows in
the splits + rows dropped. `--beam-mode` sets the DirectRunner's direct_running_mode (two
workers unless in_memory) for this benchmark only: local_runner.py has no Beam flags, so the
benchmark starts the same runner with other pipeline/configs.py LOCAL_BEAM_ARGS. Goal: the 1M
run under 4x the 100k run's time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from babyweight import console
from babyweight.layout import OutputLayout
from babyweight.metadata import store as mlmd

from staging_scale import SOURCE, repeated

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
    """One finished local_runner.py process: wall seconds, seconds per component (staging
    included), peak RSS of its process tree, rows in the splits and dropped, RMSE."""

    def __init__(self, data: Path, output: Path, extra: list[str], beam_args=None):
        cmd = [sys.executable, str(REPO / "local_runner.py"), "--data", str(data)]
        cmd += ["--output", str(output), "--no-cache", *extra]
        if beam_args:  # local_runner.py has no Beam flags: the same main, other LOCAL_BEAM_ARGS
            cmd[1:2] = ["-c", WITH_BEAM_ARGS, json.dumps(beam_args), str(REPO / "local_runner.py")]
        with tempfile.TemporaryFile("w+") as log:
            start = time.perf_counter()
            process = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
            self.peak_rss = tree_peak_rss(process)
            self.wall = time.perf_counter() - start
            if process.returncode != 0:
                log.seek(0)
                sys.exit(f"run on {data} failed ({process.returncode}):\n{log.read()[-4000:]}")
        layout = OutputLayout(output)
        store = mlmd.open_store(str(layout.metadata), readonly=True)
        nodes = mlmd.run_nodes(store, mlmd.latest_run_id(store, configs.PIPELINE_NAME))
        summary = json.loads(layout.run_summary.read_text())
        started = datetime.datetime.fromisoformat(summary["run_id"]).timestamp()
        self.seconds = {"staging": layout.stage_report.stat().st_mtime - started}
        self.seconds.update(
            (name, (n.execution.last_update_time_since_epoch - n.execution.create_time_since_epoch)
             / 1000)
            for name, n in nodes.items()
        )  # fmt: skip
        self.rows = sum(summary["splits"].values())
        self.dropped = (summary.get("dropped") or {}).get("total", 0)
        self.rmse = summary["metrics"].get("Overall", {}).get("rmse", float("nan"))
        self.layout = layout


WITH_BEAM_ARGS = """
import json, runpy, sys
from pipeline import configs
configs.LOCAL_BEAM_ARGS[:] = json.loads(sys.argv[1])
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def tree_rss(root: int) -> int:
    """Bytes resident in `root` and all its descendants now (from /proc)."""
    parents, rss = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pages = int((stat.parent / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        pid = int(stat.parent.name)
        parents[pid], rss[pid] = int(fields[1]), pages * PAGE
    total = 0
    for pid in rss:
        p = pid
        while p in parents and p != root:
            p = parents[p]
        total += rss[pid] if p == root else 0
    return total


PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_peak_rss(process: subprocess.Popen, every: float = 0.5) -> int:
    """Wait for `process`, sampling its tree's RSS; the highest sample, in bytes."""
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(every)
    return peak


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


SHOWN = ["staging", "CsvExampleGen", "StatisticsGen", "Transform", "Trainer", "Evaluator"]
BIGQUERY_100K = DATASETS["100k"]  # babyweight_2014_100k.csv: samples.natality names


def scale_input(work: Path, rows: int, kind: str) -> Path:
    """`rows` real rows in `work`: the 100k CDC file repeated, or (mix) a directory of the CDC
    file and the BigQuery-layout file, each repeated to half the rows."""
    if kind == "repeated":
        return repeated(work, rows)
    folder = work / f"mix_{rows}"
    folder.mkdir(exist_ok=True)
    for source, part in [(SOURCE, rows // 2), (BIGQUERY_100K, rows - rows // 2)]:
        made = repeated(work, part, source)
        made.rename(folder / made.name)
    return folder


def scale_row(rows: int, kind: str, mode: str, run: Run) -> str:
    named = [run.seconds.get(c, float("nan")) for c in SHOWN]
    other = run.wall - sum(run.seconds.values())
    balanced = rows == run.rows + run.dropped
    cells = [f"{rows:,}", kind, mode, f"{run.wall:.0f}", *(f"{t:.0f}" for t in named)]
    cells += [f"{other:.0f}", f"{run.peak_rss / 2**20:,.0f} MB", f"{rows:,}", f"{run.rows:,}"]
    cells += [f"{run.dropped:,}", "yes" if balanced else "NO", f"{run.rmse:.3f}"]
    return "| " + " | ".join(cells) + " |"


def scale(sizes: list[int], kinds: list[str], mode: str, train_steps: int, work) -> None:
    """The whole pipeline per size: wall time per component and peak RSS of the process tree;
    rows in = rows in the splits + rows dropped."""
    beam = None
    if mode != "in_memory":
        beam = [f"--direct_running_mode={mode}", "--direct_num_workers=2"]
    print(f"whole pipeline at scale, {time.strftime('%Y-%m-%d %H:%M')}, Beam {mode}; seconds")
    print("| rows | input | Beam | wall | " + " | ".join(SHOWN) + " | rest | peak RSS (tree) "
          "| rows in | split rows | dropped | in = split + dropped | test RMSE |")  # fmt: skip
    print("|---:|---|---|" + "---:|" * (len(SHOWN) + 6) + "---|---:|")
    walls = {}
    for rows in sizes:
        for kind in kinds:
            with tempfile.TemporaryDirectory(prefix="pipeline_scale", dir=work) as tmp:
                data = scale_input(Path(tmp), rows, kind)
                extra = ["--train-steps", str(train_steps)]
                run = Run(data, Path(tmp) / "out", extra, beam_args=beam)
            walls[rows, kind] = run.wall
            print(scale_row(rows, kind, mode, run), flush=True)
    for (rows, kind), wall in walls.items():
        base = walls.get((sizes[0], kind))
        if rows != sizes[0] and base:
            print(f"{kind} {rows:,} rows: {wall / base:.2f}x the {sizes[0]:,}-row run's wall time")


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
    parser.add_argument("--scale", type=int, nargs="+", metavar="ROWS", help="whole run per size")
    parser.add_argument(
        "--inputs",
        nargs="+",
        default=["repeated", "mix"],
        choices=["repeated", "mix"],
        help="--scale: the inputs of each size",
    )
    parser.add_argument(
        "--beam-mode",
        default="in_memory",
        choices=["in_memory", "multi_threading", "multi_processing"],
    )
    parser.add_argument("--work", type=Path, help="--scale: where the inputs go (a temp dir)")
    args = parser.parse_args(argv)
    if args.vs_template:
        versus_template(args.vs_template)
        return
    if args.evaluator_slices:
        evaluator_slices()
        return
    if args.scale:
        scale(args.scale, args.inputs, args.beam_mode, args.train_steps, args.work)
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
