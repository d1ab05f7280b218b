"""The stock TFX 1.16 penguin template, made runnable offline, for `pipeline_time.py --vs-template`.

`tfx template copy --model penguin` copies the template's code with TFX's own template code, then
downloads penguins_processed.csv from storage.googleapis.com, which this machine cannot reach.
This module calls the same copy function with the download left out, and writes the same
processed table from the `palmerpenguins` package instead (the Palmer Station data, CC0):
the rows with all four measurements (342 of 344), species as 0/1/2, and each measurement scaled
to [0, 1], as TFX's penguins_processed.csv is. Then it switches the template's components on,
as its TODO(step 3..5) comments tell a user to: Transform, Trainer, Resolver, Evaluator, Pusher,
with the Trainer reading Transform's output.
"""

from __future__ import annotations

from pathlib import Path

PIPELINE_NAME = "penguin_template"
COLUMNS = {  # palmerpenguins name -> the template's name
    "bill_length_mm": "culmen_length_mm",
    "bill_depth_mm": "culmen_depth_mm",
    "flipper_length_mm": "flipper_length_mm",
    "body_mass_g": "body_mass_g",
}
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]
# The template's own "uncomment here" steps, as text edits of pipeline/pipeline.py.
SWITCH_ON = [
    ("  # components.append(transform)", "  components.append(transform)"),
    ("  # components.append(trainer)", "  components.append(trainer)"),
    ("  # components.append(model_resolver)", "  components.append(model_resolver)"),
    ("  # components.append(evaluator)", "  components.append(evaluator)"),
    ("  # components.append(pusher)", "  components.append(pusher)"),
    (
        "      examples=example_gen.outputs['examples'],\n"
        "      # Use outputs of Transform as training inputs if Transform is used.\n"
        "      # examples=transform.outputs['transformed_examples'],\n"
        "      # transform_graph=transform.outputs['transform_graph'],",
        "      # Use outputs of Transform as training inputs if Transform is used.\n"
        "      examples=transform.outputs['transformed_examples'],\n"
        "      transform_graph=transform.outputs['transform_graph'],",
    ),
]


def penguins_processed(path: Path) -> int:
    """Write the template's data table from the palmerpenguins package; return its rows."""
    from palmerpenguins import load_penguins

    frame = load_penguins().dropna(subset=list(COLUMNS))
    table = frame[list(COLUMNS)].rename(columns=COLUMNS)
    table = (table - table.min()) / (table.max() - table.min())
    table.insert(0, "species", frame["species"].map(SPECIES.index))
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return len(table)


def copy_template(destination: Path) -> Path:
    """Copy the penguin template with TFX's template handler (no download), add its data and
    switch its components on; return the directory, which holds local_runner.py."""
    from tfx.tools.cli import labels
    from tfx.tools.cli.handler import template_handler

    extra = template_handler._ADDITIONAL_FILE_PATHS  # the data download is the only extra
    saved = extra.get("penguin")
    extra["penguin"] = []
    try:
        template_handler.copy_template(
            {
                labels.MODEL: "penguin",
                labels.PIPELINE_NAME: PIPELINE_NAME,
                labels.DESTINATION_PATH: str(destination),
            }
        )
    finally:
        extra["penguin"] = saved
    pipeline_file = destination / "pipeline" / "pipeline.py"
    text = pipeline_file.read_text()
    for old, new in SWITCH_ON:
        if old not in text:
            raise RuntimeError(
                f"the penguin template changed: no {old.strip()!r} in {pipeline_file}"
            )
        text = text.replace(old, new)
    pipeline_file.write_text(text)
    penguins_processed(destination / "data" / "data.csv")
    return destination
