"""The web page for people: a form of the four features, and the prediction in lb and kg.

One Jinja template (page.html, no JavaScript, no build step); its fields, choices and ranges come
from babyweight.features and the curated schema, its checks from babyweight.instances.
"""

from __future__ import annotations

import functools
import html
from pathlib import Path
from urllib.parse import parse_qsl

from babyweight import features as F
from babyweight.instances import instance_errors, parse_instance
from babyweight.schema import integer_domains
from babyweight.serving.requests import RequestError, read_body

KG_PER_POUND = 0.45359237
FIELD_LABELS = {  # the form's words for the features
    F.IS_MALE: "Baby's sex",
    F.PLURALITY: "Plurality",
    F.MOTHER_AGE: "Mother's age",
    F.GESTATION_WEEKS: "Gestation weeks",
}
UNITS = {F.MOTHER_AGE: "years", F.GESTATION_WEEKS: "weeks"}
CHOICES = {
    F.IS_MALE: {"True": "Male", "False": "Female", F.UNKNOWN: "Unknown"},
    F.PLURALITY: {
        label: "Multiple, number not known" if label == F.MULTIPLE else label.replace("(", " (")
        for label in F.PLURALITY_VALUES
    },
}
DEFAULTS = {F.IS_MALE: F.UNKNOWN, F.PLURALITY: F.SINGLE}


@functools.lru_cache(maxsize=1)
def _template():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("page.html")


def render(
    values: dict, errors: dict, result: tuple | None, model_name: str, model_version: str
) -> str:
    """The page: `values` as typed, `errors` by field (or "form"), `result` (pounds, version)."""
    domains = integer_domains()
    fields = [
        {
            "name": name,
            "label": FIELD_LABELS[name],
            "value": values.get(name, DEFAULTS.get(name, "")),
            "options": list(CHOICES[name].items()) if name in CHOICES else None,
            "range": domains.get(name),
            "unit": UNITS.get(name),
            "error": errors.get(name),
        }
        for name in F.FEATURE_KEYS
    ]
    shown = None
    if result is not None:
        pounds, version = result
        shown = {
            "pounds": pounds,
            "pounds_repr": repr(pounds),
            "kilograms": pounds * KG_PER_POUND,
            "version": version,
        }
    form_error = errors.get("form") or ("Please correct the highlighted fields." if errors else "")
    return _template().render(
        fields=fields,
        result=shown,
        form_error=form_error,
        model_name=model_name,
        model_version=model_version,
    )


async def handle(server, request):
    """GET shows the form; POST checks every field at once, then predicts with the version that
    answers unlabelled requests (stable, or the canary for its share)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import HTMLResponse

    values, errors, result, status = {}, {}, None, 200
    if request.method == "POST":
        try:
            body = await read_body(request, server.max_body_bytes)
        except RequestError as e:
            return HTMLResponse(html.escape(e.message), status_code=e.status)
        values = dict(parse_qsl(body.decode("utf-8", errors="replace")))
        filled = {k: v for k, v in values.items() if v.strip()}  # an empty box is missing
        errors = {
            k: f"{FIELD_LABELS.get(k, k)}: {e.reason}" for k, e in instance_errors(filled).items()
        }
        status = 400 if errors else 200
        if not errors:
            try:
                model, label = server.router.pick()
                instance = parse_instance(filled)
                pounds = (
                    await run_in_threadpool(server.predict_and_log, model, [instance], label)
                )[0]
                result = (pounds, model.version)
            except RequestError as e:
                errors, status = {"form": e.message}, e.status
    stable, latest = server.router.rollout().stable, server.registry.latest()
    shown = "none loaded yet" if latest is None else latest.version
    if stable in server.registry.loaded:
        shown = str(stable)
    page = render(values, errors, result, server.model_name, shown)
    return HTMLResponse(page, status_code=status)
