"""One concise line per finished component while a pipeline runs, read from ML Metadata.

Beam and TFX log hundreds of lines a run; this prints what a person wants instead:

    [  13.9s] StatisticsGen                    COMPLETE     8.9s
    [  14.0s] ExampleValidator                 CACHED       0.0s  (cache hit)

A background thread polls the run's MLMD store (read-only, once a second) for executions of
runs that began after it started (new pipeline_run contexts), so it needs no hook into the
orchestrator or its logging.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from babyweight.metadata import store as mlmd


def format_line(elapsed_s: float, node: str, state: str, duration_s: float) -> str:
    cached = "  (cache hit)" if state == "CACHED" else ""
    return f"[{elapsed_s:7.1f}s] {node:<32} {state:<9} {duration_s:7.1f}s{cached}"


class Progress:
    """Context manager: prints a line for each component of the run(s) started inside it."""

    def __init__(self, metadata_path, stream=None, interval_s: float = 1.0):
        self.metadata_path = Path(metadata_path)
        self.stream = stream or sys.stdout
        self.interval_s = interval_s
        self.reported: set[int] = set()
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def __enter__(self):
        self._started = time.monotonic()
        self._old_runs = self._run_ids()  # runs from before: not reported
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
        if not self.metadata_path.is_file():
            return set()
        try:
            store = mlmd.open_store(self.metadata_path, readonly=True)
            return {c.id for c in store.get_contexts_by_type("pipeline_run")}
        except mlmd.StoreError:  # unreadable: the run itself will say so; report nothing old
            return set()

    def poll(self) -> None:
        if not self.metadata_path.is_file():
            return
        try:
            store = mlmd.open_store(self.metadata_path, readonly=True)
            runs = [
                c for c in store.get_contexts_by_type("pipeline_run") if c.id not in self._old_runs
            ]
            executions = [e for c in runs for e in store.get_executions_by_context(c.id)]
            new = []
            for e in sorted(executions, key=lambda e: e.last_update_time_since_epoch):
                state = mlmd.STATE_NAMES.get(e.last_known_state, "?")
                if e.id in self.reported or state not in mlmd.FINISHED_STATES:
                    continue
                node = mlmd.node_id_of(store, e.id, default=e.type.rsplit(".", 1)[-1])
                duration = (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000
                new.append((e.id, format_line(self._elapsed(), node, state, duration)))
        except Exception:  # noqa: BLE001  (the store is being written: try again next second)
            return
        with self._lock:
            for execution_id, line in new:
                if execution_id in self.reported:
                    continue
                self.reported.add(execution_id)
                self.lines.append(line)
                print(line, file=self.stream, flush=True)

    def _elapsed(self) -> float:
        return time.monotonic() - self._started
