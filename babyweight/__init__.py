"""Tools around the babyweight pipeline: serving, batch prediction, lineage and reports.

The pipeline itself lives in `pipeline/`, the model in `models/` and the Transform code in
`preprocessing.py`, where TFX template users expect them.
"""

import models  # noqa: F401  (selects Keras 2 before any TensorFlow import)
