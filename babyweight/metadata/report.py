"""A static HTML report of one pipeline run: opens from disk, with no server and no notebook.

    babyweight report --output DIR [--run-id ID]   # DIR/report/index.html, metrics.svg, lineage.svg

local_runner.py writes it after every run. Sections: the run's components; data statistics per
split (TFDV's statistics of StatisticsGen, as tables and histograms); the anomalies, or "none";
TFMA metrics per slice (a table and a plot); the blessing and its reason; the pushed model; a
lineage graph of the run (artifacts and executions, from MLMD events, laid out here in layers:
no graphviz needed).
"""

from __future__ import annotations

import argparse
import html
import sys
import time
from pathlib import Path

from babyweight.layout import OutputLayout, add_output_argument
from babyweight.metadata import charts, statistics
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


def render_html(summary: RunSummary, stats: dict, files: dict) -> str:
    """The page of one run; `stats` by split (statistics.by_split), `files` the images."""
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>babyweight run {E(str(summary.run_id))}</title><style>{CSS}</style>",
        "</head><body>",
        "<h1>babyweight pipeline run</h1>",
        f"<p>run <code>{E(str(summary.run_id))}</code>, report written "
        f"{E(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>",
    ]
    if summary.run_state == "ABANDONED":
        out.append(
            "<p class='bad'>abandoned: the run's process ended while a component was still "
            "running (killed); rerun the same command to resume from the cache</p>"
        )
    components = summary.components
    if components:
        hits = sum(state == "CACHED" for state in components.values())
        seconds = sum(summary.seconds.values())
        out.append(
            f"<h2 id='components'>Components</h2><p>{seconds:.1f}s of component time, "
            f"cache hits {hits}/{len(components)}</p>"
        )
        out.append(
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
            )
        )
    out.append("<h2 id='statistics'>Data statistics per split (TFDV)</h2>")
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
    out.append("<h2 id='metrics'>TFMA metrics per slice</h2>")
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
        if files.get("metrics"):
            out.append(f"<p><img src='{E(files['metrics'])}' alt='RMSE and MAE per slice'></p>")
    else:
        out.append("<p>no evaluation in this run</p>")
    out.append("<h2 id='blessing'>Blessing</h2>")
    verdict = "blessed" if summary.blessed else "not blessed"
    css = "ok" if summary.blessed else "bad"
    out.append(f"<p><span class='{css}'>{verdict}</span>: {E(summary.blessing_reason)}</p>")
    if summary.already_serving_version and not summary.pushed_model:
        pushed = f"none new; already serving version {summary.already_serving_version}"
    else:
        pushed = summary.pushed_model or "none"
    out.append(f"<p>pushed model: <code>{E(pushed)}</code></p>")
    if summary.error:
        out.append(f"<p class='bad'>error: {E(summary.error)}</p>")
    out.append("<h2 id='lineage'>Lineage of the run</h2>")
    if files.get("lineage"):
        out.append(
            "<p>Executions (boxes, coloured by state) and the artifacts they read and wrote "
            "(rounded). <code>lineage trace ARTIFACT</code> follows one artifact.</p>"
            f"<div class='graph'><img src='{E(files['lineage'])}' alt='lineage graph'></div>"
        )
    else:
        out.append("<p>no executions recorded</p>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(layout: OutputLayout, summary: RunSummary) -> Path:
    """Write the report of `summary`'s run to layout.report_dir; return index.html's path."""
    report_dir = layout.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    files, stats = {}, {}
    found = summary.artifacts.get("statistics")
    if found:
        stats = statistics.by_split(found["uri"], found["split_names"])
    if summary.run_id and layout.metadata.is_file():
        from babyweight.metadata.lineage import Lineage

        lin = Lineage(mlmd.open_store(layout.metadata, readonly=True))
        ids = [e for e, run in lin.run.items() if run == summary.run_id]
        if ids:
            (report_dir / "lineage.svg").write_text(charts.lineage_svg(lin, ids))
            files["lineage"] = "lineage.svg"
    if summary.metrics:
        bound = summary.thresholds.get("rmse_upper_bound")
        charts.metrics_plot(summary.metrics, report_dir / "metrics.svg", bound)
        files["metrics"] = "metrics.svg"
    page = report_dir / "index.html"
    page.write_text(render_html(summary, stats, files))
    return page


def main(argv=None) -> int:
    from babyweight.metadata.summary import collect

    parser = argparse.ArgumentParser(
        prog="babyweight report", description="Write the static HTML report of a run."
    )
    add_output_argument(parser)
    parser.add_argument("--run-id", help="the run to report (default: the newest)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    layout = OutputLayout(args.output)
    try:
        page = write_report(layout, collect(layout, args.run_id))
    except FileNotFoundError as e:
        print(f"babyweight report: {e}", file=sys.stderr)
        return 2
    print(f"report written to {page} ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
