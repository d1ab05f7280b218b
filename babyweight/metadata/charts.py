"""The report's pictures: small histograms, the metrics plot and the lineage graph (SVG)."""

from __future__ import annotations

import html
from pathlib import Path

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


# -- metrics plot (matplotlib) ----------------------------------------------------------------
def metrics_plot(
    metrics: dict[str, dict[str, float]], path: Path, rmse_bound: float | None = None
) -> Path:
    """RMSE and MAE per slice as horizontal bars, with the RMSE bound the run used."""
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
    if rmse_bound is not None:
        ax.axvline(rmse_bound, color="#999", linestyle="--", linewidth=1, label="RMSE bound")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("TFMA metrics per slice (test split)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="svg")
    plt.close(fig)
    return path


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
