"""kubeflow_runner.py compiles create_pipeline for OSS KFP v2 and for Vertex; the spec is read back.

Real compilation with TFX's KubeflowV2DagRunner into a temp folder, then checks on the JSON and the
YAML beside it: strict PipelineSpec parsing (and aiplatform's PipelineJob, offline), every
component, the DAG edges of create_pipeline, the pipeline root and parameters a run gets, the
report steps' KFP UI types, the image, the Beam args, and code and file references that resolve
inside the image the Dockerfile builds. Also the stock `tfx` CLI route.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from babyweight.kfp import spec_patch, spec_runner
from babyweight.kfp.spec import ir_path

import pytest
import yaml
from google.protobuf import json_format
from helpers import LOCAL_ONLY, PIPELINE_COMPONENTS, REPO
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.utils import import_utils

import kubeflow_runner
from pipeline import configs
from pipeline.pipeline import RUN_PARAMETERS, bigquery_input_config, create_pipeline

IMAGE = "gcr.io/proj/babyweight-pipeline:t1"
RESOLVER = "latest_blessed_model_resolver"
BASE_FLAGS = {"project": "proj", "bucket": "bkt", "image": IMAGE}


KFP_BASELINE_TASKS = ["baseline_model", "base_model", "previous_span_statistics", "RecordPush"]


def compile_target(tmp_path, **flags):
    cloud = configs.CloudSettings.resolve({**BASE_FLAGS, **flags}, {})
    settings = cloud.pipeline_settings()
    path = kubeflow_runner.compile_pipeline(cloud, settings, tmp_path / f"{cloud.target}.json")
    return json.loads(path.read_text()), settings


def defaults(job) -> dict:
    """The pipeline parameters' defaults: what a run gets unless it sets them."""
    parameters = job["pipelineSpec"]["root"]["inputDefinitions"]["parameters"]
    return {name: p["defaultValue"] for name, p in parameters.items()}


def pipeline_parameter(job, task, name):
    """The default of the pipeline parameter that feeds a task's input parameter."""
    ref = tasks(job)[task]["inputs"]["parameters"][name]
    return defaults(job)[ref["componentInputParameter"]]


@pytest.fixture(scope="module")
def spec_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("specs")


@pytest.fixture(scope="module")
def compiled(spec_dir):
    """{target: (PipelineJob dict, settings)}; the files are spec_dir/TARGET.json and .yaml."""
    return {target: compile_target(spec_dir, target=target) for target in ("kfp", "vertex")}


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
    if target == "vertex":
        expected = [c for c in PIPELINE_COMPONENTS if c not in LOCAL_ONLY]
    else:  # pipeline/baseline.py's tasks in place of the resolvers
        expected = [c for c in PIPELINE_COMPONENTS if "resolver" not in c] + KFP_BASELINE_TASKS
        expected.append(spec_patch.RESOLVE_TASK)  # not a component: the spec's own (spec_patch)
    expected[expected.index("CsvExampleGen")] = "BigQueryExampleGen"  # the cloud default source
    assert sorted({node_of(t) for t in tasks(job)}) == sorted(expected)
    pipeline = create_pipeline(settings)
    by_node: dict[str, set[str]] = {}
    for name, task in tasks(job).items():
        ups = {node_of(u) for u in spec_runner.upstream_tasks(task)} - {node_of(name)}
        ups -= {spec_patch.RESOLVE_TASK}  # checked in test_oss_kfp_with_bigquery_...
        by_node.setdefault(node_of(name), set()).update(ups)
    for component in pipeline.components:  # the same edges, the gate before Transform included
        assert by_node[component.id] == {u.id for u in component.upstream_nodes}, component.id
    order = spec_runner.task_order(spec)
    for name in order:  # dependency order: every task after its upstream tasks
        upstream = spec_runner.upstream_tasks(tasks(job)[name])
        assert all(order.index(u) < order.index(name) for u in upstream)
    assert node_of(order[0]) in ("BigQueryExampleGen", "ImportSchemaGen", spec_patch.RESOLVE_TASK)
    assert set(order[-2:]) <= {"Pusher", "RunReport", "RecordPush"}  # after the Evaluator


def test_oss_kfp_has_no_resolver_but_a_baseline_warm_start_and_drift_gate(tmp_path):
    job, settings = compile_target(tmp_path, target="kfp", data_source="csv", bigquery_limit=None)
    cloud = configs.CloudSettings.resolve(
        {**BASE_FLAGS, "target": "kfp", "data_source": "csv", "bigquery_limit": None}, {}
    )
    said = " ".join(kubeflow_runner.left_out(cloud, settings))
    assert "ResolveSpan reads the baseline, the warm start and the previous span's" in said
    assert "no drift gate" not in said and "no warm start" not in said
    assert not [n for n, e in executors(job).items() if "resolver" in e]
    wired = {
        "Evaluator": ("baseline_model", "baseline_model"),
        "Trainer": ("base_model", "base_model"),
        "DistributionValidator": ("baseline_statistics", "previous_span_statistics"),
    }
    for task, (key, producer) in wired.items():
        given = tasks(job)[task]["inputs"]["artifacts"][key]["taskOutputArtifact"]
        assert given["producerTask"] == producer
        source = tasks(job)[producer]["inputs"]["parameters"]["source"]
        assert source["taskOutputParameter"]["producerTask"] == "ResolveSpan"
    config = json.loads(parameter(job, "Evaluator", "eval_config"))
    (rmse,) = [m for m in config["metrics_specs"][0]["metrics"] if "per_slice_thresholds" in m]
    threshold = rmse["per_slice_thresholds"][0]["threshold"]
    assert threshold["value_threshold"] == {"upper_bound": configs.RMSE_UPPER_BOUND}
    assert threshold["change_threshold"]["direction"] == "LOWER_IS_BETTER"


def test_oss_kfp_with_bigquery_numbers_each_read_for_the_baseline_warm_start_and_drift(compiled):
    """BigQuery has no spans: the never-cached ResolveSpan gets the query and the push
    destination, numbers the read (resolve_span.py) and feeds BigQueryExampleGen and the
    choice tasks, as it does with --source csv."""
    job, settings = compiled["kfp"]
    assert settings.data_source == "bigquery"
    resolve = tasks(job)[spec_patch.RESOLVE_TASK]
    assert resolve["cachingOptions"] == {"enableCache": False}
    given = resolve["inputs"]["parameters"]
    assert given["input_config"] == {"componentInputParameter": "bigquery_input_config"}
    assert given["serving_model_dir"]["runtimeValue"]["constant"] == settings.serving_model_dir
    assert "input_base" not in given
    command = executors(job)[f"{spec_patch.RESOLVE_TASK}_executor"]["container"]["command"]
    assert command == spec_patch.RESOLVE_COMMAND
    wired = tasks(job)["BigQueryExampleGen"]["inputs"]["parameters"]
    for key in ("input_config", "span", "input_fingerprint"):
        assert wired[key]["taskOutputParameter"]["producerTask"] == spec_patch.RESOLVE_TASK
    for name in spec_patch.CHOICE_TASKS:
        source = tasks(job)[name]["inputs"]["parameters"]["source"]["taskOutputParameter"]
        assert source["producerTask"] == spec_patch.RESOLVE_TASK
    args = executors(job)["BigQueryExampleGen_executor"]["container"]["args"]
    declared = json.loads(args[args.index("--json_serialized_inputs_spec_args") + 1])
    assert declared["parameters"]["span"] == {"parameterType": "NUMBER_INTEGER"}


def test_vertex_has_the_resolver_and_the_baseline(compiled):
    job, _ = compiled["vertex"]
    resolvers = sorted(n for n, t in tasks(job).items() if node_of(n) == RESOLVER)
    assert resolvers and all("resolver" in executors(job)[f"{n}_executor"] for n in resolvers)
    baseline = tasks(job)["Evaluator"]["inputs"]["artifacts"]["baseline_model"]
    assert node_of(baseline["taskOutputArtifact"]["producerTask"]) == RESOLVER
    # The same latest blessed model is the Trainer's warm start (Vertex runs no other strategy).
    base = tasks(job)["Trainer"]["inputs"]["artifacts"]["base_model"]
    assert base["taskOutputArtifact"] == baseline["taskOutputArtifact"]
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
        no_beam = container["command"] == spec_patch.RESOLVE_COMMAND  # ResolveSpan runs no Beam
        assert no_beam or set(dataflow) <= set(container["args"])
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


@pytest.mark.parametrize("target", ["kfp", "vertex"])
def test_both_files_parse_strictly_as_pipeline_specs_and_as_vertex_jobs(compiled, spec_dir, target):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    job, _ = compiled[target]
    path = spec_dir / f"{target}.json"
    ir = yaml.safe_load(ir_path(path).read_text())
    assert ir == job["pipelineSpec"]  # the YAML is the bare spec of the same pipeline
    for spec in (job["pipelineSpec"], ir):
        json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())  # unknown fields refused
    for template in (path, ir_path(path)):
        vertex_job = aiplatform.PipelineJob(
            display_name="babyweight",
            template_path=str(template),
            project="proj",
            location=configs.GCP_REGION,
            credentials=AnonymousCredentials(),
        )
        config = vertex_job._gca_resource.runtime_config
        assert config.gcs_output_directory == "gs://bkt/babyweight/pipeline_root"


@pytest.mark.parametrize("target", ["kfp", "vertex"])
def test_a_run_started_anywhere_gets_the_root_and_the_parameters(compiled, target):
    job, settings = compiled[target]
    spec = job["pipelineSpec"]
    assert spec["defaultPipelineRoot"] == job["runtimeConfig"]["gcsOutputDirectory"]
    assert spec["defaultPipelineRoot"] == settings.pipeline_root
    assert defaults(job) == {
        "train_args": json.dumps({"num_steps": settings.train_steps}),
        "eval_args": json.dumps({"num_steps": settings.eval_steps}),
        "bigquery_input_config": json.dumps(bigquery_input_config(settings)),
    }
    for name, definition in spec["root"]["inputDefinitions"]["parameters"].items():
        assert definition["isOptional"] and definition["description"] == RUN_PARAMETERS[name]
    trainer = tasks(job)["Trainer"]["inputs"]["parameters"]
    assert trainer["train_args"] == {"componentInputParameter": "train_args"}
    assert trainer["eval_args"] == {"componentInputParameter": "eval_args"}


def test_bigquery_examples_are_never_taken_from_the_cache(compiled, tmp_path):
    job, _ = compiled["kfp"]
    caching = {name: task.get("cachingOptions") for name, task in tasks(job).items()}
    assert caching.pop("BigQueryExampleGen") == {"enableCache": False}
    assert caching.pop("ResolveSpan") == {"enableCache": False}
    assert set(map(str, caching.values())) == {str({"enableCache": True})}
    job, _ = compile_target(tmp_path, target="kfp", data_source="csv")
    assert tasks(job)["CsvExampleGen"]["cachingOptions"] == {"enableCache": True}  # fingerprinted


@pytest.mark.parametrize("target", ["kfp", "vertex"])
def test_report_outputs_have_the_types_the_kfp_ui_renders(compiled, target):
    job, _ = compiled[target]
    spec = job["pipelineSpec"]

    def outputs(task):
        component = spec["components"][tasks(job)[task]["componentRef"]["name"]]
        artifacts = component["outputDefinitions"]["artifacts"]
        return {key: spec_runner.type_title(a["artifactType"]) for key, a in artifacts.items()}

    assert outputs("RunReport") == {
        "html": "system.HTML",
        "markdown": "system.Markdown",
        "metrics": "system.Metrics",
    }
    assert outputs("DataReport") == {"html": "system.HTML", "markdown": "system.Markdown"}
    # The report reads the Evaluator's outputs; the data report runs before the gate can stop.
    report_inputs = tasks(job)["RunReport"]["inputs"]["artifacts"]
    assert report_inputs["evaluation"]["taskOutputArtifact"]["producerTask"] == "Evaluator"
    assert report_inputs["blessing"]["taskOutputArtifact"]["producerTask"] == "Evaluator"
    assert "DataReport" in tasks(job)["DataValidationGate"]["dependentTasks"]
    # TFX's entrypoint imports a custom type from its title: it must resolve in the image too.
    _, _, copied = dockerfile()
    for title in outputs("RunReport").values():
        assert import_utils.import_class_by_path(title).TYPE_NAME == title
        assert f"{title.split('.')[0]}.py" in copied


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
    assert pipeline_parameter(job, "CsvExampleGen", "input_base") == "gs://bkt/babyweight/data"
    # One span per run: the latest under the data root, unless the run's range_config says.
    latest = json.loads(pipeline_parameter(job, "CsvExampleGen", "range_config"))
    assert latest == {"rolling_range": {"num_spans": 1}}
    # On KFP the never-cached ResolveSpan task resolves the pattern (babyweight/kfp/spec_patch.py)
    (split,) = json.loads(parameter(job, "ResolveSpan", "input_config"))["splits"]
    assert split["pattern"] == "span-{SPAN}/*.csv"
    described = job["pipelineSpec"]["root"]["inputDefinitions"]["parameters"]["range_config"]
    assert "static_range" in described["description"]
    for label, e in executors(job).items():
        args = e["container"]["args"]
        if label == "ResolveSpan_executor":
            continue  # no Beam in it
        assert "--direct_num_workers=1" in args and "--runner=DataflowRunner" not in args


def bigquery_query(job) -> str:
    config = pipeline_parameter(job, "BigQueryExampleGen", "input_config")
    (split,) = json.loads(config)["splits"]
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
    assert "target kfp" in printed and "no Resolver nodes (OSS KFP refuses them)" in printed
    assert "BigQuery has no spans: ResolveSpan numbers each read" in printed  # the default
    job = json.loads(out.read_text())
    assert json.loads(pipeline_parameter(job, "Trainer", "train_args")) == {"num_steps": 77}
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


# The flags of kubeflow_runner.py before the settings were declared once (issue 21).
FLAGS = [
    "--beam-runner", "--bq-limit", "--bq-table", "--bucket", "--data-root", "--eval-steps",
    "--help", "--image", "--no-cache", "--output", "--pipeline-root", "--prediction-table-rows",
    "--project", "--region",
    "--schema-path", "--serving-model-dir", "--source", "--target", "--temp-location",
    "--train-steps", "--tune", "-h",
]  # fmt: skip


def test_every_flag_keeps_its_spelling_and_names_its_variable():
    parser = kubeflow_runner.build_parser()
    assert sorted(o for a in parser._actions for o in a.option_strings) == FLAGS
    args = parser.parse_args([])
    help_text = " ".join(parser.format_help().split())
    for setting in configs.settings_of(configs.KUBEFLOW):
        assert getattr(args, setting.name) is None  # not given: the variable or default applies
        if setting.env:
            assert f"[{setting.env}]" in help_text


def test_main_reports_a_bad_setting_in_one_line(tmp_path, monkeypatch, capsys):
    for name in configs.CLOUD_ENV.values():
        monkeypatch.delenv(name, raising=False)
    assert kubeflow_runner.main(["--output", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert "pipeline_root is not set" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.json").exists()


def test_three_missing_settings_are_named_in_one_error(tmp_path, monkeypatch, capsys):
    """Root, serving directory and image missing: one attempt names all three, and how to set
    each, instead of three compiles that each name one."""
    for name in configs.CLOUD_ENV.values():
        monkeypatch.delenv(name, raising=False)
    argv = ["--target", "kfp", "--source", "csv", "--data-root", "/data", "--beam-runner", "direct"]
    assert kubeflow_runner.main([*argv, "--output", str(tmp_path / "x.json")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("kubeflow_runner: 3 setting(s) to fix: ")
    for field, flag in [
        ("pipeline_root", "--pipeline-root"),
        ("serving_model_dir", "--serving-model-dir"),
        ("image", "--image"),
    ]:
        assert f"{field} is not set ({flag} or {configs.CLOUD_ENV[field]})" in line
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
        # The file the tfx CLI submits is finished too: root and parameter defaults in it.
        assert job["pipelineSpec"]["defaultPipelineRoot"] == "gs://bkt/babyweight/pipeline_root"
        assert json.loads(defaults(job)["train_args"]) == {"num_steps": configs.TRAIN_STEPS}
