"""The static HTML report: its parts on small inputs, then the page written by the e2e run,
opened in headless Chromium."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

from babyweight import features as F
from babyweight.metadata import charts, lineage, statistics
from babyweight.metadata import store as mlmd

import lineage_store
import pytest
from helpers import CHROMIUM_ARGS, REPO, chromium


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
    assert (output / "report" / "metrics.svg").stat().st_size > 1000
    ET.parse(output / "report" / "lineage.svg")

    browser_path = chromium()
    if browser_path is None:
        pytest.skip("no Chromium could be found or installed for the screenshot")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.goto(page.as_uri())
            images = tab.evaluate(
                "Array.from(document.images).map(i => [i.src, i.complete, i.naturalWidth])"
            )
            shot = tmp_path / "report.png"
            tab.screenshot(path=str(shot), full_page=True, timeout=120_000)
        finally:
            browser.close()
    assert len(images) == 2, images  # the metrics plot and the lineage graph
    broken = [src for src, complete, width in images if not complete or width == 0]
    assert broken == [], f"broken images: {broken}"
    assert shot.stat().st_size > 20_000


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
