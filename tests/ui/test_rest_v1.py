"""babyweight.ui.rest_v1: the v1beta1 views the pipeline page reads next to v2beta1."""

from __future__ import annotations

from babyweight.ui import mlmd_grpc_web, records, rest_api, rest_v1

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient


@pytest.fixture
def client(kfp_root):
    version = records.read_version(kfp_root.parent / "spec.yaml")
    store = mlmd_grpc_web.open_read_only(kfp_root / "metadata.sqlite")
    kfp = records.KfpRecords(store, [version])
    return TestClient(Starlette(routes=rest_api.routes(kfp) + rest_v1.routes(kfp)))


def test_the_pipeline_and_its_versions_as_v1_sees_them(client):
    (v2,) = client.get("/apis/v2beta1/pipelines").json()["pipelines"]
    pid = v2["pipeline_id"]
    (v2_version,) = client.get(f"/apis/v2beta1/pipelines/{pid}/versions").json()[
        "pipeline_versions"
    ]
    v1 = client.get(f"/apis/v1beta1/pipelines/{pid}").json()
    assert v1["id"] == pid and v1["name"] == "babyweight"
    assert v1["default_version"]["id"] == v2_version["pipeline_version_id"]
    owner = {"key": {"type": "PIPELINE", "id": pid}, "relationship": "OWNER"}
    assert v1["default_version"]["resource_references"] == [owner]
    listed = client.get(
        "/apis/v1beta1/pipeline_versions",
        params={"resource_key.type": "PIPELINE", "resource_key.id": pid},
    ).json()
    assert listed["versions"] == [v1["default_version"]]
    got = client.get(f"/apis/v1beta1/pipeline_versions/{v1['default_version']['id']}").json()
    assert got == v1["default_version"]
    assert client.get("/apis/v1beta1/pipelines/nope").status_code == 404
    assert client.get("/apis/v1beta1/pipeline_versions/nope").status_code == 404
