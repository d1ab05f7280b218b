"""Progress lines while a pipeline runs: a line when each component starts and when it ends, read
from ML Metadata, and the Trainer's steps as they go.

Beam and TFX log hundreds of lines a run; this prints what a person wants instead:

    [   4.1s] StatisticsGen                    started
    [  13.9s] StatisticsGen                    COMPLETE     8.9s
    [  14.0s] ExampleValidator                 CACHED       0.0s  (cache hit)
    [  61.2s] Trainer                          step  450/1500 [######--------------]  30%

A background thread polls the run's MLMD store (read-only, once a second) for executions of the
run (its pipeline_run context, or any run that began after it started), so it needs no hook
into the orchestrator or its logging. The Trainer's steps come from a Keras callback
(`training_steps_callback`) through the `babyweight.progress` logger; `show_training_steps`
prints them on the person's terminal.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from babyweight.metadata import store as mlmd

STEPS_LOGGER = "babyweight.progress"
BAR_WIDTH = 20
STEP_LINES = 10  # a training prints a line every tenth of its steps
WAITING_STATES = {"NEW", "RUNNING"}


def format_line(elapsed_s: float, node: str, state: str, duration_s: float) -> str:
    cached = "  (cache hit)" if state == "CACHED" else ""
    return f"[{elapsed_s:7.1f}s] {node:<32} {state:<9} {duration_s:7.1f}s{cached}"


def format_started(elapsed_s: float, node: str) -> str:
    return f"[{elapsed_s:7.1f}s] {node:<32} started"


def format_note(elapsed_s: float, node: str, text: str) -> str:
    return f"[{elapsed_s:7.1f}s] {node:<32} {text}"


def format_steps(
    elapsed_s: float, node: str, step: int, total: int, loss=None, note: str = ""
) -> str:
    done = min(step / total, 1.0) if total else 1.0
    filled = round(done * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    width = len(str(total))
    text = f"[{elapsed_s:7.1f}s] {node:<32} step {step:>{width}}/{total} [{bar}] {done:4.0%}"
    return text + (f"  loss {loss:.3f}" if loss is not None else "") + (f"  {note}" if note else "")


class Progress:
    """Context manager: prints a line as each component of the run starts and finishes.

    run_id: the pipeline_run context to follow; None follows every run that begins inside.
    started_at: the time (time.time()) that elapsed times count from; default: on entering."""

    def __init__(
        self, metadata_path, stream=None, interval_s: float = 1.0, run_id=None, started_at=None
    ):
        self.metadata_path = str(metadata_path)  # a path or a mysql:// URL
        self.stream = stream or sys.stdout
        self.interval_s = interval_s
        self.run_id = run_id
        self._started_at = started_at  # time.time() of the run's start; default: on entering
        self.reported: set[int] = set()
        self.started: set[int] = set()
        self.lines: list[str] = []
        self.states: dict[str, str] = {}  # node -> its state at the last poll that saw it
        self.order: list[str] = []  # the nodes in the order they run, when the caller knows it
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def __enter__(self):
        self._started_at = self._started_at or time.time()
        self._old_runs = set() if self.run_id else self._run_ids()  # runs from before
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        self.poll()  # whatever finished since the last poll
        return False

    def _loop(self):
        while not self._stop.wait(self.interval_s):
            self.poll()

    def _run_ids(self) -> set[int]:
        if not mlmd.connection.parse(self.metadata_path).exists():
            return set()
        try:
            store = mlmd.open_store(self.metadata_path, readonly=True)
            return {c.id for c in store.get_contexts_by_type("pipeline_run")}
        except mlmd.StoreError:  # unreadable: the run itself will say so; report nothing old
            return set()

    def _runs(self, store):
        if self.run_id:
            found = store.get_context_by_type_and_name("pipeline_run", self.run_id)
            return [found] if found else []
        return [c for c in store.get_contexts_by_type("pipeline_run") if c.id not in self._old_runs]

    def poll(self) -> None:
        if not mlmd.connection.parse(self.metadata_path).exists():
            return
        try:
            store = mlmd.open_store(self.metadata_path, readonly=True)
            executions = [
                e for c in self._runs(store) for e in store.get_executions_by_context(c.id)
            ]
            new = []
            for e in sorted(executions, key=lambda e: e.create_time_since_epoch):
                new += self._lines_of(store, e)
        except Exception:  # noqa: BLE001  (the store is being written: try again next second)
            return
        with self._lock:
            for key, line in sorted(new, key=lambda item: item[0][1]):
                seen = self.started if key[0] == "started" else self.reported
                if key[2] in seen:
                    continue
                seen.add(key[2])
                self.lines.append(line)
                self.stream.write(line + "\n")
                self.stream.flush()

    def _lines_of(self, store, e) -> list:
        """(sort key, line) for the start and the end of execution `e` not printed yet."""
        state = mlmd.STATE_NAMES.get(e.last_known_state, "?")
        if e.id in self.reported or (e.id in self.started and state not in mlmd.FINISHED_STATES):
            return []
        node = mlmd.node_id_of(store, e.id, default=e.type.rsplit(".", 1)[-1])
        self.states[node] = state
        begin, end = e.create_time_since_epoch / 1000, e.last_update_time_since_epoch / 1000
        found = []
        if e.id not in self.started and state != "CACHED":  # a cache hit does not run
            found.append((("started", begin, e.id), format_started(self._since(begin), node)))
        if state in mlmd.FINISHED_STATES:
            line = format_line(self._since(end), node, state, end - begin)
            found.append((("finished", end, e.id), line))
        return found

    def _since(self, epoch_s: float) -> float:
        return max(epoch_s - self._started_at, 0.0)


class _StepsToTerminal(logging.Handler):
    def __init__(self, stream, started_at: float):
        super().__init__(logging.INFO)
        self.stream, self.started_at = stream, started_at
        self.progress: Progress | None = None  # its lines first, so that they stay in order

    def emit(self, record):
        steps, text = getattr(record, "steps", None), getattr(record, "note", None)
        if steps is None and text is None:
            return
        if self.progress is not None:
            self.progress.poll()
        elapsed = time.time() - self.started_at
        line = format_steps(elapsed, *steps) if steps else format_note(elapsed, *text)
        self.stream.write(line + "\n")
        self.stream.flush()


def note(node: str, text: str) -> None:
    """A line of a component for the person at the terminal (e.g. the Trainer's warm start)."""
    logging.getLogger(STEPS_LOGGER).info("%s: %s", node, text, extra={"note": (node, text)})


def show_training_steps(stream, started_at: float) -> logging.Handler:
    """Print the Trainer's step lines and notes on `stream`; returns the handler (to remove it)."""
    handler = _StepsToTerminal(stream, started_at)
    logger = logging.getLogger(STEPS_LOGGER)
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return handler


def training_steps_callback(total_steps: int, node: str = "Trainer"):
    """A Keras callback that logs the training's progress every tenth of `total_steps` to the
    `babyweight.progress` logger (record attribute `steps`: node, step, total, loss)."""
    import tensorflow as tf

    logger = logging.getLogger(STEPS_LOGGER)
    every = max(total_steps // STEP_LINES, 1)

    class TrainingSteps(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.step = 0

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            if self.step % every and self.step != total_steps:
                return
            loss = (logs or {}).get("loss")
            loss = float(loss) if loss is not None else None
            logger.info(
                "%s step %d/%d loss %s",
                node,
                self.step,
                total_steps,
                loss,
                extra={"steps": (node, self.step, total_steps, loss)},
            )

        def on_train_end(self, logs=None):
            if 0 < self.step < total_steps:  # early stopping ended it before the budget
                why = "stopped early: the validation loss stopped improving"
                logger.info(
                    "%s stopped at step %d/%d",
                    node,
                    self.step,
                    total_steps,
                    extra={"steps": (node, self.step, total_steps, None, why)},
                )

    return TrainingSteps()
