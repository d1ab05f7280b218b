"""The end-of-run summary: what a person wants to know after a pipeline run.

A `RunSummary` is read from the run's artifacts (not from logs): rows per split, anomalies,
metrics per slice, the thresholds the Evaluator used, the blessing and its reason. Two steps:

    find_artifacts(nodes)            which artifacts a local run made: its ML Metadata store
    read_artifacts(summary, found)   what they say: from their URIs alone, so the KFP report step
                                     (pipeline/reports.py) reads them the same way from its inputs

`collect` does both for one local run (by its run id) and adds what only ML Metadata and the
output directory know: components, their state and time, whether the run was abandoned, the
span(s) read and trained on, the drift gate's verdict against the previous span, the warm start,
the baseline model, the pushed model (or the version already serving it), and staging's part
(rows dropped and why, the input formats read, the split key and why). The runner prints it and
writes it as run_summary.json; the report renders the same object.

`outcome` names how the run ended and `exit_code` is the runner's exit status for it
(`ExitCode`, documented in docs/running.md, "Exit codes"); no run ends 0 without an evaluated,
blessed model.
"""

from __future__ import annotations

import dataclasses
import json
import os

from babyweight import features as F
from babyweight import run_lock
from babyweight.errors import ExitCode
from babyweight.metadata import continuous
from babyweight.metadata import drift as drift_lib
from babyweight.metadata import edge as edge_lib
from babyweight.metadata import store as mlmd
from babyweight.metadata.anomalies import by_feature, read_anomalies
from babyweight.metadata.statistics import split_counts

OUTCOMES = {code: code.name.lower() for code in ExitCode}
EVALUATED_STATES = {"COMPLETE", "CACHED"}
# What pipeline/pusher.py records on a PushedModel it did not push: the version serving it.
ALREADY_SERVING_VERSION = "already_serving_version"
ALREADY_SERVING_DESTINATION = "already_serving_destination"

METRIC_NAMES = {
    "example_count": "example_count",
    "root_mean_squared_error": "rmse",
    "mean_absolute_error": "mae",
    "root_mean_squared_error_diff": "rmse_diff",  # against the baseline, when there is one
}


@dataclasses.dataclass
class RunSummary:
    run_id: str | None = None
    outcome: str = ""  # OUTCOMES: blessed, not_blessed, data_anomalies, failed, ...
    exit_code: int | None = None
    run_state: str = ""  # COMPLETE, FAILED, CANCELED, RUNNING, or ABANDONED (its process died)
    components: dict[str, str] = dataclasses.field(default_factory=dict)  # node -> state
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)  # node -> duration
    input_formats: dict[str, str] = dataclasses.field(default_factory=dict)  # file -> format
    mapping: dict[str, str] = dataclasses.field(default_factory=dict)  # --mapping: file, toml
    split_key: str = ""  # "year-month" or "row" (babyweight/local/splits.py)
    split_key_reason: str = ""
    splits: dict[str, int] = dataclasses.field(default_factory=dict)
    split_fractions: dict[str, float] = dataclasses.field(default_factory=dict)
    span: int | None = None  # the span ExampleGen read (0: input without spans)
    spans: list[int] = dataclasses.field(default_factory=list)  # the spans trained on
    # Against the previous span: compared_with (its span, None: no earlier span), features
    # ({feature: why}), measurements, stopped (the gate ended the run). {}: no drift gate.
    drift: dict = dataclasses.field(default_factory=dict)
    warm_start: dict = dataclasses.field(default_factory=dict)  # warm_start, base_model, reason
    dropped: dict = dataclasses.field(default_factory=dict)  # total, reasons, file
    anomalies: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    thresholds: dict[str, float] = dataclasses.field(default_factory=dict)  # as the run used them
    blessed: bool = False
    blessing_reason: str = ""
    pushed_model: str | None = None  # pushed by this run
    already_serving_version: str | None = None  # nothing pushed: this version serves the model
    model: str | None = None  # the trained model the Evaluator judged
    baseline: str | None = None  # the last blessed model it was compared with, if any
    artifacts: dict[str, dict] = dataclasses.field(default_factory=dict)  # role -> uri, splits
    # TFLite variants (babyweight/metadata/edge.py): the table, and which the Pusher pushed.
    edge: dict = dataclasses.field(default_factory=dict)
    error: str | None = None
    log_file: str | None = None
    metadata_store: str | None = None  # the ML Metadata store used (a URL's password masked)

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


RMSE = "root_mean_squared_error"


def _bound_text(threshold) -> str:
    """A TFMA MetricThreshold in words: 'at most 2', 'no more than 0.05 above the baseline'."""
    if threshold.HasField("change_threshold"):
        change = threshold.change_threshold
        return f"no more than {change.absolute.value:g} above the baseline's"
    value = threshold.value_threshold
    bounds = []
    if value.HasField("upper_bound"):
        bounds.append(f"at most {value.upper_bound.value:g}")
    if value.HasField("lower_bound"):
        bounds.append(f"at least {value.lower_bound.value:g}")
    return " and ".join(bounds) or "a threshold"


def _failure_text(failure, where: str) -> str:
    name = failure.metric_key.name
    wanted = _bound_text(failure.metric_threshold)
    if not failure.metric_value.HasField("double_value"):
        return f"{name} on {where} was not computed (the threshold is {wanted})"
    value = failure.metric_value.double_value.value
    if failure.metric_key.is_diff:
        return f"{name} on {where} is {value:+.4f} against the baseline's; it must be {wanted}"
    return f"{name} on {where} is {value:.4f}; it must be {wanted}"


def _passed_text(summary: RunSummary) -> str:
    rmse = summary.metrics.get("Overall", {}).get("rmse")
    bound = summary.thresholds.get("rmse_upper_bound")
    text = f"every threshold passed: {RMSE} on Overall is {rmse:.4f}"
    if bound is not None:
        text += f", at most {bound:g}"
    tolerance = summary.thresholds.get("baseline_rmse_tolerance")
    change = summary.metrics.get("Overall", {}).get("rmse_diff")
    if summary.baseline and tolerance is not None and change is not None:
        text += f"; {change:+.4f} against the baseline's, no more than {tolerance:g} above it"
    return text


def blessing_reason(evaluation_uri: str, summary: RunSummary) -> str:
    """Why the model was blessed or not, from TFMA's validation result. Never empty."""
    import tensorflow_model_analysis as tfma

    return reason_from_validation(tfma.load_validation_result(evaluation_uri), summary)


def reason_from_validation(result, summary: RunSummary) -> str:
    """The metric, the slice, its value and the threshold of each failure in a TFMA
    ValidationResult, or what passed; never empty."""
    if summary.blessed or result.validation_ok:
        return _passed_text(summary) if "Overall" in summary.metrics else "every threshold passed"
    reasons = []
    for per_slice in result.metric_validations_per_slice:
        where = slice_name(
            tuple(
                (c.column, c.int64_value or c.bytes_value or c.float_value)
                for c in per_slice.slice_key.single_slice_keys
            )
        )
        reasons += [_failure_text(failure, where) for failure in per_slice.failures]
    for missing in result.missing_slices:
        keys = ", ".join(missing.feature_keys) or "Overall"
        reasons.append(f"slice {keys} has no rows in the evaluated split")
    return "; ".join(reasons) or "TFMA's validation failed without naming a metric"


# The artifacts a summary reads, by role: the node and output key that make each in the DAG.
ARTIFACT_ROLES = {
    "statistics": ("StatisticsGen", "statistics"),
    "anomalies": ("ExampleValidator", "anomalies"),
    "evaluation": ("Evaluator", "evaluation"),
    "blessing": ("Evaluator", "blessing"),
    "pushed_model": ("Pusher", "pushed_model"),
    "drift": ("DistributionValidator", "anomalies"),
    "edge_model": ("EdgeExport", "edge_model"),
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
    rows per split and their fractions, anomalies, metrics per slice, thresholds, the blessing
    and its reason (metric, slice, value and threshold)."""
    summary.artifacts.update(artifacts)
    statistics = artifacts.get("statistics")
    if statistics:
        summary.splits = split_counts(statistics["uri"], statistics.get("split_names", ""))
        total = sum(summary.splits.values()) or 1
        summary.split_fractions = {k: round(v / total, 4) for k, v in summary.splits.items()}
    anomalies = artifacts.get("anomalies")
    if anomalies:
        found = read_anomalies(anomalies["uri"], anomalies.get("split_names", ""))
        summary.anomalies = by_feature(found)
    drift = artifacts.get("drift")
    if drift:
        found = drift_lib.read_drift(drift["uri"], drift.get("split_names", ""))
        summary.drift.update(found or {"features": {}, "measurements": {}})
    if artifacts.get("edge_model"):
        summary.edge = edge_lib.read_report(artifacts["edge_model"]["uri"])
    evaluation, blessing = artifacts.get("evaluation"), artifacts.get("blessing")
    if evaluation:
        summary.metrics = slice_metrics(evaluation["uri"])
        summary.thresholds = rmse_thresholds(evaluation["uri"])
        summary.blessed = bool(blessing) and blessed_at(blessing["uri"])
        summary.blessing_reason = blessing_reason(evaluation["uri"], summary)
    elif summary.anomalies:
        summary.blessing_reason = "not evaluated: the run stopped at data validation"
    return summary


def staging_report(stage_report_path) -> dict:
    """What the staging step wrote in stage_report.json ({} when there is none)."""
    if not stage_report_path or not os.path.isfile(stage_report_path):
        return {}
    with open(stage_report_path) as f:
        return json.load(f)


def dropped_rows(report: dict) -> dict:
    """What the staging step dropped: total, reasons, file."""
    if not report:
        return {}
    reasons = report.get("dropped", {})
    return {"total": sum(reasons.values()), "reasons": reasons, "file": report.get("dropped_file")}


def add_staging(summary: RunSummary, report: dict) -> None:
    """The staging step's part: dropped rows, input formats read, the split key and its reason."""
    summary.dropped = dropped_rows(report)
    summary.input_formats = report.get("input_formats", {})
    summary.mapping = report.get("mapping", {})
    summary.split_key = report.get("split_key", "")
    summary.split_key_reason = report.get("split_key_reason", "")
    counts = report.get("split_counts") or {}
    if counts and not summary.split_fractions:
        total = sum(counts.values()) or 1
        summary.split_fractions = {k: round(v / total, 4) for k, v in counts.items()}


def _is_live(layout, run_id: str) -> bool:
    holder = run_lock.holder(layout.run_lock)
    return bool(holder and holder.run_id == run_id)


def add_components(summary: RunSummary, nodes: dict[str, mlmd.NodeRun]) -> None:
    """Each component of the run with its state and duration."""
    for node in nodes.values():
        e = node.execution
        duration = (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000
        summary.components[node.node_id] = node.state
        summary.seconds[node.node_id] = round(duration, 1)


def interrupted(layout, run_id: str, log_file: str | None = None) -> RunSummary:
    """The summary of a run stopped by Ctrl-C, once the runner has marked what was running
    CANCELED: the components that ran with their states and times, staging's part, run_state
    CANCELED and the outcome `interrupted`.

    It reads ML Metadata only, never the artifacts: it runs in the signal handler, where
    loading TFMA could meet an import the signal cut short. A store it cannot read leaves the
    components out (logged), never the summary."""
    import logging

    code = ExitCode.INTERRUPTED
    summary = RunSummary(run_id=run_id, outcome=OUTCOMES[code], exit_code=int(code))
    summary.run_state, summary.log_file = "CANCELED", log_file
    summary.blessing_reason = "interrupted; rerun the same command to resume from the cache"
    try:
        if layout.has_store():
            store = mlmd.open_store(layout.store(), readonly=True)
            add_components(summary, mlmd.run_nodes(store, run_id))
    except Exception:  # noqa: BLE001  (the summary and the exit status matter more)
        logging.getLogger(__name__).exception("reading the interrupted run's components failed")
    add_staging(summary, staging_report(layout.stage_report))
    return summary


def collect(layout, run_id: str | None = None, error=None, staging: bool = True) -> RunSummary:
    """The summary of one run in `layout` (an OutputLayout): the newest run when run_id is None.
    Staging's part comes from the layout's stage report (the last staging: `staging=False` for
    an older run)."""
    from babyweight.layout import PIPELINE_NAME
    from babyweight.metadata.lineage import run_state

    store = mlmd.open_store(layout.require_metadata(), readonly=True)
    run_id = run_id or mlmd.latest_run_id(store, PIPELINE_NAME)
    nodes = mlmd.run_nodes(store, run_id) if run_id else {}
    summary = RunSummary(run_id=run_id, error=str(error) if error else None)
    add_components(summary, nodes)
    if nodes:
        live = _is_live(layout, run_id) if run_id else None
        summary.run_state = run_state(list(summary.components.values()), live)
    found = find_artifacts(nodes)
    blessing = found.get("blessing")
    if blessing is not None:
        # The blessing records its baseline; MLMD keeps one input event per artifact, so the
        # Evaluator's baseline_model event is missing when the baseline is the model itself.
        summary.model = mlmd.custom_property(blessing, "current_model")
        summary.baseline = mlmd.custom_property(blessing, "baseline_model")
    read_artifacts(summary, {role: _artifact(a) for role, a in found.items()})
    continuous.add_spans(summary, nodes, store)
    if staging:
        add_staging(summary, staging_report(layout.stage_report))
    add_push(summary, nodes.get("Pusher"), found.get("pushed_model"))
    add_edge(summary, found.get("edge_model"), found.get("pushed_model"))
    decide_outcome(summary, error)
    return summary


def add_push(summary: RunSummary, pusher, pushed) -> None:
    """The pushed model, or the version already serving it (then nothing new was pushed)."""
    if pushed is None:
        return
    if mlmd.custom_property(pushed, "pushed", 0):
        if pusher is not None and pusher.state == "CACHED":  # pushed by an earlier run
            summary.already_serving_version = mlmd.custom_property(pushed, "pushed_version")
        else:
            summary.pushed_model = mlmd.custom_property(pushed, "pushed_destination")
    else:
        summary.already_serving_version = mlmd.custom_property(pushed, ALREADY_SERVING_VERSION)


def add_edge(summary: RunSummary, edge_model, pushed) -> None:
    """Why nothing was exported, or which variants this run pushed (a list, maybe empty)."""
    if edge_model is not None and mlmd.custom_property(edge_model, "skipped"):
        summary.edge = {"skipped": mlmd.custom_property(edge_model, "skipped")}
    if summary.edge.get("variants") and summary.pushed_model and pushed is not None:
        names = mlmd.custom_property(pushed, "edge_variants") or ""
        summary.edge["pushed"] = [n for n in names.split(",") if n]


def decide_outcome(summary: RunSummary, error=None) -> None:
    """Set outcome, exit_code and, when the model was not evaluated, the blessing reason."""
    evaluated = summary.components.get("Evaluator") in EVALUATED_STATES and summary.metrics
    if summary.anomalies:
        code = ExitCode.DATA_ANOMALIES
        summary.blessing_reason = "not evaluated: the run stopped at data validation"
    elif summary.drift.get("stopped") and summary.drift.get("features"):
        code = ExitCode.DRIFT
        summary.blessing_reason = "not evaluated: the run stopped at the drift gate"
    elif error is not None or not evaluated or "FAILED" in summary.components.values():
        # A failed node fails the run even when the DAG went on around it (a resolver, a
        # component whose inputs could not be resolved).
        code = ExitCode.FAILED
        failed = [node for node, state in summary.components.items() if state == "FAILED"]
        if failed and not summary.error:
            summary.error = f"{', '.join(failed)} failed"
        why = f"the run failed ({type(error).__name__})" if error else "the run ended before it"
        summary.blessing_reason = summary.blessing_reason or f"not evaluated: {why}"
    elif summary.blessed:
        code = ExitCode.BLESSED
    else:
        code = ExitCode.NOT_BLESSED
    if not summary.blessing_reason:  # never empty
        summary.blessing_reason = f"{OUTCOMES[code]}; the Evaluator recorded no reason"
    summary.outcome, summary.exit_code = OUTCOMES[code], int(code)


def format_text(summary: RunSummary) -> str:
    lines = ["", f"=== babyweight run summary: run {summary.run_id} ==="]
    lines.append("components: " + ", ".join(f"{k}={v}" for k, v in summary.components.items()))
    if summary.run_state == "ABANDONED":
        lines.append("run: ABANDONED (its process ended while a component was running)")
    if summary.splits:
        lines.append("rows per split: " + ", ".join(f"{k}={v}" for k, v in summary.splits.items()))
    if summary.split_key:
        shares = ", ".join(f"{k}={v:.1%}" for k, v in summary.split_fractions.items())
        lines.append(f"split key: {summary.split_key} ({summary.split_key_reason}); {shares}")
    lines += continuous.span_lines(summary)
    if summary.dropped:
        dropped = summary.dropped
        why = ", ".join(f"{k}: {v}" for k, v in dropped["reasons"].items()) or "none"
        lines.append(f"rows dropped: {dropped['total']} ({why}); kept in {dropped['file']}")
    if summary.anomalies:
        lines.append("anomalies:")
        for feature, splits in summary.anomalies.items():
            reasons = " / ".join(sorted(set(splits.values())))
            lines.append(f"  - {feature} ({', '.join(sorted(splits))}): {reasons}")
    elif summary.components:
        lines.append("anomalies: none")
    if summary.metrics:
        lines.append(f"{'slice':<40} {'count':>7} {'rmse':>8} {'mae':>8}")
        for name, m in summary.metrics.items():
            lines.append(
                f"{name:<40} {m.get('example_count', 0):>7.0f} "
                f"{m.get('rmse', float('nan')):>8.3f} {m.get('mae', float('nan')):>8.3f}"
            )
    if summary.warm_start:
        lines.append(f"warm start: {summary.warm_start.get('reason', '')}")
    if summary.model:
        lines.append(f"baseline: {summary.baseline or 'none (no blessed model yet)'}")
    verdict = "yes" if summary.blessed else "no"
    lines.append(f"blessed: {verdict} ({summary.blessing_reason})")
    if summary.pushed_model:
        lines.append(f"pushed model: {summary.pushed_model}")
    elif summary.already_serving_version:
        lines.append(
            f"pushed model: none new; already serving version {summary.already_serving_version}"
        )
    else:
        lines.append("pushed model: none")
    lines += edge_lib.table_lines(summary.edge)
    if summary.error:
        lines.append(f"error: {summary.error}")
    lines.append(f"outcome: {summary.outcome} (exit {summary.exit_code})")
    return "\n".join(lines)
