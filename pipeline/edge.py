"""EdgeExport: the trained model as TFLite files a phone runs without TensorFlow, gated on accuracy.

After the Evaluator, for a blessed model: babyweight.edge.export converts the model and the
Transform graph it was trained with into built-in-only TFLite variants (float32, dynamic_range,
float16, int8), measures each on the test split against the SavedModel, and gates it: a variant
whose test RMSE is further than its tolerance from the SavedModel's is named, with its numbers,
and not pushed. The EdgeModel artifact (its directory: `<variant>.tflite`, codes.json,
edge_report.json) has the model, Transform graph and examples as inputs in ML Metadata; the
Pusher (pipeline/pusher.py) copies the passing variants to `<version>/edge/`.
"""

import json

from babyweight.edge import export
from babyweight.metadata import edge as edge_report

from absl import logging
from tfx import v1 as tfx
from tfx.types import artifact_utils
from tfx.utils import path_utils

Input = tfx.dsl.components.InputArtifact
Output = tfx.dsl.components.OutputArtifact
Parameter = tfx.dsl.components.Parameter
standard = tfx.types.standard_artifacts

# Custom properties of the EdgeModel artifact (read by pipeline/pusher.py and the summary).
PASSED = "passed_variants"  # comma-separated names of the variants that passed the gate
REPORT = "edge_report"  # edge_report.json, as text
SKIPPED = "skipped"  # why nothing was exported (the model was not blessed)


class EdgeModel(tfx.dsl.Artifact):
    """A directory of TFLite variants of a model, with their report and the input codes.

    The KFP v2 compiler takes a custom TYPE_NAME as `module.Class` and TFX's container
    entrypoint imports the class back from it: pipeline/__init__.py exposes it."""

    TYPE_NAME = "pipeline.EdgeModel"


@tfx.dsl.components.component
def EdgeExport(  # noqa: N802  (TFX component names are classes by convention)
    model: Input[standard.Model],
    transform_graph: Input[standard.TransformGraph],
    examples: Input[standard.Examples],
    blessing: Input[standard.ModelBlessing],
    edge_model: Output[EdgeModel],
    float_tolerance: Parameter[float] = export.TOLERANCES["float"],
    int8_tolerance: Parameter[float] = export.TOLERANCES["int8"],
) -> None:
    if not blessing.get_int_custom_property("blessed"):
        edge_model.set_string_custom_property(SKIPPED, "the model is not blessed")
        edge_model.set_string_custom_property(PASSED, "")
        logging.info("EdgeExport: the model is not blessed; nothing exported.")
        return
    splits = artifact_utils.decode_split_names(examples.split_names)
    report = export.export(
        path_utils.serving_model_path(model.uri),
        transform_graph.uri,
        examples.uri,
        edge_model.uri,
        tolerances={"float": float_tolerance, "int8": int8_tolerance},
        test_split="test" if "test" in splits else splits[-1],
        train_split="train" if "train" in splits else splits[0],
    )
    edge_model.set_string_custom_property(PASSED, ",".join(edge_report.passing(report)))
    edge_model.set_string_custom_property(REPORT, json.dumps(report, sort_keys=True))
    logging.info("EdgeExport:\n%s", edge_report.markdown_table(report))
    for line in edge_report.failure_lines(report):
        logging.warning(line)
