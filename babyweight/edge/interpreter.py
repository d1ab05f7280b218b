"""Running an edge model: the LiteRT interpreter (ai-edge-litert) when it is installed, else
TensorFlow's copy of the same interpreter. Predictions and per-row latency."""

from __future__ import annotations

import time

from babyweight import features as F
from babyweight.edge.graph import SIGNATURE

import numpy as np

LATENCY_ROWS = 200


def interpreter(model_content: bytes):
    """An interpreter for a .tflite model's bytes, built-in ops only (no Flex delegate)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # the pipeline image may have TensorFlow only
        from tensorflow.lite.python.interpreter import Interpreter
    return Interpreter(model_content=model_content)


def predict(model_content: bytes, codes: dict[str, np.ndarray]) -> np.ndarray:
    """One prediction per row of `codes` (the edge signature's inputs)."""
    runner = interpreter(model_content).get_signature_runner(SIGNATURE)
    return runner(**codes)[F.PREDICTION_KEY].reshape(-1)


def latency_ms(model_content: bytes, codes: dict[str, np.ndarray], rows: int = LATENCY_ROWS):
    """Median milliseconds of one call on one row, over the first `rows` rows."""
    runner = interpreter(model_content).get_signature_runner(SIGNATURE)
    count = min(rows, len(next(iter(codes.values()))))
    one = [{k: v[i : i + 1] for k, v in codes.items()} for i in range(count)]
    runner(**one[0])  # the first call allocates tensors
    times = []
    for row in one:
        start = time.perf_counter()
        runner(**row)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)
