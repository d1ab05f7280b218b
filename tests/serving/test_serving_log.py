"""The serving log on disk: bounded by rotation under load, each file readable on its own (by
`babyweight skew` too), rows and rollout events read back in order across the rotated files."""

from __future__ import annotations

import csv
import itertools
import json
import threading

from babyweight.instances import InvalidInstance, parse_instance
from babyweight.monitoring.serving_log import read_serving_log
from babyweight.serving.log import ServingLog
from babyweight.serving_log import log_files, read_records, rotated_path

import pytest
from helpers import SHARED_DATA


@pytest.fixture(scope="module")
def real_rows():
    """(Instance, weight_pounds) of the first 2,000 valid rows of the 2014 natality sample."""
    rows = []
    with open(SHARED_DATA / "babyweight_2014_100k.csv", newline="") as f:
        for record in itertools.islice(csv.DictReader(f), 3000):
            try:
                rows.append((parse_instance(record), float(record["weight_pounds"])))
            except (InvalidInstance, ValueError):
                continue
    return rows[:2000]


def test_rotation_bounds_the_bytes_on_disk_under_load(tmp_path, real_rows):
    path = tmp_path / "serving_log.jsonl"
    max_bytes, backups = 200_000, 3
    log = ServingLog(path, max_bytes=max_bytes, backups=backups)
    instances = [i for i, _ in real_rows]
    weights = [w for _, w in real_rows]

    def client(n: int):
        for k in range(n):
            size = 1 + (k * 37) % 500  # requests of 1 to 500 rows
            log.write("1700000000", instances[:size], weights[:size], "stable")

    threads = [threading.Thread(target=client, args=(40,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = sum(1 + (k * 37) % 500 for k in range(40)) * 8
    files = log_files(path)
    on_disk = sum(f.stat().st_size for f in files)
    # about 14 MB were written (lines of 170+ bytes); what is left is the newest files, each
    # under the limit
    assert rows * 170 > 10 * (backups + 1) * max_bytes
    assert sum(1 for _ in read_records(path)) < rows / 10
    assert files == [rotated_path(path, n) for n in (3, 2, 1)] + [path]
    assert not rotated_path(path, backups + 1).exists()
    assert all(f.stat().st_size <= max_bytes for f in files)
    assert on_disk <= (backups + 1) * max_bytes
    assert log.failures == 0
    for f in files:  # each file is whole JSON lines, readable by the skew check on its own
        assert read_serving_log(f).rows


def test_records_come_back_in_order_across_rotated_files(tmp_path, real_rows):
    path = tmp_path / "log.jsonl"
    log = ServingLog(path, max_bytes=5_000, backups=50)
    for instance, weight in real_rows[:300]:
        log.write("7", [instance], [weight], None)
    log.write_event("rollout.promote", stable=7, canary=None)
    assert len(log_files(path)) > 5
    records = list(read_records(path))
    rows = [r for r in records if "features" in r]
    assert [r["prediction"] for r in rows] == [w for _, w in real_rows[:300]]
    assert records[-1]["event"] == "rollout.promote"
    assert {r["label"] for r in rows} == {None} and rows[0]["model_version"] == "7"
    assert len({r["request"] for r in rows}) == 300
    # The skew check reads around the event line: it is not a served row.
    skew = read_serving_log(path)
    assert len(skew.rows) == sum(1 for line in path.read_text().splitlines() if "features" in line)


def test_one_request_bigger_than_a_file_is_split_between_lines(tmp_path, real_rows):
    path = tmp_path / "log.jsonl"
    log = ServingLog(path, max_bytes=10_000, backups=2)
    log.write("7", [i for i, _ in real_rows[:500]], [w for _, w in real_rows[:500]])
    for f in log_files(path):
        assert f.stat().st_size <= 10_000
        assert all(json.loads(line)["features"] for line in f.read_text().splitlines())


def test_no_rotation_when_max_bytes_is_zero(tmp_path, real_rows):
    path = tmp_path / "log.jsonl"
    log = ServingLog(path, max_bytes=0)
    for instance, weight in real_rows[:200]:
        log.write("7", [instance], [weight])
    assert log_files(path) == [path] and len(path.read_text().splitlines()) == 200
