"""`babyweight lineage`: what happened in a pipeline's ML Metadata store, without protobuf queries.

    babyweight lineage runs                    [--output DIR] [--json]   (and the history)
    babyweight lineage artifacts [--type T]    [--output DIR] [--json]
    babyweight lineage trace MODEL_OR_ARTIFACT [--output DIR] [--json]

MODEL_OR_ARTIFACT is an artifact id, a path (an artifact's URI, or a pushed model's directory
under serving_model/), a pushed model's version, or one of the words `pushed` (the newest pushed
model) and `model` (the newest trained model). See babyweight/metadata/trace.py for the trace.
"""

from __future__ import annotations

import argparse
import json
import sys

from babyweight import run_lock
from babyweight.errors import UsageError
from babyweight.layout import OutputLayout, add_output_argument, layout_of
from babyweight.metadata import history
from babyweight.metadata import lineage as lineage_lib
from babyweight.metadata import trace as trace_lib
from babyweight.metadata.lineage import Lineage
from babyweight.metadata.store import display_name, open_store


# -- text output ------------------------------------------------------------------------------
def _artifact_label(info: dict) -> str:
    return f"#{info['id']} {info['type']}"


def format_runs(runs: list[dict], histories: dict[str, list[str]] | None = None) -> str:
    """Each run: its state, time and cache hits; its history lines (span, rows, RMSE, blessed,
    pushed, warm start, drift; history.describe); then each component."""
    if not runs:
        return "no pipeline runs in this store"
    lines = []
    for run in runs:
        lines.append(
            f"run {run['run_id']}  pipeline={run['pipeline']}  {run['state']}  "
            f"{run['duration_s']:.1f}s  cache hits: {run['cache_hits']}/{len(run['components'])}"
        )
        lines += (histories or {}).get(run["run_id"], [])
        for c in run["components"]:
            cached = "  (cache hit)" if c["cached"] else ""
            lines.append(
                f"  {c['node']:<32} {c['state']:<9} {c['duration_s']:>7.1f}s  "
                f"exec {c['execution']}{cached}"
            )
    return "\n".join(lines)


def format_artifacts(artifacts: list[dict]) -> str:
    if not artifacts:
        return "no artifacts"
    lines = []
    for a in artifacts:
        producer = a["producer"]
        made_by = f"{producer['node']} (exec {producer['execution']})" if producer else "-"
        lines.append(f"{_artifact_label(a)}  {a['uri']}")
        lines.append(f"    producer:  {made_by}")
        if a["reused_by"]:
            reused = ", ".join(f"{r['node']} (exec {r['execution']})" for r in a["reused_by"])
            lines.append(f"    reused by: {reused}  [cache]")
        consumers = ", ".join(
            f"{c['node']}.{c['key']} (exec {c['execution']}"
            + (", cached)" if c["state"] == "CACHED" else ")")
            for c in a["consumers"]
        )
        lines.append(f"    consumers: {consumers or '-'}")
    return "\n".join(lines)


def _format_step(step: dict, artifacts: dict) -> str:
    def side(by_key):
        return ", ".join(
            f"{key}={' '.join(_artifact_label(artifacts[str(i)]) for i in ids)}"
            for key, ids in sorted(by_key.items())
        )

    return (
        f"  {step['node']} (exec {step['execution']}, {step['state']}, {step['duration_s']:.1f}s, "
        f"run {step['run']})\n      in:  {side(step['inputs']) or '-'}\n"
        f"      out: {side(step['outputs']) or '-'}"
    )


def format_trace(trace: dict) -> str:
    a = trace["artifact"]
    extra = f"  pushed to {a['pushed_destination']}" if a.get("pushed_destination") else ""
    lines = [f"{_artifact_label(a)}  {a['uri']}{extra}", ""]
    sections = [
        ("upstream (what made it, oldest first):", "upstream"),
        ("data checks (same run, finished before the steps above used the data):", "data_checks"),
        ("downstream (what used it):", "downstream"),
    ]
    for title, key in sections:
        lines.append(title)
        lines += [_format_step(s, trace["artifacts"]) for s in trace[key]] or ["  none"]
        lines.append("")
    lines.append("artifacts:")
    for info in trace["artifacts"].values():
        lines.append(f"  {_artifact_label(info):<28} {info['uri']}")
    return "\n".join(lines)


# -- command line -----------------------------------------------------------------------------
def open_lineage(layout: OutputLayout) -> Lineage:
    """The store's lineage; MissingStoreError (no store) or StoreError (unreadable), one line."""
    return Lineage(open_store(layout.require_metadata(), readonly=True))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babyweight lineage",
        description="Runs, artifacts and lineage from a run's ML Metadata store.",
    )
    common = argparse.ArgumentParser(add_help=False)
    add_output_argument(common)
    common.add_argument("--json", action="store_true", help="JSON for scripts")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("runs", parents=[common], help="pipeline runs and their components")
    artifacts = commands.add_parser(
        "artifacts", parents=[common], help="artifacts, producers, consumers"
    )
    artifacts.add_argument("--type", help="only artifacts of this type, e.g. Model")
    trace = commands.add_parser(
        "trace", parents=[common], help="upstream and downstream of a model or artifact"
    )
    trace.add_argument(
        "target",
        metavar="MODEL_OR_ARTIFACT",
        help="artifact id, URI or pushed model directory, pushed version, 'pushed' or 'model'",
    )
    return parser


def runs_with_history(lineage: Lineage, layout: OutputLayout) -> tuple[list[dict], str]:
    """`lineage runs`: every run with its history entry, and the text."""
    holder = run_lock.holder(layout.run_lock)
    live, known = (holder.run_id, holder.run_id is not None) if holder else (None, True)
    data = lineage_lib.runs(lineage, live, lock_known=known)
    found = history.run_history(layout, [r["run_id"] for r in data])
    for run, summary in zip(data, found, strict=True):
        run["history"] = history.entry(summary)
    return data, format_runs(data, {s.run_id: history.describe(s) for s in found})


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    layout = layout_of(args)
    lineage = open_lineage(layout)
    if args.command == "runs":
        data, text = runs_with_history(lineage, layout)
    elif args.command == "artifacts":
        data = lineage_lib.artifact_list(lineage, args.type)
        text = format_artifacts(data)
    else:
        try:
            data = trace_lib.trace(lineage, trace_lib.resolve(lineage, args.target))
        except LookupError as e:
            raise UsageError(f"trace: {e}") from None
        text = format_trace(data)
    if not args.json:  # which store answered (a URL's password masked)
        print(f"ML Metadata: {display_name(layout.store())}")
    print(json.dumps(data, indent=2) if args.json else text)
    return 0


if __name__ == "__main__":
    from babyweight import cli

    sys.exit(cli.run("lineage", sys.argv[1:]))
