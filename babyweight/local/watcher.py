"""Continuous training on this machine: `local_runner.py --watch DIR` and `--every DURATION`.

--watch DIR waits for spans (DIR/span-N/, complete once their _SUCCESS file exists: spans.py)
and runs the pipeline on each complete span no run has finished yet, oldest first; --every
DURATION runs the pipeline on --data (its latest complete span) on a schedule. Both go on until
stopped and print one line per run.

Each run is `local_runner.py --data ... --span N` in a child process, as a person would start
it, with the watcher's own command line minus the watcher's flags (OWN_FLAGS), so that every
flag of a run reaches the runs. It takes OUTPUT/.run.lock, stages the span, runs the DAG, writes
its summary, report and a line in OUTPUT/span_runs.jsonl, where the watcher reads its outcome.
The child's terminal output goes to the run's log file. A fresh process per run keeps
TensorFlow's memory from growing over months of runs, and a run that crashes from stopping the
watcher.

Locks: the watcher holds OUTPUT/.watch.lock while it lives, so a second watcher is refused; its
runs take .run.lock one at a time like any run, so a run started by hand and the watcher's never
overlap: when a run by hand holds the output, the watcher says so once and tries again at its
next look. The child dies with the watcher (PR_SET_PDEATHSIG): a watcher killed with -9 leaves
its run ABANDONED in ML Metadata, and the restarted watcher runs that span again, from the cache.

Ctrl-C: the run in progress is interrupted as a run is (its work so far stays cached), and the
watcher ends with one line and exit status 130. A run that ends without an outcome (killed, a
crash) is not retried until the watcher restarts; a failed one is not retried (`local_runner.py
--data DIR --span N` reruns it).
"""

from __future__ import annotations

import ctypes
import datetime
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from babyweight import run_lock
from babyweight.errors import ExitCode
from babyweight.layout import OutputLayout
from babyweight.local import spans
from babyweight.local.run import PROG, UserError, prepare_output

from pipeline import configs

INTERRUPTED = "interrupted; the watcher stopped; rerun the same command to go on from the cache"
RUNNER = Path(__file__).resolve().parents[2] / "local_runner.py"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The watcher's own flags (argparse dests): each run gets the command line without them, and
# its own --data, --span and --run-id. --verbose stays out: a run's terminal is its log file.
OWN_FLAGS = ("watch", "every", "poll", "data", "span", "run_id", "verbose")


class WatchError(UserError):
    """A watcher that cannot start: one line, exit status 2."""


def parse_duration(text: str) -> float:
    """`90`, `30s`, `15m`, `6h`, `1d` in seconds; WatchError naming the value otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text or "")
    if not match or float(match.group(1)) <= 0:
        raise WatchError(f"--every {text!r}: expected a duration such as 30s, 15m, 6h or 1d")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def _die_with_parent() -> None:  # pragma: no cover  (runs in the child, before exec)
    """The run ends when the watcher does, even when the watcher is killed with -9."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_command(passed: list[str], data: Path, span: int | None, run_id: str) -> list[str]:
    """The local_runner.py command of one run: the flags passed on, then the run's own."""
    cmd = [sys.executable, str(RUNNER), *passed, "--data", str(data), "--run-id", run_id]
    return cmd + (["--span", str(span)] if span is not None else [])


def _when() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def describe_run(entry: dict) -> str:
    """What one run did, from its span_runs.jsonl entry: outcome, rows, RMSE, warm start,
    drift, what was pushed."""
    parts = [f"{entry['outcome']} (exit {entry['exit_code']})"]
    rows = entry.get("rows") or []
    if any(rows):
        parts.append(f"rows {'/'.join(map(str, rows))} ({'/'.join(configs.SPLIT_BUCKETS)})")
    if len(entry.get("spans") or []) > 1:
        parts.append("trained on spans " + ", ".join(map(str, entry["spans"])))
    if entry.get("drifted"):
        action = "stopped" if entry["exit_code"] == ExitCode.DRIFT else "warned, went on"
        parts.append(f"drift from span {entry.get('drift_from')} in {entry['drifted']}; {action}")
    if entry.get("anomalies"):
        parts.append("anomalies in " + ", ".join(entry["anomalies"]))
    if entry.get("warm_start") is not None:
        parts.append("warm-started" if entry["warm_start"] else "trained from scratch")
    if entry.get("rmse") is not None:
        parts.append(f"RMSE {entry['rmse']:.3f}")
    if entry.get("pushed_version"):
        parts.append(f"pushed version {entry['pushed_version']}")
    elif entry.get("already_serving_version"):
        parts.append(f"already serving version {entry['already_serving_version']}")
    said = (ExitCode.BLESSED, ExitCode.NOT_BLESSED, ExitCode.DRIFT, ExitCode.DATA_ANOMALIES)
    if entry.get("error") and entry["exit_code"] not in said:
        parts.append(entry["error"])
    return "; ".join(parts)


class Watcher:
    """The loop: find what to run, run it in a child, print a line; until Ctrl-C."""

    def __init__(self, args, passed: list[str], layout: OutputLayout, out=None, err=None):
        self.args, self.passed, self.layout = args, passed, layout
        self.out, self.err = out or sys.stdout, err or sys.stderr
        self.data = Path(args.watch or args.data)
        self.tried: set[int] = set()  # spans whose run ended without an outcome, this life
        self.busy_said = False
        self.child: subprocess.Popen | None = None

    def say(self, text: str, stream=None) -> None:
        print(text, file=stream or self.out, flush=True)

    def run_once(self, span: int | None) -> None:
        """One run in a child process, then its line."""
        run_id = datetime.datetime.now().isoformat()
        started = time.monotonic()
        log = self.layout.run_log(run_id)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as terminal:
            self.child = subprocess.Popen(
                run_command(self.passed, self.data, span, run_id),
                stdout=terminal,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=_die_with_parent,
            )
            _, errors = self.child.communicate()
        code, self.child = self.child.returncode, None
        what = f"span {span}" if span is not None else f"{self.data}"
        entry = next(
            (r for r in spans.read_runs(self.layout.span_runs) if r.get("run_id") == run_id), None
        )
        if code == ExitCode.LOCKED:
            if not self.busy_said:
                self.say(f"[{_when()}] {what}: waiting; {errors.strip().removeprefix(PROG + ': ')}")
            self.busy_said = True
            return
        self.busy_said = False
        seconds = time.monotonic() - started
        if entry is None:
            if span is not None:
                self.tried.add(span)
            why = errors.strip().splitlines()[-1] if errors.strip() else "no outcome recorded"
            self.say(
                f"[{_when()}] {what}: the run ended with exit status {code} after {seconds:.0f}s "
                f"({why}); not retried until the watcher restarts; log {log}"
            )
            return
        self.say(f"[{_when()}] {what}: {describe_run(entry)}; {seconds:.0f}s; log {log}")

    def due_spans(self) -> list[int]:
        """Complete spans no run has finished (and none crashed on in this watcher's life)."""
        found = spans.find_spans(self.data)
        done = spans.done_spans(spans.read_runs(self.layout.span_runs), self.data)
        return [
            s.number
            for s in found
            if s.complete and s.number not in done and s.number not in self.tried
        ]

    def watch(self) -> None:
        while True:
            try:
                due = self.due_spans()
            except spans.SpanError as e:
                self.say(f"[{_when()}] {e}; still watching", self.err)
                due = []
            for span in due:
                self.run_once(span)
            time.sleep(self.args.poll)

    def every(self, seconds: float) -> None:
        while True:
            started = time.monotonic()
            try:
                found = spans.find_spans(self.data)
                span = spans.choose_span(found, self.data).number if found else None
            except spans.SpanError as e:
                self.say(f"[{_when()}] {e}; trying again at the next run", self.err)
            else:
                self.run_once(span)
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))

    def interrupt(self) -> int:
        """Ctrl-C: let the run in progress record its interruption, then one line."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGINT)  # a second one is ignored by the run
            try:
                self.child.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.child.kill()
        self.say(INTERRUPTED, self.err)
        return int(ExitCode.INTERRUPTED)


def start_line(args, data: Path, every: float | None) -> str:
    if every is not None:
        return (
            f"running on {data} every {args.every} (its latest complete span); output "
            f"{args.output}; Ctrl-C stops"
        )
    pattern = configs.SPAN_PATTERN.replace("{SPAN}", "N")
    return (
        f"watching {data} for new spans ({pattern}/ with a {configs.SPAN_MARKER} file), looking "
        f"every {args.poll:g}s; output {args.output}; Ctrl-C stops"
    )


def main(args, passed: list[str]) -> int:
    """local_runner.py --watch / --every, `passed` the flags each run gets: 2 on a wrong flag, 3
    when another watcher holds the output, 130 on Ctrl-C (it never ends by itself)."""
    try:
        every = parse_duration(args.every) if args.every else None
        data = Path(args.watch or args.data)
        if args.watch and not data.is_dir():
            raise WatchError(f"--watch {data}: not a directory")
        if args.span is not None:
            raise WatchError("--span: a watcher runs every span; leave --span out")
        if args.watch and args.data_source != "csv":
            raise WatchError(
                f"--watch: spans are CSV directories; --source {args.data_source} runs "
                "on a schedule with --every"
            )
        problem = configs.BY_NAME["poll"].problem(args.poll)
        if problem:
            raise WatchError(f"--poll {args.poll:g}: {problem}")
        layout = prepare_output(args.output.resolve())
        held_as = f"--watch {data}" if every is None else f"--every {args.every} --data {data}"
        run_lock.acquire(layout.watch_lock, f"{run_lock.WATCHER}{held_as}")
    except (UserError, run_lock.OutputLocked) as e:  # OutputLocked's code is ExitCode.LOCKED
        print(f"{PROG}: {e}", file=sys.stderr)
        return int(e.code)
    watcher = Watcher(args, passed, layout)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    try:
        watcher.say(start_line(args, data, every))
        if every is None:
            watcher.watch()
        else:
            watcher.every(every)
    except KeyboardInterrupt:
        return watcher.interrupt()
    finally:
        run_lock.release(layout.watch_lock)
    return int(ExitCode.FAILED)  # not reached: both loops end by Ctrl-C
