"""What continuous training adds to a run's summary: the span ExampleGen read, the spans the
model learned from, the drift gate's verdict against the previous span, and the warm start.

Read from ML Metadata (the nodes of one run, store.run_nodes) and from the Trainer's Model
artifact (babyweight/model_config.py's record); summary.collect calls `add_spans`, and
summary.format_text prints `span_lines`. Each takes that RunSummary (its span, spans, drift and
warm_start fields); this module does not import summary.py, which imports it.
"""

from __future__ import annotations

from babyweight.metadata import drift as drift_lib
from babyweight.metadata import store as mlmd

FINISHED_WELL = {"COMPLETE", "CACHED"}


def add_spans(summary, nodes: dict, store) -> None:
    """The span ExampleGen read, the spans Transform learned from, the span drift compared with,
    and the Trainer's warm start."""
    for node in nodes.values():
        if node.node_id.endswith("ExampleGen") and node.outputs.get("examples"):
            summary.span = mlmd.examples_span(node.outputs["examples"][0])
    transform = nodes.get("Transform")
    if transform and transform.inputs.get("examples"):
        spans = {mlmd.examples_span(a) for a in transform.inputs["examples"]}
        summary.spans = sorted(s for s in spans if s is not None)
    validator = nodes.get("DistributionValidator")
    if validator is not None:
        baseline = validator.inputs.get("baseline_statistics") or []
        previous = mlmd.statistics_span(store, baseline[0].id) if baseline else None
        summary.drift["compared_with"] = previous
        gate = nodes.get("DriftGate")
        summary.drift["stopped"] = bool(gate and gate.state == "FAILED")
    trainer = nodes.get("Trainer")
    if trainer and trainer.outputs.get("model") and trainer.state in FINISHED_WELL:
        from babyweight.model_config import read_warm_start

        summary.warm_start = read_warm_start(trainer.outputs["model"][0].uri)
        summary.warm_start.pop("config", None)


def drift_text(summary) -> str | None:
    """`drift from span 1: mother_age (Jensen-Shannon 0.41 > 0.15); the run stopped`, or None
    when the run had no drift gate."""
    drift = summary.drift
    if not drift:
        return None
    previous = drift.get("compared_with")
    if previous is None:
        return "drift: not checked (no earlier span to compare with)"
    if not drift.get("features"):
        return f"drift from span {previous}: none beyond the thresholds"
    action = "the run stopped" if drift.get("stopped") else "warned, the run went on"
    return f"drift from span {previous}: {drift_lib.describe(drift)}; {action}"


def span_lines(summary) -> list[str]:
    lines = []
    if summary.span is not None:
        window = summary.spans if len(summary.spans) > 1 else []
        trained = f" (trained on spans {', '.join(map(str, window))})" if window else ""
        lines.append(f"span: {summary.span}{trained}")
    drift = drift_text(summary)
    if drift:
        lines.append(drift)
    return lines
