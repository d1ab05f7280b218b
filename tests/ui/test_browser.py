"""The KFP UI in headless Chromium over real runs of the compiled spec (`make ui-test`).

A run of the compiled `kfp` spec on the tiny slice of data/births.csv, recorded by
`babyweight kfp-spec-run` as KFP records runs, and one whose first task fails (its data root does
not exist); then `babyweight ui` over that root, and the pages a person opens, as they open
them. Screenshots land in test-artifacts/ui/. Needs the UI's build (`make ui`); skipped without.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babyweight.ui.cli import DEFAULT_BUILD

import pytest
from helpers import CHROMIUM_ARGS, REPO, chromium, compile_local_kfp, tiny_slice, ui_server
from playwright.sync_api import expect

BUILT = (DEFAULT_BUILD / "index.html").is_file()
pytestmark = pytest.mark.skipif(not BUILT, reason="KFP UI not built: run `make ui KFP_SRC=...`")
SHOTS = REPO / "test-artifacts" / "ui"
WAIT_MS = 60_000


def spec_run(spec: Path, root: Path, run_id: str, *params: str) -> subprocess.CompletedProcess:
    argv = [
        sys.executable,
        "-m",
        "babyweight",
        "kfp-spec-run",
        str(spec),
        "--pipeline-root",
        str(root),
        "--run-id",
        run_id,
        *params,
    ]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=3600)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """(root, spec, its task names, the task that failed in `bad`): runs `ok` (every task
    done) and `bad` (the span resolution or ExampleGen fails: no data there)."""
    from babyweight.kfp.spec import ir_path
    from babyweight.layout import OutputLayout
    from babyweight.local import staging

    tmp = tmp_path_factory.mktemp("ui_runs")
    staged = staging.stage_csv(tiny_slice(tmp / "tiny.csv"), OutputLayout(tmp))
    spec = ir_path(compile_local_kfp(tmp, staged.data_root))
    root = tmp / "root"
    done = spec_run(spec, root, "ok")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    failed = spec_run(spec, root, "bad", "--runtime_parameter", f"data_root={tmp / 'no-data'}")
    first_failed = re.search(r"kfp-spec-run: (\w+) exited with", failed.stderr)
    assert failed.returncode != 0 and first_failed, failed.stderr[-3000:]
    import yaml

    tasks = list(yaml.safe_load(spec.read_text())["root"]["dag"]["tasks"])
    return root, spec, tasks, first_failed.group(1)


@pytest.fixture(scope="module")
def ui(recorded):
    root, spec, _, _ = recorded
    with ui_server(root, spec) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    path = chromium()
    if path is None:
        pytest.skip("no Chromium here (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    yield context.new_page()
    context.close()


def node(page, key: str):
    return page.locator(f'.react-flow__node[data-id="{key}"]')


def click_artifact(page, ui: str, task: str, key: str):
    """Open run `ok`, wait until its task states are drawn (ML Metadata read), click an output."""
    page.goto("about:blank")  # a fresh page: no side panel left open from the last artifact
    page.goto(ui + "#/runs/details/ok")
    done = node(page, f"task.{task}").locator('[data-testid="CheckCircleIcon"]')
    done.wait_for(timeout=WAIT_MS)
    artifact = node(page, f"artifact.{task}.{key}")
    artifact.wait_for(timeout=WAIT_MS)
    # A click event, not a mouse click at the node's place: with the edge export and the span
    # task the graph is wider than the window, and the side navigation covers its left nodes.
    artifact.dispatch_event("click")


def test_the_pipeline_list_and_graph(ui, page, recorded):
    _, _, tasks, failed = recorded
    page.goto(ui + "#/pipelines")
    page.get_by_text("babyweight", exact=True).first.click(timeout=WAIT_MS)
    for task in tasks:
        node(page, f"task.{task}").wait_for(timeout=WAIT_MS)
    page.screenshot(path=SHOTS / "pipeline.png")
    assert {"Trainer", "Evaluator", "Pusher", "DataReport", "RunReport"} <= set(tasks)


@pytest.mark.parametrize(("run_id", "icon"), [("ok", "CheckCircleIcon"), ("bad", "ErrorIcon")])
def test_the_run_page_shows_each_tasks_state(ui, page, recorded, run_id, icon):
    _, _, tasks, failed = recorded
    page.goto(ui + f"#/runs/details/{run_id}")
    shown = tasks if run_id == "ok" else [failed]
    for task in shown:
        node(page, f"task.{task}").locator(f'[data-testid="{icon}"]').wait_for(timeout=WAIT_MS)
    page.screenshot(path=SHOTS / f"run-{run_id}.png")
    if run_id == "bad":  # nothing after the failed task ran
        for task in ("CsvExampleGen", "StatisticsGen", "Trainer"):
            assert (
                node(page, f"task.{task}").locator('[data-testid="CheckCircleIcon"]').count() == 0
            )


def open_visualization(page, ui: str, task: str, key: str):
    click_artifact(page, ui, task, key)
    page.get_by_role("button", name="Visualization").click(timeout=WAIT_MS)


def output(root: Path, run_id: str, task: str, key: str):
    """The artifact `task` recorded as output `key` in run `run_id`, from ML Metadata."""
    from babyweight.ui.mlmd_grpc_web import open_read_only

    store = open_read_only(root / "metadata.sqlite")
    context = store.get_context_by_type_and_name("system.PipelineRun", run_id)
    (execution,) = [
        e
        for e in store.get_executions_by_context(context.id)
        if e.custom_properties["task_name"].string_value == task
    ]
    events = store.get_events_by_execution_ids([execution.id])
    (artifact_id,) = [
        e.artifact_id for e in events if e.type == e.OUTPUT and e.path.steps[0].key == key
    ]
    return store.get_artifacts_by_id([artifact_id])[0]


@pytest.mark.parametrize("task", ["DataReport", "RunReport"])
def test_the_reports_html_and_markdown_are_rendered(ui, page, recorded, task):
    root, _, _, _ = recorded
    html = Path(output(root, "ok", task, "html").uri).read_text()
    title = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1).strip()
    open_visualization(page, ui, task, "html")
    page.get_by_text("Static HTML").wait_for(timeout=WAIT_MS)
    frame = page.frame_locator("iframe").first
    frame.locator("h1").filter(has_text=title).wait_for(timeout=WAIT_MS)
    page.screenshot(path=SHOTS / f"{task}-html.png")

    markdown = Path(output(root, "ok", task, "markdown").uri).read_text()
    first_line = next(line.lstrip("# ").strip() for line in markdown.splitlines() if line.strip())
    open_visualization(page, ui, task, "markdown")
    page.get_by_text("Static Markdown").wait_for(timeout=WAIT_MS)
    page.get_by_text(first_line).first.wait_for(timeout=WAIT_MS)
    page.screenshot(path=SHOTS / f"{task}-markdown.png")


def js_number(value: float) -> str:
    """JSON.stringify of a number, as the UI writes a metric's value."""
    return str(int(value)) if value.is_integer() else repr(value)


def test_the_run_metrics_table(ui, page, recorded):
    root, _, _, _ = recorded
    metrics = output(root, "ok", "RunReport", "metrics")
    props = metrics.custom_properties
    values = {k: v.double_value for k, v in props.items() if v.HasField("double_value")}
    assert set(values) == {"rmse", "mae", "example_count"}
    open_visualization(page, ui, "RunReport", "metrics")
    name = props["display_name"].string_value
    page.get_by_text(f"Scalar Metrics: {name}").wait_for(timeout=WAIT_MS)
    for key, value in values.items():
        row = page.get_by_role("row").filter(has_text=key).first
        assert row.inner_text(timeout=WAIT_MS).split() == [key, js_number(value)]
    page.screenshot(path=SHOTS / "RunReport-metrics.png")


@pytest.mark.parametrize(
    ("task", "key", "prop"), [("Trainer", "model", None), ("Evaluator", "blessing", "blessed")]
)
def test_the_model_and_the_blessing_show_uri_and_properties(ui, page, recorded, task, key, prop):
    root, _, _, _ = recorded
    artifact = output(root, "ok", task, key)
    shown_uri = "minio://mlpipeline/v2/artifacts/" + Path(artifact.uri).relative_to(root).as_posix()
    click_artifact(page, ui, task, key)
    expect(page.get_by_text(shown_uri).first).to_be_in_viewport(timeout=WAIT_MS)  # panel slid in
    page.screenshot(path=SHOTS / f"{task}-{key}-panel.png")
    page.goto(ui + f"#/artifacts/{artifact.id}")
    page.get_by_text("Custom Properties").wait_for(timeout=WAIT_MS)
    page.get_by_text(shown_uri).first.wait_for(timeout=WAIT_MS)
    names = [
        k for k in artifact.custom_properties if k not in ("display_name", "store_session_info")
    ]
    assert names and (prop is None or prop in names)
    for name in names:
        page.get_by_text(name, exact=True).first.wait_for(timeout=WAIT_MS)
    page.screenshot(path=SHOTS / f"{task}-{key}-artifact.png", full_page=True)
