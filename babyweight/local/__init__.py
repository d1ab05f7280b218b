"""Running the pipeline on this machine: `local_runner.py`.

cli.py (the flags), run.py (one run), watcher.py (--watch/--every), and the input side of a
run: staging.py, input_formats.py (the CSV header formats), splits.py and spans.py.
"""
