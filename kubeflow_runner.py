"""Compile the babyweight pipeline for Kubeflow Pipelines v2 or Vertex AI Pipelines.

The same `create_pipeline` as local_runner.py, compiled by TFX's KubeflowV2DagRunner into two
files of one pipeline: babyweight_TARGET.json, the PipelineJob that Vertex submits, and beside it
babyweight_TARGET.yaml, the bare pipeline spec (KFP IR YAML) that a KFP server uploads as it is
(its UI, `kfp pipeline create`, `babyweight kfp create`). Both carry the pipeline root
(`defaultPipelineRoot`) and the pipeline parameters with their defaults. Two targets:

    vertex  Vertex AI Pipelines (the default; what the stock `tfx` CLI compiles): the baseline
            resolver, whose latest blessed model is also the Trainer's warm start; Vertex runs
            no other resolver strategy, so the drift gate between spans is left out
    kfp     an OSS KFP v2 endpoint (AI Platform Pipelines / Kubeflow): KFP cannot run TFX's
            Resolver nodes, so there is no baseline (the Evaluator keeps only its absolute
            threshold), no warm start (the Trainer trains from scratch) and no drift gate

With --source csv, CsvExampleGen reads one span of the data root (span-N/ directories) per run,
chosen by the `range_config` pipeline parameter: the latest by default, so a recurring run
(a Vertex schedule, a KFP recurring run) trains on each new span as it lands.

    python kubeflow_runner.py --target vertex --project P --bucket B
    python kubeflow_runner.py --target kfp --project P --bucket B --image gcr.io/P/bw:1
    tfx pipeline compile --engine vertex --pipeline_path kubeflow_runner.py   # settings from env

Every flag has an environment variable (pipeline/configs.py, CLOUD_ENV), so the stock `tfx` CLI,
which runs this file without arguments, gets the same settings. Upload and run a compiled KFP
spec with `babyweight kfp` (babyweight/kfp/client.py); run it here, task by task, with
`babyweight kfp-spec-run`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from babyweight.kfp import spec_patch
from babyweight.kfp.spec import ir_path

import yaml

from pipeline import configs

# Tasks that KFP / Vertex must never take from their cache. BigQueryExampleGen's inputs are a
# constant query, so its cache key would not change when the table does: a rerun would reuse the
# old examples and never read new rows. (CsvExampleGen's driver fingerprints the files, so its
# cache key does change with the data.) TFX sets one cache flag for every task; this unsets it.
NEVER_CACHED = ("BigQueryExampleGen",)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compile the babyweight pipeline to a KFP v2 / Vertex pipeline spec.",
        epilog="Each flag can be set by the environment variable named in its help.",
    )

    def add(flag: str, field: str, help: str, **kwargs) -> None:
        parser.add_argument(flag, dest=field, help=f"{help} [{configs.CLOUD_ENV[field]}]", **kwargs)

    add("--target", "target", f"one of {sorted(configs.KFP_TARGETS)}", choices=configs.KFP_TARGETS)
    add("--project", "project", "GCP project (Dataflow, BigQuery, default image)")
    add("--region", "region", f"GCP region (default {configs.GCP_REGION})")
    add("--bucket", "bucket", "GCS bucket: the default for every gs:// path below")
    add("--pipeline-root", "pipeline_root", "where components write artifacts")
    add("--serving-model-dir", "serving_model_dir", "where the Pusher copies blessed models")
    add("--image", "image", f"pipeline image (default {configs.DEFAULT_IMAGE})")
    add("--temp-location", "temp_location", "gs:// temp location for Dataflow and BigQuery")
    add("--source", "data_source", "bigquery (default) or csv", choices=configs.DATA_SOURCES)
    add("--data-root", "data_root", "directory of staged CSV files, for --source csv")
    add("--bq-table", "bigquery_table", f"BigQuery table (default {configs.BIGQUERY_TABLE})")
    add("--bq-limit", "bigquery_limit", "read at most this many rows", type=int)
    runners = configs.BEAM_RUNNERS
    add("--beam-runner", "beam_runner", "dataflow (default) or direct", choices=runners)
    add("--schema-path", "schema_path", f"schema file (default {configs.IMAGE_SCHEMA_PATH})")
    add("--train-steps", "train_steps", f"default {configs.TRAIN_STEPS}", type=int)
    add("--eval-steps", "eval_steps", f"default {configs.EVAL_STEPS}", type=int)
    parser.add_argument("--tune", action="store_true", help="run the Tuner before the Trainer")
    parser.add_argument("--no-cache", action="store_true", help="compile with caching off")
    parser.add_argument(
        "--output",
        type=Path,
        help=f"spec file to write (default {configs.KFP_SPEC_FILE.format(target='TARGET')})",
    )
    return parser.parse_args(argv)


def compile_pipeline(
    cloud: configs.CloudSettings, settings: configs.PipelineSettings, output: Path
) -> Path:
    """Write the PipelineJob JSON of `create_pipeline(settings)` to `output`, and the bare
    pipeline spec YAML beside it (ir_path); return `output`."""
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner as kv2

    from pipeline.pipeline import create_pipeline

    runner = kv2.KubeflowV2DagRunner(
        config=kv2.KubeflowV2DagRunnerConfig(default_image=cloud.image, use_pipeline_spec_2_1=True),
        output_dir=str(output.parent),
        output_filename=output.name,
    )
    pipeline = create_pipeline(settings)
    runner.run(pipeline)
    # `tfx pipeline create --engine vertex` points the runner at its own file and uploads that
    # one after run(): finish the file wherever the runner wrote it.
    written = Path(runner._output_dir) / runner._output_filename
    if written.is_file():
        finish_spec(written, runtime_parameters(pipeline), cloud.target)
    return output


def runtime_parameters(pipeline) -> dict:
    """{name: RuntimeParameter} of the pipeline's components."""
    from tfx.orchestration import data_types

    return {
        value.name: value
        for component in pipeline.components
        for value in component.exec_properties.values()
        if isinstance(value, data_types.RuntimeParameter)
    }


def finish_spec(path: Path, parameters: dict, target: str = "vertex") -> None:
    """What TFX's compiler leaves out, so that a run started anywhere behaves as compiled: the
    pipeline root as the spec's defaultPipelineRoot, each parameter's default and description,
    no cache for NEVER_CACHED; then the bare spec as YAML beside the PipelineJob JSON."""
    from pipeline.pipeline import RUN_PARAMETERS

    job = json.loads(path.read_text())
    spec = job["pipelineSpec"]
    spec["defaultPipelineRoot"] = job["runtimeConfig"]["gcsOutputDirectory"]
    definitions = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    for name, definition in definitions.items():
        definition["defaultValue"] = parameters[name].default
        definition["isOptional"] = True
        definition["description"] = RUN_PARAMETERS[name]
    for name, task in spec["root"]["dag"]["tasks"].items():
        if name in NEVER_CACHED:
            task["cachingOptions"] = {"enableCache": False}
    if target == "kfp":  # what OSS KFP's launcher needs (babyweight/kfp/spec_patch.py)
        spec_patch.for_oss_kfp(spec)
    path.write_text(json.dumps(job, indent=2, sort_keys=True) + "\n")
    header = (
        f"# {spec['pipelineInfo']['name']}: KFP pipeline spec compiled by kubeflow_runner.py "
        f"({spec.get('sdkVersion', 'tfx')}); upload this file as it is.\n"
    )
    ir_path(path).write_text(header + yaml.safe_dump(spec, sort_keys=True, width=100))


def left_out(cloud: configs.CloudSettings, settings: configs.PipelineSettings) -> list[str]:
    """What the target cannot run of the local DAG, in words (pipeline/resolvers.py)."""
    lines = []
    if not cloud.use_baseline:
        lines.append(
            "no latest_blessed_model_resolver; blessing needs only RMSE < "
            f"{settings.rmse_upper_bound} on the Overall slice"
        )
        lines.append("no warm start: the Trainer trains from scratch (no resolver to find a model)")
    else:
        lines.append("warm start from the latest blessed model (latest_blessed_model_resolver)")
    lines.append(
        "no drift gate between spans: its resolver of the previous span's statistics runs only "
        "locally (local_runner.py)"
    )
    if settings.data_source == "csv":
        lines.append(
            f"CsvExampleGen reads {settings.data_root}/span-N/, the span set by the range_config "
            "parameter (default: the latest)"
        )
    return lines


def main(argv=None) -> int:
    args = parse_args(argv)
    flags = {name: getattr(args, name) for name in configs.CLOUD_ENV}
    try:
        cloud = configs.CloudSettings.resolve(flags, os.environ)
        settings = cloud.pipeline_settings(enable_tuning=args.tune, enable_cache=not args.no_cache)
    except ValueError as e:
        print(f"kubeflow_runner: {e}", file=sys.stderr)
        return 2
    output = (args.output or Path(configs.KFP_SPEC_FILE.format(target=cloud.target))).resolve()
    compile_pipeline(cloud, settings, output)
    print(f"target {cloud.target}: {configs.KFP_TARGETS[cloud.target]}")
    for line in left_out(cloud, settings):
        print(f"  {line}")
    print(f"  image {cloud.image}; Beam on {cloud.beam_runner}; root {cloud.pipeline_root}")
    uncached = " (BigQueryExampleGen: never, it reads the table anew)" * (
        cloud.data_source == "bigquery" and not args.no_cache
    )
    print(f"  cache {'off' if args.no_cache else 'on'}{uncached}")
    print(f"compiled to {output} (PipelineJob, for Vertex)")
    print(f"        and {ir_path(output)} (pipeline spec, to upload to KFP)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
