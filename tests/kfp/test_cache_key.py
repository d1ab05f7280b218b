"""babyweight.kfp.cache_key: KFP's cache fingerprint (driver/cache.go getFingerPrint,
cacheutils/cache.go GenerateCacheKey + GenerateFingerPrint, kubeflow/pipelines@7b70c7b9)."""

from __future__ import annotations

import hashlib

from babyweight.kfp import cache_key

TYPE = {"instanceSchema": "title: tfx.Model\n"}


def executor_input(artifact_name="7", uri="gs://b/1/model", param=300):
    return {
        "inputs": {
            "parameterValues": {"steps": param, "q": "<a&b>"},
            "artifacts": {"examples": {"artifacts": [{"name": artifact_name, "uri": "gs://x"}]}},
        },
        "outputs": {
            "artifacts": {"model": {"artifacts": [{"name": "model", "type": TYPE, "uri": uri}]}},
            "outputFile": "/tmp/kfp_outputs/output_metadata.json",
        },
    }


def test_the_hashed_bytes_are_gos_json_of_the_protojson_key():
    key = cache_key.cache_key(executor_input(), {}, ["python"], ["{{$}}"], "img")
    expected = (
        '{"containerSpec":{"cmdArgs":["python","{{$}}"],"image":"img"},'
        '"inputArtifactNames":{"examples":{"artifactNames":["7"]}},'
        '"inputParameterValues":{"q":"\\u003ca\\u0026b\\u003e","steps":300},'
        '"outputArtifactsSpec":{"model":{"name":"model",'
        '"type":{"instanceSchema":"title: tfx.Model\\n"}}}}'
    )
    assert cache_key.go_json(key) == expected
    assert cache_key.fingerprint(key) == hashlib.sha256(expected.encode()).hexdigest()
    assert cache_key.go_number(300.0) == "300" and cache_key.go_number(0.5) == "0.5"
    assert cache_key.go_number(1e21) == "1e+21"


def test_the_output_uri_is_wiped_but_inputs_and_parameters_count():
    fp = lambda ex: cache_key.fingerprint(cache_key.cache_key(ex, {}, ["python"], [], "img"))  # noqa: E731
    base = fp(executor_input())
    assert fp(executor_input(uri="gs://b/2/model")) == base  # a fresh UUID each run
    assert fp(executor_input(artifact_name="8")) != base  # a new upstream artifact
    assert fp(executor_input(param=301)) != base


def test_a_task_cache_key_replaces_everything():
    task = {"componentRef": {"name": "comp-a"}, "cachingOptions": {"cacheKey": "k"}}
    expected = hashlib.sha256(b"comp-a\0k").hexdigest()
    assert cache_key.task_fingerprint(task, {}, {}, executor_input()) == expected
