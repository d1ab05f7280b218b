"""Run the babyweight pipeline on this machine: TFX LocalDagRunner, Beam DirectRunner, MLMD in
SQLite. Everything goes under --output (babyweight/layout.py names every path): the pipeline
root, metadata.sqlite, the staged data, serving_model/babyweight/<version>/, run_summary.json
and the report.

    python local_runner.py                                   # data/births.csv
    python local_runner.py --data ../shared/data/natality/babyweight_2014_100k.csv
    python local_runner.py --source bigquery --gcp-project P --temp-location gs://B/tmp
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from babyweight.layout import OutputLayout
from babyweight.metadata import progress, report, summary

from pipeline import configs, staging
from pipeline.gate import DataAnomaliesError
from pipeline.pipeline import create_pipeline


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the babyweight TFX pipeline locally.")
    parser.add_argument(
        "--data",
        type=Path,
        default=configs.DEFAULT_DATA,
        help="CSV file or directory of CSVs with the samples.natality columns",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=configs.DEFAULT_OUTPUT,
        help="where the pipeline root, MLMD and serving models go",
    )
    parser.add_argument("--source", choices=configs.DATA_SOURCES, default="csv")
    parser.add_argument("--bq-table", default=configs.BIGQUERY_TABLE)
    parser.add_argument("--bq-limit", type=int, default=configs.BIGQUERY_ROW_LIMIT)
    parser.add_argument("--gcp-project", help="billing project for the BigQuery source")
    parser.add_argument("--temp-location", help="gs:// temp location for the BigQuery source")
    parser.add_argument("--train-steps", type=int, default=configs.TRAIN_STEPS)
    parser.add_argument("--eval-steps", type=int, default=configs.EVAL_STEPS)
    parser.add_argument(
        "--tune",
        action="store_true",
        default=configs.ENABLE_TUNING,
        help="run the Tuner and train with its best hyperparameters",
    )
    parser.add_argument("--tuner-trials", type=int, default=configs.TUNER_TRIALS)
    parser.add_argument("--tuner-train-steps", type=int, default=configs.TUNER_TRAIN_STEPS)
    parser.add_argument("--no-cache", action="store_true", help="rerun every component")
    parser.add_argument("--quiet", action="store_true", help="only warnings from TFX and Beam")
    return parser.parse_args(argv)


def settings_from_args(args, layout: OutputLayout, data_root: str | None):
    beam_args = list(configs.LOCAL_BEAM_ARGS)
    if args.source == "bigquery":
        if not args.gcp_project or not args.temp_location:
            raise SystemExit("--source bigquery needs --gcp-project and --temp-location")
        beam_args += [f"--project={args.gcp_project}", f"--temp_location={args.temp_location}"]
    return configs.PipelineSettings(
        pipeline_root=str(layout.pipeline_root),
        serving_model_dir=str(layout.serving_model_dir),
        data_source=args.source,
        data_root=data_root,
        bigquery_table=args.bq_table,
        bigquery_limit=args.bq_limit,
        train_steps=args.train_steps,
        eval_steps=args.eval_steps,
        enable_tuning=args.tune,
        tuner_trials=args.tuner_trials,
        tuner_train_steps=args.tuner_train_steps,
        enable_cache=not args.no_cache,
        beam_pipeline_args=tuple(beam_args),
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO)
    layout = OutputLayout(args.output.resolve())
    layout.root.mkdir(parents=True, exist_ok=True)

    data_root = None
    if args.source == "csv":
        stage_report = staging.stage_csv(args.data, layout)
        data_root = stage_report.examples_dir
        print(
            f"staged {stage_report.rows_kept} of {stage_report.rows_read} rows from {args.data}"
            f" ({stage_report.rows_dropped} dropped: {stage_report.dropped or 'none'})"
        )
    else:
        layout.stage_report.unlink(missing_ok=True)  # nothing staged: no earlier CSV's counts
    settings = settings_from_args(args, layout, data_root)

    from tfx import v1 as tfx  # heavy: after the cheap checks above

    connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(str(layout.metadata))
    error = None
    try:
        with progress.Progress(layout.metadata):  # one line per component as it finishes
            tfx.orchestration.LocalDagRunner().run(create_pipeline(settings, connection))
    except Exception as e:  # noqa: BLE001  (reported in the summary, and by the exit code)
        error = e
        if not isinstance(e, DataAnomaliesError):
            logging.exception("the pipeline failed")
    result = summary.collect(layout, error=error)
    result.write_json(layout.run_summary)
    print(summary.format_text(result))
    print(f"summary written to {layout.run_summary}")
    try:
        print(f"report written to {report.write_report(layout, result)}")
    except Exception:  # noqa: BLE001  (a report that fails must not hide the run's result)
        logging.exception("writing the HTML report failed")
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
