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
