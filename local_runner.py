"""Run the babyweight pipeline on this machine (babyweight/local/): `python local_runner.py -h`."""

import sys

from babyweight.local.cli import main

if __name__ == "__main__":
    sys.exit(main(skip_teardown=True))
