"""babyweight.ui.rest_api and records: the v2beta1 answers the UI reads, from real records."""

from __future__ import annotations

from babyweight.errors import BabyweightError
from babyweight.ui import mlmd_grpc_web, records, rest_api

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient


@pytest.fixture
def client(kfp_root):
    version = records.read_version(kfp_root.parent / "spec.yaml")
    store = mlmd_grpc_web.open_read_only(kfp_root / "metadata.sqlite")
    app = Starlette(routes=rest_api.routes(records.KfpRecords(store, [version])))
    return TestClient(app)


def test_the_pipeline_its_version_and_the_compiled_spec(client):
    (pipeline,) = client.get("/apis/v2beta1/pipelines").json()["pipelines"]
    assert pipeline["display_name"] == "babyweight"
    pid = pipeline["pipeline_id"]
    assert client.get(f"/apis/v2beta1/pipelines/{pid}").json() == pipeline
    assert client.get("/apis/v2beta1/pipelines/names/babyweight").json() == pipeline
    (version,) = client.get(f"/apis/v2beta1/pipelines/{pid}/versions").json()["pipeline_versions"]
    assert version["name"] == "spec.yaml"
    assert set(version["pipeline_spec"]["root"]["dag"]["tasks"]) == {"A", "B"}
    got = client.get(f"/apis/v2beta1/pipelines/{pid}/versions/{version['pipeline_version_id']}")
    assert got.json() == version


def test_runs_with_their_state_and_task_details(client):
    runs = {r["run_id"]: r for r in client.get("/apis/v2beta1/runs").json()["runs"]}
    assert {k: r["state"] for k, r in runs.items()} == {"done": "SUCCEEDED", "broken": "FAILED"}
    done = client.get("/apis/v2beta1/runs/done").json()
    tasks = {t["display_name"]: t["state"] for t in done["run_details"]["task_details"]}
    assert tasks == {"A": "SUCCEEDED", "B": "SUCCEEDED"}
    assert done["runtime_config"]["parameters"] == {"train_steps": 3}
    assert done["finished_at"] >= done["created_at"]
    (pipeline,) = client.get("/apis/v2beta1/pipelines").json()["pipelines"]
    assert done["pipeline_version_reference"]["pipeline_id"] == pipeline["pipeline_id"]
    broken = client.get("/apis/v2beta1/runs/broken").json()
    assert broken["error"]["message"] == "task A failed"
    assert [t["state"] for t in broken["run_details"]["task_details"]] == ["FAILED"]


def test_one_experiment_holds_every_run(client):
    (experiment,) = client.get("/apis/v2beta1/experiments").json()["experiments"]
    eid = experiment["experiment_id"]
    assert client.get(f"/apis/v2beta1/experiments/{eid}").json()["display_name"] == "Default"
    assert len(client.get("/apis/v2beta1/runs", params={"experiment_id": eid}).json()["runs"]) == 2
    assert client.get("/apis/v2beta1/runs", params={"experiment_id": "other"}).json() == {}


def test_unknown_things_are_404_and_changes_501(client):
    assert client.get("/apis/v2beta1/runs/nope").status_code == 404
    assert client.get("/apis/v2beta1/pipelines/nope/versions").json() == {}
    created = client.post("/apis/v2beta1/runs", json={})
    assert created.status_code == 501
    assert created.json()["code"] == 12 and "read-only" in created.json()["message"]
    assert client.post("/apis/v2beta1/runs/done:archive").status_code == 501
    assert client.get("/apis/v2beta1/recurringruns").json() == {}
    assert client.get("/apis/v2beta1/healthz").json()["apiServerTagName"] == "2.17.0"


def test_a_file_that_is_not_a_spec_is_one_line(tmp_path):
    (tmp_path / "x.yaml").write_text("a: 1\n")
    with pytest.raises(BabyweightError, match=r"--spec .*x.yaml: no pipelineInfo/root"):
        records.read_version(tmp_path / "x.yaml")
