"""`babyweight COMMAND`: one command for every tool, each importing only what it needs."""

from __future__ import annotations

import subprocess
import sys

from babyweight import cli

import pytest
from helpers import REPO


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "babyweight", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_every_command():
    result = run("--help")
    assert result.returncode == 0
    for name in cli.COMMANDS:
        assert f"  {name} " in result.stdout


def test_an_unknown_command_is_one_line_and_exit_2():
    result = run("servve")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "babyweight: no command 'servve'"


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_each_command_has_its_own_help(command):
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"babyweight {command}" in result.stdout


def test_lineage_does_not_load_tensorflow(tmp_path):
    probe = (
        "import sys\n"
        "from babyweight import cli\n"
        "try:\n"
        f"    cli.main(['lineage', 'runs', '--output', {str(tmp_path)!r}])\n"
        "except SystemExit as e:\n"
        "    print(e, file=sys.stderr)\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert "no ML Metadata store" in result.stderr  # no store there: one line, no traceback
    assert "Traceback" not in result.stderr
    assert result.stdout.strip() == "False"


def test_old_script_names_map_to_commands():
    assert set(cli.OLD_SCRIPTS.values()) <= set(cli.COMMANDS)
