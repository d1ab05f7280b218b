"""The babyweight TFX pipeline: settings, the DAG, data staging and the run summary."""

import models  # noqa: F401  (selects Keras 2 before any TensorFlow import)
