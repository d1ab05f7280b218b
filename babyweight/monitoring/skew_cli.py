"""`babyweight skew`: the command line of the skew check (babyweight/monitoring/skew.py).

    babyweight skew --serving-log PATH [--output DIR] [--previous-log PATH] [--results DIR]
                    [--model-version V]

Exit status: 0 no skew; 1 skew found in some model version (a deploy gate stops); 2 the check
could not be done, for any reason (an unreadable log line, a missing or corrupt store, training
data that cannot be read, a crash), never read as skew.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from babyweight import console
from babyweight.errors import BabyweightError, ExitCode, UsageError
from babyweight.layout import OutputLayout, add_output_argument, layout_of
from babyweight.monitoring import skew
from babyweight.monitoring.serving_log import read_serving_log


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babyweight skew",
        description="Training-serving skew and drift of served requests (TFDV). Each model "
        "version in the log is compared with its own training data. Exit status: 0 no skew, "
        "1 skew found, 2 the check could not be done (unreadable log or store).",
    )
    parser.add_argument("--serving-log", type=Path, required=True, help="JSON-lines serving log")
    add_output_argument(parser)
    parser.add_argument("--previous-log", type=Path, help="an earlier serving log, for drift")
    parser.add_argument(
        "--mapping",
        type=Path,
        help="TOML file mapping the logged features' own names, units and codes to the model's "
        "(as local_runner.py --mapping)",
    )
    parser.add_argument(
        "--model-version", help="check only the rows of this model version (default: each)"
    )
    parser.add_argument(
        "--results", type=Path, help="where to write the anomalies (default: OUTPUT/skew/LOGNAME)"
    )
    return parser


def check_log(args: argparse.Namespace, layout: OutputLayout) -> dict:
    """{version: (TrainingSource, result)} for each model version of the log."""
    mapping = None
    if getattr(args, "mapping", None):
        from babyweight import mapping as M

        mapping = M.load(args.mapping)
        print(
            f"reading the serving logs by mapping {args.mapping}: {M.summary(mapping)}",
            file=sys.stderr,
        )
    log = read_serving_log(args.serving_log, mapping)
    previous = read_serving_log(args.previous_log, mapping).rows if args.previous_log else None
    versions = skew.select_versions(log, args.model_version)
    lin = skew.open_lineage(layout)
    training: dict[str, list[dict]] = {}  # examples URI -> rows: versions may share them
    checked = {}
    for version, rows in versions.items():
        source = skew.find_training_source(lin, version)
        if source.examples_uri not in training:
            training[source.examples_uri] = skew.read_training_rows(source.examples_uri)
        result = skew.check(
            rows, training[source.examples_uri], source.schema_path, previous_rows=previous
        )
        checked[version] = (source, result)
    return checked


def format_checked(checked: dict) -> str:
    if len(checked) == 1:
        [(source, result)] = checked.values()
        return skew.format_result(result, source)
    sections = [
        f"model version {skew.version_label(v)}: {result['rows']} served rows\n"
        + skew.format_result(result, source)
        for v, (source, result) in checked.items()
    ]
    failed = [skew.version_label(v) for v, (_, result) in checked.items() if not result["passed"]]
    verdict = f"skew in {', '.join(failed)}" if failed else "no skew"
    sections.append(
        f"{len(checked)} model versions in the log, each compared with its own training "
        f"data: {verdict}"
    )
    return "\n\n".join(sections)


def check_and_write(args: argparse.Namespace) -> tuple[dict, Path]:
    """The checks and their files; any failure is a BabyweightError of exit 2 (the check could
    not be done), never the 1 of "skew found"."""
    layout = layout_of(args)
    try:
        checked = check_log(args, layout)
        results_dir = args.results or layout.skew_dir(args.serving_log.stem)
        skew.write_all_results(checked, results_dir)
    except BabyweightError as e:
        if e.code == ExitCode.FAILED:
            raise UsageError(str(e)) from None
        raise
    except Exception as e:  # noqa: BLE001  (a crash must not read as "skew found", exit 1)
        if console.is_verbose():
            traceback.print_exc()
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else ""
        raise UsageError(
            f"could not check ({type(e).__name__}: {first}); --verbose shows the traceback"
        ) from None
    return checked, results_dir


def main(argv=None) -> int:
    """0: no skew; 1: skew found (a deploy gate stops); 2 (raised): the check could not be done."""
    args = build_parser().parse_args(argv)
    started = time.monotonic()
    checked, results_dir = check_and_write(args)
    print(format_checked(checked))
    print(f"results written to {results_dir}")
    print(f"({time.monotonic() - started:.1f}s)")
    passed = all(result["passed"] for _, result in checked.values())
    return int(ExitCode.OK if passed else ExitCode.FAILED)


if __name__ == "__main__":
    from babyweight import cli

    sys.exit(cli.run("skew", sys.argv[1:]))
