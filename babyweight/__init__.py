"""babyweight: the domain of the pipeline and the tools around it.

- `features`, `schema`, `instances`: what a birth record is (names, spellings, domains), shared by
  the pipeline in `pipeline/`, the model in `models/`, `preprocessing.py` and every tool.
- `layout`: every path under a run's output directory.
- `serving/`, `batch/`, `metadata/`, `monitoring/`, `kfp/`: the tools, one job each, behind the
  one command `babyweight` (`babyweight/cli.py`).

Importing this package selects Keras 2 (tf-keras) for TensorFlow: TFX 1.16 exports models
through tf.keras, and with Keras 3 that export breaks. TensorFlow reads the variable on the
first use of `tf.keras`, so this works wherever the package is imported before that. It also
keeps ML Metadata's C++ log (glog) to FATAL, for the same reason: it is read when MLMD loads.
"""

import os
import warnings

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# ML Metadata's C++ client logs through glog, which reads its level once, when the library loads
# (tfx, the runner and the tools load it at import): a connection that fails would print its
# own `E... mysql_metadata_source.cc` line (a hint about MySQL 8 that is rarely the cause) beside
# the one line that names the store (babyweight/metadata/store.py). FATAL only; a value the user
# set wins (GLOG_minloglevel=0 shows every line).
os.environ.setdefault("GLOG_minloglevel", "3")

# The Google Cloud client libraries warn about Python 3.10 on import, one line per library.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")
