"""`babyweight rollout status|promote|rollback` without a server: the rollout file, the serving
log's numbers per version, one-line errors and exit codes, and no TensorFlow loaded."""

from __future__ import annotations

import csv
import itertools
import json
import subprocess
import sys

from babyweight.instances import InvalidInstance, parse_instance
from babyweight.layout import rollout_file_of
from babyweight.serving.log import ServingLog
from babyweight.serving.rollout import Rollout, RolloutFile

import pytest
from helpers import REPO, SHARED_DATA, run_babyweight


def run(*args: str) -> subprocess.CompletedProcess:
    return run_babyweight("rollout", *args)


def fake_version(base, version: int) -> None:
    """A directory that counts as a complete version (never loaded here)."""
    (base / str(version) / "variables").mkdir(parents=True)
    (base / str(version) / "saved_model.pb").write_bytes(b"x")
    (base / str(version) / "variables" / "variables.index").write_bytes(b"x")


@pytest.fixture
def model_dir(tmp_path):
    base = tmp_path / "models" / "babyweight"
    for version in (100, 200):
        fake_version(base, version)
    RolloutFile(rollout_file_of(base)).update(lambda r: (r.take_new(100), r.take_new(200)))
    return base


def real_rows(n: int):
    rows = []
    with open(SHARED_DATA / "babyweight_2014_100k.csv", newline="") as f:
        for record in itertools.islice(csv.DictReader(f), 2 * n):
            try:
                rows.append((parse_instance(record), float(record["weight_pounds"])))
            except (InvalidInstance, ValueError):
                continue
    return rows[:n]


def test_status_counts_requests_share_and_mean_per_version(model_dir, tmp_path):
    log_path = tmp_path / "log.jsonl"
    log = ServingLog(log_path)
    rows = real_rows(40)
    log.write("100", [i for i, _ in rows[:10]], [w for _, w in rows[:10]], "stable")
    log.write_event("rollout.label", stable=100, canary=200)
    for instance, weight in rows[10:40]:  # 30 one-row requests after the change
        log.write("200" if weight > 7 else "100", [instance], [weight], "canary")
    args = ("status", "--model-dir", str(model_dir), "--serving-log", str(log_path))
    data = json.loads(run(*args, "--json").stdout)
    by_version = {v["version"]: v for v in data["versions"]}
    heavy = [w for _, w in rows[10:40] if w > 7]
    assert by_version["200"]["requests"] == len(heavy)
    assert by_version["200"]["mean_prediction"] == pytest.approx(sum(heavy) / len(heavy))
    assert by_version["200"]["share"] == pytest.approx(len(heavy) / 30)
    assert by_version["100"]["requests"] == 30 - len(heavy)  # the 10 rows before are not counted
    assert data["labels"] == {"stable": 100, "canary": 200}
    everything = json.loads(run(*args, "--json", "--all").stdout)
    assert {v["version"]: v["rows"] for v in everything["versions"]}["100"] == 40 - len(heavy)
    text = run(*args).stdout
    assert "labels: stable 100, canary 200" in text and "mean prediction" in text


@pytest.mark.parametrize("percent", [0, 20])
def test_status_says_a_canary_at_0_percent_gets_no_traffic(model_dir, percent):
    RolloutFile(rollout_file_of(model_dir)).update(lambda r: setattr(r, "canary_percent", percent))
    result = run("status", "--model-dir", str(model_dir), "--serving-log", "")
    assert result.returncode == 0, result.stderr
    waiting = "canary 0%: no traffic until `--canary-percent` or promote"
    assert (waiting in result.stdout) == (percent == 0), result.stdout
    if percent:
        assert "canary share 20% of unlabelled requests" in result.stdout


def test_promote_and_rollback_move_the_labels_and_log_an_event(model_dir, tmp_path):
    log_path = tmp_path / "log.jsonl"
    common = ("--model-dir", str(model_dir), "--serving-log", str(log_path), "--no-record")
    result = run("promote", *common)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["canary 200 promoted to stable (stable was 100)"]
    rollout = RolloutFile(rollout_file_of(model_dir)).read()
    assert (rollout.labels(), rollout.previous) == ({"stable": 200}, [100])
    assert run("rollback", *common).returncode == 0
    assert RolloutFile(rollout_file_of(model_dir)).read().labels() == {"stable": 100}
    events = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [(e["event"], e["stable"]) for e in events] == [
        ("rollout.promote", 200),
        ("rollout.rollback", 100),
    ]
    for command, words in [("promote", "nothing to promote"), ("rollback", "nothing to roll")]:
        result = run(command, *common)
        assert result.returncode == 1
        assert len(result.stderr.splitlines()) == 1 and words in result.stderr


def test_a_promote_of_a_canary_gone_from_disk_is_refused(model_dir):
    import shutil

    shutil.rmtree(model_dir / "200")
    result = run("promote", "--model-dir", str(model_dir), "--serving-log", "", "--no-record")
    assert result.returncode == 1 and "canary version 200 is not in" in result.stderr
    assert RolloutFile(rollout_file_of(model_dir)).read().canary == 200  # unchanged


def test_missing_or_corrupt_store_is_one_line_and_nothing_moves(tmp_path):
    output = tmp_path / "out"
    base = output / "serving_model" / "babyweight"
    for version in (100, 200):
        fake_version(base, version)
    RolloutFile(rollout_file_of(base)).update(lambda r: (r.take_new(100), r.take_new(200)))
    result = run("promote", "--output", str(output))
    assert result.returncode == 2 and "no ML Metadata store" in result.stderr
    assert "--no-record" in result.stderr and "Traceback" not in result.stderr
    (output / "metadata.sqlite").write_bytes(b"SQLite format 3\x00" + b"\x07" * 4000)
    result = run("promote", "--output", str(output))
    assert result.returncode == 2, result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "metadata.sqlite" in result.stderr
    assert RolloutFile(rollout_file_of(base)).read().canary == 200


def test_no_model_directory_is_one_line(tmp_path):
    result = run("status", "--output", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"babyweight rollout: no model directory {tmp_path}/serving_model/babyweight; "
        "give the run's --output, or --model-dir"
    ]


def test_rollout_does_not_load_tensorflow(model_dir):
    probe = (
        "import sys\n"
        "from babyweight import cli\n"
        f"cli.main(['rollout', 'status', '--model-dir', {str(model_dir)!r}, '--serving-log', ''])\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def test_rollout_state_round_trips_through_json():
    rollout = Rollout(stable=1, canary=2, canary_percent=12.5, previous=[0], retired=[3])
    assert Rollout.from_json(rollout.to_json(), "x") == rollout
