"""Which model is the baseline? The answer from the push destination and a small state record,
for an orchestrator that runs no TFX Resolver (OSS KFP v2: docs/kfp-cluster.md).

The serving directory already holds every pushed model as a numbered version. Beside the
versions, STATE_FILE records what ML Metadata would otherwise say:

    {"versions": {"3": {"span": 1, "fingerprint": "..."}},     # what each push was trained on
     "statistics": {"1": "<uri of span 1's statistics>"}}       # each span's statistics

and `choose` answers the three questions the resolvers answer locally (pipeline/resolvers.py),
with the same rules:

- baseline: the newest pushed version (LatestBlessedModelStrategy: only blessed models are
  pushed), for the Evaluator;
- base_model: the newest pushed version trained on other data than this run's (another span,
  or other files; BaseModel: a rerun is not its own starting point), for the Trainer's warm
  start;
- previous_statistics: the statistics of the highest span below this run's
  (PreviousSpanStatistics), for the drift gate.

A table without spans (BigQuery) gets one per read: `next_read` numbers each run's read of it.

Each answer is a directory or None, with the sentence the run shows; the first run, with nothing
pushed, goes through the same path and says so. Over TFX's fileio, so gs:// works too. A version
directory the record does not know (pushed by hand, or by a run before the record existed) is a
baseline, never a warm start: nothing says what it was trained on.
"""

from __future__ import annotations

import dataclasses
import json
import os

from babyweight.errors import BabyweightError, ExitCode

from tfx.dsl.io import fileio

STATE_FILE = "babyweight_state.json"  # in the serving directory, beside the versions
ABSENT = "babyweight_absent"  # custom property of an artifact that stands for "none found"
SOURCE = "babyweight_source"  # custom property: the directory an artifact was copied from
FINGERPRINT = "input_fingerprint"  # of an Examples artifact: the files it was read from


class StateError(BabyweightError, ValueError):
    """The state record cannot be read: names the file and why."""

    code = ExitCode.USAGE


@dataclasses.dataclass(frozen=True)
class Choice:
    """What a run builds on; each path None when there is none, with why in `notes`."""

    baseline: str | None
    base_model: str | None
    previous_statistics: str | None
    notes: tuple[str, ...]


def state_path(serving_dir: str) -> str:
    return os.path.join(serving_dir, STATE_FILE)


def read_state(serving_dir: str) -> dict:
    """The state record, or an empty one when nothing was recorded yet."""
    path = state_path(serving_dir)
    if not fileio.exists(path):
        return {"versions": {}, "statistics": {}}
    try:
        with fileio.open(path, "r") as f:
            state = json.loads(f.read())
    except ValueError as e:
        raise StateError(f"{path}: not JSON ({e})") from None
    if not isinstance(state, dict):
        raise StateError(f"{path}: expected a JSON object, got {type(state).__name__}")
    return {"versions": state.get("versions", {}), "statistics": state.get("statistics", {})}


def _write_state(serving_dir: str, state: dict) -> None:
    fileio.makedirs(serving_dir)
    path = state_path(serving_dir)
    with fileio.open(path + ".tmp", "w") as f:
        f.write(json.dumps(state, indent=2, sort_keys=True) + "\n")
    fileio.rename(path + ".tmp", path, overwrite=True)


def record_push(serving_dir: str, version: str, span: int, fingerprint: str) -> None:
    """Record what the pushed `version` was trained on (the Pusher calls this after a push)."""
    state = read_state(serving_dir)
    state["versions"][str(version)] = {"span": int(span), "fingerprint": fingerprint}
    _write_state(serving_dir, state)


def record_statistics(serving_dir: str, span: int, uri: str) -> None:
    """Record where span `span`'s statistics are (the newest ones of a span win)."""
    state = read_state(serving_dir)
    state["statistics"][str(int(span))] = uri
    _write_state(serving_dir, state)


def next_read(serving_dir: str) -> int:
    """The span of a run over a table that has none (BigQuery, read anew each run): one more than
    any span the state record knows, 0 for the first. Each read is then a span of its own, so
    `choose` answers with the same rules: every pushed model was trained on an earlier read
    (other data), and the previous statistics are those of the latest read that recorded them."""
    state = read_state(serving_dir)
    spans = [int(s) for s in state["statistics"]]
    spans += [int(v["span"]) for v in state["versions"].values() if "span" in v]
    return max(spans, default=-1) + 1


def pushed_versions(serving_dir: str) -> list[str]:
    """The numbered version directories under `serving_dir`, newest first."""
    if not fileio.isdir(serving_dir):
        return []
    names = [name.rstrip("/") for name in fileio.listdir(serving_dir)]
    return sorted((n for n in names if n.isdigit()), key=int, reverse=True)


def _base_model(serving_dir: str, versions: list[str], record: dict, span: int, fingerprint: str):
    """Other data: another span, or the same span's files changed (TFX's fingerprint holds the
    files' sizes and times, not their paths, so two spans can share one)."""
    for version in versions:
        trained_on = record.get(version)
        if trained_on and (trained_on.get("span"), trained_on.get("fingerprint")) != (
            int(span),
            fingerprint,
        ):
            return os.path.join(serving_dir, version), (
                f"warm start from version {version} (trained on span {trained_on.get('span')})"
            )
    return None, "no blessed model trained on other data yet"


def _previous_statistics(statistics: dict, span: int):
    earlier = [int(s) for s in statistics if int(s) < span]
    if not earlier:
        return None, f"no span before span {span} to compare with"
    previous = max(earlier)
    return statistics[str(previous)], f"drift compared with span {previous}"


def choose(serving_dir: str, span: int, fingerprint: str) -> Choice:
    """The baseline, warm start and previous statistics of a run over `span` whose data has
    `fingerprint` (ResolveSpan's outputs), from the serving directory and its state record."""
    state = read_state(serving_dir)
    versions = pushed_versions(serving_dir)
    if versions:
        baseline = os.path.join(serving_dir, versions[0])
        baseline_note = f"baseline: version {versions[0]}"
    else:
        baseline, baseline_note = None, f"no blessed model yet: nothing pushed to {serving_dir}"
    base_model, base_note = _base_model(serving_dir, versions, state["versions"], span, fingerprint)
    statistics, statistics_note = _previous_statistics(state["statistics"], int(span))
    if statistics is not None and not fileio.exists(statistics):
        statistics, statistics_note = None, f"span statistics recorded at {statistics} are gone"
    return Choice(baseline, base_model, statistics, (baseline_note, base_note, statistics_note))
