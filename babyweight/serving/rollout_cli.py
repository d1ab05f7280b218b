"""`babyweight rollout`: see and move the version labels of the served model, without a restart.

    babyweight rollout status   [--all] [--json]  [--output DIR] [--model-dir DIR] [--serving-log P]
    babyweight rollout promote  [--no-record]     [--output DIR] [--model-dir DIR] [--serving-log P]
    babyweight rollout rollback [--no-record]     [--output DIR] [--model-dir DIR] [--serving-log P]

status:   the versions (on disk and in the serving log), their labels, the canary's configured
          share, and per version the requests, their share, the rows and the mean prediction
          served since the last label change (`--all`: the whole log, rotated files included).
promote:  the canary becomes stable; the old stable is kept as the previous version.
rollback: the canary is taken out of traffic; with no canary, stable moves back to the previous
          version. A version rolled back is never labelled again by itself.

The labels live in the rollout file next to the model directory (serving/rollout.py), which
`babyweight serve` re-reads within a tenth of a second. promote and rollback are written to the
serving log (an "event" line) and to ML Metadata, as an execution linked to the PushedModels
they moved (serving/rollout_lineage.py); `--no-record` skips ML Metadata (a directory served
without a pipeline run). Exit status: 0 done; 1 nothing to promote or roll back, or the labels
moved but ML Metadata could not record it; 2 a missing model directory, ML Metadata store or
rollout file that cannot be read (babyweight/errors.py has the table).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

from babyweight import model_store
from babyweight import serving_log as log_format
from babyweight.errors import BabyweightError, JobFailed, MissingStoreError, UsageError
from babyweight.layout import OutputLayout, add_output_argument, layout_of, rollout_file_of
from babyweight.serving.log import ServingLog, path_from_flag
from babyweight.serving.rollout import CANARY, Rollout, RolloutError, RolloutFile


def version_stats(records, *, since_last_change: bool = True) -> tuple[dict, str | None]:
    """Per version: requests, rows and mean prediction of the served rows, and the time of the
    last label change (the window starts there unless since_last_change is False)."""
    rows = []
    changed_at = None
    for record in records:
        if log_format.is_event(record):
            changed_at = record.get(log_format.TIME)
            if since_last_change:
                rows = []
        elif log_format.is_row(record) and log_format.MODEL_VERSION in record:
            rows.append(record)
    stats = collections.defaultdict(lambda: {"requests": set(), "rows": 0, "sum": 0.0})
    for row in rows:
        entry = stats[str(row[log_format.MODEL_VERSION])]
        entry["requests"].add(row.get(log_format.REQUEST) or row.get(log_format.TIME))
        entry["rows"] += 1
        prediction = row.get(log_format.PREDICTION)
        entry["sum"] += prediction if isinstance(prediction, int | float) else 0.0
    total = sum(len(e["requests"]) for e in stats.values()) or 1
    return {
        version: {
            "requests": len(e["requests"]),
            "share": len(e["requests"]) / total,
            "rows": e["rows"],
            "mean_prediction": e["sum"] / e["rows"] if e["rows"] else None,
        }
        for version, e in stats.items()
    }, changed_at


def status(model_dir: Path, rollout: Rollout, log_path: Path | None, everything: bool) -> dict:
    records = log_format.read_records(log_path) if log_path else []
    stats, changed_at = version_stats(records, since_last_change=not everything)
    on_disk = {str(v) for v in model_store.versions(model_dir)}
    labelled = {str(v): label for label, v in rollout.labels().items()}
    versions = sorted(on_disk | set(stats) | set(labelled), key=lambda v: (len(v), v), reverse=True)
    empty = {"requests": 0, "share": 0.0, "rows": 0, "mean_prediction": None}
    return {
        "model_dir": str(model_dir),
        "labels": rollout.labels(),
        "canary_percent": rollout.canary_percent,
        "previous_stable": rollout.previous,
        "retired": rollout.retired,
        "serving_log": str(log_path) if log_path else None,
        "window": "all" if everything else f"since {changed_at or 'the start of the log'}",
        "versions": [
            {
                "version": v,
                "label": labelled.get(v),
                "on_disk": v in on_disk,
                **stats.get(v, empty),
            }
            for v in versions
        ],
    }


def canary_share(data: dict) -> str:
    """The canary's traffic, said so that nobody waits for traffic a 0% share never sends."""
    if CANARY not in data["labels"]:
        return ""
    if data["canary_percent"] <= 0:
        return "; canary 0%: no traffic until `--canary-percent` or promote"
    return f"; canary share {data['canary_percent']:g}% of unlabelled requests"


def format_status(data: dict) -> str:
    labels = data["labels"]
    lines = [
        f"model directory {data['model_dir']}",
        "labels: "
        + (", ".join(f"{k} {v}" for k, v in labels.items()) or "none yet")
        + canary_share(data)
        + (f"; previous stable {data['previous_stable'][-1]}" if data["previous_stable"] else ""),
        f"serving log {data['serving_log'] or '(off)'}, {data['window']}:",
        f"{'version':<12} {'label':<7} {'on disk':<7} {'requests':>9} {'share':>7} "
        f"{'rows':>9}  mean prediction (lb)",
    ]
    for v in data["versions"]:
        mean = "-" if v["mean_prediction"] is None else f"{v['mean_prediction']:.3f}"
        lines.append(
            f"{v['version']:<12} {v['label'] or '-':<7} {'yes' if v['on_disk'] else 'no':<7} "
            f"{v['requests']:>9} {v['share']:>7.1%} {v['rows']:>9}  {mean}"
        )
    return "\n".join(lines)


def move_labels(args, layout: OutputLayout, model_dir: Path) -> int:
    """promote or rollback: the rollout file, then the serving log and ML Metadata."""
    store = None if args.no_record else open_store(layout)

    def change(rollout: Rollout) -> tuple[str, dict[str, int]]:
        """What was done, and the versions moved by their part in it."""
        stable, canary = rollout.stable, rollout.canary
        if args.command == "rollback":
            message = rollout.rollback()
            moved = {"rolled_back": canary if canary is not None else stable}
            moved["stable"] = rollout.stable
        else:
            if canary is not None and not model_store.is_complete(model_dir / str(canary)):
                raise RolloutError(f"canary version {canary} is not in {model_dir} any more")
            rollout.promote()
            message = f"canary {canary} promoted to stable (stable was {stable})"
            moved = {"promoted": canary, "replaced": stable}
        return message, {k: v for k, v in moved.items() if v is not None}

    after, (message, moved) = RolloutFile(rollout_file_of(model_dir)).update(change)
    ServingLog(
        path_from_flag(args.serving_log, layout.serving_log), max_bytes=0
    ).write_event(  # the server rotates
        f"rollout.{args.command}",
        by="babyweight rollout",
        message=message,
        stable=after.stable,
        canary=after.canary,
        canary_percent=after.canary_percent,
    )
    print(message)
    if store is None:
        return 0
    from babyweight.serving.rollout_lineage import record_rollout

    try:
        execution, unlinked = record_rollout(
            store, model_dir, args.command, message, moved, after.labels()
        )
    except Exception as e:  # noqa: BLE001  (the labels moved; say that the record is missing)
        raise JobFailed(f"{args.command} done, but not recorded in ML Metadata: {e}") from None
    note = f" (no PushedModel for {', '.join(unlinked)})" if unlinked else ""
    print(f"recorded in ML Metadata: execution {execution.id}{note}")
    return 0


def open_store(layout: OutputLayout):
    """The run's store, read-write; MissingStoreError or StoreError (one line) when it cannot
    be used, before any label moves."""
    from babyweight.metadata import store as mlmd

    try:
        path = layout.require_metadata()
    except MissingStoreError as e:
        raise MissingStoreError(f"{e}; --no-record moves labels without recording") from None
    store = mlmd.open_store(path)
    store.get_artifact_types()  # a corrupt file fails here, not half-way through
    return store


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babyweight rollout",
        description="See and move the served model's version labels (stable, canary).",
    )
    common = argparse.ArgumentParser(add_help=False)
    add_output_argument(common)
    common.add_argument(
        "--model-dir",
        type=Path,
        help="the directory of numbered versions that `babyweight serve --model-dir` serves "
        "(default: OUTPUT/serving_model/babyweight)",
    )
    common.add_argument(
        "--serving-log",
        default=None,
        help="the server's serving log (default: OUTPUT/serving_log.jsonl); '' for none",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    state = commands.add_parser("status", parents=[common], help="versions, labels, traffic")
    state.add_argument(
        "--all", action="store_true", help="the whole log, not since the last change"
    )
    state.add_argument("--json", action="store_true", help="JSON for scripts")
    for name, text in (
        ("promote", "the canary becomes stable"),
        ("rollback", "the canary leaves traffic; without one, stable goes back a version"),
    ):
        command = commands.add_parser(name, parents=[common], help=text)
        command.add_argument(
            "--no-record", action="store_true", help="do not record the step in ML Metadata"
        )
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    layout = layout_of(args)
    model_dir = args.model_dir or layout.serving_model_dir
    if not model_dir.is_dir():
        raise UsageError(f"no model directory {model_dir}; give the run's --output, or --model-dir")
    try:
        if args.command == "status":
            rollout = RolloutFile(rollout_file_of(model_dir)).read()
            data = status(
                model_dir, rollout, path_from_flag(args.serving_log, layout.serving_log), args.all
            )
            print(json.dumps(data, indent=2) if args.json else format_status(data))
            return 0
        return move_labels(args, layout, model_dir)
    except BabyweightError:
        raise
    except OSError as e:  # the rollout file or the serving log cannot be written
        raise UsageError(str(e)) from None


if __name__ == "__main__":
    from babyweight import cli

    sys.exit(cli.run("rollout", sys.argv[1:]))
