"""`babyweight report`: write the static HTML report of a run (babyweight/metadata/report.py).

babyweight report [--output DIR] [--run-id ID]   # DIR/report/index.html
"""

from __future__ import annotations

import argparse
import sys
import time

from babyweight.errors import UsageError
from babyweight.layout import add_output_argument, layout_of


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babyweight report", description="Write the static HTML report of a run."
    )
    add_output_argument(parser)
    parser.add_argument("--run-id", help="the run to report (default: the newest)")
    return parser


def main(argv=None) -> int:
    """Write the report; a missing or unreadable store, or a file of the run that is gone, is a
    UsageError (babyweight/cli.py prints it)."""
    from babyweight.metadata.report import write_report
    from babyweight.metadata.summary import collect

    args = build_parser().parse_args(argv)
    started = time.monotonic()
    layout = layout_of(args)
    try:
        page = write_report(layout, collect(layout, args.run_id))
    except UsageError:
        raise
    except FileNotFoundError as e:  # a file of the run that is gone
        raise UsageError(str(e)) from None
    print(f"report written to {page} ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    from babyweight import cli

    sys.exit(cli.run("report", sys.argv[1:]))
