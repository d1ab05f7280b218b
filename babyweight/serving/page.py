"""The web page for people: a form of the features, and the prediction in lb and kg.

One Jinja template (page.html, no JavaScript, no build step); its fields, words, choices and
ranges come from the table of features (babyweight/features.py), its checks from
babyweight.instances.
"""

from __future__ import annotations

import functools
import html
from pathlib import Path
from urllib.parse import parse_qsl

from babyweight import features as F
from babyweight.instances import instance_errors, parse_instance
from babyweight.serving.requests import RequestError, read_body

KG_PER_POUND = 0.45359237


def _options(feature: F.Feature) -> list[tuple[str, str]]:
    """(value, words) of each category: the table's choices in their order, else the domain."""
    return list((feature.choices or {value: value for value in feature.domain}).items())


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
    fields = [
        {
            "name": f.name,
            "label": f.label,
            # a category starts at its example (Unknown, Single); a number starts empty
            "value": values.get(f.name, f.example if f.categorical else ""),
            "options": _options(f) if f.categorical else None,
            "range": None if f.categorical else f.domain,
            "unit": f.unit,
            "error": errors.get(f.name),
        }
        for f in F.FEATURES
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
    from starlette.responses import HTMLResponse

    values, errors, result, status = {}, {}, None, 200
    if request.method == "POST":
        try:
            body = await read_body(request, server.max_body_bytes)
        except RequestError as e:
            return HTMLResponse(html.escape(e.message), status_code=e.status)
        values = dict(parse_qsl(body.decode("utf-8", errors="replace")))
        filled = {k: v for k, v in values.items() if v.strip()}  # an empty box is missing
        labels = {f.name: f.label for f in F.FEATURES}
        errors = {k: f"{labels.get(k, k)}: {e.reason}" for k, e in instance_errors(filled).items()}
        status = 400 if errors else 200
        if not errors:
            try:
                model, label = server.router.pick()
                instance = parse_instance(filled)
                pounds = (
                    await server.in_model_thread(server.predict_and_log, model, [instance], label)
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
