"""A run whose process died leaves executions RUNNING in ML Metadata: `babyweight lineage runs`
and the summary call it ABANDONED unless the run still holds the output's run lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from babyweight import run_lock
from babyweight.layout import OutputLayout
from babyweight.metadata import lineage, summary
from babyweight.metadata import store as mlmd

import lineage_store
from helpers import run_babyweight
from ml_metadata.proto import metadata_store_pb2 as pb

RUNNING, CANCELED = pb.Execution.RUNNING, pb.Execution.CANCELED


def record(output):
    recorder = lineage_store.Recorder(OutputLayout(output).metadata)
    recorder.execute("ExampleGen", run="killed")
    recorder.execute("Trainer", run="killed", state=RUNNING)
    recorder.execute("ExampleGen", run="interrupted")
    recorder.execute("Trainer", run="interrupted", state=CANCELED)
    recorder.execute("ExampleGen", run="live")
    recorder.execute("Trainer", run="live", state=RUNNING)


def states(output, live, known=True) -> dict[str, str]:
    lin = lineage.Lineage(mlmd.open_store(OutputLayout(output).metadata, readonly=True))
    return {r["run_id"]: r["state"] for r in lineage.runs(lin, live, lock_known=known)}


def test_running_runs_without_the_lock_are_abandoned(tmp_path):
    record(tmp_path)
    assert states(tmp_path, "live") == {
        "killed": "ABANDONED",
        "interrupted": "CANCELED",
        "live": "RUNNING",
    }
    assert states(tmp_path, None, known=False)["killed"] == "RUNNING"  # not asked: not known


def test_the_cli_and_the_summary_ask_the_lock(tmp_path):
    record(tmp_path)
    layout = OutputLayout(tmp_path)
    hold = textwrap.dedent(
        """
        import sys, time
        from babyweight import run_lock
        run_lock.acquire(sys.argv[1], "live")
        print("held", flush=True)
        time.sleep(120)
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(layout.run_lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        out = run_babyweight("lineage", "runs", "--output", str(tmp_path)).stdout
        assert "run killed  pipeline=demo  ABANDONED" in out
        assert "run live  pipeline=demo  RUNNING" in out
        assert summary.collect(layout, "killed").run_state == "ABANDONED"
        assert summary.collect(layout, "live").run_state == "RUNNING"
    finally:
        holder.kill()
        holder.wait()
    assert run_lock.holder(layout.run_lock) is None
    assert summary.collect(layout, "live").run_state == "ABANDONED"
    assert "ABANDONED" in summary.format_text(summary.collect(layout, "killed"))
