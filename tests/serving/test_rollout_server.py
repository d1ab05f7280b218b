"""Safe rollout on the real server and the real model: a pushed version becomes the canary and
takes its share of traffic; `babyweight rollout promote` and `rollback` move every request,
within a second, while a client keeps predicting, and are recorded in the serving log and in
ML Metadata next to the PushedModel.

The second and third versions are copies of the pushed SavedModel under new numbers (as
test_app.py pushes): they predict the same, so which version answered is read from the
X-Model-Version header and the serving log."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time

from babyweight.metadata.store import open_store
from babyweight.serving.rollout_lineage import CONTEXT_TYPE, EXECUTION_TYPE

import httpx
import pytest
from helpers import REPO
from serve_helpers import MODEL_NAME, ROW, push_copy, running_server

pytestmark = pytest.mark.e2e

CANARY_PERCENT = 20
# Unkeyed requests are dealt out by a counter: exactly 20 of every 100 (1 of slack for safety).
UNKEYED_TOLERANCE = 1
# Keyed requests are split by the SHA-256 of the key: 500 keys land within 5 points of 20 %.
KEYED_TOLERANCE = 0.05


def api(url: str) -> str:
    return f"{url}/v1/models/{MODEL_NAME}"


def rollout(output, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "babyweight", "rollout", *args, "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def wait_for_label(url, label: str, version: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{api(url)}/labels/{label}")
        if response.status_code == 200:
            if response.json()["model_version_status"][0]["version"] == str(version):
                return
        assert time.monotonic() < deadline, response.text
        time.sleep(0.3)


class Client:
    """Predicts in a loop on its own thread: (start time, status, version that answered)."""

    def __init__(self, url: str):
        self.url, self.answers, self._stop = url, [], threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self):
        with httpx.Client(timeout=30) as c:
            n = 0
            while not self._stop.is_set():
                n += 1
                headers = {"X-Rollout-Key": f"user-{n % 50}"} if n % 2 else {}
                start = time.monotonic()
                r = c.post(f"{api(self.url)}:predict", json={"instances": [ROW]}, headers=headers)
                self.answers.append((start, r.status_code, r.headers.get("X-Model-Version")))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=60)


def move_labels_under_load(url, output, command: str) -> tuple[list, float]:
    """Run `babyweight rollout COMMAND` while a client predicts; (answers, when it returned)."""
    with Client(url) as client:
        time.sleep(1.0)
        result = rollout(output, command)
        done = time.monotonic()
        assert result.returncode == 0, result.stderr
        time.sleep(2.0)
    assert client.answers and {s for _, s, _ in client.answers} == {200}, client.answers[-5:]
    return client.answers, done


@pytest.fixture
def output(pushed_model_dir, tiny_run, tmp_path):
    """An output directory as a run leaves it, with a copy of the run's ML Metadata store (the
    test adds executions to it) and the pushed version."""
    output = tmp_path / "out"
    base = output / "serving_model" / MODEL_NAME
    base.mkdir(parents=True)
    push_copy(pushed_model_dir, base, int(pushed_model_dir.name))
    shutil.copy(tiny_run[0] / "metadata.sqlite", output / "metadata.sqlite")
    return output


def test_canary_share_promote_and_rollback(output, pushed_model_dir, tiny_run):
    base = output / "serving_model" / MODEL_NAME
    v1 = int(pushed_model_dir.name)
    v2 = v1 + 1
    extra = ("--canary-percent", str(CANARY_PERCENT), "--poll-seconds", "0.3")
    with running_server(output, output / "server.out", *extra) as url:
        wait_for_label(url, "stable", v1)
        push_copy(pushed_model_dir, base, v2)
        wait_for_label(url, "canary", v2)

        # Canary at 20 %: unkeyed requests by the counter, keyed ones by their key.
        with httpx.Client() as c:
            unkeyed = [
                c.post(f"{api(url)}:predict", json={"instances": [ROW]}).headers["X-Model-Version"]
                for _ in range(1000)
            ]
            keyed = {}
            for n in range(500):
                headers = {"X-Rollout-Key": f"user-{n}"}
                seen = {
                    c.post(
                        f"{api(url)}:predict", json={"instances": [ROW]}, headers=headers
                    ).headers["X-Model-Version"]
                    for _ in range(2)
                }
                assert len(seen) == 1, (n, seen)  # one key, one version
                keyed[n] = seen.pop()
        assert abs(unkeyed.count(str(v2)) - 1000 * CANARY_PERCENT / 100) <= UNKEYED_TOLERANCE
        key_share = sum(v == str(v2) for v in keyed.values()) / len(keyed)
        assert abs(key_share - CANARY_PERCENT / 100) <= KEYED_TOLERANCE, key_share

        status = json.loads(rollout(output, "status", "--json").stdout)
        by_version = {v["version"]: v for v in status["versions"]}
        assert status["labels"] == {"stable": v1, "canary": v2}
        assert by_version[str(v2)]["label"] == "canary"
        assert by_version[str(v2)]["requests"] + by_version[str(v1)]["requests"] == 2000
        assert by_version[str(v2)]["mean_prediction"] == pytest.approx(
            by_version[str(v1)]["mean_prediction"]
        )
        text = rollout(output, "status").stdout
        assert f"canary share {CANARY_PERCENT}%" in text and "mean prediction" in text

        # promote: within a second every request goes to v2, and none fails meanwhile
        answers, done = move_labels_under_load(url, output, "promote")
        after = {v for start, _, v in answers if start > done + 1.0}
        assert after == {str(v2)}, after
        # rollback: stable goes back to v1; within a second no request reaches v2
        answers, done = move_labels_under_load(url, output, "rollback")
        after = {v for start, _, v in answers if start > done + 1.0}
        assert after == {str(v1)}, after

        # a newer push is the canary again; rollback takes it out of traffic
        v3 = v1 + 2
        push_copy(pushed_model_dir, base, v3)
        wait_for_label(url, "canary", v3)
        answers, done = move_labels_under_load(url, output, "rollback")
        assert {v for start, _, v in answers if start > done + 1.0} == {str(v1)}
        assert httpx.get(f"{api(url)}/labels/canary").status_code == 404
        assert httpx.get(f"{api(url)}/versions/{v3}").status_code == 200  # still loaded

    events = [
        json.loads(line)
        for line in (output / "serving_log.jsonl").read_text().splitlines()
        if '"event"' in line
    ]
    assert [(e["event"], e["stable"], e["canary"]) for e in events if e["by"] != "server"] == [
        ("rollout.promote", v2, None),
        ("rollout.rollback", v1, None),
        ("rollout.rollback", v1, None),
    ]
    rows = [
        json.loads(line)
        for line in (output / "serving_log.jsonl").read_text().splitlines()
        if '"features"' in line
    ]
    assert {(r["model_version"], r["label"]) for r in rows} >= {
        (str(v1), "stable"),
        (str(v2), "canary"),
        (str(v2), "stable"),
    }

    # ML Metadata: one execution per step, linked to the PushedModel where one exists
    store = open_store(output / "metadata.sqlite", readonly=True)
    executions = store.get_executions_by_type(EXECUTION_TYPE)
    assert [e.custom_properties["action"].string_value for e in executions] == [
        "promote",
        "rollback",
        "rollback",
    ]
    (pushed,) = [
        a
        for a in store.get_artifacts_by_type("PushedModel")
        if a.custom_properties["pushed_destination"].string_value == str(pushed_model_dir)
    ]
    for execution, part in zip(executions, ["replaced", "stable", "stable"], strict=True):
        events = store.get_events_by_execution_ids([execution.id])
        assert [(e.artifact_id, e.path.steps[0].key) for e in events] == [(pushed.id, part)]
        contexts = {c.type for c in store.get_contexts_by_execution(execution.id)}
        assert contexts == {CONTEXT_TYPE, "pipeline"}
    assert "promoted=" in executions[0].custom_properties["unlinked"].string_value


def test_deleting_the_stable_version_while_a_canary_exists(output, pushed_model_dir, tiny_run):
    """Issue 29: all traffic went to the canary, the rollout file kept the deleted stable,
    /labels/stable answered 404 and the serving log recorded `label: null`."""
    base = output / "serving_model" / MODEL_NAME
    v1 = int(pushed_model_dir.name)
    v2, v3 = v1 + 1, v1 + 2
    extra = ("--canary-percent", str(CANARY_PERCENT), "--poll-seconds", "0.3")
    with running_server(output, output / "server.out", *extra) as url:
        wait_for_label(url, "stable", v1)
        push_copy(pushed_model_dir, base, v2)
        wait_for_label(url, "canary", v2)
        assert rollout(output, "promote").returncode == 0  # stable v2, previous v1
        push_copy(pushed_model_dir, base, v3)
        wait_for_label(url, "canary", v3)

        shutil.rmtree(base / str(v2))
        deadline = time.monotonic() + 60
        with httpx.Client() as c:
            while True:  # stable answers all along, then as v1
                r = c.get(f"{api(url)}/labels/stable")
                assert r.status_code == 200, r.text
                if r.json()["model_version_status"][0]["version"] == str(v1):
                    break
                assert time.monotonic() < deadline
                time.sleep(0.05)
            versions = [
                c.post(f"{api(url)}:predict", json={"instances": [ROW]}).headers["X-Model-Version"]
                for _ in range(100)
            ]
        assert versions.count(str(v3)) == CANARY_PERCENT and versions.count(str(v1)) == 80
    labels = json.loads((base.parent / f"{MODEL_NAME}.rollout.json").read_text())
    assert (labels["stable"], labels["canary"]) == (v1, v3)
    message = f"stable version {v2} is gone from disk; stable moved to {v1}"
    said = [line for line in (output / "server.out").read_text().splitlines() if message in line]
    assert len(said) == 1, said
    log = [json.loads(line) for line in (output / "serving_log.jsonl").read_text().splitlines()]
    [gone] = [e for e in log if e.get("event") == "rollout.stable_gone"]
    assert (gone["stable"], gone["canary"]) == (v1, v3) and message in gone["message"]
    assert all(r["label"] in ("stable", "canary") for r in log if "features" in r)
    store = open_store(output / "metadata.sqlite", readonly=True)
    [recorded] = [
        e
        for e in store.get_executions_by_type(EXECUTION_TYPE)
        if e.custom_properties["action"].string_value == "stable_gone"
    ]
    assert recorded.custom_properties["stable_after"].int_value == v1
