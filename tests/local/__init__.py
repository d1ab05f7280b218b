"""Tests of babyweight/local/. A package, so that its test_cli.py and tests/test_cli.py are
collected side by side."""
