"""`python -m babyweight COMMAND ...` is `babyweight COMMAND ...`."""

import sys

from babyweight.cli import main

sys.exit(main())
