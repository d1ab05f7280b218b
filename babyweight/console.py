"""What a person sees on the terminal: TensorFlow's and gRPC's native start-up lines are
silenced before TensorFlow loads (they print from C++, where Python's logging cannot reach).

Every entry point calls `quiet_native_logs()` before it imports TensorFlow, TFX or Beam;
`verbose=True` leaves the environment as the user set it.

A pipeline run goes further (`capture_run_log`): the file descriptors 1 and 2 themselves are
pointed at the run's log file, so everything TensorFlow, Beam, absl and TFX print, from Python or
from C++, lands there; the person's terminal keeps only what the runner writes to `Console.out`
and `Console.err` (progress lines, the summary, one-line errors).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import TextIO

QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow C++: errors only
    "GRPC_VERBOSITY": "ERROR",
}
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def quiet_native_logs(verbose: bool = False) -> None:
    """Set the quiet defaults (a value the user already set wins)."""
    if verbose:
        return
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)


# -- the `babyweight` commands ------------------------------------------------------------------
# A command prints its own output and nothing else unless asked (`babyweight --verbose ...` or
# BABYWEIGHT_VERBOSE=1): TensorFlow's C++ start-up lines (INFO, and the ERROR-level "Unable to
# register cuDNN factory" lines of every CPU machine), and the Python warnings of TensorFlow
# and absl (deprecations, MLMD's echo of a failed SQL statement).
VERBOSE_ENV = "BABYWEIGHT_VERBOSE"
COMMAND_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow C++: nothing below FATAL
    # Beam's multi_processing workers import the Google clients before babyweight can filter
    # their warning about Python 3.10 (one line per library and worker).
    "PYTHONWARNINGS": "ignore::FutureWarning",
}
QUIET_LOGGERS = (  # Python loggers kept to errors
    "tensorflow",
    "absl",
    "apache_beam.runners.portability.local_job_service",  # the workers' start-up warnings
)


def is_verbose() -> bool:
    """Whether the person asked for every log line (`--verbose` or BABYWEIGHT_VERBOSE=1)."""
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def quiet_command_logs(verbose: bool = False) -> None:
    """Before a command imports TensorFlow: its native and Python log noise off, unless verbose.

    The environment travels to the processes a command starts (Beam workers, KFP tasks). A
    value the user already set wins.
    """
    if verbose:
        os.environ[VERBOSE_ENV] = "1"
    if is_verbose():
        return
    for name, value in COMMAND_ENV.items():
        os.environ.setdefault(name, value)
    quiet_native_logs()
    import logging

    import absl.logging  # noqa: F401  (absl makes its own logger class; let it, then quiet it)

    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


# -- the pipeline runner's log file --------------------------------------------------------------
@dataclasses.dataclass
class Console:
    """Where the runner writes for the person (`out`, `err`), and the run's log file."""

    out: TextIO
    err: TextIO
    log_path: Path
    _saved: tuple[int, int] | None = None  # the original fds 1 and 2, while captured
    _handler: logging.Handler | None = None

    def close(self) -> None:
        """Flush, and give fds 1 and 2 back to the terminal."""
        logging.getLogger().removeHandler(self._handler)
        for stream in (sys.stdout, sys.stderr, self.out, self.err):
            stream.flush()
        if self._saved:
            for fd, saved in zip((1, 2), self._saved, strict=True):
                os.dup2(saved, fd)
                os.close(saved)
            self.out.close()
            self.err.close()
            self._saved = None


def _terminal_stream(fd: int) -> TextIO:
    return os.fdopen(fd, "w", buffering=1, encoding="utf-8", errors="replace")


def capture_run_log(log_path: Path, *, verbose: bool = False, quiet: bool = False) -> Console:
    """Send the run's whole log to `log_path`; the terminal keeps Console.out/err.

    verbose: the log streams on the terminal as well (as before this existed), and Python's
    part of it still goes to the file. quiet: only warnings and errors are logged."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    level = logging.WARNING if quiet else logging.INFO
    root = logging.getLogger()
    root.setLevel(level)
    if verbose:
        logging.basicConfig(level=level, format=LOG_FORMAT)
        handler = logging.FileHandler(log_path, encoding="utf-8")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
        return Console(sys.stdout, sys.stderr, log_path, None, handler)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    handler = logging.StreamHandler(sys.stderr)  # fd 2: the log file
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    out, err = _terminal_stream(os.dup(saved[0])), _terminal_stream(os.dup(saved[1]))
    return Console(out, err, log_path, saved, handler)
