"""The report's pictures: small histograms, the metrics plot, RMSE over runs and the lineage
graph (SVG, drawn here: no plotting library, no file, no script)."""

from __future__ import annotations

import html
import math

STATE_COLORS = {"COMPLETE": "#d8f0d8", "CACHED": "#dde6f5", "FAILED": "#f6d0d0"}
E = html.escape


def histogram_svg(buckets: list[tuple[str, float]], width=180, height=40) -> str:
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


# -- metrics plot ------------------------------------------------------------------------------
METRIC_COLORS = {"rmse": ("RMSE", "#4c78a8"), "mae": ("MAE", "#f58518")}


def _ticks(top: float) -> list[float]:
    """About five round tick values from 0 to at least `top`."""
    raw = top / 5 or 1
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(int(math.ceil(top / step)) + 1)]


def metrics_svg(metrics: dict[str, dict[str, float]], rmse_bound: float | None = None) -> str:
    """RMSE and MAE per slice as horizontal bars, with the RMSE bound the run used: an inline
    SVG element (no file, no script, no network), so the page that holds it is self-contained."""
    names = list(metrics)
    label_w, plot_w, bar_h, gap, top, bottom = 260, 420, 9, 8, 34, 36
    row_h = 2 * bar_h + gap
    height = top + len(names) * row_h + bottom
    values = [metrics[n].get(k, 0.0) for n in names for k in METRIC_COLORS]
    ticks = _ticks(max(values + [rmse_bound or 0.0, 0.1]))
    scale = plot_w / ticks[-1]
    x0 = label_w
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 20}" '
        f'height="{height}" font-family="sans-serif" font-size="11" role="img" '
        'aria-label="RMSE and MAE per slice">',
        f'<text x="{x0}" y="14" font-weight="bold">TFMA metrics per slice (pounds)</text>',
    ]
    for i, (label, color) in enumerate(METRIC_COLORS.values()):
        x = x0 + 200 + i * 55
        parts.append(
            f'<rect x="{x}" y="5" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="14">{label}</text>'
        )
    axis_y = top + len(names) * row_h
    for tick in ticks:
        x = x0 + tick * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="#e3e3e3"/>'
            f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle">{tick:g}</text>'
        )
    for row, name in enumerate(names):
        y = top + row * row_h
        count = metrics[name].get("example_count", 0)
        parts.append(
            f'<text x="{x0 - 6}" y="{y + bar_h + 3}" text-anchor="end">'
            f"{E(name)} (n={count:.0f})</text>"
        )
        for i, (key, (label, color)) in enumerate(METRIC_COLORS.items()):
            value = metrics[name].get(key)
            if value is None:
                continue
            parts.append(
                f'<rect x="{x0}" y="{y + i * bar_h}" width="{value * scale:.1f}" '
                f'height="{bar_h - 1}" fill="{color}"><title>{E(name)} {label} {value:.3f}'
                "</title></rect>"
            )
    if rmse_bound is not None:
        x = x0 + rmse_bound * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_y}" stroke="#a31515" '
            f'stroke-dasharray="4 3"><title>RMSE bound {rmse_bound:g}</title></line>'
            f'<text x="{x - 3:.1f}" y="{top - 6}" text-anchor="end" fill="#a31515">'
            f"RMSE bound {rmse_bound:g}</text>"
        )
    parts.append(
        f'<line x1="{x0}" y1="{axis_y}" x2="{x0 + plot_w}" y2="{axis_y}" stroke="#555"/></svg>'
    )
    return "\n".join(parts)


# -- RMSE over runs ----------------------------------------------------------------------------
def _polyline(points: list[tuple[float, float]], color: str, width: float, title: str) -> str:
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return (
        f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="{width}">'
        f"<title>{E(title)}</title></polyline>"
    )


def _run_marks(runs: list[dict], x, y, axis_y: float) -> list[str]:
    """Per run: its dot (green blessed, red not) or grey cross (not evaluated), and its labels."""
    parts = []
    for i, run in enumerate(runs):
        title = E(run.get("title", run["label"]))
        if run.get("rmse") is None:
            parts.append(
                f'<text x="{x(i):.1f}" y="{axis_y - 4}" text-anchor="middle" fill="#888" '
                f'font-size="14">×<title>{title}: not evaluated</title></text>'
            )
        else:
            color = "#176b2c" if run.get("blessed") else "#a31515"
            verdict = "blessed" if run.get("blessed") else "not blessed"
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(run["rmse"]):.1f}" r="4.5" fill="{color}">'
                f"<title>{title}: RMSE {run['rmse']:.3f}, {verdict}</title></circle>"
            )
        parts.append(
            f'<text x="{x(i):.1f}" y="{axis_y + 16}" text-anchor="middle">{E(run["label"])}</text>'
            f'<text x="{x(i):.1f}" y="{axis_y + 30}" text-anchor="middle" fill="#666">'
            f"run {i + 1}</text>"
        )
    return parts


def _rmse_lines(runs: list[dict], x, y) -> list[str]:
    """Each slice's RMSE as a thin grey line, then the Overall RMSE as a thick blue one."""
    parts = []
    slices = sorted({name for r in runs for name in (r.get("slices") or {})} - {"Overall"})
    for name in slices:
        points = [(x(i), y(r["slices"][name])) for i, r in enumerate(runs) if name in r["slices"]]
        if len(points) > 1:
            parts.append(_polyline(points, "#c8c8c8", 1, name))
    overall = [(x(i), y(r["rmse"])) for i, r in enumerate(runs) if r.get("rmse") is not None]
    if len(overall) > 1:
        parts.append(_polyline(overall, "#4c78a8", 2.5, "Overall RMSE"))
    return parts


def rmse_history_svg(runs: list[dict], rmse_bound: float | None = None) -> str:
    """RMSE over runs, oldest left: the Overall RMSE as a line with a dot per evaluated run
    (green: blessed, red: not), each slice's RMSE as a thin grey line, the RMSE bound dashed.
    `runs`: {"label" (under the axis), "title", "rmse" (None: not evaluated), "slices": {name:
    rmse}, "blessed"}. A run that was not evaluated (stopped by a gate) is a grey cross."""
    left, top, step, plot_h, bottom = 48, 30, 84, 180, 44
    width = left + max(len(runs), 2) * step + 20
    values = [r["rmse"] for r in runs if r.get("rmse") is not None]
    values += [v for r in runs for v in (r.get("slices") or {}).values()]
    ticks = _ticks(max(values + [rmse_bound or 0.0, 0.1]))
    axis_y = top + plot_h

    def x(i: int) -> float:
        return left + step / 2 + i * step

    def y(value: float) -> float:
        return axis_y - value / ticks[-1] * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{axis_y + bottom}" '
        'font-family="sans-serif" font-size="11" role="img" aria-label="RMSE over runs">',
        f'<text x="{left}" y="16" font-weight="bold">RMSE over runs (pounds, test split; grey: '
        "per slice)</text>",
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - 10}" y2="{y(tick):.1f}" '
            f'stroke="#e3e3e3"/><text x="{left - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:g}</text>'
        )
    parts += _rmse_lines(runs, x, y)
    parts += _run_marks(runs, x, y, axis_y)
    if rmse_bound is not None:
        parts.append(
            f'<line x1="{left}" y1="{y(rmse_bound):.1f}" x2="{width - 10}" '
            f'y2="{y(rmse_bound):.1f}" stroke="#a31515" stroke-dasharray="4 3">'
            f"<title>RMSE bound {rmse_bound:g}</title></line>"
        )
    parts.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{width - 10}" y2="{axis_y}" stroke="#555"/></svg>'
    )
    return "\n".join(parts)


# -- lineage graph (SVG, layered) -------------------------------------------------------------
BOX_W, BOX_H, GAP_X, GAP_Y = 170, 40, 20, 34
Node = tuple[str, int]  # ("e", execution id) or ("a", artifact id)


def _layers(lin, execution_ids: list[int]) -> tuple[dict[Node, int], list[tuple[Node, Node, str]]]:
    """Each node's depth (an execution under its inputs, an artifact under its producer), and
    the edges (source, destination, event key)."""
    layer: dict[Node, int] = {}
    edges: list[tuple[Node, Node, str]] = []
    for e in sorted(execution_ids):
        inputs = lin.inputs[e]
        for a, _ in inputs:
            layer.setdefault(("a", a), 0)
        layer[("e", e)] = max([layer[("a", a)] + 1 for a, _ in inputs], default=0)
        edges += [(("a", a), ("e", e), key) for a, key in inputs]
        for a, key in lin.outputs[e]:
            layer[("a", a)] = max(layer.get(("a", a), 0), layer[("e", e)] + 1)
            edges.append((("e", e), ("a", a), key))
    return layer, edges


def _positions(layer: dict[Node, int], edges) -> tuple[dict[Node, tuple[float, float]], float]:
    """Each node's top-left corner, rows centred, and the picture's width."""
    rows: dict[int, list] = {}
    for node, depth in layer.items():
        rows.setdefault(depth, []).append(node)
    position: dict[Node, tuple[float, float]] = {}
    parents: dict = {}
    for src, dst, _ in edges:
        parents.setdefault(dst, []).append(src)
    width = max((len(r) for r in rows.values()), default=1) * (BOX_W + GAP_X) + GAP_X
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
        row_w = len(nodes) * (BOX_W + GAP_X) - GAP_X
        x0 = (width - row_w) / 2
        for i, node in enumerate(nodes):
            position[node] = (x0 + i * (BOX_W + GAP_X), GAP_Y / 2 + depth * (BOX_H + GAP_Y))
    return position, width


def _edge_svg(start: tuple[float, float], end: tuple[float, float], key: str) -> str:
    (x1, y1), (x2, y2) = start, end
    x1, y1, x2, y2 = x1 + BOX_W / 2, y1 + BOX_H, x2 + BOX_W / 2, y2
    mid = (y1 + y2) / 2
    return (
        f'<path d="M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"'
        f' fill="none" stroke="#888" marker-end="url(#arrow)"><title>{E(key)}</title></path>'
    )


def _node_svg(lin, node: Node, x: float, y: float) -> str:
    """An execution (square corners, coloured by state) or an artifact (rounded, yellow)."""
    kind, ident = node
    if kind == "e":
        state = lin.state(ident)
        fill = STATE_COLORS.get(state, "#eee")
        title, sub, radius = lin.node[ident], f"{state} {lin.duration(ident):.1f}s", 2
    else:
        artifact = lin.artifacts[ident]
        fill, title, sub, radius = "#fff8e0", artifact.type, f"#{ident}", 14
    return (
        f'<g><title>{E(title)} {E(sub)}</title><rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" '
        f'height="{BOX_H}" rx="{radius}" fill="{fill}" stroke="#555"/>'
        f'<text x="{x + BOX_W / 2:.1f}" y="{y + 16:.1f}" text-anchor="middle" '
        f'font-weight="{"bold" if kind == "e" else "normal"}">{E(title[:26])}</text>'
        f'<text x="{x + BOX_W / 2:.1f}" y="{y + 31:.1f}" text-anchor="middle" '
        f'fill="#555">{E(sub)}</text></g>'
    )


def lineage_svg(lin, execution_ids: list[int]) -> str:
    """Executions of one run and the artifacts they read and wrote, top to bottom."""
    layer, edges = _layers(lin, execution_ids)
    position, width = _positions(layer, edges)
    height = (max(layer.values(), default=0) + 1) * (BOX_H + GAP_Y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    parts += [_edge_svg(position[src], position[dst], key) for src, dst, key in edges]
    parts += [_node_svg(lin, node, x, y) for node, (x, y) in position.items()]
    parts.append("</svg>")
    return "\n".join(parts)
