"""One run per output directory: the lock names its holder and dies with it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from babyweight import run_lock

import pytest

HOLD = textwrap.dedent(
    """
    import sys, time
    from babyweight import run_lock
    run_lock.acquire(sys.argv[1], "run-held")
    print("held", flush=True)
    time.sleep(120)
    """
)


@pytest.fixture
def other_process(tmp_path):
    """A process that holds the lock on tmp_path/.run.lock until it is killed."""
    path = tmp_path / ".run.lock"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    yield path, proc
    proc.kill()
    proc.wait()


def test_a_second_holder_is_refused_with_the_first_ones_pid(other_process):
    path, proc = other_process
    assert run_lock.holder(path) == run_lock.Holder(proc.pid, "run-held")
    with pytest.raises(run_lock.OutputLocked) as e:
        run_lock.acquire(path, "run-2")
    assert f"process {proc.pid} (run run-held)" in str(e.value)
    assert e.value.holder.pid == proc.pid


def test_the_lock_dies_with_its_holder(other_process):
    path, proc = other_process
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert path.read_text().startswith(f"{proc.pid} ")  # the stale file says nothing
    assert run_lock.holder(path) is None
    run_lock.acquire(path, "run-3")
    try:
        assert run_lock.holder(path) == run_lock.Holder(run_lock.os.getpid(), "run-3")
    finally:
        run_lock.release(path)
    assert run_lock.holder(path) is None


def test_the_holder_asking_about_its_own_lock_keeps_it(tmp_path):
    path = tmp_path / ".run.lock"
    run_lock.acquire(path, "mine")
    try:
        for _ in range(2):  # asking must not open and close the file (that would release it)
            assert run_lock.holder(path).run_id == "mine"
        probe = subprocess.run(
            [sys.executable, "-c", HOLD, str(path)], capture_output=True, text=True, timeout=60
        )
        assert probe.returncode != 0 and "OutputLocked" in probe.stderr
    finally:
        run_lock.release(path)
