"""Every source file the README and the manual name exists: a `path/like.py` from the repository
root (or, written short, under babyweight/), and a bare `name.py` somewhere in the repository.
Files of other projects are named with their project (`tfx/...`, `kubeflow/pipelines`) and are
left out."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PY_PATH = re.compile(r"(?<![\w./-])([\w.-]+(?:/[\w.-]+)*\.py)\b")
# Paths in other repositories, named with their project in the text.
OTHER_PROJECTS = ("tfx/", "tensorflow/", "kfp/dsl/", "frontend/", "backend/", "sdk/")
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def named_paths(text: str) -> set[str]:
    return {m for m in PY_PATH.findall(text) if not m.startswith(OTHER_PROJECTS)}


def exists(name: str, page: Path, tracked: set[str]) -> bool:
    if "/" not in name:
        return name in tracked
    return any((base / name).exists() for base in (REPO, REPO / "babyweight", page.parent))


@pytest.fixture(scope="module")
def tracked() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return {Path(p).name for p in listed}


def test_the_finder_reads_paths_as_written():
    text = "see `pipeline/layouts.py`, gate.py and tfx/orchestration/x.py (data/births.csv)"
    assert named_paths(text) == {"pipeline/layouts.py", "gate.py"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_named_source_file_exists(page, tracked):
    missing = sorted(n for n in named_paths(page.read_text()) if not exists(n, page, tracked))
    assert missing == [], f"{page.relative_to(REPO)} names files that are not there"


def test_a_path_that_moved_away_is_missing(tracked):
    page = REPO / "docs" / "architecture.md"
    assert not exists("pipeline/watcher.py", page, tracked)
    assert not exists("no_such_module.py", page, tracked)
    assert exists("serving/routing.py", page, tracked) and exists("gate.py", page, tracked)
