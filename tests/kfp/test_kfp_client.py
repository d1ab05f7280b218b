"""`babyweight kfp` and the stock kfp client against KfpApiDouble, a local test double of the KFP
v2beta1 REST API.

The spec is really compiled (kubeflow_runner, kfp target); the kfp 2 SDK client really speaks
HTTP; only the server is a double. Each test records the requests and checks paths and bodies.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading

from babyweight.kfp import client as kfp_cli
from babyweight.kfp.spec import ir_path

import pytest
import yaml
from helpers import REPO
from kfp_double import KfpApiDouble

import kubeflow_runner
from pipeline import configs


def compile_spec(path, target):
    cloud = configs.CloudSettings.resolve(
        {"target": target, "project": "p", "bucket": "bkt", "image": "gcr.io/p/bw:1"}, {}
    )
    return kubeflow_runner.compile_pipeline(cloud, cloud.pipeline_settings(), path)


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return compile_spec(tmp_path_factory.mktemp("spec") / "babyweight_kfp.json", "kfp")


@pytest.fixture
def kfp(monkeypatch, tmp_path):
    for name in (kfp_cli.ENV_ENDPOINT, kfp_cli.ENV_NAMESPACE, kfp_cli.ENV_TOKEN):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # kfp.Client reads ~/.config/kfp/context.json
    with KfpApiDouble() as double:
        yield double


def cli(kfp, *args):
    command, *rest = args
    return kfp_cli.main([command, "--endpoint", kfp.url, *map(str, rest)])


def uploaded_spec(request):
    filename, content = request.files["uploadfile"]
    assert filename.endswith(".yaml")
    return yaml.safe_load(content)


def test_create_uploads_the_compiled_spec(kfp, spec, capsys):
    assert cli(kfp, "create", "--spec", spec) == 0
    (upload,) = kfp.calls("POST", "/apis/v2beta1/pipelines/upload")
    assert upload.query["name"] == "babyweight"
    compiled = json.loads(spec.read_text())["pipelineSpec"]
    assert uploaded_spec(upload) == compiled  # the bare spec a KFP server accepts
    (pipeline,) = kfp.pipelines.values()
    assert pipeline["display_name"] == "babyweight"
    assert f"created from {spec}: id {pipeline['pipeline_id']}" in capsys.readouterr().out


def test_update_adds_a_version(kfp, spec):
    assert cli(kfp, "create", "--spec", spec) == 0
    assert cli(kfp, "update", "--spec", spec, "--version", "v2") == 0
    (pid,) = kfp.pipelines
    (upload,) = kfp.calls("POST", "/apis/v2beta1/pipelines/upload_version")
    assert upload.query == {"name": "v2", "pipelineid": pid}
    assert uploaded_spec(upload) == json.loads(spec.read_text())["pipelineSpec"]
    assert [v["display_name"] for v in kfp.versions[pid]] == ["babyweight", "v2"]


def test_run_creates_a_run_of_the_newest_version_with_the_right_parameters(kfp, spec):
    assert cli(kfp, "create", "--spec", spec) == 0
    assert cli(kfp, "update", "--spec", spec, "--version", "v2") == 0
    args = ["--experiment", "nightly", "--run-name", "r1"]
    assert cli(kfp, "run", *args, "--pipeline-root", "gs://other/root") == 0
    (pid,) = kfp.pipelines
    newest = kfp.versions[pid][-1]["pipeline_version_id"]
    (experiment,) = kfp.experiments.values()
    assert experiment["display_name"] == "nightly"
    (run,) = [r.json() for r in kfp.calls("POST", "/apis/v2beta1/runs")]
    assert run["display_name"] == "r1"
    assert run["experiment_id"] == experiment["experiment_id"]
    assert run["pipeline_version_reference"] == {
        "pipeline_id": pid,
        "pipeline_version_id": newest,
    }
    assert run["runtime_config"]["pipeline_root"] == "gs://other/root"

    # Without --pipeline-root, the uploaded version's own root is read from the server and
    # sent: the backend would not read it (root_dag.go). Parameters as tfx spells them.
    steps = '{"num_steps": 7}'
    assert (
        cli(kfp, "run", "--experiment", "nightly", "--runtime_parameter", f"train_args={steps}")
        == 0
    )
    second = kfp.calls("POST", "/apis/v2beta1/runs")[-1].json()
    assert second["runtime_config"]["pipeline_root"] == "gs://bkt/babyweight/pipeline_root"
    assert second["runtime_config"]["parameters"] == {"train_args": steps}
    launched = kfp.launched[max(kfp.runs, key=lambda r: int(r.split("-")[1]))]
    assert launched["pipeline_root"] == "gs://bkt/babyweight/pipeline_root"
    assert launched["parameters"]["train_args"] == steps
    assert launched["parameters"]["eval_args"] == json.dumps({"num_steps": configs.EVAL_STEPS})
    assert len(kfp.experiments) == 1


def test_list_and_delete_hit_the_right_paths(kfp, spec, capsys):
    assert cli(kfp, "create", "--spec", spec) == 0
    assert cli(kfp, "update", "--spec", spec, "--version", "v2") == 0
    (pid,) = kfp.pipelines
    version_ids = [v["pipeline_version_id"] for v in kfp.versions[pid]]
    capsys.readouterr()
    assert cli(kfp, "list") == 0
    assert kfp.calls("GET", "/apis/v2beta1/pipelines")
    assert f"babyweight{' ' * 21}{pid}" in capsys.readouterr().out

    start = len(kfp.requests)
    assert cli(kfp, "delete") == 0
    deletes = [r.path for r in kfp.requests[start:] if r.method == "DELETE"]
    prefix = f"/apis/v2beta1/pipelines/{pid}"
    assert deletes == [f"{prefix}/versions/{v}" for v in version_ids] + [prefix]
    assert kfp.pipelines == {}


def test_status_prints_each_task_and_fails_on_a_failed_run(kfp, spec, capsys):
    assert cli(kfp, "create", "--spec", spec) == 0
    assert cli(kfp, "run") == 0
    (rid,) = kfp.runs
    assert cli(kfp, "status", "--run_id", rid) == 0  # as tfx spells it
    assert f"({rid}): PENDING" in capsys.readouterr().out
    kfp.runs[rid]["state"] = "FAILED"
    kfp.runs[rid]["run_details"] = {
        "task_details": [
            {
                "display_name": "CsvExampleGen",
                "state": "SUCCEEDED",
                "create_time": "2026-01-01T00:00:01Z",
            },
            {"display_name": "Trainer", "state": "FAILED", "create_time": "2026-01-01T00:00:02Z"},
        ]
    }
    assert cli(kfp, "status", rid) == 1
    out = capsys.readouterr().out
    assert kfp.calls("GET", f"/apis/v2beta1/runs/{rid}")
    assert "FAILED" in out and "CsvExampleGen" in out and "Trainer" in out


def test_namespace_and_token_come_from_the_environment(kfp, spec, monkeypatch):
    monkeypatch.setenv(kfp_cli.ENV_ENDPOINT, kfp.url)
    monkeypatch.setenv(kfp_cli.ENV_NAMESPACE, "team-a")
    monkeypatch.setenv(kfp_cli.ENV_TOKEN, "s3cret")
    assert kfp_cli.main(["create", "--spec", str(spec)]) == 0
    (upload,) = kfp.calls("POST", "/apis/v2beta1/pipelines/upload")
    assert upload.query["namespace"] == "team-a"
    assert upload.headers["authorization"] == "Bearer s3cret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_endpoint_is_one_clear_line(spec, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [sys.executable, "-m", "babyweight", "kfp", "create", "--endpoint", url, "--spec", spec],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"--endpoint {url}: cannot connect" in result.stderr


def test_an_endpoint_that_is_not_kfp_is_named(spec, capsys, tmp_path):
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0),
        lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path)),
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert kfp_cli.main(["list", "--endpoint", url]) == 1
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err
    assert "GET /apis/v2beta1/healthz answered 404" in err and "KFP API address" in err


def test_4xx_answers_are_clear_errors(kfp, spec, capsys):
    assert cli(kfp, "create", "--spec", spec) == 0
    capsys.readouterr()
    assert cli(kfp, "create", "--spec", spec) == 1  # the server refuses a second 'babyweight'
    err = capsys.readouterr().err
    assert "upload pipeline 'babyweight': KFP answered 409" in err
    assert "already exists" in err and "Traceback" not in err

    assert cli(kfp, "status", "run-404") == 1
    assert "get run run-404: KFP answered 404" in capsys.readouterr().err

    assert cli(kfp, "update", "--spec", spec, "--name", "nope") == 1
    assert "no pipeline named 'nope'" in capsys.readouterr().err


def test_bad_spec_files_are_refused_before_any_upload(kfp, tmp_path, capsys):
    assert cli(kfp, "create", "--spec", tmp_path / "missing.json") == 1
    assert "no such file; compile it first" in capsys.readouterr().err
    vertex = compile_spec(tmp_path / "babyweight_vertex.json", "vertex")
    assert cli(kfp, "create", "--spec", vertex) == 1
    assert "resolver nodes" in capsys.readouterr().err
    assert not kfp.calls("POST", "/apis/v2beta1/pipelines/upload")


def test_the_double_enforces_the_servers_rules(kfp, spec):
    """The double refuses what KFP refuses, so the tests above could fail."""
    import urllib.error
    import urllib.request

    assert cli(kfp, "create", "--spec", spec) == 0
    (pid,) = kfp.pipelines
    request = urllib.request.Request(f"{kfp.url}/apis/v2beta1/pipelines/{pid}", method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request)
    assert e.value.code == 400  # a pipeline with versions cannot be deleted
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{kfp.url}/apis/v1beta1/pipelines")
    assert e.value.code == 404


def test_defaults_match_what_kubeflow_runner_writes():
    args = kfp_cli.parse_args(["create"])
    assert args.name == configs.PIPELINE_NAME
    assert args.spec == ir_path(configs.KFP_SPEC_FILE.format(target="kfp"))


def test_the_stock_kfp_client_uploads_the_yaml_and_a_bare_run_gets_the_root(kfp, spec):
    """What the KFP UI's upload button and `kfp.Client` do with the compiled YAML: the stored
    spec keeps the root and the parameters, and a run created with no runtime config gets them."""
    import kfp as kfp_sdk

    client = kfp_sdk.Client(host=kfp.url)
    pipeline = client.upload_pipeline(str(ir_path(spec)), pipeline_name="babyweight")
    (version,) = kfp.versions[pipeline.pipeline_id]
    stored = version["pipeline_spec"]
    assert stored["defaultPipelineRoot"] == "gs://bkt/babyweight/pipeline_root"
    parameters = stored["root"]["inputDefinitions"]["parameters"]
    assert json.loads(parameters["train_args"]["defaultValue"]) == {
        "num_steps": configs.TRAIN_STEPS
    }
    assert set(parameters) == {"train_args", "eval_args", "bigquery_input_config"}

    experiment = client.create_experiment("babyweight")
    run = client.run_pipeline(
        experiment_id=experiment.experiment_id,
        job_name="from-the-ui",
        pipeline_id=pipeline.pipeline_id,
        version_id=version["pipeline_version_id"],
    )
    (body,) = [r.json() for r in kfp.calls("POST", "/apis/v2beta1/runs")]
    assert not body.get("runtime_config", {}).get("pipeline_root")  # none given ...
    launched = kfp.launched[run.run_id]
    assert launched["pipeline_root"] == "minio://mlpipeline/v2/artifacts"  # ... not the spec's
    assert launched["parameters"] == {n: p["defaultValue"] for n, p in parameters.items()}
    assert kfp.runs[run.run_id]["state"] == "PENDING"


def test_the_stock_kfp_cli_uploads_the_yaml_and_refuses_the_job_json(kfp, spec, tmp_path):
    def kfp_cli_create(name, path):
        return subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "kfp"), "--endpoint", kfp.url]
            + ["pipeline", "create", "--pipeline-name", name, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HOME": str(tmp_path)},
        )

    result = kfp_cli_create("from-yaml", ir_path(spec))
    assert result.returncode == 0, result.stderr
    refused = kfp_cli_create("from-json", spec)
    assert refused.returncode != 0 and "Support .zip, .tar.gz or YAML" in refused.stderr
    assert [p["display_name"] for p in kfp.pipelines.values()] == ["from-yaml"]


def test_a_tfx_command_line_works_with_the_command_name_changed(kfp, tmp_path):
    """`tfx pipeline create --engine kubeflow --pipeline_path kubeflow_runner.py --endpoint URL`
    as `babyweight kfp create ...`: compiles with the settings of the environment, uploads."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BABYWEIGHT_", "KFP_"))},
        "HOME": str(tmp_path),
        "BABYWEIGHT_GCP_PROJECT": "envproj",
        "BABYWEIGHT_GCS_BUCKET": "envbkt",
        "BABYWEIGHT_TARGET": "vertex",  # overridden: KFP runs only the kfp target
    }
    tfx_line = ["--engine", "kubeflow", "--pipeline_path", str(REPO / "kubeflow_runner.py")]
    result = subprocess.run(
        [sys.executable, "-m", "babyweight", "kfp", "create", *tfx_line, "--endpoint", kfp.url],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "target kfp" in result.stdout and "pipeline 'babyweight' created" in result.stdout
    compiled = tmp_path / "babyweight_kfp.yaml"
    (upload,) = kfp.calls("POST", "/apis/v2beta1/pipelines/upload")
    assert upload.files["uploadfile"][1] == compiled.read_bytes()  # the YAML as it is
    spec = yaml.safe_load(compiled.read_text())
    assert spec["defaultPipelineRoot"] == "gs://envbkt/babyweight/pipeline_root"
    assert not [e for e in spec["deploymentSpec"]["executors"].values() if "resolver" in e]


def test_engines_other_than_kubeflow_are_named(kfp, capsys):
    assert kfp_cli.main(["list", "--engine", "vertex", "--endpoint", kfp.url]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "--engine 'vertex'" in line and "stock tfx CLI" in line
    assert not kfp.requests


def test_a_run_of_a_spec_without_defaults_fails_as_the_driver_would(kfp, spec, tmp_path):
    """The double's rule behind the tests above: a parameter with no value and no default."""
    bare = yaml.safe_load(ir_path(spec).read_text())
    del bare["root"]["inputDefinitions"]["parameters"]["train_args"]["defaultValue"]
    del bare["root"]["inputDefinitions"]["parameters"]["train_args"]["isOptional"]
    del bare["defaultPipelineRoot"]
    path = tmp_path / "no_defaults.yaml"
    path.write_text(yaml.safe_dump(bare))
    assert cli(kfp, "create", "--spec", path) == 0
    assert cli(kfp, "run") == 1  # no root anywhere: refused before the cluster default
    assert not kfp.runs
    assert cli(kfp, "run", "--pipeline-root", "gs://bkt/r") == 0
    (rid,) = kfp.runs
    assert kfp.runs[rid]["state"] == "FAILED" and "train_args" in kfp.runs[rid]["error"]["message"]
    assert kfp.launched[rid]["pipeline_root"] == "gs://bkt/r"


def test_a_root_tf_cannot_write_is_refused_in_one_line(kfp, spec, capsys):
    assert cli(kfp, "create", "--spec", spec, "--pipeline-root", "minio://mlpipeline/x") == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "pipeline root 'minio://mlpipeline/x'" in line and "use gs://BUCKET/PATH" in line
    assert not kfp.pipelines
    assert cli(kfp, "create", "--spec", spec, "--pipeline-root", "gs://bkt/new") == 0
    assert cli(kfp, "run", "--pipeline-root", "s3://b/x") == 1
    assert "cannot write s3://" in capsys.readouterr().err
    assert cli(kfp, "run") == 0
    (rid,) = kfp.runs
    assert kfp.launched[rid]["pipeline_root"] == "gs://bkt/new"  # create's root, sent by run


def test_the_double_refuses_a_spec_with_unknown_fields(kfp, spec, tmp_path, capsys):
    bare = yaml.safe_load(ir_path(spec).read_text())
    bare["pipelineRoot"] = "gs://not/a/field"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bare))
    assert cli(kfp, "create", "--spec", path) == 1
    assert "KFP answered 400" in capsys.readouterr().err
