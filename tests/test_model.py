"""The Keras model: masking, the wide-and-deep build, and training under a 2-device
MirroredStrategy (in a subprocess: logical devices must be set before TensorFlow starts)."""

import json
import subprocess
import sys

from babyweight import features as F

import numpy as np
import tensorflow as tf
from helpers import REPO

from models import model as M

TWO_DEVICE_SCRIPT = r"""
import json
import babyweight  # Keras 2
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
from babyweight import features as F
from models import model as M

strategy = tf.distribute.MirroredStrategy()
with strategy.scope():
    model = M.build_model(learning_rate=0.01, hidden_units=[8], embedding_dim=2)
rng = np.random.default_rng(0)
n = 256
features = {name: rng.integers(0, k, size=(n, 1)) for name, k in F.CATEGORICAL_XF.items()}
features.update({name: rng.normal(size=(n, 1)).astype("float32") for name in F.NUMERIC_XF})
label = (7 + features[F.NUMERIC_XF[1]]).astype("float32")
ds = tf.data.Dataset.from_tensor_slices((features, label)).repeat().batch(32)
history = model.fit(ds, steps_per_epoch=40, epochs=2, verbose=0)
prediction = model.predict({k: v[:3] for k, v in features.items()}, verbose=0)
print(json.dumps({
    "replicas": strategy.num_replicas_in_sync,
    "devices": list(strategy.extended.worker_devices),
    "loss": history.history["loss"],
    "shape": list(prediction.shape),
    "variables_mirrored": type(model.trainable_variables[0]).__name__,
}))
"""


def test_trains_under_two_device_mirrored_strategy():
    result = subprocess.run(
        [sys.executable, "-c", TWO_DEVICE_SCRIPT],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2 and len(out["devices"]) == 2
    assert out["variables_mirrored"] == "MirroredVariable"
    assert out["shape"] == [3, 1]
    assert out["loss"][-1] < out["loss"][0]


def test_build_has_wide_and_deep_parts_over_every_transformed_feature():
    model = M.build_model(learning_rate=0.003, hidden_units=[4], embedding_dim=2)
    assert sorted(model.input_names) == sorted([*F.CATEGORICAL_XF, *F.NUMERIC_XF])
    names = {layer.name for layer in model.layers}
    assert {"wide", "deep", F.PREDICTION_KEY} <= names


def test_mask_hides_sex_and_keeps_only_single_or_multiple():
    plurality = F.transformed_name(F.PLURALITY)
    is_male = F.transformed_name(F.IS_MALE)
    features = {
        is_male: tf.constant([[0], [1], [2], [1]], tf.int64),
        plurality: tf.constant([[0], [1], [2], [4]], tf.int64),
    }
    masked = M.mask_sex_and_plurality(features)
    assert [F.IS_MALE_VALUES[i] for i in masked[is_male].numpy().ravel()] == ["Unknown"] * 4
    assert [F.PLURALITY_VALUES[i] for i in masked[plurality].numpy().ravel()] == [
        "Single(1)",
        "Multiple(2+)",
        "Multiple(2+)",
        "Multiple(2+)",
    ]


def test_training_batches_carry_a_masked_copy():
    features = {
        F.transformed_name(F.IS_MALE): tf.constant([[1], [0]], tf.int64),
        F.transformed_name(F.PLURALITY): tf.constant([[0], [1]], tf.int64),
        F.transformed_name(F.MOTHER_AGE): tf.constant([[0.5], [-0.5]]),
    }
    both, label = M.with_masked_copy(features, tf.constant([[7.0], [5.0]]))
    np.testing.assert_array_equal(label.numpy().ravel(), [7, 5, 7, 5])
    np.testing.assert_array_equal(
        both[F.transformed_name(F.MOTHER_AGE)].numpy().ravel(), [0.5, -0.5, 0.5, -0.5]
    )
    assert both[F.transformed_name(F.IS_MALE)].numpy().ravel().tolist() == [1, 0, 2, 2]
