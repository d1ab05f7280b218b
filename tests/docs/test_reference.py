"""The manual's generated pages (docs/hooks/reference.py): the output tree is checked against
OutputLayout, the settings table follows pipeline.configs.SETTINGS, commands show their help."""

import dataclasses
import importlib.util
import logging
from pathlib import Path

from babyweight import layout

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hook():
    spec = importlib.util.spec_from_file_location("reference", REPO / "docs/hooks/reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_drawn_tree_is_layout_pys_and_agrees_with_output_layout(hook, caplog):
    with caplog.at_level(logging.WARNING):
        page = hook.output_tree()
    assert caplog.records == []
    assert "DIR/\n  pipeline_root/" in page
    assert "skew/<log name>/[<version>/]" in page


def test_a_path_drawn_but_not_in_output_layout_or_the_reverse_is_a_warning(
    hook, caplog, monkeypatch
):
    doc = layout.__doc__.replace("      .run.lock  ", "      history.json  ")
    monkeypatch.setattr(layout, "__doc__", doc)
    with caplog.at_level(logging.WARNING):
        hook.output_tree()
    messages = [r.getMessage() for r in caplog.records]
    assert any("draws history.json" in m for m in messages), messages
    assert any("OutputLayout has .run.lock" in m for m in messages), messages


@dataclasses.dataclass
class Setting:
    name: str
    flag: str
    env: str
    default: object
    help: str


def test_settings_table_from_settings_or_a_note_without_them(hook, monkeypatch):
    configs = importlib.import_module("pipeline.configs")
    monkeypatch.delattr(configs, "SETTINGS", raising=False)
    assert "does not declare `SETTINGS` yet" in hook.settings_page()
    monkeypatch.setattr(
        configs,
        "SETTINGS",
        {"train_steps": Setting("train_steps", "--train-steps", "BW_STEPS", 1500, "steps | max")},
        raising=False,
    )
    rows = hook.settings_page().splitlines()
    assert rows[2] == "| `train_steps` | `--train-steps` | `BW_STEPS` | `1500` | steps \\| max |"


def test_a_command_page_holds_its_subcommands_help(hook):
    lines = hook._command("babyweight rollout", "babyweight.serving.rollout_cli")
    text = "\n".join(lines)
    assert "## `babyweight rollout`" in text
    for verb in ("status", "promote", "rollback"):
        assert f"### `babyweight rollout {verb}`" in text
        assert f"usage: babyweight rollout {verb}" in text
