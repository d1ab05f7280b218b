"""Ending a process that has loaded TensorFlow without the interpreter's teardown.

Once TensorFlow (and Beam) are loaded, the interpreter's own teardown (freeing every module,
running finalizers) takes 1.2-2.4 s on this machine, after all work is done and every file is
written. Two places pay it for nothing:

- `local_runner.py`, at the end of every run (2.4 s of a 40 s run).
- Each Beam SDK worker of DirectRunner's multi_processing mode, after its harness has stopped.
  Beam stops the workers one after the other and waits for each process to exit, so a job with
  two workers waited about 2.6 s for their teardowns, in every run, whatever its size.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys

BEAM_WORKER_MAIN = "apache_beam.runners.worker.sdk_worker_main"
_registered_in_worker = False


def end_process(status: int) -> None:
    """Flushes the logs and the standard streams and ends the process with `status`, without
    the interpreter's teardown. Only for use as the last exit step: nothing after it runs."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def in_beam_worker() -> bool:
    """Whether this process is a Beam SDK worker started as `python -m sdk_worker_main`."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) == BEAM_WORKER_MAIN


def skip_teardown_in_beam_worker() -> None:
    """In a Beam SDK worker process (and nowhere else), ends the process at exit without the
    interpreter's teardown. Called where a worker loads TensorFlow, so this exit handler runs
    before TensorFlow's and Beam's own (exit handlers run last registered first): by then the
    harness has finished every bundle, closed its channels and flushed its log handler.

    The exit status stays the worker's: 1 after an uncaught exception (Python keeps it in
    `sys.last_value` once the traceback is printed), else 0."""
    global _registered_in_worker
    if _registered_in_worker or not in_beam_worker():
        return
    _registered_in_worker = True
    atexit.register(lambda: end_process(1 if hasattr(sys, "last_value") else 0))
