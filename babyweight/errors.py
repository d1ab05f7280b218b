"""One error base and one table of exit codes for every command (`local_runner.py`,
`kubeflow_runner.py` and each `babyweight COMMAND`).

A command raises a `BabyweightError` (or a subclass named for its cause) with one line that names
the file, field or value and why. The command's entry point prints `PROG: MESSAGE` on stderr and
exits with the error's `code`; no traceback. The codes are documented in docs/running.md.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Every command's exit status, one per outcome."""

    BLESSED = 0  # a pipeline run: evaluated and blessed (pushed, or already serving); a tool: done
    FAILED = 1  # a component failed, or the run ended without evaluating the model
    USAGE = 2  # a wrong flag, path, input file, store or --output directory
    LOCKED = 3  # another run holds --output
    UNUSABLE_DATA = 4  # no usable row, an empty split, a test split too small to evaluate
    DATA_ANOMALIES = 5  # ExampleValidator found values outside the schema
    NOT_BLESSED = 6  # evaluated, and a threshold failed
    DRIFT = 7  # the span drifted from the previous one and the drift gate stopped the run
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class BabyweightError(Exception):
    """An error a person can act on, said in one line, with the exit code of its cause."""

    code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, code: ExitCode | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
