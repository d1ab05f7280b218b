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
            Resolver nodes; the never-cached ResolveSpan task finds the baseline, the warm start
            and the previous span's statistics in the push destination and its state record
            (pipeline/baseline.py); with BigQuery, which has no spans, each read of the table is
            numbered as the run's span

With --source csv, CsvExampleGen reads one span of the data root (span-N/ directories) per run,
chosen by the `range_config` pipeline parameter: the latest by default, so a recurring run
(a Vertex schedule, a KFP recurring run) trains on each new span as it lands.

    python kubeflow_runner.py --target vertex --project P --bucket B
    python kubeflow_runner.py --target kfp --project P --bucket B --image gcr.io/P/bw:1
    tfx pipeline compile --engine vertex --pipeline_path kubeflow_runner.py   # settings from env

The flags are made from pipeline/configs.py (SETTINGS); each setting has an environment variable
(CLOUD_ENV), so the stock `tfx` CLI, which runs this file without arguments, gets the same
settings. Upload and run a compiled KFP spec with `babyweight kfp` (babyweight/kfp/client.py);
run it here, task by task, with `babyweight kfp-spec-run`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from babyweight.errors import ExitCode
from babyweight.kfp import spec_patch
from babyweight.kfp.spec import ir_path

import yaml

from pipeline import configs

# Tasks that KFP / Vertex must never take from their cache. BigQueryExampleGen's inputs are a
# constant query, so its cache key would not change when the table does: a rerun would reuse the
# old examples and never read new rows. (CsvExampleGen's driver fingerprints the files, so its
# cache key does change with the data.) TFX sets one cache flag for every task; this unsets it.
NEVER_CACHED = ("BigQueryExampleGen",)


PROG = "kubeflow_runner"


def build_parser() -> argparse.ArgumentParser:
    """kubeflow_runner.py's parser: one flag per kubeflow setting of pipeline/configs.py, each
    unset by default so that its environment variable, then its default, can apply."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Compile the babyweight pipeline to a KFP v2 / Vertex pipeline spec.",
        epilog="Each flag can be set by the environment variable named in its help.",
    )
    configs.add_settings(parser, configs.KUBEFLOW, unset=True)
    parser.add_argument(
        "--output",
        type=Path,
        help=f"spec file to write (default {configs.KFP_SPEC_FILE.format(target='TARGET')})",
    )
    return parser


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
    if cloud.target == "kfp":
        lines.append(
            "no Resolver nodes (OSS KFP refuses them): ResolveSpan reads the baseline, the warm "
            f"start and the previous span's statistics from {settings.serving_model_dir} and its "
            "state record (pipeline/baseline.py)"
        )
        if settings.data_source == "bigquery":
            lines.append(
                "BigQuery has no spans: ResolveSpan numbers each read of the table as the run's "
                "span, so the warm start is the newest pushed model and the drift gate compares "
                "with the previous read's statistics"
            )
    else:
        lines.append("warm start from the latest blessed model (latest_blessed_model_resolver)")
        lines.append(
            "no drift gate between spans: its resolver of the previous span's statistics runs "
            "only locally (local_runner.py)"
        )
    if settings.data_source == "csv":
        lines.append(
            f"CsvExampleGen reads {settings.data_root}/span-N/, the span set by the range_config "
            "parameter (default: the latest)"
        )
    return lines


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    flags = {s.name: getattr(args, s.name) for s in configs.settings_of(configs.KUBEFLOW)}
    try:
        cloud = configs.CloudSettings.resolve(flags, os.environ)
    except ValueError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return int(ExitCode.USAGE)
    settings = cloud.pipeline
    output = (args.output or Path(configs.KFP_SPEC_FILE.format(target=cloud.target))).resolve()
    compile_pipeline(cloud, settings, output)
    print(f"target {cloud.target}: {configs.KFP_TARGETS[cloud.target]}")
    for line in left_out(cloud, settings):
        print(f"  {line}")
    print(f"  image {cloud.image}; Beam on {cloud.beam_runner}; root {settings.pipeline_root}")
    uncached = " (BigQueryExampleGen: never, it reads the table anew)" * (
        settings.data_source == "bigquery" and settings.enable_cache
    )
    print(f"  cache {'on' if settings.enable_cache else 'off'}{uncached}")
    print(f"compiled to {output} (PipelineJob, for Vertex)")
    print(f"        and {ir_path(output)} (pipeline spec, to upload to KFP)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
