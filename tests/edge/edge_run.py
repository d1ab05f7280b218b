"""Paths of a finished run's artifacts, for the edge tests (the tiny_run fixture's output)."""

from pathlib import Path


def newest(directory: Path) -> Path:
    """The highest-numbered artifact directory under a component output."""
    found = sorted(directory.iterdir(), key=lambda p: int(p.name))
    assert found, directory
    return found[-1]


def transform_graph(output: Path) -> Path:
    return newest(output / "pipeline_root" / "Transform" / "transform_graph")


def examples(output: Path) -> Path:
    return newest(output / "pipeline_root" / "CsvExampleGen" / "examples")
