"""kubeflow_runner.py compiles create_pipeline for OSS KFP v2 and for Vertex; the spec is read back.

Real compilation with TFX's KubeflowV2DagRunner into a temp folder, then checks on the JSON: every
component, the DAG edges of create_pipeline, the image, the Beam args, and code and file
references that resolve inside the image the Dockerfile builds. Also the stock `tfx` CLI route.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from babyweight.kfp import spec_runner

import pytest
from helpers import PIPELINE_COMPONENTS, REPO
from tfx.utils import import_utils

import kubeflow_runner
from pipeline import configs
from pipeline.pipeline import create_pipeline

IMAGE = "gcr.io/proj/babyweight-pipeline:t1"
RESOLVER = "latest_blessed_model_resolver"
BASE_FLAGS = {"project": "proj", "bucket": "bkt", "image": IMAGE}


def compile_target(tmp_path, **flags):
    cloud = configs.CloudSettings.resolve({**BASE_FLAGS, **flags}, {})
    settings = cloud.pipeline_settings()
    path = kubeflow_runner.compile_pipeline(cloud, settings, tmp_path / f"{cloud.target}.json")
    return json.loads(path.read_text()), settings


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("specs")
    return {target: compile_target(tmp, target=target) for target in ("kfp", "vertex")}


def tasks(job):
    return job["pipelineSpec"]["root"]["dag"]["tasks"]


def executors(job):
    return job["pipelineSpec"]["deploymentSpec"]["executors"]


def node_of(task_name: str) -> str:
    """Spec task -> create_pipeline node id (the resolver compiles to two resolver tasks)."""
    return task_name.split("-")[0]


def parameter(job, task, name):
    return tasks(job)[task]["inputs"]["parameters"][name]["runtimeValue"]["constant"]


@pytest.mark.parametrize("target", ["kfp", "vertex"])
def test_every_component_is_a_task_wired_as_in_create_pipeline(compiled, target):
    job, settings = compiled[target]
    spec = job["pipelineSpec"]
    expected = [c for c in PIPELINE_COMPONENTS if target == "vertex" or c != RESOLVER]
    expected[expected.index("CsvExampleGen")] = "BigQueryExampleGen"  # the cloud default source
    assert sorted({node_of(t) for t in tasks(job)}) == sorted(expected)
    pipeline = create_pipeline(settings)
    by_node: dict[str, set[str]] = {}
    for name, task in tasks(job).items():
        ups = {node_of(u) for u in spec_runner.upstream_tasks(task)} - {node_of(name)}
        by_node.setdefault(node_of(name), set()).update(ups)
    for component in pipeline.components:  # the same edges, the gate before Transform included
        assert by_node[component.id] == {u.id for u in component.upstream_nodes}, component.id
    order = spec_runner.task_order(spec)
    for name in order:  # dependency order: every task after its upstream tasks
        upstream = spec_runner.upstream_tasks(tasks(job)[name])
        assert all(order.index(u) < order.index(name) for u in upstream)
    assert node_of(order[0]) in ("BigQueryExampleGen", "ImportSchemaGen")
    assert order[-1] == "Pusher"


def test_oss_kfp_has_no_resolver_and_only_the_absolute_threshold(compiled):
    job, _ = compiled["kfp"]
    assert not [n for n, e in executors(job).items() if "resolver" in e]
    assert "baseline_model" not in tasks(job)["Evaluator"]["inputs"]["artifacts"]
    config = json.loads(parameter(job, "Evaluator", "eval_config"))
    (rmse,) = [m for m in config["metrics_specs"][0]["metrics"] if "per_slice_thresholds" in m]
    threshold = rmse["per_slice_thresholds"][0]["threshold"]
    assert threshold == {"value_threshold": {"upper_bound": configs.RMSE_UPPER_BOUND}}


def test_vertex_has_the_resolver_and_the_baseline(compiled):
    job, _ = compiled["vertex"]
    resolvers = sorted(n for n, t in tasks(job).items() if node_of(n) == RESOLVER)
    assert resolvers and all("resolver" in executors(job)[f"{n}_executor"] for n in resolvers)
    baseline = tasks(job)["Evaluator"]["inputs"]["artifacts"]["baseline_model"]
    assert node_of(baseline["taskOutputArtifact"]["producerTask"]) == RESOLVER
    config = json.loads(parameter(job, "Evaluator", "eval_config"))
    (rmse,) = [m for m in config["metrics_specs"][0]["metrics"] if "per_slice_thresholds" in m]
    change = rmse["per_slice_thresholds"][0]["threshold"]["change_threshold"]
    assert change["absolute"] == configs.BASELINE_RMSE_TOLERANCE


@pytest.mark.parametrize("target", ["kfp", "vertex"])
def test_every_task_runs_the_image_with_dataflow_beam_args(compiled, target):
    job, _ = compiled[target]
    containers = [e["container"] for e in executors(job).values() if "container" in e]
    assert len(containers) == len([n for n in tasks(job) if node_of(n) != RESOLVER])
    dataflow = [
        "--runner=DataflowRunner",
        "--project=proj",
        f"--region={configs.GCP_REGION}",
        "--temp_location=gs://bkt/babyweight/tmp",
        f"--sdk_container_image={IMAGE}",
    ]
    for container in containers:
        assert container["image"] == IMAGE
        assert container["command"][:2] == ["python", "-m"]
        assert set(dataflow) <= set(container["args"])
        # The recorded entrypoint and executor classes exist in this TFX (the image's version).
        import_utils.import_func_from_module(container["command"][2], "main")
        args = container["args"]
        if "--executor_class_path" in args:
            import_utils.import_class_by_path(args[args.index("--executor_class_path") + 1])
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://bkt/babyweight/pipeline_root"


def dockerfile():
    text = (REPO / "Dockerfile").read_text()
    workdir = re.findall(r"^WORKDIR\s+(\S+)", text, re.M)[-1]
    copied = set()
    for line in re.findall(r"^COPY\s+(.+)$", text, re.M):
        *sources, _ = line.split()
        copied.update(s.rstrip("/") for s in sources)
    return text, workdir, copied


@pytest.mark.parametrize("target", ["kfp", "vertex"])
def test_code_and_files_the_spec_names_resolve_inside_the_image(compiled, target):
    job, _ = compiled[target]
    _, workdir, copied = dockerfile()
    references = [
        parameter(job, "Trainer", "run_fn"),
        parameter(job, "Transform", "preprocessing_fn"),
    ]
    assert references == [configs.RUN_FN, configs.PREPROCESSING_FN]
    gate = executors(job)["DataValidationGate_executor"]["container"]["args"]
    references.append(gate[gate.index("--executor_class_path") + 1])
    for dotted in references:
        module = dotted.split(".")[0]
        assert module in copied or f"{module}.py" in copied, f"{dotted}: not in the image"
        import_utils.import_class_by_path(dotted)  # and it resolves in the project
    schema = parameter(job, "ImportSchemaGen", "schema_file")
    assert schema == configs.IMAGE_SCHEMA_PATH
    assert workdir == configs.IMAGE_PROJECT_DIR and schema.startswith(workdir + "/")
    relative = schema[len(workdir) + 1 :]
    assert relative.split("/")[0] in copied and (REPO / relative).is_file()


def test_dockerfile_builds_from_the_pinned_tfx_and_copies_the_project():
    text, workdir, copied = dockerfile()
    # The exact pins of pyproject.toml's dependencies, e.g. "tfx[kfp]==1.16.0".
    pyproject = (REPO / "pyproject.toml").read_text()
    pins = dict(re.findall(r'^\s*"([\w\-\[\]]+)==([^"]+)"', pyproject, re.M))
    (base,) = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert base == f"tensorflow/tfx:{pins['tfx[kfp]']}"
    assert {"models", "pipeline", "preprocessing.py", "babyweight", "pyproject.toml"} <= copied
    for path in copied:
        assert (REPO / path).exists(), f"the Dockerfile copies {path}, which is not in the repo"
    assert re.search(r"^ENV\s+TF_USE_LEGACY_KERAS=1", text, re.M)
    for package in ("tf-keras", "keras-tuner"):  # the image's pins are the project's
        assert f'"{package}=={pins[package]}"' in text


def test_csv_source_and_direct_runner(tmp_path):
    job, _ = compile_target(
        tmp_path, target="kfp", data_source="csv", beam_runner="direct", bigquery_limit=None
    )
    assert parameter(job, "CsvExampleGen", "input_base") == "gs://bkt/babyweight/data"
    for e in executors(job).values():
        args = e["container"]["args"]
        assert "--direct_num_workers=1" in args and "--runner=DataflowRunner" not in args


def bigquery_query(job) -> str:
    (split,) = json.loads(parameter(job, "BigQueryExampleGen", "input_config"))["splits"]
    return split["pattern"]


def test_bigquery_source_reads_the_configured_table(compiled, tmp_path):
    job, _ = compiled["vertex"]
    assert "FROM `bigquery-public-data.samples.natality`" in bigquery_query(job)
    job, _ = compile_target(tmp_path, target="vertex", bigquery_table="p.d.t", bigquery_limit=500)
    query = bigquery_query(job)
    assert "FROM `p.d.t`" in query and query.endswith("LIMIT 500")


def test_main_reads_the_environment_flags_win_and_says_what_the_target_drops(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("BABYWEIGHT_TARGET", "vertex")
    monkeypatch.setenv("BABYWEIGHT_GCP_PROJECT", "envproj")
    monkeypatch.setenv("BABYWEIGHT_GCS_BUCKET", "gs://envbkt")
    monkeypatch.setenv("BABYWEIGHT_TRAIN_STEPS", "77")
    out = tmp_path / "spec.json"
    assert kubeflow_runner.main(["--target", "kfp", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "target kfp" in printed and "no latest_blessed_model_resolver" in printed
    job = json.loads(out.read_text())
    assert json.loads(parameter(job, "Trainer", "train_args")) == {"num_steps": 77}
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://envbkt/babyweight/pipeline_root"
    image = executors(job)["Trainer_executor"]["container"]["image"]
    assert image == "gcr.io/envproj/babyweight-pipeline:latest"


@pytest.mark.parametrize(
    "flags, env, message",
    [
        ({"target": "kubeflow"}, {}, r"target='kubeflow'"),
        ({}, {"BABYWEIGHT_TARGET": "airflow"}, r"target='airflow'"),
        (
            {"bucket": None},
            {},
            r"pipeline_root is not set \(--pipeline-root",
        ),
        ({"project": None}, {}, r"project is not set \(--project or BABYWEIGHT_GCP_PROJECT\)"),
        ({"target": "vertex", "pipeline_root": "/tmp/x"}, {}, r"pipeline_root='/tmp/x'.*gs://"),
        ({"temp_location": "/tmp/t"}, {}, r"temp_location='/tmp/t'"),
        ({}, {"BABYWEIGHT_TRAIN_STEPS": "many"}, r"BABYWEIGHT_TRAIN_STEPS='many'"),
        ({"data_source": "csv", "bucket": None, "pipeline_root": "r"}, {}, r"serving_model_dir"),
    ],
)
def test_bad_cloud_settings_are_named(flags, env, message):
    with pytest.raises(ValueError, match=message):
        configs.CloudSettings.resolve({**BASE_FLAGS, **flags}, env)


def test_main_reports_a_bad_setting_in_one_line(tmp_path, monkeypatch, capsys):
    for name in configs.CLOUD_ENV.values():
        monkeypatch.delenv(name, raising=False)
    assert kubeflow_runner.main(["--output", str(tmp_path / "x.json")]) == 2
    assert "pipeline_root is not set" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_stock_tfx_cli_compiles_and_creates_for_vertex(tmp_path):
    """`tfx pipeline compile/create --engine vertex --pipeline_path kubeflow_runner.py` works."""
    env = {
        **os.environ,
        # As in an activated environment: the CLI runs `pip freeze` to find kfp.
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
        "BABYWEIGHT_GCP_PROJECT": "proj",
        "BABYWEIGHT_GCS_BUCKET": "bkt",
        "VERTEX_HOME": str(tmp_path / "vertex_home"),
    }
    path = str(REPO / "kubeflow_runner.py")
    printed = {}
    for verb in ("compile", "create"):
        result = subprocess.run(
            ["tfx", "pipeline", verb, "--engine", "vertex", "--pipeline_path", path],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        printed[verb] = result.stdout
    assert "Pipeline babyweight compiled successfully" in printed["compile"]
    assert 'Pipeline "babyweight" created successfully' in printed["create"]
    home = tmp_path / "vertex_home"
    for spec_file in (tmp_path / "babyweight_vertex.json", home / "babyweight" / "pipeline.json"):
        job = json.loads(spec_file.read_text())
        assert any(node_of(t) == RESOLVER for t in tasks(job))  # the default target: Vertex
        assert executors(job)["Trainer_executor"]["container"]["image"].startswith("gcr.io/proj/")
