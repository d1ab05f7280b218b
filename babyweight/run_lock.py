"""One pipeline run per output directory: a lock file that the kernel releases when its holder
dies, so a run killed with -9 never blocks the next one.

The lock is a POSIX record lock (fcntl) on `OUTPUT/.run.lock` (OutputLayout.run_lock), held for
the whole run; the file holds the holder's PID and run id for people and tools. Who holds it is
asked of the kernel (F_GETLK), not read from the file, so a stale file says nothing.

A watcher (`local_runner.py --watch/--every`) holds a second lock, `OUTPUT/.watch.lock`, for its
whole life, with the holder's run id spelled `watch: <what it watches>`: a second watcher is
refused, while its runs take `.run.lock` one at a time like any run, so a watcher and a run
started by hand never run on the same output at once.

A POSIX lock belongs to the process and is released when the process closes ANY descriptor of
the file, so a holder never opens the file again: `holder()` answers from memory in the process
that holds the lock.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import os
import struct
import sys
from pathlib import Path

from babyweight.errors import BabyweightError, ExitCode

# struct flock on Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid.
_FLOCK = "hhqqi"
_FLOCK_SIZE = 32  # sizeof(struct flock) on 64-bit Linux, padding included


@dataclasses.dataclass(frozen=True)
class Holder:
    pid: int
    run_id: str | None


WATCHER = "watch: "  # how a watcher's holder id starts


class OutputLocked(BabyweightError, RuntimeError):
    """Another process runs a pipeline on this output directory, or watches for spans."""

    code = ExitCode.LOCKED

    def __init__(self, path: Path, holder: Holder | None):
        self.path, self.holder = path, holder
        who = f"process {holder.pid}" if holder else "another process"
        if holder and holder.run_id and holder.run_id.startswith(WATCHER):
            watched = holder.run_id.removeprefix(WATCHER)
            super().__init__(
                f"{path.parent} is watched by {who} ({watched}); stop that watcher or use "
                "another --output"
            )
            return
        run = f" (run {holder.run_id})" if holder and holder.run_id else ""
        super().__init__(
            f"{path.parent} is in use by {who}{run}, running the pipeline; wait for it to end "
            f"or use another --output"
        )


_HELD: dict[str, tuple[int, Holder]] = {}  # lock path -> (fd, holder), in this process


def _key(path: Path) -> str:
    return os.path.realpath(path)


def acquire(path: Path, run_id: str) -> None:
    """Take the lock for this process or raise OutputLocked naming the holder's PID."""
    path = Path(path)
    if _key(path) in _HELD:
        raise OutputLocked(path, _HELD[_key(path)][1])
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno not in (errno.EACCES, errno.EAGAIN):
            raise
        raise OutputLocked(path, holder(path)) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {run_id}\n".encode(), 0)
    _HELD[_key(path)] = (fd, Holder(os.getpid(), run_id))


def release(path: Path) -> None:
    """Give the lock back (the kernel does it too when the process ends)."""
    found = _HELD.pop(_key(Path(path)), None)
    if found:
        os.close(found[0])


def _recorded(path: Path) -> tuple[int | None, str | None]:
    try:
        pid, _, run_id = path.read_text().strip().partition(" ")
        return int(pid), run_id or None
    except (OSError, ValueError):
        return None, None


def holder(path: Path) -> Holder | None:
    """Who holds the lock now, or None when no process does (a stale file included)."""
    path = Path(path)
    if _key(path) in _HELD:
        return _HELD[_key(path)][1]
    if not path.is_file():
        return None
    recorded_pid, run_id = _recorded(path)
    if not sys.platform.startswith("linux"):  # no F_GETLK layout known here: trust the file
        return Holder(recorded_pid, run_id) if recorded_pid else None
    fd = os.open(path, os.O_RDONLY)
    try:
        query = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query.ljust(_FLOCK_SIZE, b"\0"))
    finally:
        os.close(fd)  # this process holds no lock on the file: closing releases nothing
    l_type, _, _, _, pid = struct.unpack(_FLOCK, answer[: struct.calcsize(_FLOCK)])
    if l_type == fcntl.F_UNLCK:
        return None
    return Holder(pid, run_id if pid == recorded_pid else None)
