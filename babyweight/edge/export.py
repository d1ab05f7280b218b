"""The edge export: every variant converted, measured on the test split, and gated.

`export(...)` writes `<out>/<variant>.tflite` for each variant, `<out>/codes.json` (the
signature's inputs and code mapping, read from Transform) and `<out>/edge_report.json`:

    {"saved_model_rmse": ..., "test_rows": ..., "variants": {name: {
        "size_bytes", "rmse", "max_abs_diff", "latency_ms_per_row", "tolerance", "passed"}}}

The accuracy gate: a variant passes when its test RMSE is within its tolerance of the
SavedModel's (TOLERANCES: float variants 0.005 lb, int8 0.05 lb by default). Only passing
variants are pushed (pipeline/pusher.py); a failing one is named with its numbers
(babyweight/metadata/edge.py reads the report and makes the table).
"""

from __future__ import annotations

import json
import os

from babyweight import features as F
from babyweight.edge import convert, graph, rows, transform_values
from babyweight.edge import interpreter as lite
from babyweight.metadata.edge import CODES_FILE, REPORT_FILE

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

TOLERANCES = {"float": 0.005, "int8": 0.05}


def tolerance_of(variant: str, tolerances: dict) -> float:
    return float(tolerances["int8" if variant in convert.INT8_VARIANTS else "float"])


def rmse(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float(np.sqrt(np.mean((predictions.astype(np.float64) - labels) ** 2)))


def build_module(model_dir: str, transform_graph_dir: str) -> graph.EdgeModule:
    """The edge module of a pushed/trained SavedModel and the Transform output it used."""
    model = tf.keras.models.load_model(model_dir)
    layer = tft.TFTransformOutput(transform_graph_dir).transform_features_layer()
    values = transform_values.read(layer, graph.bucket_counts(model))
    transform_values.check_against_layer(values, layer)
    return graph.EdgeModule(model, values)


def codes_document(values: transform_values.TransformValues) -> dict:
    """What an app needs to call the model: the signature, its inputs and the codes."""
    return {
        "signature": graph.SIGNATURE,
        "inputs": {k: v.name for k, v in graph.INPUT_DTYPES.items()},
        "output": F.PREDICTION_KEY,
        "codes": {F.IS_MALE: values.is_male_codes, F.PLURALITY: values.plurality_codes},
        "transform": values.to_dict(),
    }


def measure(content: bytes, codes: dict, labels, served, tolerance, base_rmse) -> dict:
    predictions = lite.predict(content, codes)
    variant_rmse = rmse(predictions, labels)
    return {
        "size_bytes": len(content),
        "rmse": variant_rmse,
        "max_abs_diff": float(np.max(np.abs(predictions - served))),
        "latency_ms_per_row": lite.latency_ms(content, codes),
        "tolerance": tolerance,
        "passed": bool(abs(variant_rmse - base_rmse) <= tolerance),
    }


def export(
    model_dir: str,
    transform_graph_dir: str,
    examples_uri: str,
    out_dir: str,
    tolerances: dict | None = None,
    variants=convert.VARIANTS,
    test_split: str = "test",
    train_split: str = "train",
) -> dict:
    """Convert, measure and gate every variant; write the files and the report; return it."""
    tolerances = {**TOLERANCES, **(tolerances or {})}
    module = build_module(model_dir, transform_graph_dir)
    function = module.predict.get_concrete_function()
    test = rows.read_split(examples_uri, test_split)
    codes = rows.to_codes(test, module.values)
    served = rows.saved_model_predictions(model_dir, test)
    labels = test[F.LABEL_KEY].astype(np.float64)
    base_rmse = rmse(served, labels)
    train = rows.to_codes(
        rows.read_split(examples_uri, train_split, convert.REPRESENTATIVE_ROWS), module.values
    )
    representative = convert.representative_dataset(
        rows.one_row_each(train, convert.REPRESENTATIVE_ROWS)
    )
    tf.io.gfile.makedirs(out_dir)
    report = {"saved_model_rmse": base_rmse, "test_rows": int(len(labels)), "variants": {}}
    for variant in variants:
        content = convert.convert(function, module, variant, representative)
        with tf.io.gfile.GFile(os.path.join(out_dir, f"{variant}.tflite"), "wb") as f:
            f.write(content)
        tolerance = tolerance_of(variant, tolerances)
        report["variants"][variant] = measure(content, codes, labels, served, tolerance, base_rmse)
    _write_json(os.path.join(out_dir, CODES_FILE), codes_document(module.values))
    _write_json(os.path.join(out_dir, REPORT_FILE), report)
    return report


def _write_json(path: str, value: dict) -> None:
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(value, indent=2))


def read_report(out_dir: str) -> dict:
    with tf.io.gfile.GFile(os.path.join(out_dir, REPORT_FILE)) as f:
        return json.loads(f.read())
