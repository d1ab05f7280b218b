"""`local_runner.py`: the flags of a run on this machine, and where each command line goes.

The flags of the pipeline's settings come from pipeline/configs.py (SETTINGS, one declaration
per setting: flag, default, check, help); this module adds only what the command itself does:
--watch and --every (babyweight/local/watcher.py), the terminal's verbosity, and the run id a
watcher gives its runs.

    python local_runner.py                                   # data/births.csv
    python local_runner.py --data ../shared/data/natality/natality2014_100k.csv
    python local_runner.py --data monthly/ [--span 7]        # monthly/span-N/: the latest span
    python local_runner.py --watch monthly/                  # each new span, until Ctrl-C
    python local_runner.py --data monthly/ --every 1d        # on a schedule, until Ctrl-C
    python local_runner.py --source bigquery --gcp-project P --temp-location gs://B/tmp
"""

from __future__ import annotations

import argparse
import atexit
import sys
from pathlib import Path

from babyweight import process_exit
from babyweight.errors import ExitCode
from babyweight.local import run, watcher
from babyweight.local.run import PROG

from pipeline import configs


def build_parser() -> argparse.ArgumentParser:
    """local_runner.py's parser: one flag per local setting, then the command's own flags."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Run the babyweight TFX pipeline on this machine."
    )
    configs.add_settings(parser, configs.LOCAL)
    cycles = parser.add_argument_group("continuous training (one run per cycle, until Ctrl-C)")
    cycles = cycles.add_mutually_exclusive_group()
    cycles.add_argument(
        "--watch",
        type=Path,
        metavar="DIR",
        help="wait for each new complete span under DIR (span-N/ with a _SUCCESS file) and run "
        "on it",
    )
    cycles.add_argument(
        "--every", metavar="DURATION", help="run on --data every DURATION (30s, 15m, 6h, 1d)"
    )
    parser.add_argument("--run-id", help=argparse.SUPPRESS)  # a watcher names its runs
    parser.add_argument("--quiet", action="store_true", help="log only warnings from TFX and Beam")
    parser.add_argument(
        "--verbose", action="store_true", help="stream the full log on the terminal as well"
    )
    return parser


def option_of(parser: argparse.ArgumentParser, token: str) -> argparse.Action | None:
    """The option a command-line token names, as argparse reads it (a unique prefix too)."""
    if not token.startswith("--"):
        return None
    name = token.split("=", 1)[0]
    options = parser._option_string_actions  # argparse's own table of option strings
    if name in options:
        return options[name]
    found = {id(a): a for option, a in options.items() if option.startswith(name)}
    return next(iter(found.values())) if len(found) == 1 else None


def without(parser: argparse.ArgumentParser, argv: list[str], dests) -> list[str]:
    """`argv` without the options whose argparse dest is in `dests`, and their values."""
    kept: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        action = option_of(parser, token)
        if action is None or action.dest not in dests:
            kept.append(token)
        elif "=" not in token and action.nargs != 0:
            next(tokens, None)  # its value
    return kept


def main(argv: list[str] | None = None, skip_teardown: bool = False) -> int:
    """A run, or a watcher of runs; the exit status. `skip_teardown` (the script only): end the
    process without the interpreter's teardown once the run is over (process_exit.py)."""
    if skip_teardown:
        status = [int(ExitCode.FAILED)]  # an uncaught exception (its traceback printed first)
        # Registered before TensorFlow, Beam and TFX load, so it runs after their exit handlers.
        atexit.register(lambda: process_exit.end_process(status[0]))
        status[0] = main(argv)
        return status[0]
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.watch or args.every:
        return watcher.main(args, without(parser, argv, watcher.OWN_FLAGS))
    return run.main(args)
