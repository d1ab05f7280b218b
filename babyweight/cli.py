"""`babyweight`: one command for the tools around the pipeline, as `tfx` and `kfp` have one.

    babyweight serve          the pushed model over TF Serving's REST API, and a web page
    babyweight rollout        status, promote, rollback of the served version labels
    babyweight batch-predict  predictions for files or a BigQuery table, on Beam
    babyweight edge-predict   a CSV with an edge (.tflite) model, for parity with the SavedModel
    babyweight lineage        runs, artifacts and traces from ML Metadata
    babyweight report         the static HTML report of a run
    babyweight skew           training-serving skew and drift of a serving log
    babyweight kfp            create/update/run/list/delete/status on a KFP endpoint
    babyweight kfp-spec-run   run a compiled KFP spec here, task by task

Each takes `--output DIR`, the pipeline run's output directory, where it needs one. Commands
are imported only when run, so `babyweight lineage` never loads TensorFlow.

A command prints only its own output: TensorFlow's C++ start-up lines and the TensorFlow and
absl Python warnings are silenced before the command's module is imported. `--verbose` (before
or after the command name) or BABYWEIGHT_VERBOSE=1 keeps them.

Every command exits here (`call`): its main(argv) returns its status, or raises a
BabyweightError that is printed as `babyweight COMMAND: MESSAGE` and exits with the error's code
(babyweight/errors.py has the table of causes and codes). Ctrl-C is one line and exit 130; an
unexpected exception is one line and exit 1 (`--verbose`: its traceback too). argparse's own
usage errors stay as argparse prints them, exit 2.
"""

from __future__ import annotations

import importlib
import sys
import traceback

from babyweight import console
from babyweight.errors import BabyweightError, ExitCode

# command -> (module with main(argv), one line of help)
COMMANDS = {
    "serve": (
        "babyweight.serving.cli",
        "the pushed model over TF Serving's REST API, and a web page",
    ),
    "rollout": (
        "babyweight.serving.rollout_cli",
        "status, promote, rollback of the served version labels (stable, canary)",
    ),
    "batch-predict": ("babyweight.batch.cli", "predictions for files or a BigQuery table, on Beam"),
    "edge-predict": (
        "babyweight.edge.cli",
        "a CSV predicted with an edge (.tflite) model, beside the SavedModel's answers",
    ),
    "lineage": ("babyweight.metadata.lineage_cli", "runs, artifacts and traces from ML Metadata"),
    "report": ("babyweight.metadata.report_cli", "the static HTML report of a run"),
    "metadata": ("babyweight.metadata.copy_cli", "copy an ML Metadata store (SQLite to MySQL)"),
    "skew": ("babyweight.monitoring.skew_cli", "training-serving skew and drift of a serving log"),
    "kfp": ("babyweight.kfp.client", "create/update/run/list/delete/status on a KFP endpoint"),
    "kfp-spec-run": ("babyweight.kfp.spec_runner", "run a compiled KFP spec here, task by task"),
    "inspect": ("babyweight.inspect_cli", "a CSV's columns, sniffed: a mapping file to start from"),
    "ui": ("babyweight.ui.cli", "the Kubeflow Pipelines UI over the runs in a pipeline root"),
}
VERBOSE_FLAG = "--verbose"
# The script names of the previous release, kept for one release.
OLD_SCRIPTS = {
    "serve": "serve",
    "batch-predict": "batch-predict",
    "lineage": "lineage",
    "babyweight-report": "report",
    "skew": "skew",
    "kfp-pipeline": "kfp",
    "kfp-spec-run": "kfp-spec-run",
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: babyweight [--verbose] COMMAND [--output DIR] [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += [
        "",
        "`babyweight COMMAND --help` describes one command.",
        f"{VERBOSE_FLAG} (before or after COMMAND): TensorFlow's and absl's log lines as well.",
    ]
    return "\n".join(lines)


def take_verbose(argv: list[str]) -> tuple[bool, list[str]]:
    """(whether --verbose was given, argv without it); arguments after `--` are left alone."""
    end = argv.index("--") if "--" in argv else len(argv)
    found = VERBOSE_FLAG in argv[:end]
    return found, [a for a in argv[:end] if a != VERBOSE_FLAG] + argv[end:]


def _say(command: str, message: str) -> None:
    print(f"babyweight {command}: {message}", file=sys.stderr)


def call(command: str, argv: list[str]) -> int:
    """The one exit path of every command: main(argv)'s status, or its error as one line on
    stderr and the error's exit code."""
    module = importlib.import_module(COMMANDS[command][0])
    try:
        return int(module.main(argv) or 0)
    except BabyweightError as e:
        _say(command, str(e))
        return int(e.code)
    except KeyboardInterrupt:
        _say(command, "interrupted")
        return int(ExitCode.INTERRUPTED)
    except Exception as e:  # noqa: BLE001  (a bug, or a library's failure: one line, no traceback)
        if console.is_verbose():
            traceback.print_exc()
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
        _say(command, f"failed ({type(e).__name__}: {first}); --verbose shows the traceback")
        return int(ExitCode.FAILED)


def run(command: str, argv: list[str], verbose: bool = False) -> int:
    given, argv = take_verbose(argv)
    console.quiet_command_logs(verbose or given)  # before the command's module imports TensorFlow
    return call(command, argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = False
    while argv and argv[0] == VERBOSE_FLAG:  # the global flag, before the command
        argv, verbose = argv[1:], True
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if argv[0] not in COMMANDS:
        print(f"babyweight: no command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return int(ExitCode.USAGE)
    return run(argv[0], argv[1:], verbose)


def old_script() -> int:
    """Entry point of the old script names: says the new spelling once, then runs it."""
    import os

    name = os.path.basename(sys.argv[0])
    command = OLD_SCRIPTS.get(name, name)
    print(
        f"note: `{name}` is now `babyweight {command}`; the old name goes in the next release",
        file=sys.stderr,
    )
    return run(command, sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
