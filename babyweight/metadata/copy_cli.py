"""`babyweight metadata copy`: move an ML Metadata store, e.g. outputs/metadata.sqlite into a
team's MySQL server (babyweight/metadata/copy.py).

babyweight metadata copy --from outputs/metadata.sqlite --to mysql://user@host:3306/mlmd
"""

from __future__ import annotations

import argparse
import time


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="babyweight metadata", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser("copy", help="copy every record of one store into an empty one")
    copy.add_argument(
        "--from", dest="source", required=True, help="the store to read: a path or mysql:// URL"
    )
    copy.add_argument(
        "--to",
        dest="target",
        required=True,
        help="the empty store to write: a path or mysql:// URL",
    )
    return parser


def main(argv=None) -> int:
    from babyweight.errors import MissingStoreError
    from babyweight.metadata import copy as copy_lib
    from babyweight.metadata import store as mlmd

    args = build_parser().parse_args(argv)
    started = time.monotonic()
    source = mlmd.connection.parse(args.source)
    if not source.exists():
        raise MissingStoreError(f"--from {source.display}: no such ML Metadata store")
    src = mlmd.open_store(args.source, readonly=True)
    dst = mlmd.open_store(args.target)
    copied = copy_lib.copy_store(src, dst)
    counts = ", ".join(f"{v} {k}" for k, v in vars(copied).items())
    print(
        f"copied {source.display} to {mlmd.display_name(args.target)}: {counts} "
        f"({time.monotonic() - started:.1f}s)"
    )
    return 0
