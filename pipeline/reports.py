"""The report steps: what the Kubeflow Pipelines UI shows of a run (and Vertex's, the same way).

The KFP UI renders only system.HTML, system.Markdown and system.Metrics artifacts (system.py);
every TFX output is a bare URI there. These two steps read the TFX artifacts from their URIs
(babyweight.metadata.summary.read_artifacts: no ML Metadata, so the same code runs on any
orchestrator) and write what the UI renders, each as one file at its artifact's URI:

    DataReport  after ExampleValidator, before the gate: statistics and anomalies (HTML, Markdown).
                It runs before the gate can stop the run, so a stopped run still shows why.
    RunReport   after the Evaluator: statistics, anomalies, metrics per slice (table and plot),
                the blessing and its reason (HTML, Markdown), and the Overall slice's RMSE, MAE
                and example count (Metrics: a JSON file, and custom properties for the UI).
"""

import json
import os

from babyweight.metadata import report
from babyweight.metadata.statistics import by_split
from babyweight.metadata.summary import RunSummary, read_artifacts

from tfx import v1 as tfx
from tfx.dsl.io import fileio

import system

Artifact = tfx.dsl.components.InputArtifact
Output = tfx.dsl.components.OutputArtifact
standard = tfx.types.standard_artifacts


def _with_splits(artifact) -> dict:
    return {"uri": artifact.uri, "split_names": artifact.split_names}


def _write(artifact, text: str, display_name: str) -> None:
    """One file at the artifact's URI, as the KFP UI reads it; display_name titles it there."""
    fileio.makedirs(os.path.dirname(artifact.uri))
    with fileio.open(artifact.uri, "w") as f:
        f.write(text)
    artifact.set_string_custom_property("display_name", display_name)


def _write_pages(summary: RunSummary, html, markdown, evaluation: bool) -> None:
    found = summary.artifacts["statistics"]
    stats = by_split(found["uri"], found["split_names"])
    what = "run report" if evaluation else "data checks"
    _write(html, report.render_html(summary, stats, evaluation=evaluation), f"babyweight {what}")
    _write(markdown, report.render_markdown(summary, evaluation=evaluation), f"{what} summary")


@tfx.dsl.components.component
def DataReport(  # noqa: N802  (TFX component names are classes by convention)
    statistics: Artifact[standard.ExampleStatistics],
    anomalies: Artifact[standard.ExampleAnomalies],
    html: Output[system.HTML],
    markdown: Output[system.Markdown],
) -> None:
    found = {"statistics": _with_splits(statistics), "anomalies": _with_splits(anomalies)}
    _write_pages(read_artifacts(RunSummary(), found), html, markdown, evaluation=False)


@tfx.dsl.components.component
def RunReport(  # noqa: N802
    statistics: Artifact[standard.ExampleStatistics],
    anomalies: Artifact[standard.ExampleAnomalies],
    evaluation: Artifact[standard.ModelEvaluation],
    blessing: Artifact[standard.ModelBlessing],
    html: Output[system.HTML],
    markdown: Output[system.Markdown],
    metrics: Output[system.Metrics],
) -> None:
    found = {
        "statistics": _with_splits(statistics),
        "anomalies": _with_splits(anomalies),
        "evaluation": {"uri": evaluation.uri},
        "blessing": {"uri": blessing.uri},
    }
    summary = read_artifacts(RunSummary(), found)
    _write_pages(summary, html, markdown, evaluation=True)
    overall = report.overall_metrics(summary)
    _write(metrics, json.dumps(overall, indent=2) + "\n", "Overall slice, test split")
    for name, value in overall.items():
        metrics.set_float_custom_property(name, value)
