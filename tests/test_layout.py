"""OutputLayout: every command derives the same paths from one --output directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from babyweight.layout import DEFAULT_OUTPUT, MODEL_NAME, OutputLayout, add_output_argument

import pytest


def test_paths_under_one_root(tmp_path):
    layout = OutputLayout(tmp_path)
    assert layout.metadata == tmp_path / "metadata.sqlite"
    assert layout.serving_model_dir == tmp_path / "serving_model" / MODEL_NAME
    assert layout.serving_log == tmp_path / "serving_log.jsonl"
    assert layout.skew_dir("today") == tmp_path / "skew" / "today"
    paths = [
        layout.pipeline_root,
        layout.metadata,
        layout.staged_examples,
        layout.dropped_rows,
        layout.stage_report,
        layout.serving_model_dir,
        layout.run_summary,
        layout.report_dir,
        layout.serving_log,
        layout.run_log("2026-01-01T00:00:00.000001"),
        layout.run_lock,
    ]
    assert len(set(paths)) == len(paths)
    assert all(p.is_relative_to(tmp_path) for p in paths)
    assert not any(tmp_path.iterdir())  # naming paths creates nothing


def test_a_missing_store_names_the_path_and_the_flag(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"metadata.sqlite.*--output"):
        OutputLayout(tmp_path / "nowhere").require_metadata()


def test_every_command_spells_the_flag_the_same():
    parser = argparse.ArgumentParser()
    add_output_argument(parser)
    assert parser.parse_args([]).output == DEFAULT_OUTPUT
    assert parser.parse_args(["--output", "x"]).output == Path("x")
