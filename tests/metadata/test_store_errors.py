"""A corrupt, truncated or foreign metadata.sqlite: every command that opens the store says so in
one line naming the file (exit 2), and the progress printer does not crash.

The bad files are made from a real MLMD store (tests/lineage_store.py) and real rows of
data/births.csv."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import time

from babyweight.metadata import lineage, progress
from babyweight.metadata import store as mlmd

import lineage_store
import pytest
from helpers import REPO, births_rows, log_record

BIRTHS = REPO / "data" / "births.csv"
# Indexes that MLMD does not read when it opens a store, but its queries do: events and their
# paths by execution, properties by owner, contexts by type and name.
INDEXES_READ_BY_QUERIES = """SELECT rootpage FROM sqlite_master WHERE name IN (
    'idx_event_execution_id', 'idx_eventpath_event_id', 'sqlite_autoindex_Context_2',
    'sqlite_autoindex_ArtifactProperty_1', 'sqlite_autoindex_ExecutionProperty_1',
    'sqlite_autoindex_ContextProperty_1')"""


def spoil(good, kind: str, path):
    """A copy of the good store at `path`, spoiled in one way."""
    data = good.read_bytes()
    if kind == "truncated":  # a copy cut off half-way
        path.write_bytes(data[: len(data) // 2])
    elif kind == "csv":  # another file under the store's name
        path.write_bytes(BIRTHS.read_bytes()[: len(data)])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "damaged index":  # opens fine (MLMD checks its tables), then queries fail
        with sqlite3.connect(good) as db:
            [(page_size,)] = db.execute("PRAGMA page_size")
            pages = [p for (p,) in db.execute(INDEXES_READ_BY_QUERIES)]
        for page in pages:  # each index's first page overwritten by CSV text
            start = (page - 1) * page_size
            data = data[:start] + BIRTHS.read_bytes()[:page_size] + data[start + page_size :]
        path.write_bytes(data)
    return path


KINDS = ["truncated", "csv", "empty", "damaged index"]


@pytest.fixture(scope="module")
def good_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "metadata.sqlite"
    lineage_store.build(path)
    return path


@pytest.fixture
def bad_output(tmp_path, good_store, request):
    """An --output directory whose metadata.sqlite is spoiled as the test's `kind` says."""
    spoil(good_store, request.param, tmp_path / "metadata.sqlite")
    return tmp_path


@pytest.mark.parametrize("kind", KINDS)
def test_open_store_raises_one_line_naming_the_file(tmp_path, good_store, kind):
    path = spoil(good_store, kind, tmp_path / "metadata.sqlite")
    with pytest.raises(mlmd.StoreError) as error:
        lineage.Lineage(mlmd.open_store(path, readonly=True))  # at open, or at a query
    message = str(error.value)
    assert message.startswith(f"{path}: cannot read this ML Metadata store (")
    assert "\n" not in message and "query" not in message and "SELECT" not in message


def test_a_damaged_index_fails_at_a_query_not_at_open(tmp_path, good_store):
    """The case where MLMD raises InternalError later, not RuntimeError at open."""
    path = spoil(good_store, "damaged index", tmp_path / "metadata.sqlite")
    store = mlmd.open_store(path, readonly=True)
    with pytest.raises(mlmd.StoreError, match="malformed"):
        lineage.Lineage(store)


def babyweight(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "babyweight", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def command_args(command: str, output, tmp_path) -> list[str]:
    if command == "skew":
        log = tmp_path / "served.jsonl"
        rows = births_rows()[:20]
        log.write_text("".join(json.dumps(log_record(r, "1700000000")) + "\n" for r in rows))
        return ["skew", "--serving-log", str(log)]
    if command == "batch-predict":
        return ["batch-predict", "--input", str(BIRTHS), "--predictions", str(tmp_path / "p")]
    return command.split()


COMMANDS = ["lineage runs", "lineage artifacts", "lineage trace pushed", "report", "skew"]
COMMANDS += ["batch-predict"]
CASES = [(c, "damaged index") for c in COMMANDS] + [(c, "truncated") for c in COMMANDS]
CASES += [("lineage runs", "csv"), ("lineage runs", "empty")]


@pytest.mark.parametrize("command, bad_output", CASES, indirect=["bad_output"])
def test_every_command_that_opens_the_store_says_one_line(command, bad_output, tmp_path):
    store = bad_output / "metadata.sqlite"
    args = command_args(command, bad_output, tmp_path)
    result = babyweight(*args, "--output", str(bad_output))
    name = command.split()[0]
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"babyweight {name}: {store}: cannot read this ML Metadata store (")


@pytest.mark.parametrize("kind", ["truncated", "damaged index"])
def test_progress_does_not_crash_on_an_unreadable_store(tmp_path, good_store, kind):
    path = spoil(good_store, kind, tmp_path / "metadata.sqlite")
    out = io.StringIO()
    with progress.Progress(path, stream=out, interval_s=0.05) as watching:
        time.sleep(0.3)  # it polls a few times meanwhile
    assert watching.lines == [] and out.getvalue() == ""


def foreign_sqlite(path):
    """An SQLite file of another application: tables and rows, none of them MLMD's."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO contacts (name) VALUES ('Ada')")
    db.close()
    return path


@pytest.mark.parametrize("readonly", [True, False])
def test_an_sqlite_file_of_another_application_is_not_an_mlmd_store(tmp_path, readonly):
    path = foreign_sqlite(tmp_path / "metadata.sqlite")
    before = path.read_bytes()
    with pytest.raises(mlmd.StoreError) as error:
        lineage.Lineage(mlmd.open_store(path, readonly=readonly))
    assert str(error.value) == f"{path}: not an ML Metadata store (no MLMD tables)"
    assert path.read_bytes() == before  # no MLMD tables written into someone else's file


def test_a_command_says_a_foreign_sqlite_file_is_not_an_mlmd_store(tmp_path):
    foreign_sqlite(tmp_path / "metadata.sqlite")
    result = babyweight("lineage", "runs", "--output", str(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    store = tmp_path / "metadata.sqlite"
    assert line == f"babyweight lineage: {store}: not an ML Metadata store (no MLMD tables)"


def test_a_real_mlmd_store_that_fails_to_open_is_still_corrupt(tmp_path, good_store):
    path = spoil(good_store, "truncated", tmp_path / "metadata.sqlite")
    with pytest.raises(mlmd.StoreError, match="corrupt or truncated"):
        lineage.Lineage(mlmd.open_store(path, readonly=True))
