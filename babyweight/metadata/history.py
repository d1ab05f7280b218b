"""The history of a pipeline's runs, oldest first: what continuous training did over time.

Per run: the span ExampleGen read and the spans trained on, the rows per split, RMSE overall and
per slice, blessed or not, the version pushed (or already serving), the warm start and the drift
gate's verdict. Each run is read by summary.collect, from ML Metadata and its artifacts' URIs,
so the history holds every run in the store, however it was started. `babyweight lineage runs`
prints it under each run, and the report draws it as a table and a plot of RMSE over runs.
"""

from __future__ import annotations

from babyweight.metadata import continuous
from babyweight.metadata.summary import RunSummary, collect

# A run's state, when it says more than its outcome (it never reached one).
UNFINISHED = {"CANCELED": "interrupted", "ABANDONED": "abandoned", "RUNNING": "running"}


def run_history(layout, run_ids: list[str]) -> list[RunSummary]:
    """The summary of each run (not the staging of the last one, which is not theirs)."""
    return [collect(layout, run_id, staging=False) for run_id in run_ids]


def outcome(summary: RunSummary) -> str:
    return UNFINISHED.get(summary.run_state, summary.outcome)


def pushed(summary: RunSummary) -> str | None:
    """The version the run pushed, or `already serving N`, or None."""
    if summary.pushed_model:
        return summary.pushed_model.rstrip("/").rsplit("/", 1)[-1]
    if summary.already_serving_version:
        return f"already serving {summary.already_serving_version}"
    return None


def spans_text(summary: RunSummary) -> str:
    if summary.span is None:
        return "-"
    if len(summary.spans) > 1:
        return f"{summary.span} (trained on {', '.join(map(str, summary.spans))})"
    return str(summary.span)


def entry(summary: RunSummary) -> dict:
    """One run of the history, as plain values (`lineage runs --json`)."""
    overall = summary.metrics.get("Overall", {})
    return {
        "run_id": summary.run_id,
        "outcome": outcome(summary),
        "span": summary.span,
        "spans": summary.spans,
        "rows": summary.splits,
        "rmse": overall.get("rmse"),
        "rmse_per_slice": {name: m["rmse"] for name, m in summary.metrics.items() if "rmse" in m},
        "blessed": summary.blessed,
        "pushed_version": pushed(summary),
        "warm_start": summary.warm_start.get("warm_start") if summary.warm_start else None,
        "drift": continuous.drift_text(summary),
    }


def describe(summary: RunSummary) -> list[str]:
    """Two lines of one run for `lineage runs`: what it read and made, then RMSE per slice."""
    e = entry(summary)
    rows = sum(e["rows"].values())
    parts = [f"span {spans_text(summary)}", e["outcome"]]
    if rows:
        parts.append(f"rows {rows} (" + ", ".join(f"{k} {v}" for k, v in e["rows"].items()) + ")")
    if e["rmse"] is not None:
        parts.append(f"RMSE {e['rmse']:.3f}")
        if e["outcome"] not in ("blessed", "not_blessed"):
            parts.append("blessed" if e["blessed"] else "not blessed")
    if e["pushed_version"]:
        version = e["pushed_version"]
        parts.append(version if version.startswith("already") else f"pushed {version}")
    if e["warm_start"] is not None:
        parts.append("warm-started" if e["warm_start"] else "from scratch")
    if e["drift"]:
        parts.append(e["drift"])
    lines = ["  " + "; ".join(parts)]
    slices = {k: v for k, v in e["rmse_per_slice"].items() if k != "Overall"}
    if slices:
        lines.append("  RMSE per slice: " + ", ".join(f"{k} {v:.3f}" for k, v in slices.items()))
    return lines
