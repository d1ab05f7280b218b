"""TF Serving's model warm-up file: `<version>/assets.extra/tf_serving_warmup_requests`, a
TFRecord file of PredictionLog protos whose requests a server replays before it marks the
version AVAILABLE, so the first real request is not the slow one.

The Pusher writes one for every pushed version from real rows of data/births.csv (ROWS below),
as requests of 1 and of len(ROWS) rows, the sizes a client sends most. `read()` gives the
requests back (the serving side replays them; at most MAX_RECORDS, TF Serving's limit).
"""

from __future__ import annotations

from pathlib import Path

from babyweight import features as F

import numpy as np

ASSETS_EXTRA = "assets.extra"
FILE_NAME = "tf_serving_warmup_requests"
MAX_RECORDS = 1000  # TF Serving reads at most this many warm-up records
# Rows of data/births.csv (lines 2, 3, 53, 139, 155, 400): singletons and twins, both sexes.
ROWS = [
    {"is_male": "True", "mother_age": 32, "plurality": "Single(1)", "gestation_weeks": 40},
    {"is_male": "False", "mother_age": 32, "plurality": "Single(1)", "gestation_weeks": 37},
    {"is_male": "True", "mother_age": 35, "plurality": "Twins(2)", "gestation_weeks": 30},
    {"is_male": "True", "mother_age": 31, "plurality": "Twins(2)", "gestation_weeks": 37},
    {"is_male": "False", "mother_age": 40, "plurality": "Twins(2)", "gestation_weeks": 36},
    {"is_male": "False", "mother_age": 26, "plurality": "Single(1)", "gestation_weeks": 37},
]


def warmup_path(version_dir) -> Path:
    return Path(version_dir) / ASSETS_EXTRA / FILE_NAME


def predict_request(rows: list[dict], model_name: str):
    """A PredictRequest of serving_default with `rows` as TensorProtos."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = F.RAW_SIGNATURE
    for key in F.FEATURE_KEYS:
        numeric = key in (F.MOTHER_AGE, F.GESTATION_WEEKS)
        values = np.array([r[key] for r in rows], dtype=np.int64 if numeric else object)
        request.inputs[key].CopyFrom(tf.make_tensor_proto(values))
    return request


def write(version_dir, model_name: str, rows: list[dict] = ROWS) -> Path:
    """Write the warm-up file of `version_dir`: one request of 1 row and one of all `rows`."""
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    path = warmup_path(version_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    with tf.io.TFRecordWriter(str(temp)) as writer:
        for batch in (rows[:1], rows):
            log = prediction_log_pb2.PredictionLog()
            log.predict_log.request.CopyFrom(predict_request(batch, model_name))
            writer.write(log.SerializeToString())
    temp.replace(path)
    return path


def read(version_dir) -> list:
    """The PredictRequests of the version's warm-up file ([] when it has none)."""
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    path = warmup_path(version_dir)
    if not path.is_file():
        return []
    requests = []
    for record in tf.data.TFRecordDataset(str(path)).take(MAX_RECORDS):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        if log.WhichOneof("log_type") == "predict_log":
            requests.append(log.predict_log.request)
    return requests
