"""babyweight/warmup_requests.py: TF Serving's warm-up file, written and read back."""

from __future__ import annotations

from babyweight import warmup_requests

import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2


def test_written_as_tf_serving_reads_it(tmp_path):
    path = warmup_requests.write(tmp_path, "babyweight")
    assert path == tmp_path / "assets.extra" / "tf_serving_warmup_requests"
    # TF Serving's reader: a TFRecord file of PredictionLog protos
    logs = [
        prediction_log_pb2.PredictionLog.FromString(r.numpy())
        for r in tf.data.TFRecordDataset(str(path))
    ]
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log"] * 2
    sizes = [
        [d.size for d in log.predict_log.request.inputs["mother_age"].tensor_shape.dim]
        for log in logs
    ]
    assert sizes == [[1], [len(warmup_requests.ROWS)]]
    ages = tf.make_ndarray(logs[1].predict_log.request.inputs["mother_age"]).tolist()
    assert ages == [r["mother_age"] for r in warmup_requests.ROWS]
    assert [r.model_spec.name for r in warmup_requests.read(tmp_path)] == ["babyweight"] * 2


def test_no_file_no_requests(tmp_path):
    assert warmup_requests.read(tmp_path) == []
