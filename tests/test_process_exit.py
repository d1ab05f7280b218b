"""babyweight.process_exit: a Beam worker ends without the interpreter's teardown, with its own
exit status, and every other process is left alone.

Each case runs a small Python process. Being a Beam SDK worker is decided by the name `__main__`
was run as; the script gives itself that name, as `python -m sdk_worker_main` would. An exit
handler registered first stands for TensorFlow's and Beam's own (registered when they load)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = """
import atexit, sys, types
from babyweight import process_exit
if {as_worker}:
    sys.modules["__main__"].__spec__ = types.SimpleNamespace(name=process_exit.BEAM_WORKER_MAIN)
atexit.register(print, "teardown ran")  # stands for the exit handlers of TF and Beam
process_exit.skip_teardown_in_beam_worker()
process_exit.skip_teardown_in_beam_worker()  # once per process, however many models load
print("work done", end="")  # no newline: still buffered when the handler runs
{last}
"""


def run_script(as_worker: bool, last: str = "") -> subprocess.CompletedProcess:
    code = textwrap.dedent(SCRIPT.format(as_worker=as_worker, last=last))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_a_worker_ends_after_its_work_without_the_teardown_and_exits_0():
    done = run_script(as_worker=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "work done"  # flushed, and no exit handler of TF or Beam ran


def test_a_worker_that_failed_still_exits_1_with_its_traceback():
    done = run_script(as_worker=True, last="raise RuntimeError('harness failed')")
    assert done.returncode == 1
    assert "RuntimeError: harness failed" in done.stderr
    assert "teardown ran" not in done.stdout


@pytest.mark.parametrize("last", ["", "raise SystemExit(3)"])
def test_any_other_process_keeps_its_teardown_and_status(last):
    done = run_script(as_worker=False, last=last)
    assert done.returncode == (3 if last else 0)
    assert done.stdout == "work doneteardown ran\n"


def test_end_process_flushes_and_exits_with_the_status_given():
    code = (
        "from babyweight import process_exit\nprint('summary', end='')\nprocess_exit.end_process(6)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (6, "summary")
