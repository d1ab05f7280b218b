"""The house's size rule, read from the AST: outside tests no class is over 150 lines and no
function over 60, unless it is listed here as a data literal (a table, a template)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("babyweight", "pipeline", "models", "benchmarks", "examples", "data", "docs/hooks")
TOP_LEVEL = ("local_runner.py", "kubeflow_runner.py", "preprocessing.py", "system.py")
MAX_CLASS, MAX_FUNCTION = 150, 60
DATA_LITERALS: set[str] = set()  # "path.py:name" of a def that is one data literal


def sizes(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node, node.end_lineno - node.lineno + 1


def too_big(path: Path) -> list[str]:
    name = path.relative_to(ROOT).as_posix()
    return [
        f"{name}:{node.lineno} {node.name} ({lines} lines)"
        for node, lines in sizes(path)
        if lines > (MAX_CLASS if isinstance(node, ast.ClassDef) else MAX_FUNCTION)
        and f"{name}:{node.name}" not in DATA_LITERALS
    ]


def test_the_walk_measures_classes_and_functions(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    (tmp_path / "m.py").write_text(f"def f():\n{body}\n\nclass C:\n    pass\n")
    assert [(node.name, lines) for node, lines in sizes(tmp_path / "m.py")] == [
        ("f", 62),
        ("C", 2),
    ]


def test_no_class_or_function_is_over_the_limit():
    paths = [p for d in SOURCES if (ROOT / d).is_dir() for p in sorted((ROOT / d).rglob("*.py"))]
    paths += [ROOT / f for f in TOP_LEVEL if (ROOT / f).exists()]
    assert [problem for p in paths for problem in too_big(p)] == []
