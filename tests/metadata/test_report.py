"""The static HTML report: its parts on small inputs, then the page written by the e2e run,
opened in headless Chromium."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

from babyweight import features as F
from babyweight.metadata import charts, lineage, report, statistics
from babyweight.metadata import store as mlmd
from babyweight.metadata.summary import RunSummary, read_artifacts

import lineage_store
import pytest
from helpers import REPO, open_in_chromium


def test_lineage_svg_has_every_execution_and_artifact_of_the_run(tmp_path):
    ids = lineage_store.build(tmp_path / "metadata.sqlite")
    store = mlmd.open_store(tmp_path / "metadata.sqlite", readonly=True)
    lin = lineage.Lineage(store)
    run = lineage.runs(lin)[0]
    svg = charts.lineage_svg(lin, [c["execution"] for c in run["components"]])
    root = ET.fromstring(svg)  # well-formed
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert {c["node"] for c in run["components"]} <= set(texts)
    assert f"#{ids['pushed']}" in texts and "PushedModel" in texts
    assert f"#{ids['predictions']}" not in texts  # not part of the run
    edges = list(root.iter("{http://www.w3.org/2000/svg}path"))
    assert len(edges) - 1 == sum(  # one path is the arrow head
        len(lin.inputs[c["execution"]]) + len(lin.outputs[c["execution"]])
        for c in run["components"]
    )


def test_metrics_svg_draws_a_bar_per_metric_and_slice_and_the_bound():
    metrics = {
        "Overall": {"example_count": 40, "rmse": 1.12, "mae": 0.87},
        "is_male:True": {"example_count": 21, "rmse": 1.3, "mae": 0.9},
    }
    root = ET.fromstring(charts.metrics_svg(metrics, rmse_bound=2.0))
    ns = "{http://www.w3.org/2000/svg}"
    titles = [t.text for t in root.iter(f"{ns}title")]
    assert "Overall RMSE 1.120" in titles and "is_male:True MAE 0.900" in titles
    assert "RMSE bound 2" in titles
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "Overall (n=40)" in texts and "is_male:True (n=21)" in texts
    widths = {
        t.text: float(r.get("width")) for r in root.iter(f"{ns}rect") for t in r.iter(f"{ns}title")
    }
    assert widths["is_male:True RMSE 1.300"] > widths["Overall RMSE 1.120"]  # bars scale


def test_feature_rows_from_tfdv_statistics():
    import pandas as pd
    import tensorflow_data_validation as tfdv

    frame = pd.DataFrame({F.IS_MALE: ["True", "False", "True"], F.MOTHER_AGE: [20, 30, 40]})
    rows = {
        r["feature"]: r
        for r in statistics.feature_rows(tfdv.generate_statistics_from_dataframe(frame))
    }
    assert rows[F.MOTHER_AGE]["type"] == "INT" and "mean 30.00" in rows[F.MOTHER_AGE]["summary"]
    assert rows[F.MOTHER_AGE]["histogram"]
    assert "top: True (2)" in rows[F.IS_MALE]["summary"]
    assert "<rect" in charts.histogram_svg(rows[F.IS_MALE]["histogram"])


@pytest.mark.e2e
def test_runner_writes_a_report_with_metrics_anomalies_and_no_broken_image(tiny_run, tmp_path):
    output, summary = tiny_run
    page = output / "report" / "index.html"
    log = (output / "runner.log").read_text()
    stdout = log.split("--- stderr ---")[0].strip()
    assert stdout.splitlines()[-1] == f"report written to {page}"  # the runner's last line
    html = page.read_text()
    for section in ("Data statistics per split", "Anomalies", "TFMA metrics per slice"):
        assert section in html
    assert "Blessing" in html and summary["blessing_reason"] in html
    anomalies = html.split("id='anomalies'>")[1].split("<h2")[0]
    assert "none" in anomalies  # the tiny run has none
    for name, metrics in summary["metrics"].items():
        assert f"<td>{name.replace('<', '&lt;')}</td>" in html
        assert f"{metrics['rmse']:.3f}" in html
    for split in summary["splits"]:
        assert f"split {split}" in html
    assert sorted(p.name for p in (output / "report").iterdir()) == ["index.html"]  # one file

    shown = open_in_chromium(page, tmp_path / "report.png")
    if shown is None:
        pytest.skip("no Chromium could be found or installed for the screenshot")
    assert shown["images"] == []  # every picture is inline SVG: nothing to break
    assert shown["requested"] == [shown["url"]] == [page.resolve().as_uri()]  # nothing else
    plots = [s for s in shown["svgs"] if s[0] == "RMSE and MAE per slice"]
    assert len(plots) == 1 and plots[0][1] > 300 and plots[0][2] > 100
    assert "Lineage of the run" in shown["text"] and len(shown["svgs"]) > 10  # + histograms
    assert (tmp_path / "report.png").stat().st_size > 20_000


def test_markdown_and_metrics_of_a_summary():
    summary = RunSummary(
        splits={"train": 300, "eval": 40, "test": 41},
        anomalies={"plurality": {"train": "Unexpectedly large value: 9."}},
        metrics={"Overall": {"example_count": 41.0, "rmse": 1.234, "mae": 0.9876}},
        blessed=False,
        blessing_reason="root_mean_squared_error on Overall: too high",
    )
    text = report.render_markdown(summary)
    assert "Rows per split: train 300, eval 40, test 41" in text
    assert "- `plurality` (train): Unexpectedly large value: 9." in text
    assert "| Overall | 41 | 1.234 | 0.988 |" in text
    assert "**not blessed**: root_mean_squared_error on Overall: too high" in text
    assert "| slice" not in report.render_markdown(summary, evaluation=False)
    assert report.overall_metrics(summary) == {"rmse": 1.234, "mae": 0.9876, "example_count": 41}
    page = report.render_html(summary, {}, evaluation=False)
    assert "gate stops the run" in page and "TFMA metrics" not in page


@pytest.mark.e2e
def test_reading_the_artifacts_by_uri_gives_what_mlmd_collect_gave(tiny_run):
    """The KFP report step reads the URIs alone; a local run finds them in MLMD first."""
    _, collected = tiny_run
    roles = ("statistics", "anomalies", "evaluation", "blessing")
    found = {role: collected["artifacts"][role] for role in roles}
    read = read_artifacts(RunSummary(), found)
    for field in ("splits", "anomalies", "metrics", "thresholds", "blessed", "blessing_reason"):
        assert getattr(read, field) == collected[field], field


@pytest.mark.e2e
def test_report_on_demand(tiny_run, tmp_path):
    import shutil

    output, _ = tiny_run
    copy = tmp_path / "run"
    shutil.copytree(output, copy, ignore=shutil.ignore_patterns("report"))
    result = subprocess.run(
        [sys.executable, "-m", "babyweight", "report", "--output", str(copy)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert f"report written to {copy / 'report' / 'index.html'}" in result.stdout
    assert "TFMA metrics per slice" in (copy / "report" / "index.html").read_text()
