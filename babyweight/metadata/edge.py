"""The edge (TFLite) part of a run: the variant table, read from the EdgeExport artifact.

EdgeExport (pipeline/edge.py) writes edge_report.json into its artifact's directory:

    {"saved_model_rmse", "test_rows", "variants": {name: {"size_bytes", "rmse", "max_abs_diff",
     "latency_ms_per_row", "tolerance", "passed"}}}

The summary keeps it under `edge` with the variants the Pusher pushed; the runner prints
`table_lines`, the report renders the same table.
"""

from __future__ import annotations

import json
import os

REPORT_FILE = "edge_report.json"
CODES_FILE = "codes.json"
COLUMNS = (
    "variant",
    "size (KB)",
    "test RMSE (lb)",
    "max abs diff vs SavedModel (lb)",
    "latency per row (ms)",
    "gate",
)


def read_report(uri: str) -> dict:
    """edge_report.json of an EdgeModel artifact; {} when there is none (nothing exported)."""
    import tensorflow as tf

    path = os.path.join(uri, REPORT_FILE)
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as f:
        return json.loads(f.read())


def passing(report: dict) -> list[str]:
    return [name for name, v in report.get("variants", {}).items() if v["passed"]]


def failure_lines(report: dict) -> list[str]:
    """One line per variant that failed the gate, with its numbers."""
    base = report.get("saved_model_rmse", 0.0)
    return [
        f"edge variant {name} not pushed: test RMSE {v['rmse']:.4f} lb vs the SavedModel's "
        f"{base:.4f} lb (difference {abs(v['rmse'] - base):.4f} > tolerance {v['tolerance']} lb)"
        for name, v in report.get("variants", {}).items()
        if not v["passed"]
    ]


def rows(report: dict) -> list[list[str]]:
    """The table's rows, as text, one per variant."""
    found = []
    for name, v in report.get("variants", {}).items():
        gate = "pass" if v["passed"] else f"FAIL (tolerance {v['tolerance']} lb)"
        found.append(
            [
                name,
                f"{v['size_bytes'] / 1024:.1f}",
                f"{v['rmse']:.4f}",
                f"{v['max_abs_diff']:.4f}",
                f"{v['latency_ms_per_row']:.3f}",
                gate,
            ]
        )
    return found


def markdown_table(report: dict) -> str:
    lines = [
        f"SavedModel test RMSE {report['saved_model_rmse']:.4f} lb on {report['test_rows']} rows",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|---|---:|---:|---:|---:|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows(report)]
    return "\n".join(lines)


def table_lines(edge: dict) -> list[str]:
    """The summary's edge lines: the table and what was pushed (edge: RunSummary.edge)."""
    if not edge:
        return []
    if edge.get("skipped"):
        return [f"edge: nothing exported ({edge['skipped']})"]
    lines = [
        f"edge (TFLite) variants, SavedModel test RMSE {edge['saved_model_rmse']:.4f} lb "
        f"on {edge['test_rows']} rows:",
        f"  {'variant':<14} {'KB':>7} {'rmse':>8} {'max diff':>9} {'ms/row':>8}  gate",
    ]
    for name, kb, rmse, diff, ms, gate in rows(edge):
        lines.append(f"  {name:<14} {kb:>7} {rmse:>8} {diff:>9} {ms:>8}  {gate}")
    pushed = edge.get("pushed")
    if pushed is not None:
        lines.append(f"edge variants pushed: {', '.join(pushed) or 'none'}")
    lines += failure_lines(edge)
    return lines
