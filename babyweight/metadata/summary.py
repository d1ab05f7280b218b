"""The end-of-run summary: what a person wants to know after a pipeline run.

A `RunSummary` is read from the run's artifacts (not from logs): rows per split, anomalies,
metrics per slice, the thresholds the Evaluator used, the blessing and its reason. Two steps:

    find_artifacts(nodes)            which artifacts a local run made: its ML Metadata store
    read_artifacts(summary, found)   what they say: from their URIs alone, so the KFP report step
                                     (pipeline/reports.py) reads them the same way from its inputs

`collect` does both for a local run and adds what only ML Metadata knows: components, their
state and time, the baseline model and the pushed model; rows dropped while staging come from
the stage report. The runner prints it and writes it as run_summary.json; the report renders it.
"""

from __future__ import annotations

import dataclasses
import json
import os

from babyweight import features as F
from babyweight.metadata import store as mlmd
from babyweight.metadata.anomalies import by_feature, read_anomalies
from babyweight.metadata.statistics import split_counts

METRIC_NAMES = {
    "example_count": "example_count",
    "root_mean_squared_error": "rmse",
    "mean_absolute_error": "mae",
}


@dataclasses.dataclass
class RunSummary:
    run_id: str | None = None
    components: dict[str, str] = dataclasses.field(default_factory=dict)  # node -> state
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)  # node -> duration
    splits: dict[str, int] = dataclasses.field(default_factory=dict)
    dropped: dict = dataclasses.field(default_factory=dict)  # total, reasons, file
    anomalies: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    thresholds: dict[str, float] = dataclasses.field(default_factory=dict)  # as the run used them
    blessed: bool = False
    blessing_reason: str = ""
    pushed_model: str | None = None
    model: str | None = None  # the trained model the Evaluator judged
    baseline: str | None = None  # the last blessed model it was compared with, if any
    artifacts: dict[str, dict] = dataclasses.field(default_factory=dict)  # role -> uri, splits
    error: str | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def write_json(self, path) -> None:
        with open(path, "w") as f:
            json.dump(self.to_dict(), f, indent=2)

    @classmethod
    def read_json(cls, path) -> RunSummary:
        with open(path) as f:
            data = json.load(f)
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


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


def rmse_thresholds(evaluation_uri: str) -> dict[str, float]:
    """The RMSE bound and baseline tolerance in the EvalConfig that TFMA ran with."""
    import tensorflow_model_analysis as tfma

    config = tfma.load_eval_result(evaluation_uri).config
    found = {}
    for spec in config.metrics_specs:
        for metric in spec.metrics:
            for per_slice in metric.per_slice_thresholds:
                threshold = per_slice.threshold
                if threshold.value_threshold.HasField("upper_bound"):
                    found["rmse_upper_bound"] = threshold.value_threshold.upper_bound.value
                if threshold.change_threshold.HasField("absolute"):
                    found["baseline_rmse_tolerance"] = threshold.change_threshold.absolute.value
    return found


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


# The artifacts a summary reads, by role: the node and output key that make each in the DAG.
ARTIFACT_ROLES = {
    "statistics": ("StatisticsGen", "statistics"),
    "anomalies": ("ExampleValidator", "anomalies"),
    "evaluation": ("Evaluator", "evaluation"),
    "blessing": ("Evaluator", "blessing"),
    "pushed_model": ("Pusher", "pushed_model"),
}
BLESSED_FILE = "BLESSED"  # what the Evaluator writes into its blessing's URI (or NOT_BLESSED)


def _artifact(artifact) -> dict:
    info = {"uri": artifact.uri}
    if "split_names" in artifact.properties:
        info["split_names"] = artifact.properties["split_names"].string_value
    return info


def find_artifacts(nodes: dict[str, mlmd.NodeRun]) -> dict:
    """{role: MLMD artifact} of one run's nodes (store.run_nodes), for the roles it has."""
    found = {}
    for role, (node_id, key) in ARTIFACT_ROLES.items():
        node = nodes.get(node_id)
        outputs = node.outputs.get(key) if node else None
        if outputs:
            found[role] = outputs[0]
    return found


def blessed_at(blessing_uri: str) -> bool:
    """Whether the Evaluator blessed the model, from the marker file in its blessing's URI."""
    import tensorflow as tf

    return tf.io.gfile.exists(f"{blessing_uri.rstrip('/')}/{BLESSED_FILE}")


def read_artifacts(summary: RunSummary, artifacts: dict[str, dict]) -> RunSummary:
    """Fill `summary` from artifact URIs, {role: {"uri", "split_names"}} (roles of ARTIFACT_ROLES):
    rows per split, anomalies, metrics per slice, thresholds, the blessing and its reason."""
    summary.artifacts.update(artifacts)
    statistics = artifacts.get("statistics")
    if statistics:
        summary.splits = split_counts(statistics["uri"], statistics.get("split_names", ""))
    anomalies = artifacts.get("anomalies")
    if anomalies:
        found = read_anomalies(anomalies["uri"], anomalies.get("split_names", ""))
        summary.anomalies = by_feature(found)
    evaluation, blessing = artifacts.get("evaluation"), artifacts.get("blessing")
    if evaluation:
        summary.metrics = slice_metrics(evaluation["uri"])
        summary.thresholds = rmse_thresholds(evaluation["uri"])
        summary.blessed = bool(blessing) and blessed_at(blessing["uri"])
        summary.blessing_reason = blessing_reason(evaluation["uri"], summary.blessed)
    elif summary.anomalies:
        summary.blessing_reason = "not evaluated: the run stopped at data validation"
    return summary


def dropped_rows(stage_report_path) -> dict:
    """What the staging step dropped (total, reasons, file), from its stage_report.json."""
    if not stage_report_path or not os.path.isfile(stage_report_path):
        return {}
    with open(stage_report_path) as f:
        report = json.load(f)
    reasons = report.get("dropped", {})
    return {"total": sum(reasons.values()), "reasons": reasons, "file": report.get("dropped_file")}


def collect(layout, run_id: str | None = None, error=None) -> RunSummary:
    """The summary of one run in `layout` (an OutputLayout): the newest run when run_id is None.
    Rows dropped while staging come from the layout's stage report, when there is one."""
    from babyweight.layout import PIPELINE_NAME

    store = mlmd.open_store(str(layout.require_metadata()), readonly=True)
    run_id = run_id or mlmd.latest_run_id(store, PIPELINE_NAME)
    nodes = mlmd.run_nodes(store, run_id) if run_id else {}
    summary = RunSummary(run_id=run_id, error=str(error) if error else None)
    for node in nodes.values():
        e = node.execution
        duration = (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000
        summary.components[node.node_id] = node.state
        summary.seconds[node.node_id] = round(duration, 1)
    summary.dropped = dropped_rows(layout.stage_report)
    found = find_artifacts(nodes)
    read_artifacts(summary, {role: _artifact(a) for role, a in found.items()})
    blessing = found.get("blessing")
    if blessing is not None:
        # The blessing records its baseline; MLMD keeps one input event per artifact, so the
        # Evaluator's baseline_model event is missing when the baseline is the model itself.
        summary.model = mlmd.custom_property(blessing, "current_model")
        summary.baseline = mlmd.custom_property(blessing, "baseline_model")
    if error and not summary.blessing_reason:
        summary.blessing_reason = f"not evaluated: the run failed ({type(error).__name__})"
    pushed = found.get("pushed_model")
    if pushed is not None and mlmd.custom_property(pushed, "pushed", 0):
        summary.pushed_model = mlmd.custom_property(pushed, "pushed_destination")
    return summary


def format_text(summary: RunSummary) -> str:
    lines = ["", "=== babyweight run summary ==="]
    lines.append("components: " + ", ".join(f"{k}={v}" for k, v in summary.components.items()))
    if summary.splits:
        lines.append("rows per split: " + ", ".join(f"{k}={v}" for k, v in summary.splits.items()))
    if summary.dropped:
        dropped = summary.dropped
        why = ", ".join(f"{k}: {v}" for k, v in dropped["reasons"].items()) or "none"
        lines.append(f"rows dropped: {dropped['total']} ({why}); kept in {dropped['file']}")
    if summary.anomalies:
        lines.append("anomalies:")
        for feature, splits in summary.anomalies.items():
            reasons = " / ".join(sorted(set(splits.values())))
            lines.append(f"  - {feature} ({', '.join(sorted(splits))}): {reasons}")
    else:
        lines.append("anomalies: none")
    if summary.metrics:
        lines.append(f"{'slice':<40} {'count':>7} {'rmse':>8} {'mae':>8}")
        for name, m in summary.metrics.items():
            lines.append(
                f"{name:<40} {m.get('example_count', 0):>7.0f} "
                f"{m.get('rmse', float('nan')):>8.3f} {m.get('mae', float('nan')):>8.3f}"
            )
    if summary.model:
        lines.append(f"baseline: {summary.baseline or 'none (no blessed model yet)'}")
    verdict = "yes" if summary.blessed else "no"
    lines.append(f"blessed: {verdict} ({summary.blessing_reason})")
    lines.append(f"pushed model: {summary.pushed_model or 'none'}")
    if summary.error:
        lines.append(f"error: {summary.error}")
    return "\n".join(lines)


def statistics_uri_and_splits(summary: RunSummary) -> tuple[str, str] | None:
    """(uri, split_names) of the run's statistics artifact, when the run has one."""
    info = summary.artifacts.get("statistics")
    if not info or not os.path.isdir(info["uri"]):
        return None
    return info["uri"], info["split_names"]
