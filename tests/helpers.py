"""Helpers shared by the tests: small CSV files and running local_runner.py as a person does."""

from __future__ import annotations

import contextlib
import csv
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from babyweight import features as F

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data" / "natality"
# Every node of the default pipeline, by id.
PIPELINE_COMPONENTS = [
    "CsvExampleGen",
    "StatisticsGen",
    "ImportSchemaGen",
    "ExampleValidator",
    "DataReport",
    "DataValidationGate",
    "previous_span_statistics_resolver",
    "DistributionValidator",
    "DriftGate",
    "Transform",
    "base_model_resolver",
    "Trainer",
    "latest_blessed_model_resolver",
    "Evaluator",
    "EdgeExport",
    "Pusher",
    "RunReport",
]
# The nodes only LocalDagRunner can run (custom resolver strategies; pipeline/resolvers.py) and
# the drift gate that needs one: Vertex compiles without them. (OSS KFP runs the drift gate with
# pipeline/baseline.py's tasks in place of the resolvers.)
LOCAL_ONLY = [
    "previous_span_statistics_resolver",
    "DistributionValidator",
    "DriftGate",
    "base_model_resolver",
]
TINY_ROWS_EVERY = 8  # every 8th row of data/births.csv: ~430 rows from all three sources
TINY_TRAIN_STEPS = 300
SHIFT_WEEKS = 6  # a serving log "shifted" from training: weeks + 6, sex unknown


def write_rows(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def births_rows() -> list[dict]:
    """Rows of data/births.csv whose features the pipeline keeps (all present and positive)."""
    with open(REPO / "data" / "births.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    numeric = [F.MOTHER_AGE, F.PLURALITY, F.GESTATION_WEEKS]
    return [
        r
        for r in rows
        if r[F.IS_MALE] in ("True", "False")
        and all(r[k].isdigit() and int(r[k]) > 0 for k in numeric)
    ]


def log_record(row: dict, model_version: str, shifted: bool = False) -> dict:
    """A serving-log line as the REST server writes it, for one births.csv row."""
    return {
        "time": "2026-01-01T00:00:00Z",
        "model_version": model_version,
        "features": {
            F.IS_MALE: F.UNKNOWN if shifted else row[F.IS_MALE],
            F.MOTHER_AGE: int(row[F.MOTHER_AGE]),
            F.PLURALITY: F.PLURALITY_VALUES[int(row[F.PLURALITY]) - 1],
            F.GESTATION_WEEKS: int(row[F.GESTATION_WEEKS]) + (SHIFT_WEEKS if shifted else 0),
        },
        "prediction": 7.0,
    }


def read_rows(path: Path, every: int = 1, limit: int | None = None) -> tuple[list, list]:
    """(header, rows) of a real CSV: every `every`-th data row, at most `limit` of them."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [row for i, row in enumerate(reader) if i % every == 0]
    return header, rows[:limit]


def natality_rows(name: str, every: int = 1, limit: int | None = None) -> tuple[list, list]:
    """Real rows of ../shared/data/natality/<name> (the same rows in both 2014 files)."""
    return read_rows(SHARED_DATA / name, every, limit)


# The 31 columns of BigQuery's bigquery-public-data.samples.natality, in table order.
SAMPLES_NATALITY_COLUMNS = [
    "source_year", "year", "month", "day", "wday", "state", "is_male", "child_race",
    "weight_pounds", "plurality", "apgar_1min", "apgar_5min", "mother_residence_state",
    "mother_race", "mother_age", "gestation_weeks", "lmp", "mother_married",
    "mother_birth_state", "cigarette_use", "cigarettes_per_day", "alcohol_use",
    "drinks_per_week", "weight_gain_pounds", "born_alive_alive", "born_alive_dead",
    "born_dead", "ever_born", "father_race", "father_age", "record_weight",
]  # fmt: skip
MODEL_COLUMNS = F.REQUIRED_COLUMNS


def bigquery_export(rows_2014: list[list[str]]) -> tuple[list, list]:
    """Real rows of babyweight_2014_100k.csv as BigQuery exports samples.natality: the 31
    columns, booleans in lower case, the year and a month (the source has none: row i gets
    month i % 12 + 1), every other column empty."""
    header, _ = natality_rows("babyweight_2014_100k.csv", limit=1)
    out = []
    for i, row in enumerate(rows_2014):
        source = dict(zip(header, row, strict=True))
        record = dict.fromkeys(SAMPLES_NATALITY_COLUMNS, "")
        record.update({name: source[name] for name in MODEL_COLUMNS})
        record["is_male"] = record["is_male"].lower()
        record["year"] = record["source_year"] = source["year"]
        record["month"] = str(i % 12 + 1)
        out.append([record[c] for c in SAMPLES_NATALITY_COLUMNS])
    return SAMPLES_NATALITY_COLUMNS, out


SPAN_ROWS = 2000  # real rows per span: small enough for the e2e tests on 2 cores
OLDER_MOTHERS = 35  # span 3 is the drifted one: mothers of this age and over only


def natality_span(directory: Path, span: int, complete: bool = True) -> Path:
    """DIR/span-N/ of real rows of babyweight_2014_100k.csv, cut by row order: span 1 is rows
    0-1999, span 2 rows 2000-3999; span 3 is the next 2,000 rows (from row 4000) whose mother is
    35 or older, a change in distribution (15% of births). `complete` writes the _SUCCESS marker
    last, as a delivery does."""
    header, rows = natality_rows("babyweight_2014_100k.csv")
    if span < 3:
        chosen = rows[(span - 1) * SPAN_ROWS : span * SPAN_ROWS]
    else:
        age = header.index("mother_age")
        chosen = [r for r in rows[2 * SPAN_ROWS :] if int(r[age]) >= OLDER_MOTHERS][:SPAN_ROWS]
    folder = directory / f"span-{span}"
    folder.mkdir(parents=True, exist_ok=True)
    write_rows(folder / "births.csv", header, chosen)
    if complete:
        (folder / "_SUCCESS").write_text("")
    return folder


def tiny_slice(path: Path) -> Path:
    with open(REPO / "data" / "births.csv", newline="") as f:
        rows = list(csv.reader(f))
    return write_rows(path, rows[0], rows[1::TINY_ROWS_EVERY])


def local_runner_command(data: Path, output: Path, *extra: str) -> list[str]:
    """local_runner.py as a person runs it (default verbosity), with the tiny training."""
    return [
        sys.executable,
        str(REPO / "local_runner.py"),
        "--data",
        str(data),
        "--output",
        str(output),
        "--train-steps",
        str(TINY_TRAIN_STEPS),
        "--eval-steps",
        "5",
        *extra,
    ]


RUNNER_ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def run_local_pipeline(data: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    """local_runner.py in its own process, as a person runs it; runner.log keeps its output."""
    cmd = local_runner_command(data, output, *extra)
    result = subprocess.run(
        cmd, cwd=REPO, env=RUNNER_ENV, capture_output=True, text=True, timeout=1200
    )
    try:  # not when --output itself was the mistake
        output.mkdir(parents=True, exist_ok=True)
        (output / "runner.log").write_text(result.stdout + "\n--- stderr ---\n" + result.stderr)
    except OSError:
        pass
    return result


def chromium() -> str | None:
    """Path of a headless-capable Chromium, installing Debian's package when it is missing.

    Returns None only when it truly cannot be had (no apt, not root, or the install failed);
    browser tests then skip and say so.
    """
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        if subprocess.run(cmd, env=env, capture_output=True, timeout=900).returncode != 0:
            return None
    return shutil.which("chromium")


# Flags for Chromium on these machines: headless, as root, and with no background traffic
# (the network is closed; without them it retries connections all the time).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def open_in_chromium(page: Path, screenshot: Path | None = None) -> dict | None:
    """Open a local HTML file in headless Chromium, as a person opens a report.

    Returns what the page holds: its images as [src, complete, naturalWidth], the inline SVG
    elements' sizes as [aria-label, width, height], the page's URL, every URL it requested, and
    its text. None when no Chromium can be had (the caller skips). A file named without .html
    (a KFP artifact's URI, which the KFP UI serves as HTML) is opened from a copy named .html:
    Chromium shows an unknown file:// type as plain text.
    """
    import shutil
    import tempfile

    browser_path = chromium()
    if browser_path is None:
        return None
    from playwright.sync_api import sync_playwright

    if page.suffix != ".html":
        copy = Path(tempfile.mkdtemp(prefix="page-")) / f"{page.name}.html"
        page = Path(shutil.copyfile(page, copy))

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            requested: list[str] = []
            tab.on("request", lambda request: requested.append(request.url))
            tab.goto(page.resolve().as_uri())
            found = tab.evaluate(
                """() => ({
                images: Array.from(document.images).map(i => [i.src, i.complete, i.naturalWidth]),
                svgs: Array.from(document.querySelectorAll('svg')).map(s => {
                    const box = s.getBoundingClientRect();
                    return [s.getAttribute('aria-label') || '', box.width, box.height];
                }),
                text: document.body.innerText,
            })"""
            )
            if screenshot is not None:
                tab.screenshot(path=str(screenshot), full_page=True, timeout=120_000)
        finally:
            browser.close()
    return {**found, "url": page.resolve().as_uri(), "requested": requested}


def compile_local_kfp(tmp_path: Path, data_root: str, target: str = "kfp", **extra) -> Path:
    """The kfp target with everything local: a pipeline root a subprocess can write to (the
    spec runner's tests and the KFP UI's)."""
    import kubeflow_runner
    from pipeline import configs

    flags = {
        "target": target,
        "pipeline_root": str(tmp_path / "root") if target == "kfp" else "gs://bkt/root",
        "serving_model_dir": str(tmp_path / "serving" / configs.MODEL_NAME),
        "image": "babyweight-pipeline:test",
        "data_source": "csv",
        "data_root": data_root,
        "beam_runner": "direct",
        "schema_path": str(configs.SCHEMA_PATH),
        "train_steps": TINY_TRAIN_STEPS,
        "eval_steps": 5,
        **extra,
    }
    cloud = configs.CloudSettings.resolve(flags, {})
    settings = cloud.pipeline_settings()
    return kubeflow_runner.compile_pipeline(cloud, settings, tmp_path / f"{target}.json")


# A made-up feature for the tests that add one to the table (test_fifth_feature, test_signatures).
FATHER_AGE = F.Feature(
    name="father_age",
    kind=F.NUMERIC,
    dtype="int64",
    bigquery_type="INTEGER",
    label="Father's age",
    description="the father's age in years",
    sources={
        F.BIGQUERY_FORMAT: F.Source("father_age"),
        F.CDC_FORMAT: F.Source("fagecomb", not_stated="99"),
    },
    example=33,
    domain=(14, 80),
    unit="years",
)


@contextlib.contextmanager
def ui_server(pipeline_root: Path, spec: Path, *extra: str):
    """`babyweight ui` on a free loopback port: yields (its URL, the process); leaving the block
    sends Ctrl-C, which must end it with 130 (killed if it does not)."""
    argv = [sys.executable, "-m", "babyweight", "ui", "--pipeline-root", str(pipeline_root)]
    argv += ["--spec", str(spec), *extra, "--port", "0"]
    proc = subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, line + proc.stderr.read()
        yield match.group(0), proc
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run_babyweight(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`babyweight ARGS...` in a child process from the repository root, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "babyweight", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
