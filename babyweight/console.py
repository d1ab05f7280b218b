"""What a person sees on the terminal: TensorFlow's and gRPC's native start-up lines are
silenced before TensorFlow loads (they print from C++, where Python's logging cannot reach).

Every entry point calls `quiet_native_logs()` before it imports TensorFlow, TFX or Beam;
`verbose=True` leaves the environment as the user set it.
"""

from __future__ import annotations

import os

QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow C++: errors only
    "GRPC_VERBOSITY": "ERROR",
}


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
COMMAND_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3"}  # TensorFlow C++: nothing below FATAL
QUIET_LOGGERS = ("tensorflow", "absl")  # Python loggers kept to errors


class CommandError(Exception):
    """An error a person can act on, said in one line (the file, field or value, and why).

    `babyweight` prints it as `babyweight COMMAND: MESSAGE` and exits 2, without a traceback.
    """


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
