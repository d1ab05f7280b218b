"""The import graph of babyweight/, pipeline/ and models/ (read from the AST, lazy imports
included): no circles, tool packages never import one another, and nothing imports a runner
or, from pipeline/, the local-running package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("babyweight", "pipeline", "models")
TOOLS = ("serving", "batch", "monitoring", "kfp", "ui", "edge")
RUNNERS = ("local_runner", "kubeflow_runner")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, absolute, relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    """Our modules -> the modules of ours they import (a from-import of a name, not a module,
    counts as the module it is in)."""
    files = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    files.update({r: ROOT / f"{r}.py" for r in RUNNERS})
    edges = {}
    for name, path in files.items():
        targets = set()
        for imported in imports_of(path):
            while imported and imported not in files:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        edges[name] = targets
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def tool_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) >= 2 and parts[0] == "babyweight" and parts[1] in TOOLS else None


@pytest.fixture(scope="module")
def edges():
    return graph()


def test_the_graph_is_read():
    assert {"babyweight.serving.routing"} <= graph()["babyweight.serving.app"]
    assert "pipeline.configs" in graph()["pipeline.pipeline"]  # a relative import


def test_there_are_no_import_circles(edges):
    assert circles(edges) == []


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_tool_package_imports_another(edges):
    crossings = sorted(
        f"{source} -> {target}"
        for source, targets in edges.items()
        for target in targets
        if tool_of(source) and tool_of(target) and tool_of(source) != tool_of(target)
    )
    assert crossings == []


def test_nothing_imports_a_runner_and_pipeline_not_the_local_package(edges):
    wrong = sorted(
        f"{source} -> {target}"
        for source, targets in edges.items()
        if source not in RUNNERS
        for target in targets
        if target in RUNNERS
        or (source.startswith("pipeline") and target.startswith("babyweight.local"))
    )
    assert wrong == []


# The EdgeExport component's executor is the edge package's export (one conversion, used by the
# DAG and by `babyweight edge-predict` alike); the Pusher fills a pushed version's prediction
# table with the batch prediction job (one batch prediction, used by the DAG and by
# `babyweight batch-predict` alike, issue 24). The two arrows from the DAG into a tool.
PIPELINE_INTO_TOOLS = {
    "pipeline.edge -> babyweight.edge",
    "pipeline.edge -> babyweight.edge.export",
    "pipeline.pusher -> babyweight.batch",
    "pipeline.pusher -> babyweight.batch.table",
}


def test_the_dag_and_the_tools_stay_apart(edges):
    """pipeline/ and models/ import no tool (but the arrows above); no tool imports them."""
    arrows = {
        f"{source} -> {target}"
        for source, targets in edges.items()
        for target in targets
        if (source.startswith(("pipeline", "models")) and tool_of(target))
        or (tool_of(source) and target.startswith(("pipeline", "models")))
    }
    assert arrows == PIPELINE_INTO_TOOLS
