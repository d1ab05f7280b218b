"""How the server loads a version: the SavedModel, its warm-up requests replayed before it is
marked AVAILABLE, and its prediction table in front of it.

    registry.load = load_version   (api_flags.mount does it)

A version without a warm-up file is warmed with one row (instances.example_instance), as
before. A broken warm-up file fails the load as TF Serving's does: the version is not served. A
missing or unusable prediction table is one log line (again when the file changes); the model
answers every row then.
"""

from __future__ import annotations

import logging
import threading
import time

from babyweight import model_store, prediction_table, warmup_requests
from babyweight.instances import example_instance
from babyweight.serving.grpc_tensors import tensors_to_columns
from babyweight.serving.requests import parse_predict_request

log = logging.getLogger("babyweight.serving")


def replay_warmup(model: model_store.LoadedModel) -> int:
    """Replay the version's warm-up requests; how many there were (0: warmed with one row)."""
    requests = warmup_requests.read(model.path)
    for request in requests:
        instances, _ = parse_predict_request({"inputs": tensors_to_columns(request.inputs)})
        model.predict(instances)
    if not requests:
        model.predict([example_instance()])
    return len(requests)


class HybridModel:
    """A loaded version with its prediction table in front: rows in the table are answered
    from it, the others by the model. Everything else is the LoadedModel's.

    The table file is looked at again when it changes (checked at most every
    RECHECK_SECONDS), so a table the Pusher writes after the copy is picked up; a table that
    is missing or unusable is logged once per change of the file, and the model answers."""

    RECHECK_SECONDS = 1.0

    def __init__(self, model: model_store.LoadedModel):
        self.model = model
        self.table: prediction_table.PredictionTable | None = None
        self._signature, self._checked = None, -1e9
        self._lock = threading.Lock()
        self.refresh_table()

    def __getattr__(self, name):
        return getattr(self.model, name)

    def refresh_table(self) -> None:
        path = prediction_table.table_path(self.model.path)
        try:
            stat = path.stat()
            signature = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            signature = None
        if signature == self._signature:
            return
        self._signature = signature
        try:
            self.table = prediction_table.read(self.model.path)
            log.warning("version %s: prediction table in front (%s)", self.model.version, path)
        except prediction_table.TableError as e:
            self.table = None
            log.warning("version %s: answering from the model only: %s", self.model.version, e)

    def _current_table(self):
        now = time.monotonic()
        if now - self._checked >= self.RECHECK_SECONDS and self._lock.acquire(blocking=False):
            try:
                self._checked = now
                self.refresh_table()
            finally:
                self._lock.release()
        return self.table

    def table_answers(self, instances) -> list[float] | None:
        """Every instance's prediction from the table, or None when the version has no table or
        the table does not hold them all: the fast path, no TensorFlow call and no thread."""
        table = self._current_table()
        if table is None:
            return None
        answers = [table.answer(i) for i in instances]
        return None if None in answers else answers

    def predict_sourced(self, instances) -> tuple[list[float], list[str]]:
        table = self._current_table()
        if table is None:
            return self.model.predict(instances), ["model"] * len(instances)
        values = [table.answer(i) for i in instances]
        sources = ["model" if v is None else "table" for v in values]
        missing = [i for i, v in enumerate(values) if v is None]
        if missing:  # the model's float(float32) values, as the table's
            predicted = self.model.predict([instances[i] for i in missing])
            for i, value in zip(missing, predicted, strict=True):
                values[i] = value
        return values, sources

    def predict(self, instances) -> list[float]:
        return self.predict_sourced(instances)[0]


def load_version(path):
    """Load, warm up and put the table in front (when the version has a usable one)."""
    start = time.perf_counter()
    model = model_store.load(path, warm_up=False)
    replayed = replay_warmup(model)
    log.warning(
        "version %s: loaded in %.1fs, %d warm-up requests replayed",
        model.version,
        time.perf_counter() - start,
        replayed,
    )
    return HybridModel(model)
