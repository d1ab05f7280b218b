"""The end-of-run summary: what a person wants to know after `python local_runner.py`.

Everything is read back from the run's ML Metadata store and artifacts (not from logs): rows per
split, rows dropped while staging and why, anomalies, metrics per slice, the blessing and its
reason, and the pushed model. Written as run_summary.json and printed as text.
"""

from __future__ import annotations

import json
import os

from models import features as F

from . import mlmd
from .anomalies import by_feature, read_anomalies

METRIC_NAMES = {
    "example_count": "example_count",
    "root_mean_squared_error": "rmse",
    "mean_absolute_error": "mae",
}


def split_counts(statistics) -> dict[str, int]:
    import tensorflow_data_validation as tfdv
    from tfx.types import artifact_utils

    counts = {}
    split_names = statistics.properties["split_names"].string_value
    for split in artifact_utils.decode_split_names(split_names):
        path = os.path.join(statistics.uri, f"Split-{split}", "FeatureStats.pb")
        stats = tfdv.load_stats_binary(path)
        counts[split] = int(stats.datasets[0].num_examples) if stats.datasets else 0
    return counts


def slice_name(slice_key) -> str:
    """'Overall', or 'feature:value' with bucket ids turned into their readable ranges."""
    if not slice_key:
        return "Overall"
    parts = []
    for feature, value in slice_key:
        value = value.decode() if isinstance(value, bytes) else value
        labels = F.SLICE_LABELS.get(feature)
        if labels is not None and isinstance(value, int) and 0 <= value < len(labels):
            value = labels[value]
        parts.append(f"{feature}:{value}")
    return ", ".join(parts)


def slice_metrics(evaluation_uri: str) -> dict[str, dict[str, float]]:
    import tensorflow_model_analysis as tfma

    result = tfma.load_eval_result(evaluation_uri)
    metrics = {}
    for slice_key, by_output in result.slicing_metrics:
        values = by_output.get("", {}).get("", {})
        row = {}
        for tfma_name, short in METRIC_NAMES.items():
            value = values.get(tfma_name, {})
            if "doubleValue" in value:
                row[short] = round(float(value["doubleValue"]), 4)
        metrics[slice_name(slice_key)] = row
    return dict(sorted(metrics.items(), key=lambda kv: (kv[0] != "Overall", kv[0])))


def blessing_reason(evaluation_uri: str, blessed: bool) -> str:
    """Which metric on which slice failed, from TFMA's validation result."""
    import tensorflow_model_analysis as tfma

    result = tfma.load_validation_result(evaluation_uri)
    if blessed or result.validation_ok:
        return "every threshold passed"
    reasons = []
    for per_slice in result.metric_validations_per_slice:
        where = slice_name(
            tuple(
                (c.column, c.int64_value or c.bytes_value or c.float_value)
                for c in per_slice.slice_key.single_slice_keys
            )
        )
        for failure in per_slice.failures:
            reasons.append(f"{failure.metric_key.name} on {where}: {failure.message}")
    for missing in result.missing_slices:
        reasons.append(f"slice missing from the data: {missing}")
    return "; ".join(reasons) or "validation failed without a recorded reason"


def collect(metadata_path, pipeline_name: str, stage_report=None, error: Exception | None = None):
    """Build the run summary dict from the MLMD store of the latest run."""
    store = mlmd.open_store(str(metadata_path))
    run_id = mlmd.latest_run_id(store, pipeline_name)
    nodes = mlmd.run_nodes(store, run_id) if run_id else {}
    summary = {
        "run_id": run_id,
        "components": {n.node_id: n.state for n in nodes.values()},
        "splits": {},
        "dropped": {},
        "anomalies": {},
        "metrics": {},
        "blessed": False,
        "blessing_reason": "",
        "pushed_model": None,
        "model": None,  # the trained model the Evaluator judged
        "baseline": None,  # the last blessed model it was compared with, if any
        "error": str(error) if error else None,
    }
    if stage_report is not None:
        summary["dropped"] = {
            "total": stage_report.rows_dropped,
            "reasons": stage_report.dropped,
            "file": stage_report.dropped_file,
        }
    stats = nodes.get("StatisticsGen")
    if stats and stats.outputs.get("statistics"):
        summary["splits"] = split_counts(stats.outputs["statistics"][0])
    validator = nodes.get("ExampleValidator")
    if validator and validator.outputs.get("anomalies"):
        a = validator.outputs["anomalies"][0]
        summary["anomalies"] = by_feature(
            read_anomalies(a.uri, a.properties["split_names"].string_value)
        )
    evaluator = nodes.get("Evaluator")
    if evaluator and evaluator.outputs.get("evaluation"):
        evaluation_uri = evaluator.outputs["evaluation"][0].uri
        blessing = evaluator.outputs["blessing"][0]
        summary["metrics"] = slice_metrics(evaluation_uri)
        summary["blessed"] = bool(mlmd.custom_property(blessing, "blessed", 0))
        summary["blessing_reason"] = blessing_reason(evaluation_uri, summary["blessed"])
        # The blessing records its baseline; MLMD keeps one input event per artifact, so the
        # Evaluator's baseline_model event is missing when the baseline is the model itself.
        summary["model"] = mlmd.custom_property(blessing, "current_model")
        summary["baseline"] = mlmd.custom_property(blessing, "baseline_model")
    elif summary["anomalies"]:
        summary["blessing_reason"] = "not evaluated: the run stopped at data validation"
    elif error:
        summary["blessing_reason"] = f"not evaluated: the run failed ({type(error).__name__})"
    pusher = nodes.get("Pusher")
    if pusher and pusher.outputs.get("pushed_model"):
        pushed = pusher.outputs["pushed_model"][0]
        if mlmd.custom_property(pushed, "pushed", 0):
            summary["pushed_model"] = mlmd.custom_property(pushed, "pushed_destination")
    return summary


def format_text(summary: dict) -> str:
    lines = ["", "=== babyweight run summary ==="]
    lines.append("components: " + ", ".join(f"{k}={v}" for k, v in summary["components"].items()))
    if summary["splits"]:
        splits = ", ".join(f"{k}={v}" for k, v in summary["splits"].items())
        lines.append(f"rows per split: {splits}")
    dropped = summary.get("dropped") or {}
    if dropped:
        why = ", ".join(f"{k}: {v}" for k, v in dropped["reasons"].items()) or "none"
        lines.append(f"rows dropped: {dropped['total']} ({why}); kept in {dropped['file']}")
    if summary["anomalies"]:
        lines.append("anomalies:")
        for feature, splits in summary["anomalies"].items():
            reasons = " / ".join(sorted(set(splits.values())))
            lines.append(f"  - {feature} ({', '.join(sorted(splits))}): {reasons}")
    else:
        lines.append("anomalies: none")
    if summary["metrics"]:
        lines.append(f"{'slice':<40} {'count':>7} {'rmse':>8} {'mae':>8}")
        for name, m in summary["metrics"].items():
            lines.append(
                f"{name:<40} {m.get('example_count', 0):>7.0f} "
                f"{m.get('rmse', float('nan')):>8.3f} {m.get('mae', float('nan')):>8.3f}"
            )
    if summary["model"]:
        lines.append(f"baseline: {summary['baseline'] or 'none (no blessed model yet)'}")
    lines.append(f"blessed: {'yes' if summary['blessed'] else 'no'} ({summary['blessing_reason']})")
    lines.append(f"pushed model: {summary['pushed_model'] or 'none'}")
    if summary.get("error"):
        lines.append(f"error: {summary['error']}")
    return "\n".join(lines)


def write_json(summary: dict, path) -> None:
    with open(path, "w") as f:
        json.dump(summary, f, indent=2, sort_keys=False)
