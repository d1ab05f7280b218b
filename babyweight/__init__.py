"""babyweight: the domain of the pipeline and the tools around it.

- `features`, `schema`, `instances`: what a birth record is (names, spellings, domains), shared by
  the pipeline in `pipeline/`, the model in `models/`, `preprocessing.py` and every tool.
- `layout`: every path under a run's output directory.
- `serving/`, `batch/`, `metadata/`, `monitoring/`, `kfp/`: the tools, one job each, behind the
  one command `babyweight` (`babyweight/cli.py`).

Importing this package selects Keras 2 (tf-keras) for TensorFlow: TFX 1.16 exports models
through tf.keras, and with Keras 3 that export breaks. TensorFlow reads the variable on the
first use of `tf.keras`, so this works wherever the package is imported before that.
"""

import os
import warnings

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# The Google Cloud client libraries warn about Python 3.10 on import, one line per library.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")
