"""The history of the runs: each run's line in `lineage runs`, the report's table and its plot of
RMSE over runs (inline SVG), from run summaries as summary.collect makes them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from babyweight.metadata import charts, continuous, history, lineage_cli, report
from babyweight.metadata.summary import RunSummary

SVG = "{http://www.w3.org/2000/svg}"


def run(run_id, span, rmse, blessed, **fields) -> RunSummary:
    metrics = {}
    if rmse is not None:
        metrics = {
            "Overall": {"example_count": 190.0, "rmse": rmse, "mae": 0.9},
            "is_male:True": {"example_count": 100.0, "rmse": rmse + 0.1, "mae": 1.0},
        }
    base = dict(
        run_id=run_id,
        outcome="blessed" if blessed else "not_blessed",
        run_state="COMPLETE",
        span=span,
        spans=[span],
        splits={"train": 1600, "eval": 200, "test": 190},
        metrics=metrics,
        blessed=blessed,
        thresholds={"rmse_upper_bound": 2.0},
    )
    return RunSummary(**{**base, **fields})


RUNS = [
    run(
        "r1",
        1,
        1.187,
        True,
        pushed_model="/o/serving_model/babyweight/100",
        warm_start={"warm_start": False, "reason": "trained from scratch: no blessed model yet"},
        drift={"compared_with": None, "features": {}, "measurements": {}, "stopped": False},
    ),
    run(
        "r2",
        2,
        0.999,
        True,
        spans=[1, 2],
        pushed_model="/o/serving_model/babyweight/200",
        warm_start={"warm_start": True, "reason": "warm-started from /m/1"},
        drift={"compared_with": 1, "features": {}, "measurements": {}, "stopped": False},
    ),
    run("r3", 2, 1.004, True, already_serving_version="200"),
    run(
        "r4",
        3,
        None,
        False,
        outcome="drift",
        run_state="FAILED",
        drift={
            "compared_with": 2,
            "features": {"mother_age": "above the threshold"},
            "measurements": {
                "mother_age": {
                    "drift jensen_shannon_divergence": 0.708,
                    "drift jensen_shannon_divergence threshold": 0.15,
                }
            },
            "stopped": True,
        },
    ),
    run("r5", 4, 1.3, False, run_state="CANCELED", outcome="failed"),
]


def test_each_run_says_its_span_rows_rmse_blessing_push_warm_start_and_drift():
    lines = [history.describe(r) for r in RUNS]
    assert lines[0][0] == (
        "  span 1; blessed; rows 1990 (train 1600, eval 200, test 190); RMSE 1.187; pushed 100; "
        "from scratch; drift: not checked (no earlier span to compare with)"
    )
    assert lines[0][1] == "  RMSE per slice: is_male:True 1.287"
    assert lines[1][0].startswith("  span 2 (trained on 1, 2); blessed;")
    assert "warm-started; drift from span 1: none beyond the thresholds" in lines[1][0]
    assert "already serving 200" in lines[2][0]
    assert lines[3] == [
        "  span 3; drift; rows 1990 (train 1600, eval 200, test 190); drift from span 2: "
        "mother_age (Jensen-Shannon 0.708 > 0.15); the run stopped"
    ]
    assert lines[4][0].startswith("  span 4; interrupted;")  # its state, not "failed"
    text = lineage_cli.format_runs(
        [
            {
                "run_id": "r1",
                "pipeline": "babyweight",
                "state": "COMPLETE",
                "duration_s": 40.0,
                "cache_hits": 0,
                "components": [],
            }
        ],
        {"r1": lines[0]},
    )
    assert text.splitlines()[1:] == lines[0]


def test_the_json_entry_has_the_history_of_one_run():
    entry = history.entry(RUNS[1])
    assert entry == {
        "run_id": "r2",
        "outcome": "blessed",
        "span": 2,
        "spans": [1, 2],
        "rows": {"train": 1600, "eval": 200, "test": 190},
        "rmse": 0.999,
        "rmse_per_slice": {"Overall": 0.999, "is_male:True": 1.099},
        "blessed": True,
        "pushed_version": "200",
        "warm_start": True,
        "drift": "drift from span 1: none beyond the thresholds",
    }
    assert continuous.span_lines(RUNS[1]) == [
        "span: 2 (trained on spans 1, 2)",
        "drift from span 1: none beyond the thresholds",
    ]


def test_rmse_over_runs_is_a_line_with_a_dot_per_evaluated_run():
    points = [
        {"label": f"span {r.span}", "rmse": history.entry(r)["rmse"], "blessed": r.blessed,
         "slices": history.entry(r)["rmse_per_slice"], "title": r.run_id}
        for r in RUNS
    ]  # fmt: skip
    root = ET.fromstring(charts.rmse_history_svg(points, rmse_bound=2.0))
    assert root.get("aria-label") == "RMSE over runs"
    dots = list(root.iter(f"{SVG}circle"))
    assert len(dots) == 4  # r4 stopped at the drift gate: not evaluated
    colors = [d.get("fill") for d in dots]
    assert colors == ["#176b2c", "#176b2c", "#176b2c", "#a31515"]  # the last was not blessed
    heights = [float(d.get("cy")) for d in dots]
    assert heights[1] > heights[0]  # a lower RMSE is drawn lower
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "r1: RMSE 1.187, blessed" in titles and "r4: not evaluated" in titles
    assert "Overall RMSE" in titles and "is_male:True" in titles and "RMSE bound 2" in titles
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert [label for label in labels if label.startswith("span ")] == [
        "span 1",
        "span 2",
        "span 2",
        "span 3",
        "span 4",
    ]


def test_the_report_has_a_history_table_and_plot():
    page = report.render_html(RUNS[3], {}, runs=RUNS)
    section = page.split("id='history'>")[1]
    assert "5 run(s)" in section and 'aria-label="RMSE over runs"' in section
    table = section.split("<table>")[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + len(RUNS)
    assert '<td class="num">0.999</td>' in table and "warm-started" in table
    assert "mother_age (Jensen-Shannon 0.708 &gt; 0.15)" in table
    assert "id='history'" not in report.render_html(RUNS[0], {})  # no store, no history
