"""Per-component progress lines: on a store recorded while watching, and in the e2e run."""

from __future__ import annotations

import io
import re

from babyweight.metadata import progress

import lineage_store
import pytest
from helpers import PIPELINE_COMPONENTS

LINE = re.compile(r"^\[\s*[\d.]+s\] (\S+)\s+(COMPLETE|CACHED|FAILED|CANCELED)\s+[\d.]+s")


def test_one_line_per_finished_execution_of_runs_started_while_watching(tmp_path):
    path = tmp_path / "metadata.sqlite"
    recorder = lineage_store.Recorder(path)
    recorder.execute("Before", run="old-run")  # a run from before: not reported
    out = io.StringIO()
    with progress.Progress(path, stream=out, interval_s=0.05):
        recorder.execute("ExampleGen", run="new-run")
        recorder.execute("Trainer", run="new-run", state=lineage_store.CACHED)
    lines = out.getvalue().splitlines()
    assert [LINE.match(line).groups() for line in lines] == [
        ("ExampleGen", "COMPLETE"),
        ("Trainer", "CACHED"),
    ]
    assert lines[1].endswith("(cache hit)")


@pytest.mark.e2e
def test_runner_prints_a_line_per_component(tiny_run):
    output, _ = tiny_run
    stdout = (output / "runner.log").read_text().split("--- stderr ---")[0]
    found = dict(m.groups() for line in stdout.splitlines() if (m := LINE.match(line)))
    assert found == {name: "COMPLETE" for name in PIPELINE_COMPONENTS}
