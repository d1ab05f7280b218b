"""`babyweight edge-predict`: a CSV predicted with an edge model (.tflite), and, with
--saved-model, next to the served SavedModel's answers, for a parity check on your own rows.

    babyweight edge-predict --model VERSION/edge/int8.tflite --input rows.csv
    babyweight edge-predict --model VERSION/edge/int8.tflite --input rows.csv --saved-model VERSION

The CSV needs is_male, mother_age, plurality and gestation_weeks (others are ignored), read with
the rules every tool uses (babyweight/values.py). Rows are mapped to the edge model's codes with
the codes.json pushed beside it (the Transform ids), or Transform's order (F.IS_MALE_VALUES,
F.PLURALITY_VALUES) without one. Output: one line per row, `edge` (and `saved_model`) pounds;
with --saved-model a last line on stderr gives the largest difference, and the RMSE of both when
the CSV has weight_pounds.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from babyweight import features as F
from babyweight import values as V
from babyweight.errors import BabyweightError, ExitCode

import numpy as np


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="babyweight edge-predict", description=__doc__)
    parser.add_argument("--model", required=True, type=Path, help="an edge .tflite file")
    parser.add_argument("--input", required=True, type=Path, help="a CSV of rows")
    parser.add_argument("--saved-model", type=Path, help="a SavedModel version to compare with")
    return parser


def load_codes(model: Path) -> dict[str, dict[str, int]]:
    path = model.parent / "codes.json"
    if path.exists():
        return json.loads(path.read_text())["codes"]
    return {
        F.IS_MALE: {v: i for i, v in enumerate(F.IS_MALE_VALUES)},
        F.PLURALITY: {v: i for i, v in enumerate(F.PLURALITY_VALUES)},
    }


def read_csv(path: Path) -> list[dict]:
    """Rows with is_male and plurality as labels, ages and weeks as ints (weight if given)."""
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in F.FEATURE_KEYS if c not in (reader.fieldnames or [])]
            if missing:
                raise BabyweightError(f"{path}: missing columns {', '.join(missing)}")
            found = []
            for line, row in enumerate(reader, start=2):
                try:
                    found.append(_read_row(row))
                except V.InvalidValue as e:
                    raise BabyweightError(f"{path} line {line}: {e}") from None
            return found
    except OSError as e:
        raise BabyweightError(f"{path}: cannot read ({e.strerror})") from None


def _read_row(row: dict) -> dict:
    read = {
        F.IS_MALE: V.read_is_male(row[F.IS_MALE]),
        F.MOTHER_AGE: V.read_whole_number(F.MOTHER_AGE, row[F.MOTHER_AGE]),
        F.PLURALITY: V.read_plurality(row[F.PLURALITY]),
        F.GESTATION_WEEKS: V.read_whole_number(F.GESTATION_WEEKS, row[F.GESTATION_WEEKS]),
    }
    label = row.get(F.LABEL_KEY)
    read[F.LABEL_KEY] = float(label) if label not in (None, "") else None
    return read


def edge_inputs(rows: list[dict], codes: dict) -> dict[str, np.ndarray]:
    return {
        F.IS_MALE: np.array([codes[F.IS_MALE][r[F.IS_MALE]] for r in rows], np.int32),
        F.MOTHER_AGE: np.array([r[F.MOTHER_AGE] for r in rows], np.float32),
        F.PLURALITY: np.array([codes[F.PLURALITY][r[F.PLURALITY]] for r in rows], np.int32),
        F.GESTATION_WEEKS: np.array([r[F.GESTATION_WEEKS] for r in rows], np.float32),
    }


def saved_model_predictions(model_dir: Path, rows: list[dict]) -> np.ndarray:
    """The server's answers: the SavedModel's serving_default on the same rows."""
    import tensorflow as tf

    served = tf.saved_model.load(str(model_dir)).signatures[F.RAW_SIGNATURE]
    out = served(
        is_male=tf.constant([r[F.IS_MALE] for r in rows]),
        mother_age=tf.constant([r[F.MOTHER_AGE] for r in rows], tf.int64),
        plurality=tf.constant([r[F.PLURALITY] for r in rows]),
        gestation_weeks=tf.constant([r[F.GESTATION_WEEKS] for r in rows], tf.int64),
    )
    return out[F.PREDICTION_KEY].numpy().reshape(-1)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if not args.model.is_file():
        raise BabyweightError(f"--model {args.model}: no such file")
    rows = read_csv(args.input)
    if not rows:
        raise BabyweightError(f"{args.input}: no rows", code=ExitCode.UNUSABLE_DATA)
    from babyweight.edge import interpreter

    edge = interpreter.predict(args.model.read_bytes(), edge_inputs(rows, load_codes(args.model)))
    if args.saved_model is None:
        print("\n".join(f"{v:.4f}" for v in edge))
        return 0
    served = saved_model_predictions(args.saved_model, rows)
    print("edge,saved_model")
    print("\n".join(f"{e:.4f},{s:.4f}" for e, s in zip(edge, served, strict=True)))
    summary = (
        f"{len(rows)} rows; largest |edge - saved_model| {np.max(np.abs(edge - served)):.4f} lb"
    )
    labels = [r[F.LABEL_KEY] for r in rows]
    if None not in labels:
        rmse = {
            k: float(np.sqrt(np.mean((v - np.array(labels)) ** 2)))
            for k, v in (("edge", edge), ("saved_model", served))
        }
        summary += f"; RMSE edge {rmse['edge']:.4f}, saved_model {rmse['saved_model']:.4f} lb"
    print(summary, file=sys.stderr)
    return 0
