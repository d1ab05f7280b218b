"""Progress lines: on a store recorded while watching, the Trainer's steps, and the e2e run."""

from __future__ import annotations

import io
import logging
import re
import time

from babyweight.metadata import progress

import lineage_store
import pytest
from helpers import PIPELINE_COMPONENTS

LINE = re.compile(r"^\[\s*[\d.]+s\] (\S+)\s+(COMPLETE|CACHED|FAILED|CANCELED)\s+[\d.]+s")
STARTED = re.compile(r"^\[\s*[\d.]+s\] (\S+)\s+started$")


def parsed(lines):
    out = []
    for line in lines:
        if m := STARTED.match(line):
            out.append((m.group(1), "started"))
        else:
            out.append(LINE.match(line).groups())
    return out


def test_a_line_as_each_execution_of_the_run_starts_and_ends(tmp_path):
    path = tmp_path / "metadata.sqlite"
    recorder = lineage_store.Recorder(path)
    recorder.execute("Before", run="old-run")  # a run from before: not reported
    out = io.StringIO()
    with progress.Progress(path, stream=out, interval_s=0.05):
        recorder.execute("ExampleGen", run="new-run")
        recorder.execute("Trainer", run="new-run", state=lineage_store.CACHED)
    lines = out.getvalue().splitlines()
    assert parsed(lines) == [
        ("ExampleGen", "started"),
        ("ExampleGen", "COMPLETE"),
        ("Trainer", "CACHED"),  # a cache hit does not run: no "started"
    ]
    assert lines[-1].endswith("(cache hit)")


def test_a_long_step_says_it_started_before_it_ends(tmp_path):
    path = tmp_path / "metadata.sqlite"
    recorder = lineage_store.Recorder(path)
    recorder.execute("ExampleGen", run="other-run")  # another run: not this one's
    out = io.StringIO()
    with progress.Progress(path, stream=out, interval_s=0.05, run_id="this-run"):
        execution_id = recorder.execute("Trainer", run="this-run", state=lineage_store.RUNNING)
        time.sleep(0.5)
        assert parsed(out.getvalue().splitlines()) == [("Trainer", "started")]
        (execution,) = recorder.store.get_executions_by_id([execution_id])
        execution.last_known_state = lineage_store.COMPLETE
        recorder.store.put_executions([execution])
    assert parsed(out.getvalue().splitlines()) == [("Trainer", "started"), ("Trainer", "COMPLETE")]


def test_format_of_the_training_steps():
    line = progress.format_steps(61.2, "Trainer", 450, 1500, 1.4212)
    assert line == (
        "[   61.2s] Trainer                          step  450/1500 [######--------------]  30%"
        "  loss 1.421"
    )


def printed_steps(total_steps: int) -> str:
    """What the terminal shows while a tiny model trains 20 steps (one epoch) on a budget of
    `total_steps`."""
    import numpy as np
    import tensorflow as tf

    out = io.StringIO()
    handler = progress.show_training_steps(out, time.time())
    try:
        model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
        model.compile(optimizer="sgd", loss="mse")
        x, y = np.ones((40, 2)), np.ones((40, 1))
        callback = progress.training_steps_callback(total_steps)
        model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[callback])
    finally:
        logging.getLogger(progress.STEPS_LOGGER).removeHandler(handler)
    return out.getvalue()


def test_the_keras_callback_reports_every_tenth_of_the_steps():
    steps = re.findall(r"step +(\d+)/20", printed_steps(20))
    assert steps == [str(n) for n in range(2, 21, 2)]


def test_an_early_stop_says_so_in_its_last_step_line():
    # A budget of 100 steps, of which one epoch of 20 runs: as when early stopping ends it.
    last = printed_steps(100).splitlines()[-1]
    assert re.search(r"step +20/100 .* stopped early: the validation loss stopped improving", last)


@pytest.mark.e2e
def test_runner_prints_a_line_per_component(tiny_run):
    output, _ = tiny_run
    stdout = (output / "runner.log").read_text().split("--- stderr ---")[0]
    found = dict(m.groups() for line in stdout.splitlines() if (m := LINE.match(line)))
    assert found == {name: "COMPLETE" for name in PIPELINE_COMPONENTS}
    started = {m.group(1) for line in stdout.splitlines() if (m := STARTED.match(line))}
    assert started == set(PIPELINE_COMPONENTS)
    assert re.search(r"Trainer\s+step 300/300 \[#{20}\] 100%", stdout)
