"""The run's log capture: what TensorFlow's C++ and Python's logging print goes to the log
file; the terminal keeps what the runner writes for the person."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import logging, os, sys
    from pathlib import Path
    from babyweight import console
    c = console.capture_run_log(Path(sys.argv[1]), verbose=sys.argv[2] == "verbose")
    os.write(2, b"I0000 native start-up line from C++\\n")
    print("print() to stdout")
    logging.getLogger("absl").info("an absl line")
    print("progress line", file=c.out)
    print("one-line error", file=c.err)
    c.close()
    print("after close")
    """
)


def run(tmp_path, mode):
    log = tmp_path / "logs" / "run-x.log"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(log), mode], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result, log.read_text()


def test_default_keeps_the_terminal_for_the_person(tmp_path):
    result, log = run(tmp_path, "default")
    assert result.stdout == "progress line\nafter close\n"
    assert result.stderr == "one-line error\n"
    for line in ["I0000 native start-up line from C++", "print() to stdout", "an absl line"]:
        assert line in log


def test_verbose_streams_the_log_and_still_writes_the_file(tmp_path):
    result, log = run(tmp_path, "verbose")
    assert "print() to stdout" in result.stdout and "an absl line" in result.stderr
    assert "I0000 native start-up line" in result.stderr
    assert "an absl line" in log
