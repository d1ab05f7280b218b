"""A static HTML report of one pipeline run: one self-contained file, no server, no notebook.

    babyweight report --output DIR [--run-id ID]   # DIR/report/index.html (report_cli.py)

local_runner.py writes it after every run. Sections: the run's components; data statistics per
split (TFDV's statistics of StatisticsGen, as tables and histograms); the anomalies, or "none";
TFMA metrics per slice (a table and a plot); the blessing and its reason; the pushed model; a
lineage graph of the run (artifacts and executions, from MLMD events, laid out here in layers:
no graphviz needed); and the history of every run in the store (span, rows, RMSE overall and per
slice, blessed, pushed version, warm start, drift) with a plot of RMSE over runs. Every picture is
inline SVG.

The same rendering serves the KFP pipeline's report steps (pipeline/reports.py), which read the
RunSummary from their input artifacts' URIs and write render_html, render_markdown and
overall_metrics as the system.HTML, system.Markdown and system.Metrics outputs the KFP UI shows.
Components, the pushed model and lineage need ML Metadata: only the local report has them.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

from babyweight.layout import OutputLayout
from babyweight.metadata import charts, history, statistics
from babyweight.metadata import edge as edge_lib
from babyweight.metadata import store as mlmd
from babyweight.metadata.summary import RunSummary

E = html.escape


# -- the page ---------------------------------------------------------------------------------
CSS = """
body { font-family: sans-serif; margin: 2em; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; }
.ok { color: #176b2c; font-weight: bold; } .bad { color: #a31515; font-weight: bold; }
.graph { overflow-x: auto; border: 1px solid #ddd; }
"""


def _table(header: list[str], rows: list[list[str]], numeric=()) -> str:
    head = "".join(f"<th>{E(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _statistics_section(summary: RunSummary, stats: dict) -> list[str]:
    out = ["<h2 id='statistics'>Data statistics per split (TFDV)</h2>"]
    if summary.splits:
        counts = ", ".join(f"{E(k)}: {v}" for k, v in summary.splits.items())
        out.append(f"<p>rows per split: {counts}</p>")
    dropped = summary.dropped
    if dropped:
        why = ", ".join(f"{E(k)}: {v}" for k, v in dropped.get("reasons", {}).items()) or "none"
        out.append(f"<p>rows dropped before ExampleGen: {dropped.get('total', 0)} ({why})</p>")
    if not stats:
        out.append("<p>no statistics in this run</p>")
    for split, rows in stats.items():
        out.append(f"<h3>split {E(split)}</h3>")
        out.append(
            _table(
                ["feature", "type", "count", "missing", "summary", "distribution"],
                [
                    [
                        E(r["feature"]),
                        E(r["type"]),
                        str(r.get("count", "")),
                        str(r.get("missing", "")),
                        E(r.get("summary", "")),
                        charts.histogram_svg(r.get("histogram", [])),
                    ]
                    for r in rows
                ],
                numeric={2, 3},
            )
        )
    out.append("<h2 id='anomalies'>Anomalies</h2>")
    if summary.anomalies:
        out.append(
            _table(
                ["feature", "split", "description"],
                [
                    [E(feature), E(split), E(text)]
                    for feature, splits in summary.anomalies.items()
                    for split, text in sorted(splits.items())
                ],
            )
        )
    else:
        out.append("<p class='ok'>none</p>")
    return out


def _evaluation_section(summary: RunSummary) -> list[str]:
    out = ["<h2 id='metrics'>TFMA metrics per slice</h2>"]
    metrics = summary.metrics
    if metrics:
        out.append(
            _table(
                ["slice", "examples", "RMSE", "MAE"],
                [
                    [
                        E(name),
                        f"{m.get('example_count', 0):.0f}",
                        f"{m.get('rmse', float('nan')):.3f}",
                        f"{m.get('mae', float('nan')):.3f}",
                    ]
                    for name, m in metrics.items()
                ],
                numeric={1, 2, 3},
            )
        )
        bound = summary.thresholds.get("rmse_upper_bound")
        out.append(f"<div class='graph'>{charts.metrics_svg(metrics, bound)}</div>")
    else:
        out.append("<p>no evaluation in this run</p>")
    out.append("<h2 id='blessing'>Blessing</h2>")
    verdict = "blessed" if summary.blessed else "not blessed"
    css = "ok" if summary.blessed else "bad"
    out.append(f"<p><span class='{css}'>{verdict}</span>: {E(summary.blessing_reason)}</p>")
    if summary.thresholds:
        limits = ", ".join(f"{E(k)} {v:g}" for k, v in summary.thresholds.items())
        out.append(f"<p>thresholds: {limits}</p>")
    return out


def _history_section(runs: list[RunSummary], rmse_bound: float | None) -> list[str]:
    """Every run of the store, oldest first: a table, and RMSE over runs as a plot."""
    rows, points = [], []
    for summary in runs:
        e = history.entry(summary)
        slices = ", ".join(
            f"{E(name)} {value:.3f}"
            for name, value in e["rmse_per_slice"].items()
            if name != "Overall"
        )
        rmse = f"{e['rmse']:.3f}" if e["rmse"] is not None else "-"
        warm = {True: "warm-started", False: "from scratch", None: "-"}[e["warm_start"]]
        rows.append(
            [
                f"<code>{E(str(summary.run_id))}</code>",
                E(e["outcome"]),
                E(history.spans_text(summary)),
                str(sum(e["rows"].values()) or "-"),
                rmse,
                f"<small>{slices}</small>",
                "yes" if e["blessed"] else "no",
                E(e["pushed_version"] or "-"),
                warm,
                E(e["drift"] or "-"),
            ]
        )
        label = f"span {summary.span}" if summary.span is not None else "-"
        points.append(
            {
                "label": label,
                "title": f"run {summary.run_id} ({label}, {e['outcome']})",
                "rmse": e["rmse"],
                "slices": e["rmse_per_slice"],
                "blessed": e["blessed"],
            }
        )
    header = ["run", "outcome", "span", "rows", "RMSE", "RMSE per slice", "blessed"]
    header += ["pushed version", "warm start", "drift"]
    return [
        "<h2 id='history'>History of the runs</h2>",
        f"<p>{len(runs)} run(s) in this output's ML Metadata store, oldest first.</p>",
        f"<div class='graph'>{charts.rmse_history_svg(points, rmse_bound)}</div>",
        _table(header, rows, numeric={3, 4}),
    ]


def _page_head(summary: RunSummary, evaluation: bool) -> list[str]:
    """The title, the run and, for the data report, what the gate does next."""
    title = "babyweight pipeline run" if evaluation else "babyweight data checks"
    run = f"run <code>{E(str(summary.run_id))}</code>, " if summary.run_id else ""
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{title}{E(f' {summary.run_id}' if summary.run_id else '')}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{title}</h1>",
        f"<p>{run}report written {E(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>",
    ]
    if not evaluation:
        out.append(
            "<p>Written after ExampleValidator, before the gate: "
            + (
                "<span class='bad'>the gate stops the run on these anomalies; nothing is "
                "trained or pushed.</span>"
                if summary.anomalies
                else "no anomaly, so the run goes on to training and evaluation."
            )
            + "</p>"
        )
    return out


def _outcome_section(summary: RunSummary, evaluation: bool) -> list[str]:
    """The pushed model (known from ML Metadata) and the run's error."""
    out = []
    if summary.pushed_model or (evaluation and summary.components):
        pushed = summary.pushed_model or "none"
        if summary.already_serving_version and not summary.pushed_model:
            pushed = f"none new; already serving version {summary.already_serving_version}"
        out.append(f"<p>pushed model: <code>{E(pushed)}</code></p>")
    out += _edge_section(summary)
    if summary.error:
        out.append(f"<p class='bad'>error: {E(summary.error)}</p>")
    return out


def _artifacts_and_lineage(summary: RunSummary, lineage_svg: str) -> list[str]:
    out = []
    if summary.artifacts:
        out.append("<h2 id='artifacts'>Artifacts read</h2>")
        out.append(
            _table(
                ["artifact", "URI"],
                [[E(k), f"<code>{E(v['uri'])}</code>"] for k, v in summary.artifacts.items()],
            )
        )
    if lineage_svg:
        out.append(
            "<h2 id='lineage'>Lineage of the run</h2>"
            "<p>Executions (boxes, coloured by state) and the artifacts they read and wrote "
            "(rounded). <code>babyweight lineage trace ARTIFACT</code> follows one artifact.</p>"
            f"<div class='graph'>{lineage_svg}</div>"
        )
    return out


def render_html(
    summary: RunSummary,
    stats: dict,
    *,
    evaluation: bool = True,
    lineage_svg: str = "",
    runs: list[RunSummary] | None = None,
) -> str:
    """One self-contained page (inline CSS and SVG: no file, script or network beside it).

    `stats` by split (statistics.by_split); `runs`, every run's summary, for the history.
    `evaluation=False` leaves out metrics and blessing: the data report that the KFP pipeline
    writes before its gate can stop the run.
    """
    out = _page_head(summary, evaluation)
    out += _components_section(summary)
    out += _statistics_section(summary, stats)
    if evaluation:
        out += _evaluation_section(summary)
    out += _outcome_section(summary, evaluation)
    if runs:
        bounds = [r.thresholds["rmse_upper_bound"] for r in runs if r.thresholds]
        out += _history_section(runs, bounds[-1] if bounds else None)
    out += _artifacts_and_lineage(summary, lineage_svg)
    out.append("</body></html>")
    return "\n".join(out)


def _edge_section(summary: RunSummary) -> list[str]:
    """The TFLite variants' table (babyweight/metadata/edge.py), and what was pushed."""
    edge = summary.edge
    if not edge:
        return []
    out = ["<h2 id='edge'>Edge (TFLite) variants</h2>"]
    if edge.get("skipped"):
        return out + [f"<p>nothing exported: {E(edge['skipped'])}</p>"]
    out.append(
        f"<p>SavedModel test RMSE {edge['saved_model_rmse']:.4f} lb on {edge['test_rows']} "
        "rows; a variant is pushed only within its tolerance of it.</p>"
    )
    rows = [[E(cell) for cell in row] for row in edge_lib.rows(edge)]
    out.append(_table(list(edge_lib.COLUMNS), rows, numeric={1, 2, 3, 4}))
    if edge.get("pushed") is not None:
        out.append(f"<p>pushed: {E(', '.join(edge['pushed']) or 'none')}</p>")
    return out


def _components_section(summary: RunSummary) -> list[str]:
    components = summary.components
    if not components:
        return []
    hits = sum(state == "CACHED" for state in components.values())
    seconds = sum(summary.seconds.values())
    abandoned = []
    if summary.run_state == "ABANDONED":
        abandoned = [
            "<p class='bad'>abandoned: the run's process ended while a component was still "
            "running (killed); rerun the same command to resume from the cache</p>"
        ]
    return abandoned + [
        f"<h2 id='components'>Components</h2><p>{seconds:.1f}s of component time, "
        f"cache hits {hits}/{len(components)}</p>",
        _table(
            ["component", "state", "seconds", "cache hit"],
            [
                [
                    E(node),
                    E(state),
                    f"{summary.seconds.get(node, 0.0):.1f}",
                    "yes" * (state == "CACHED"),
                ]
                for node, state in components.items()
            ],
            numeric={2},
        ),
    ]


def render_markdown(summary: RunSummary, *, evaluation: bool = True) -> str:
    """The short summary that the KFP UI shows as a system.Markdown artifact."""
    lines = ["## babyweight " + ("pipeline run" if evaluation else "data checks"), ""]
    if summary.splits:
        lines.append("Rows per split: " + ", ".join(f"{k} {v}" for k, v in summary.splits.items()))
        lines.append("")
    if summary.anomalies:
        lines += ["**Anomalies** (the gate stops the run):", ""]
        for feature, splits in summary.anomalies.items():
            reasons = " / ".join(sorted(set(splits.values())))
            lines.append(f"- `{feature}` ({', '.join(sorted(splits))}): {reasons}")
    else:
        lines.append("Anomalies: none")
    lines.append("")
    if evaluation and summary.metrics:
        lines += ["| slice | examples | RMSE | MAE |", "|---|---:|---:|---:|"]
        for name, m in summary.metrics.items():
            lines.append(
                f"| {name} | {m.get('example_count', 0):.0f} | "
                f"{m.get('rmse', float('nan')):.3f} | {m.get('mae', float('nan')):.3f} |"
            )
        lines.append("")
    if evaluation:
        verdict = "blessed" if summary.blessed else "not blessed"
        lines.append(f"**{verdict}**: {summary.blessing_reason}")
    return "\n".join(lines) + "\n"


def overall_metrics(summary: RunSummary) -> dict[str, float]:
    """RMSE, MAE and example count of the Overall slice: the run's system.Metrics."""
    overall = summary.metrics.get("Overall", {})
    return {key: float(overall[key]) for key in ("rmse", "mae", "example_count") if key in overall}


def write_report(layout: OutputLayout, summary: RunSummary) -> Path:
    """Write the report of `summary`'s run to layout.report_dir; return index.html's path."""
    report_dir = layout.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    stats, lineage_svg, runs = {}, "", []
    found = summary.artifacts.get("statistics")
    if found:
        stats = statistics.by_split(found["uri"], found.get("split_names", ""))
    if summary.run_id and layout.has_store():
        from babyweight.metadata import lineage

        lin = lineage.Lineage(mlmd.open_store(layout.store(), readonly=True))
        ids = [e for e, run in lin.run.items() if run == summary.run_id]
        if ids:
            lineage_svg = charts.lineage_svg(lin, ids)
        run_ids = [run["run_id"] for run in lineage.runs(lin)]
        runs = history.run_history(layout, [r for r in run_ids if r != summary.run_id])
        runs += [summary] if summary.run_id in run_ids else []
        runs.sort(key=lambda r: run_ids.index(r.run_id))
    page = report_dir / "index.html"
    page.write_text(render_html(summary, stats, lineage_svg=lineage_svg, runs=runs))
    return page
