"""Every path under a run's output directory, in one type.

`local_runner.py --output DIR` writes a run there; every command reads it back through
`OutputLayout(DIR)`, taking DIR under the one flag `--output` (default `outputs/`). This tree is
the one written copy; the manual's page "The output directory" is built from it, and its build
fails when the tree and OutputLayout's paths disagree.

    DIR/
      pipeline_root/                 every component's artifacts
      metadata.sqlite                ML Metadata: executions, artifacts, lineage
      staged/examples/span-N/data.csv   the rows of span N fed to ExampleGen (span 0: --data
                                     without spans), read by TFX's span pattern span-{SPAN}/*.csv
      staged/dropped.csv             rows the last staging dropped, with file, line and reason
      staged/stage_report.json       counts of the last staging step (its span included)
      serving_model/babyweight/N/    the pushed SavedModels, one numbered version each
      serving_model/babyweight.rollout.json   version labels (stable, canary) and the canary's share
      run_summary.json               the newest run: outcome, exit code, splits and split key,
                                     dropped rows, anomalies, metrics per slice, blessing and
                                     why, pushed model (or the version already serving it)
      report/index.html              the newest run's report, one self-contained page
                                     (statistics, anomalies, metrics, lineage; inline SVG)
      logs/run-<run id>.log          the full TensorFlow/Beam/TFX log of one run
      .run.lock                      held by the run in progress (babyweight/run_lock.py)
      .watch.lock                    held by `local_runner.py --watch/--every` while it lives
      span_runs.jsonl                one line per finished run of a span: span, run id, outcome
      serving_log.jsonl              every row `babyweight serve` predicted (.1, .2, ...: rotated
                                     by size)
      skew/<log name>/[<version>/]   results of a skew check (a folder per model version
                                     when the log holds several)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from babyweight.errors import MissingStoreError

PIPELINE_NAME = "babyweight"  # the pipeline's name in ML Metadata
SPEC_FILE = "babyweight_{target}.json"  # what kubeflow_runner.py writes, in the working directory
MODEL_NAME = "babyweight"  # the served model's name: serving_model/<name>, /v1/models/<name>
DEFAULT_OUTPUT = Path("outputs")
# How staged spans are named under staged/examples/, in TFX's span placeholder: CsvExampleGen
# reads the pattern SPAN_DIR + "/*.csv" with a range_config that picks the span.
SPAN_DIR = "span-{SPAN}"
# The ML Metadata store every command uses when --metadata is not given (default: the SQLite
# file below); a path or mysql://user[:password]@host:port/database (metadata/connection.py).
METADATA_ENV = "BABYWEIGHT_METADATA"


def span_dir_name(span: int) -> str:
    return SPAN_DIR.replace("{SPAN}", str(int(span)))


@dataclasses.dataclass(frozen=True)
class OutputLayout:
    """The paths of one output directory; nothing is created until a caller writes."""

    root: Path
    metadata_name: str | None = None  # --metadata: a path or a mysql:// URL

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @property
    def pipeline_root(self) -> Path:
        return self.root / "pipeline_root"

    @property
    def metadata(self) -> Path:
        return self.root / "metadata.sqlite"

    @property
    def staged(self) -> Path:
        return self.root / "staged"

    @property
    def staged_examples(self) -> Path:
        return self.staged / "examples"

    def staged_span(self, span: int) -> Path:
        """The staged CSV of one span: what CsvExampleGen reads for that span."""
        return self.staged_examples / span_dir_name(span)

    @property
    def dropped_rows(self) -> Path:
        return self.staged / "dropped.csv"

    @property
    def stage_report(self) -> Path:
        return self.staged / "stage_report.json"

    @property
    def serving_model_dir(self) -> Path:
        return self.root / "serving_model" / MODEL_NAME

    @property
    def rollout_file(self) -> Path:
        return rollout_file_of(self.serving_model_dir)

    @property
    def run_summary(self) -> Path:
        return self.root / "run_summary.json"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def run_log(self, run_id: str) -> Path:
        return self.logs_dir / f"run-{run_id}.log"

    @property
    def run_lock(self) -> Path:
        return self.root / ".run.lock"

    @property
    def watch_lock(self) -> Path:
        return self.root / ".watch.lock"

    @property
    def span_runs(self) -> Path:
        return self.root / "span_runs.jsonl"

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    @property
    def serving_log(self) -> Path:
        return self.root / "serving_log.jsonl"

    def skew_dir(self, log_name: str) -> Path:
        return self.root / "skew" / log_name

    def store(self) -> str:
        """The ML Metadata store's name: --metadata, else BABYWEIGHT_METADATA, else the SQLite
        file in this directory."""
        return str(self.metadata_name or os.environ.get(METADATA_ENV) or self.metadata)

    def has_store(self) -> bool:
        """Whether there is a store to read (a server is always asked: it answers at open)."""
        return "://" in self.store() or os.path.isfile(self.store())

    def require_metadata(self) -> str:
        """The store's name; MissingStoreError (a FileNotFoundError) naming it and the flag when
        it is a file that is not there."""
        if not self.has_store():
            raise MissingStoreError(
                f"no ML Metadata store at {self.store()}; is --output {self.root} the "
                "directory of a pipeline run?"
            )
        return self.store()


def rollout_file_of(model_dir: str | Path) -> Path:
    """The rollout file of a directory of model versions (`babyweight serve --model-dir`):
    next to it, so that no version directory is touched."""
    model_dir = Path(model_dir)
    if not model_dir.name:  # "." or ".."
        model_dir = model_dir.resolve()
    return model_dir.parent / f"{model_dir.name}.rollout.json"


def add_metadata_argument(parser: argparse.ArgumentParser) -> None:
    """The one flag every command uses for the ML Metadata store (OutputLayout.metadata_name)."""
    parser.add_argument(
        "--metadata",
        default=None,
        help="the ML Metadata store: a path (SQLite) or mysql://user[:password]@host:port/"
        f"database [{METADATA_ENV}] (default: OUTPUT/metadata.sqlite)",
    )


def add_output_argument(parser: argparse.ArgumentParser, help_text: str = "") -> None:
    """The one flag every command uses for the run's output directory."""
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=help_text or f"the pipeline run's output directory (default: {DEFAULT_OUTPUT}/)",
    )
    add_metadata_argument(parser)


def layout_of(args: argparse.Namespace) -> OutputLayout:
    """The layout of a command's --output, with its --metadata store."""
    return OutputLayout(args.output, getattr(args, "metadata", None))
