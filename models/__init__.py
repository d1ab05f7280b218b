"""The babyweight model: feature names, the Transform-aware Keras model and its run_fn.

TFX 1.16 exports models through tf.keras; with Keras 3 that export breaks. Importing this package
selects the Keras 2 implementation (tf-keras) before TensorFlow is loaded anywhere in the process.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
