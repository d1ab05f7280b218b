"""The rollout file as the server sees it (RolloutView) and the labeller: a change is written to
the file and the serving log once, seen at once, and a file that cannot be written is said once
and served without labels. Router's use of both is in test_rollout.py."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from babyweight.model_store import LoadedModel
from babyweight.serving.log import ServingLog
from babyweight.serving.registry import ModelRegistry
from babyweight.serving.rollout import RolloutFile
from babyweight.serving.rollout_labels import Labeller, RolloutView


def placeholder(version: int) -> LoadedModel:  # never called: only its version counts
    return LoadedModel(path=Path(str(version)), version=str(version), signature=None)


def events(path) -> list[tuple]:
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [(e["event"], e["stable"], e["canary"]) for e in lines]


def test_a_change_is_written_seen_at_once_and_logged_only_when_it_changes_something(tmp_path):
    view = RolloutView(RolloutFile(tmp_path / "m.rollout.json"), ServingLog(tmp_path / "log"))
    assert view.current().labels() == {}
    assert view.change("label", lambda r: r.take_new(100)) == "stable"
    assert view.current().labels() == {"stable": 100}  # not RECHECK_SECONDS later
    assert view.change("label", lambda r: None) is None  # nothing changed: no event
    assert RolloutFile(tmp_path / "m.rollout.json").read().labels() == {"stable": 100}
    assert events(tmp_path / "log") == [("rollout.label", 100, None)]


def test_a_file_that_cannot_be_written_is_said_once_and_nothing_is_labelled(tmp_path, caplog):
    (tmp_path / "not_a_dir").write_text("")
    file = RolloutFile(tmp_path / "not_a_dir" / "m.rollout.json")
    view = RolloutView(file, ServingLog(tmp_path / "log"))
    with caplog.at_level(logging.ERROR, logger="babyweight.serving"):
        assert view.change("label", lambda r: r.take_new(100)) is None
        assert view.change("label", lambda r: r.take_new(100)) is None
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "could not update" in said[0] and "without labels" in said[0]
    assert events(tmp_path / "log") == []


def test_the_labeller_makes_a_new_version_canary_once(tmp_path):
    registry = ModelRegistry(tmp_path / "babyweight")
    registry.loaded = {100: placeholder(100)}
    view = RolloutView(RolloutFile(tmp_path / "m.rollout.json"), ServingLog(tmp_path / "log"))
    labeller = Labeller(view, registry, "babyweight")
    labeller.label_new_versions()
    registry.loaded = {**registry.loaded, 200: placeholder(200)}
    labeller.label_new_versions()
    labeller.label_new_versions()  # nothing new: no second event
    assert view.current().labels() == {"stable": 100, "canary": 200}
    assert events(tmp_path / "log") == [("rollout.label", 100, None), ("rollout.label", 100, 200)]
