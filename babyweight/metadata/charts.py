"""The report's pictures: small histograms, the metrics plot and the lineage graph (SVG)."""

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


# -- lineage graph (SVG, layered) -------------------------------------------------------------
def lineage_svg(lin, execution_ids: list[int]) -> str:
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
