"""Continuous training end to end: `local_runner.py --watch` over three spans of real rows of
babyweight_2014_100k.csv (helpers.natality_span: 2,000 rows each, the third of mothers 35 and
older). Span 1 trains from scratch; span 2 is picked up once its _SUCCESS file lands, the
watcher is killed while span 2 trains, and the restarted watcher resumes it from the cache,
warm-started from span 1's model and evaluated against it; span 3 trips the drift gate, naming
mother_age. Each span is trained once; `lineage runs` and the report show every run. Then a
window of two spans: Transform and Trainer learn from both, the Evaluator scores the new one.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from babyweight import run_lock
from babyweight.errors import ExitCode
from babyweight.layout import OutputLayout
from babyweight.local import spans, watcher
from babyweight.metadata import store as mlmd
from babyweight.metadata import summary as summary_lib

import pytest
from helpers import (
    REPO,
    RUNNER_ENV,
    TINY_TRAIN_STEPS,
    natality_span,
    open_in_chromium,
    run_babyweight,
    run_local_pipeline,
)

pytestmark = pytest.mark.e2e


def start_watcher(data: Path, output: Path) -> subprocess.Popen:
    cmd = [sys.executable, str(REPO / "local_runner.py"), "--watch", str(data)]
    cmd += ["--output", str(output), "--poll", "0.5"]
    cmd += ["--train-steps", str(TINY_TRAIN_STEPS), "--eval-steps", "5"]
    return subprocess.Popen(
        cmd, cwd=REPO, env=RUNNER_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def next_line(proc: subprocess.Popen) -> str:
    line = proc.stdout.readline()
    assert line, f"the watcher ended ({proc.poll()}): {proc.stderr.read()}"
    return line.rstrip("\n")


def wait_for_trainer(layout: OutputLayout, after: set[Path], timeout_s: float = 600) -> None:
    """Until the Trainer of a run whose log is not in `after` has started."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for log in set(layout.logs_dir.glob("run-*.log")) - after:
            if re.search(r"\] Trainer +started", log.read_text(errors="replace")):
                return
        time.sleep(0.2)
    raise AssertionError("the Trainer of span 2 never started")


def trainings_per_span(layout: OutputLayout) -> dict[int, int]:
    """How many times a Trainer finished training (not a cache hit), per span read."""
    store = mlmd.open_store(layout.metadata, readonly=True)
    counts: dict[int, int] = {}
    for context in store.get_contexts_by_type("pipeline_run"):
        nodes = mlmd.run_nodes(store, context.name)
        trainer, example_gen = nodes.get("Trainer"), nodes.get("CsvExampleGen")
        if trainer and trainer.state == "COMPLETE":
            span = mlmd.examples_span(example_gen.outputs["examples"][0])
            counts[span] = counts.get(span, 0) + 1
    return counts


def test_watch_three_spans_warm_start_resume_after_a_kill_and_a_drift_stop(tmp_path):
    data, output = tmp_path / "data", tmp_path / "out"
    layout = OutputLayout(output)
    natality_span(data, 1)
    first = start_watcher(data, output)
    try:
        assert next_line(first).startswith(f"watching {data} for new spans")
        line = next_line(first)
        assert re.search(
            r"span 1: blessed \(exit 0\); rows \d+/\d+/\d+ .*trained from scratch", line
        )

        # Span 2 arrives: its rows first, its marker last. Kill the watcher while it trains.
        before = set(layout.logs_dir.glob("run-*.log"))
        natality_span(data, 2, complete=False)
        time.sleep(2)  # four looks at an incomplete span: nothing runs
        assert set(layout.logs_dir.glob("run-*.log")) == before
        (data / "span-2" / "_SUCCESS").write_text("")
        wait_for_trainer(layout, before)
        first.kill()  # -9: no line, no record; its run dies with it
        first.wait(timeout=60)
    finally:
        first.kill()
    deadline = time.monotonic() + 60
    while run_lock.holder(layout.run_lock) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run_lock.holder(layout.run_lock) is None  # the run died with the watcher

    second = start_watcher(data, output)
    try:
        next_line(second)
        line = next_line(second)
        assert re.search(r"span 2: blessed \(exit 0\); .*warm-started; RMSE \d\.\d{3}", line), line
        natality_span(data, 3)
        line = next_line(second)
        assert re.search(
            r"span 3: drift \(exit 7\); .*drift from span 2 in mother_age \(Jensen-Shannon "
            r"0\.\d+ > 0\.15\); stopped",
            line,
        ), line
        second.send_signal(signal.SIGINT)
        out, err = second.communicate(timeout=120)
    finally:
        second.kill()
    assert out == "" and err == watcher.INTERRUPTED + "\n"
    assert second.returncode == ExitCode.INTERRUPTED

    # What ran: one record per span, each trained once (the killed run's Trainer never finished).
    runs = {r["span"]: r for r in spans.read_runs(layout.span_runs)}
    assert sorted(runs) == [1, 2, 3] and len(spans.read_runs(layout.span_runs)) == 3
    assert trainings_per_span(layout) == {1: 1, 2: 1}
    one, two = (summary_lib.collect(layout, runs[n]["run_id"], staging=False) for n in (1, 2))
    three = summary_lib.collect(layout, runs[3]["run_id"], staging=False)
    # Span 2 resumed from the cache, warm-started from span 1's model and evaluated against it.
    for node in ("CsvExampleGen", "StatisticsGen", "Transform"):
        assert two.components[node] == "CACHED", two.components
    assert two.baseline == one.model and two.model != one.model
    assert two.warm_start["warm_start"] is True
    assert two.warm_start["base_model"].startswith(one.model.rstrip("/") + "/")
    assert one.warm_start["warm_start"] is False and two.drift["compared_with"] == 1
    assert two.drift["features"] == {} and two.pushed_model and one.pushed_model
    # Span 3 drifted from span 2 in the mothers' age only, and nothing was trained or pushed.
    assert three.outcome == "drift" and three.exit_code == ExitCode.DRIFT
    assert list(three.drift["features"]) == ["mother_age"] and three.drift["compared_with"] == 2
    assert "Transform" not in three.components and three.pushed_model is None

    # The history: lineage runs and the report show each run, the killed one ABANDONED.
    shown = run_babyweight("lineage", "runs", "--output", str(output), timeout=300)
    assert shown.returncode == 0, shown.stderr
    states = re.findall(r"^run \S+  pipeline=babyweight  (\w+)", shown.stdout, re.M)
    assert states == ["COMPLETE", "ABANDONED", "COMPLETE", "FAILED"]
    history = re.findall(r"^  span (\d); (\w+);", shown.stdout, re.M)
    assert history == [("1", "blessed"), ("2", "abandoned"), ("2", "blessed"), ("3", "drift")]
    assert f"RMSE {two.metrics['Overall']['rmse']:.3f}; pushed " in shown.stdout
    assert "drift from span 2: mother_age (Jensen-Shannon" in shown.stdout

    page = output / "report" / "index.html"
    html = page.read_text()
    section = html.split("id='history'>")[1]
    assert "4 run(s)" in section and section.count("<circle") == 2  # spans 1 and 2 evaluated
    shown = open_in_chromium(page, tmp_path / "history.png")
    if shown is None:
        pytest.skip("no Chromium could be found or installed")
    plots = [s for s in shown["svgs"] if s[0] == "RMSE over runs"]
    assert len(plots) == 1 and plots[0][1] > 300 and plots[0][2] > 150
    assert shown["requested"] == [shown["url"]] and shown["images"] == []


def test_a_window_of_two_spans_trains_on_both_and_evaluates_on_the_new_one(tmp_path):
    data, output = tmp_path / "data", tmp_path / "out"
    for span in (1, 2):
        natality_span(data, span)
    first = run_local_pipeline(data, output, "--span", "1", "--span-window", "2")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    second = run_local_pipeline(data, output, "--span-window", "2")  # the latest: span 2
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "span: 2 (trained on spans 1, 2)" in second.stdout
    layout = OutputLayout(output)
    runs = {r["span"]: r for r in spans.read_runs(layout.span_runs)}
    assert runs[1]["spans"] == [1] and runs[2]["spans"] == [1, 2]
    two = summary_lib.collect(layout, runs[2]["run_id"], staging=False)
    store = mlmd.open_store(layout.metadata, readonly=True)
    nodes = mlmd.run_nodes(store, two.run_id)
    read = sorted(mlmd.examples_span(a) for a in nodes["Transform"].inputs["examples"])
    assert read == [1, 2] and len(nodes["Trainer"].inputs["examples"]) == 2
    # ExampleGen read span 2 only; the Evaluator scored span 2's test split.
    assert two.span == 2 and two.metrics["Overall"]["example_count"] == two.splits["test"]
    assert two.warm_start["warm_start"] is True  # from span 1's model
