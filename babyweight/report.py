"""A static HTML report of one pipeline run: opens from disk, with no server and no notebook.

    python -m babyweight.report --output DIR    # DIR/report/index.html, metrics.svg, lineage.svg

local_runner.py writes it after every run. Sections: the run's components; data statistics per
split (TFDV's statistics of StatisticsGen, as tables and histograms); the anomalies, or "none";
TFMA metrics per slice (a table and a plot); the blessing and its reason; the pushed model; a
lineage graph of the run (artifacts and executions, from MLMD events, laid out here in layers:
no graphviz needed).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import time
from pathlib import Path

from pipeline import configs, mlmd

from . import lineage as lineage_lib

REPORT_DIR = "report"
STATE_COLORS = {"COMPLETE": "#d8f0d8", "CACHED": "#dde6f5", "FAILED": "#f6d0d0"}
E = html.escape


# -- data statistics (TFDV) -------------------------------------------------------------------
def _histogram_svg(buckets: list[tuple[str, float]], width=180, height=40) -> str:
    """A tiny inline bar chart; buckets are (label, count)."""
    if not buckets:
        return ""
    top = max(c for _, c in buckets) or 1
    bar = width / len(buckets)
    bars = "".join(
        f'<rect x="{i * bar:.1f}" y="{height - h:.1f}" width="{max(bar - 1, 1):.1f}" '
        f'height="{h:.1f}" fill="#4c78a8"><title>{E(label)}: {count:g}</title></rect>'
        for i, (label, count) in enumerate(buckets)
        for h in [count / top * (height - 2)]
    )
    return f'<svg width="{width}" height="{height}" role="img">{bars}</svg>'


def feature_rows(stats_list) -> list[dict]:
    """One dict per feature of a TFDV DatasetFeatureStatisticsList (first dataset)."""
    rows = []
    if not stats_list.datasets:
        return rows
    dataset = stats_list.datasets[0]
    for feature in dataset.features:
        name = ".".join(feature.path.step) or feature.name
        row = {"feature": name, "type": type(feature).Type.Name(feature.type)}
        if feature.HasField("num_stats"):
            s = feature.num_stats
            common = s.common_stats
            median = next((q for q in _quantile(s) if q is not None), None)
            row.update(
                count=common.num_non_missing,
                missing=common.num_missing,
                summary=(
                    f"mean {s.mean:.2f}, sd {s.std_dev:.2f}, min {s.min:g}, "
                    + (f"median {median:g}, " if median is not None else "")
                    + f"max {s.max:g}, zeros {s.num_zeros}"
                ),
            )
            standard = [h for h in s.histograms if h.type == h.STANDARD]
            if standard:
                row["histogram"] = [
                    (f"{b.low_value:g}-{b.high_value:g}", b.sample_count)
                    for b in standard[0].buckets
                ]
        elif feature.HasField("string_stats"):
            s = feature.string_stats
            common = s.common_stats
            top = ", ".join(f"{v.value} ({v.frequency:g})" for v in s.top_values[:5])
            row.update(
                count=common.num_non_missing,
                missing=common.num_missing,
                summary=f"{s.unique} unique; top: {top}",
                histogram=[(b.label, b.sample_count) for b in s.rank_histogram.buckets[:10]],
            )
        rows.append(row)
    return rows


def _quantile(num_stats):
    """The median from TFDV's quantiles histogram, when it has one."""
    for h in num_stats.histograms:
        if h.type == h.QUANTILES and h.buckets:
            middle = h.buckets[len(h.buckets) // 2]
            yield middle.low_value
    yield None


def statistics_by_split(statistics_artifact) -> dict[str, list[dict]]:
    import tensorflow_data_validation as tfdv

    result = {}
    names = json.loads(statistics_artifact.properties["split_names"].string_value)
    for split in names:
        path = os.path.join(statistics_artifact.uri, f"Split-{split}", "FeatureStats.pb")
        if os.path.exists(path):
            result[split] = feature_rows(tfdv.load_stats_binary(path))
    return result


# -- metrics plot (matplotlib) ----------------------------------------------------------------
def metrics_plot(metrics: dict[str, dict[str, float]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(metrics)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1.2))
    y = range(len(names))
    rmse = [metrics[n].get("rmse", 0.0) for n in names]
    mae = [metrics[n].get("mae", 0.0) for n in names]
    ax.barh([i + 0.2 for i in y], rmse, height=0.4, label="RMSE", color="#4c78a8")
    ax.barh([i - 0.2 for i in y], mae, height=0.4, label="MAE", color="#f58518")
    labels = [f"{n} (n={metrics[n].get('example_count', 0):.0f})" for n in names]
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("pounds")
    ax.axvline(configs.RMSE_UPPER_BOUND, color="#999", linestyle="--", linewidth=1)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("TFMA metrics per slice (test split)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="svg")
    plt.close(fig)
    return path


# -- lineage graph (SVG, layered) -------------------------------------------------------------
def lineage_svg(lin: lineage_lib.Lineage, execution_ids: list[int]) -> str:
    """Executions of one run and the artifacts they read and wrote, top to bottom."""
    box_w, box_h, gap_x, gap_y = 170, 40, 20, 34
    layer: dict[tuple[str, int], int] = {}
    edges: list[tuple[tuple[str, int], tuple[str, int], str]] = []
    for e in sorted(execution_ids):
        inputs = lin.inputs[e]
        for a, _ in inputs:
            layer.setdefault(("a", a), 0)
        layer[("e", e)] = max([layer[("a", a)] + 1 for a, _ in inputs], default=0)
        edges += [(("a", a), ("e", e), key) for a, key in inputs]
        for a, key in lin.outputs[e]:
            layer[("a", a)] = max(layer.get(("a", a), 0), layer[("e", e)] + 1)
            edges.append((("e", e), ("a", a), key))
    rows: dict[int, list] = {}
    for node, depth in layer.items():
        rows.setdefault(depth, []).append(node)
    position: dict[tuple[str, int], tuple[float, float]] = {}
    parents: dict = {}
    for src, dst, _ in edges:
        parents.setdefault(dst, []).append(src)
    width = max((len(r) for r in rows.values()), default=1) * (box_w + gap_x) + gap_x
    for depth in sorted(rows):
        nodes = rows[depth]
        # Order by the mean x of the parents (one barycentre pass), then by id.
        nodes.sort(
            key=lambda n: (
                sum(position[p][0] for p in parents.get(n, []) if p in position)
                / max(len([p for p in parents.get(n, []) if p in position]), 1),
                n,
            )
        )
        row_w = len(nodes) * (box_w + gap_x) - gap_x
        x0 = (width - row_w) / 2
        for i, node in enumerate(nodes):
            position[node] = (x0 + i * (box_w + gap_x), gap_y / 2 + depth * (box_h + gap_y))
    height = (max(rows, default=0) + 1) * (box_h + gap_y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for src, dst, key in edges:
        (x1, y1), (x2, y2) = position[src], position[dst]
        x1, y1, x2, y2 = x1 + box_w / 2, y1 + box_h, x2 + box_w / 2, y2
        mid = (y1 + y2) / 2
        parts.append(
            f'<path d="M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"'
            f' fill="none" stroke="#888" marker-end="url(#arrow)"><title>{E(key)}</title></path>'
        )
    for (kind, ident), (x, y) in position.items():
        if kind == "e":
            state = lin.state(ident)
            fill = STATE_COLORS.get(state, "#eee")
            title, sub, radius = lin.node[ident], f"{state} {lin.duration(ident):.1f}s", 2
        else:
            artifact = lin.artifacts[ident]
            fill, title, sub, radius = "#fff8e0", artifact.type, f"#{ident}", 14
        parts.append(
            f'<g><title>{E(title)} {E(sub)}</title><rect x="{x:.1f}" y="{y:.1f}" width="{box_w}" '
            f'height="{box_h}" rx="{radius}" fill="{fill}" stroke="#555"/>'
            f'<text x="{x + box_w / 2:.1f}" y="{y + 16:.1f}" text-anchor="middle" '
            f'font-weight="{"bold" if kind == "e" else "normal"}">{E(title[:26])}</text>'
            f'<text x="{x + box_w / 2:.1f}" y="{y + 31:.1f}" text-anchor="middle" '
            f'fill="#555">{E(sub)}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


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


def render_html(summary: dict, run: dict | None, stats: dict, files: dict) -> str:
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>babyweight run {E(str(summary.get('run_id')))}</title><style>{CSS}</style>",
        "</head><body>",
        "<h1>babyweight pipeline run</h1>",
        f"<p>run <code>{E(str(summary.get('run_id')))}</code>, report written "
        f"{E(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>",
    ]
    if run:
        out.append(
            f"<h2 id='components'>Components</h2><p>{E(run['state'])} in "
            f"{run['duration_s']:.1f}s, cache hits {run['cache_hits']}/{len(run['components'])}"
            "</p>"
        )
        out.append(
            _table(
                ["component", "state", "seconds", "cache hit"],
                [
                    [E(c["node"]), E(c["state"]), f"{c['duration_s']:.1f}", "yes" * c["cached"]]
                    for c in run["components"]
                ],
                numeric={2},
            )
        )
    out.append("<h2 id='statistics'>Data statistics per split (TFDV)</h2>")
    if summary.get("splits"):
        counts = ", ".join(f"{E(k)}: {v}" for k, v in summary["splits"].items())
        out.append(f"<p>rows per split: {counts}</p>")
    dropped = summary.get("dropped") or {}
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
                        _histogram_svg(r.get("histogram", [])),
                    ]
                    for r in rows
                ],
                numeric={2, 3},
            )
        )
    out.append("<h2 id='anomalies'>Anomalies</h2>")
    if summary.get("anomalies"):
        out.append(
            _table(
                ["feature", "split", "description"],
                [
                    [E(feature), E(split), E(text)]
                    for feature, splits in summary["anomalies"].items()
                    for split, text in sorted(splits.items())
                ],
            )
        )
    else:
        out.append("<p class='ok'>none</p>")
    out.append("<h2 id='metrics'>TFMA metrics per slice</h2>")
    metrics = summary.get("metrics") or {}
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
    verdict = "blessed" if summary.get("blessed") else "not blessed"
    css = "ok" if summary.get("blessed") else "bad"
    out.append(
        f"<p><span class='{css}'>{verdict}</span>: {E(summary.get('blessing_reason') or '')}</p>"
    )
    out.append(f"<p>pushed model: <code>{E(str(summary.get('pushed_model') or 'none'))}</code></p>")
    if summary.get("error"):
        out.append(f"<p class='bad'>error: {E(summary['error'])}</p>")
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


def write_report(output: Path, summary: dict | None = None, pipeline_name=None) -> Path:
    """Write OUTPUT/report/index.html for the newest run in OUTPUT/metadata.sqlite."""
    from pipeline import summary as summary_lib

    output = Path(output)
    pipeline_name = pipeline_name or configs.PIPELINE_NAME
    metadata_path = output / "metadata.sqlite"
    if not metadata_path.is_file():
        raise FileNotFoundError(f"no ML Metadata store at {metadata_path}")
    if summary is None:
        summary = summary_lib.collect(metadata_path, pipeline_name)
        saved = output / "run_summary.json"
        if saved.is_file():  # what only the runner knew: rows dropped while staging
            summary["dropped"] = json.loads(saved.read_text()).get("dropped", {})
    report_dir = output / REPORT_DIR
    report_dir.mkdir(parents=True, exist_ok=True)
    store = mlmd.open_store(metadata_path, readonly=True)
    lin = lineage_lib.Lineage(store)
    run = next((r for r in lin.runs(store) if r["run_id"] == summary.get("run_id")), None)
    files = {}
    stats = {}
    if run:
        ids = [c["execution"] for c in run["components"]]
        (report_dir / "lineage.svg").write_text(lineage_svg(lin, ids))
        files["lineage"] = "lineage.svg"
        for e in ids:
            if lin.node[e] == "StatisticsGen":
                outputs = [a for a, key in lin.outputs[e] if key == "statistics"]
                if outputs:
                    stats = statistics_by_split(lin.artifacts[outputs[0]])
    if summary.get("metrics"):
        metrics_plot(summary["metrics"], report_dir / "metrics.svg")
        files["metrics"] = "metrics.svg"
    page = report_dir / "index.html"
    page.write_text(render_html(summary, run, stats, files))
    return page


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(description="Write the static HTML report of a run.")
    parser.add_argument("--output", type=Path, default=configs.DEFAULT_OUTPUT)
    parser.add_argument("--pipeline-name", default=configs.PIPELINE_NAME)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        page = write_report(args.output, pipeline_name=args.pipeline_name)
    except FileNotFoundError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    print(f"report written to {page} ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
