"""The web page: a form built from the schema, and a real browser (headless Chromium) using it.

Screenshots go to test-artifacts/ at the repository root."""

from __future__ import annotations

import re

from babyweight import features as F

import httpx
import pytest
from helpers import CHROMIUM_ARGS, REPO, chromium
from serve_helpers import MODEL_NAME, run_output, running_server

pytestmark = pytest.mark.e2e

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def server(pushed_model_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    log = tmp / "serving_log.jsonl"
    with running_server(
        run_output(pushed_model_dir), tmp / "server.out", "--serving-log", str(log)
    ) as url:
        yield url


def test_the_form_is_built_from_the_schema(server):
    page = httpx.get(f"{server}/").text
    sexes = re.search(r'<select id="is_male".*?</select>', page, re.S).group()
    pluralities = re.search(r'<select id="plurality".*?</select>', page, re.S).group()
    assert sorted(re.findall(r'<option value="([^"]+)"', sexes)) == sorted(F.IS_MALE_VALUES)
    assert re.findall(r'<option value="([^"]+)"', pluralities) == F.PLURALITY_VALUES
    assert re.findall(r">(\w+)</option>", sexes) == ["Male", "Female", "Unknown"]
    assert ">Multiple, number not known<" in page
    for f in F.FEATURES:
        if not f.categorical:
            lo, hi = f.domain
            assert re.search(rf'id="{f.name}"[^>]*min="{lo}" max="{hi}"', page, re.S), f.name
    for name in F.FEATURE_KEYS:
        assert f'<label for="{name}">' in page


def test_invalid_values_get_inline_messages_without_a_browser(server):
    form = {F.IS_MALE: "True", F.PLURALITY: "Single(1)", F.MOTHER_AGE: "99", F.GESTATION_WEEKS: ""}
    response = httpx.post(f"{server}/", data=form)
    assert response.status_code == 400
    page = response.text
    assert re.search(r'id="mother_age-error">[^<]*11-55', page)
    assert re.search(r'id="gestation_weeks-error">[^<]*missing', page)
    assert 'aria-describedby="mother_age-error"' in page
    assert 'value="99"' in page  # what was typed stays in the form
    assert "is_male-error" not in page


def test_a_browser_fills_the_form_and_sees_the_api_prediction(server):
    executable = chromium()
    if executable is None:
        pytest.skip("Chromium is not installed and cannot be installed here (no apt or not root)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    row = {F.IS_MALE: "False", F.PLURALITY: "Twins(2)", F.MOTHER_AGE: 33, F.GESTATION_WEEKS: 36}
    answer = httpx.post(f"{server}/v1/models/{MODEL_NAME}:predict", json={"instances": [row]})
    (pounds,) = answer.json()["predictions"]
    version = httpx.get(f"{server}/v1/models/{MODEL_NAME}").json()["model_version_status"][0]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{server}/")
            page.get_by_label("Baby's sex").select_option(label="Female")
            page.get_by_label("Plurality").select_option(label="Twins (2)")
            page.get_by_label("Mother's age").fill(str(row[F.MOTHER_AGE]))
            page.get_by_label("Gestation weeks").fill(str(row[F.GESTATION_WEEKS]))
            page.get_by_role("button", name="Predict").click()
            page.wait_for_selector("#pounds", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "web_page_prediction.png"), full_page=True)

            assert float(page.get_attribute("#pounds", "data-pounds")) == pounds
            assert page.inner_text("#pounds") == f"{pounds:.2f}"
            assert page.inner_text("#kilograms") == f"{pounds * 0.45359237:.2f}"
            assert page.inner_text("#model-version") == version["version"]
            assert page.get_by_label("Baby's sex").input_value() == "False"

            # The browser itself refuses an age outside the schema's range...
            page.get_by_label("Mother's age").fill("99")
            assert page.eval_on_selector("#mother_age", "e => e.validity.rangeOverflow")
            # ...and when it does not check, the server answers with an inline message.
            page.eval_on_selector("form", "f => f.noValidate = true")
            page.get_by_role("button", name="Predict").click()
            page.wait_for_selector("#mother_age-error", timeout=30_000)
            assert "11-55" in page.inner_text("#mother_age-error")
            assert page.get_attribute("#mother_age", "aria-invalid") == "true"
            assert page.query_selector("#pounds") is None
            page.screenshot(path=str(ARTIFACTS / "web_page_invalid.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "web_page_prediction.png").stat().st_size > 0
