"""Spans of input data: which a --data directory holds, which are complete, which ran.

A --data directory holds spans when it has subdirectories named by configs.SPAN_PATTERN
(`span-{SPAN}`: span-1/, span-2/, ...), each with the CSV files of one span. A span is complete
once its marker file (configs.SPAN_MARKER, `_SUCCESS`) exists: whatever delivers a span writes
the marker after its last file, so a half-copied span is never read. A --data without span
subdirectories is span 0.

Every run of a span that reaches an outcome appends one line to OUTPUT/span_runs.jsonl
(OutputLayout.span_runs): the span, the run id, the outcome and what the run found. The watcher
(babyweight/local/watcher.py) reads it to know which spans are done.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path

from babyweight.errors import UsageError
from babyweight.metadata import drift as drift_lib

from pipeline import configs

# Outcomes after which a span is not run again by the watcher (summary.OUTCOMES, by name):
# everything but an interruption (resumed from the cache) and a locked output (retried).
RETRIED_OUTCOMES = {"interrupted", "locked"}


class SpanError(UsageError, ValueError):
    """A --data directory whose spans cannot be read as asked: one line naming it."""


@dataclasses.dataclass(frozen=True)
class Span:
    number: int
    path: Path
    complete: bool


def span_regex(pattern: str = configs.SPAN_PATTERN) -> re.Pattern:
    """The directory names that `pattern` ({SPAN} for the number) matches, the number grouped."""
    if pattern.count("{SPAN}") != 1:
        raise SpanError(f"span pattern {pattern!r}: needs {{SPAN}} exactly once")
    before, after = (re.escape(part) for part in pattern.split("{SPAN}"))
    return re.compile(f"^{before}(\\d+){after}$")


def find_spans(
    data: Path, pattern: str = configs.SPAN_PATTERN, marker: str = configs.SPAN_MARKER
) -> list[Span]:
    """The spans under `data`, by number ([] when it is not a directory of spans)."""
    if not Path(data).is_dir():
        return []
    regex = span_regex(pattern)
    found: dict[int, Span] = {}
    for child in sorted(Path(data).iterdir()):
        match = regex.match(child.name)
        if not match or not child.is_dir():
            continue
        number = int(match.group(1))
        if number in found:
            raise SpanError(
                f"--data {data}: two directories for span {number} "
                f"({found[number].path.name}, {child.name})"
            )
        found[number] = Span(number, child, (child / marker).is_file())
    return [found[n] for n in sorted(found)]


def choose_span(spans: list[Span], data: Path, wanted: int | None = None) -> Span:
    """The span a run reads: `wanted`, or the latest complete one; SpanError naming why not."""
    complete = [s for s in spans if s.complete]
    marker = configs.SPAN_MARKER
    if wanted is not None:
        match = [s for s in spans if s.number == wanted]
        if not match:
            have = ", ".join(str(s.number) for s in spans) or "none"
            raise SpanError(f"--span {wanted}: no such span under {data} (spans: {have})")
        if not match[0].complete:
            raise SpanError(
                f"--span {wanted}: {match[0].path} is not complete yet (no {marker} file in it)"
            )
        return match[0]
    if not complete:
        waiting = ", ".join(s.path.name for s in spans)
        raise SpanError(
            f"--data {data}: no complete span yet ({waiting}: none has its {marker} file)"
        )
    return complete[-1]


# -- what ran -------------------------------------------------------------------------------------
def _first_line(text) -> str | None:
    return str(text).strip().splitlines()[0] if text and str(text).strip() else None


def run_entry(summary: dict, data: Path) -> dict:
    """What span_runs.jsonl keeps of one run (a RunSummary as a dict) of --data `data`."""
    pushed = summary.get("pushed_model")
    warm = summary.get("warm_start") or {}
    drift = summary.get("drift") or {}
    return {
        "data": str(Path(data).resolve()),
        "span": summary.get("span") if summary.get("span") is not None else 0,
        "spans": summary.get("spans") or [],
        "run_id": summary.get("run_id"),
        "outcome": summary.get("outcome"),
        "exit_code": summary.get("exit_code"),
        "rows": [(summary.get("splits") or {}).get(split, 0) for split in configs.SPLIT_BUCKETS],
        "rmse": (summary.get("metrics") or {}).get("Overall", {}).get("rmse"),
        "blessed": bool(summary.get("blessed")),
        "pushed_version": Path(pushed).name if pushed else None,
        "already_serving_version": summary.get("already_serving_version"),
        "warm_start": warm.get("warm_start"),
        "warm_start_reason": warm.get("reason"),
        "drift_from": drift.get("compared_with"),
        "drifted": drift_lib.describe(drift) if drift.get("features") else None,
        "anomalies": sorted(summary.get("anomalies") or {}),
        "error": _first_line(summary.get("error")),
        "log_file": summary.get("log_file"),
    }


def record_run(path: Path, entry: dict) -> None:
    """Append one run of a span to the span_runs.jsonl file at `path`."""
    line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **entry}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, sort_keys=True) + "\n")


def read_runs(path: Path) -> list[dict]:
    """Every recorded run, oldest first; a line cut off by a crash is skipped."""
    if not Path(path).is_file():
        return []
    runs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return runs


def done_spans(runs: list[dict], data: Path) -> set[int]:
    """Spans of `data` whose run reached an outcome the watcher does not retry."""
    where = str(Path(data).resolve())
    return {
        int(r["span"])
        for r in runs
        if r.get("data") == where and r.get("outcome") not in RETRIED_OUTCOMES
    }
