"""Predict birth weights on a device: a babyweight edge model (.tflite) and a CSV, nothing else.

    python predict.py MODEL.tflite ROWS.csv

Needs only the LiteRT runtime (`pip install ai-edge-litert numpy`): no TensorFlow, no Flex
delegate, no babyweight package. ROWS.csv has the columns is_male, mother_age, plurality and
gestation_weeks (others are ignored), with values as the BigQuery input format writes them: is_male
true/false (or 1/0, t/f; empty or "unknown" for not known), plurality 1..5 (or "Multiple(2+)"
when only "more than one" is known), mother_age and gestation_weeks whole numbers. It prints one
prediction, in pounds, per row, in row order.

The model takes codes, not text (docs/edge.md): is_male 0 False, 1 True, 2 Unknown; plurality
0..4 for 1..5 babies, 5 for "Multiple(2+)". This script maps each row to them as an app maps its
form. When the pushed codes.json lies beside the model (`<version>/edge/codes.json`), its codes
are used instead of the ones written here.
"""

import csv
import json
import os
import sys

import numpy as np

try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:  # the older runtime package has the same interpreter
    from tflite_runtime.interpreter import Interpreter

SIGNATURE = "serving_default"
OUTPUT = "predicted_weight_pounds"
IS_MALE_CODES = {"False": 0, "True": 1, "Unknown": 2}
PLURALITY_CODES = {
    "Single(1)": 0,
    "Twins(2)": 1,
    "Triplets(3)": 2,
    "Quadruplets(4)": 3,
    "Quintuplets(5)": 4,
    "Multiple(2+)": 5,
}
IS_MALE_TEXT = {"true": "True", "1": "True", "t": "True", "false": "False", "0": "False"}
IS_MALE_TEXT.update({"f": "False", "": "Unknown", "unknown": "Unknown"})
COLUMNS = ("is_male", "mother_age", "plurality", "gestation_weeks")


def load_codes(model_path):
    """(is_male codes, plurality codes): codes.json beside the model, else the ones above."""
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "codes.json")
    if not os.path.exists(path):
        return IS_MALE_CODES, PLURALITY_CODES
    with open(path) as f:
        codes = json.load(f)["codes"]
    return codes["is_male"], codes["plurality"]


def plurality_label(text):
    text = text.strip()
    if text.lower() in {k.lower() for k in PLURALITY_CODES}:
        return next(k for k in PLURALITY_CODES if k.lower() == text.lower())
    count = int(float(text))
    if not 1 <= count <= 5:
        raise ValueError(f"plurality {text!r}: must be 1..5 or Multiple(2+)")
    return list(PLURALITY_CODES)[count - 1]


def read_rows(csv_path, is_male_codes, plurality_codes):
    """The model's four inputs for every row of the CSV."""
    columns = {name: [] for name in COLUMNS}
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{csv_path}: missing columns {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            try:
                sex = IS_MALE_TEXT[row["is_male"].strip().lower()]
                columns["is_male"].append(is_male_codes[sex])
                columns["plurality"].append(plurality_codes[plurality_label(row["plurality"])])
                columns["mother_age"].append(float(row["mother_age"]))
                columns["gestation_weeks"].append(float(row["gestation_weeks"]))
            except (KeyError, ValueError) as e:
                raise ValueError(f"{csv_path} line {line}: {e}") from None
    return {
        "is_male": np.array(columns["is_male"], np.int32),
        "mother_age": np.array(columns["mother_age"], np.float32),
        "plurality": np.array(columns["plurality"], np.int32),
        "gestation_weeks": np.array(columns["gestation_weeks"], np.float32),
    }


def main(argv):
    if len(argv) != 2:
        print("usage: predict.py MODEL.tflite ROWS.csv", file=sys.stderr)
        return 2
    model_path, csv_path = argv
    try:
        inputs = read_rows(csv_path, *load_codes(model_path))
        runner = Interpreter(model_path=model_path).get_signature_runner(SIGNATURE)
        predictions = runner(**inputs)[OUTPUT].reshape(-1) if len(inputs["is_male"]) else []
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for value in predictions:
        print(f"{value:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
