"""local_runner.py's command line (babyweight/local/cli.py): every flag keeps its spelling, each
setting's flag comes from pipeline/configs.py, and a wrong value is one line before anything is
written. Nothing here starts TFX."""

from __future__ import annotations

from pathlib import Path

from babyweight.errors import ExitCode
from babyweight.local import cli

from helpers import REPO

from pipeline import configs

# The flags of local_runner.py before the settings were declared once (issue 21): all still work;
# --mapping came with issue 26, --prediction-table-rows with issue 24.
FLAGS = [
    "--bq-limit", "--bq-table", "--data", "--eval-steps", "--every", "--gcp-project", "--help",
    "--mapping", "--metadata",
    "--no-cache", "--no-warm-start", "--on-drift", "--output", "--poll", "--prediction-table-rows",
    "--quiet", "--run-id",
    "--source", "--span", "--span-window", "--temp-location", "--train-steps", "--tune",
    "--tuner-train-steps", "--tuner-trials", "--verbose", "--watch", "-h",
]  # fmt: skip


def test_every_flag_keeps_its_spelling():
    parser = cli.build_parser()
    assert sorted(o for a in parser._actions for o in a.option_strings) == FLAGS


def test_each_setting_is_a_flag_with_its_default_and_its_dest():
    args = cli.build_parser().parse_args([])
    for setting in configs.settings_of(configs.LOCAL):
        assert getattr(args, setting.name) == setting.default_for(configs.LOCAL), setting.name
    assert args.data == REPO / "data" / "births.csv" and not args.enable_tuning
    switched = cli.build_parser().parse_args(["--tune", "--no-cache", "--no-warm-start"])
    assert switched.enable_tuning and not switched.enable_cache and not switched.warm_start
    help_text = " ".join(cli.build_parser().format_help().split())
    assert "(default: data/births.csv)" in help_text  # not this checkout's absolute path
    assert f"(default: {configs.TRAIN_STEPS})" in help_text


def test_the_settings_of_a_run_come_from_the_flags(tmp_path):
    from babyweight.layout import OutputLayout
    from babyweight.local import run

    argv = ["--train-steps", "7", "--on-drift", "warn", "--no-warm-start", "--span-window", "2"]
    args = cli.build_parser().parse_args(argv)
    settings = run.settings_from_args(args, OutputLayout(tmp_path), span=3)
    assert (settings.train_steps, settings.drift_action, settings.warm_start) == (7, "warn", False)
    assert settings.span == 3 and settings.span_window == 2
    assert settings.data_root == str(OutputLayout(tmp_path).staged_examples)


def test_a_wrong_setting_is_one_line_and_writes_nothing(tmp_path, capsys):
    output = tmp_path / "out"
    assert cli.main(["--train-steps", "0", "--output", str(output)]) == ExitCode.USAGE
    assert capsys.readouterr().err == "local_runner: train_steps=0: must be at least 1\n"
    assert not output.exists()


def test_the_script_is_thin():
    text = (REPO / "local_runner.py").read_text()
    assert "from babyweight.local.cli import main" in text and len(text.splitlines()) < 15
    assert Path(cli.__file__).parent.name == "local"


def test_the_watcher_passes_mapping_on_to_every_run():
    from babyweight.local import watcher

    argv = ["--watch", "spans/", "--mapping", "m.toml", "--train-steps", "5"]
    passed = cli.without(cli.build_parser(), argv, watcher.OWN_FLAGS)
    assert passed == ["--mapping", "m.toml", "--train-steps", "5"]
