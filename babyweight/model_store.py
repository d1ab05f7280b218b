"""The pushed model on disk: find its versions, load one, predict on Instances.

The Pusher writes `serving_model/babyweight/<version>/`, one SavedModel per blessed model, the
version an integer (seconds since the epoch). This module knows nothing of HTTP: the REST server
and batch prediction both use it, so it is a domain module, not part of either tool.

    from babyweight import model_store
    model = model_store.load(model_store.newest_version_dir("outputs/serving_model/babyweight"))
    model.predict(parse_instances(rows))  # -> [pounds, ...]
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from babyweight import features as F
from babyweight.errors import UsageError
from babyweight.instances import Instance, example_instance, signature_inputs

SAVED_MODEL_FILE = "saved_model.pb"


class ModelNotFound(UsageError, LookupError):
    """No loadable version where one was expected; the message says where."""


def versions(base_dir: str | os.PathLike) -> list[int]:
    """Versions under `base_dir` that hold a complete SavedModel, oldest first.

    A directory counts when its name is an integer and it has saved_model.pb and a variables
    index, so a version still being copied (or a temp directory) is not picked up.
    """
    base = Path(base_dir)
    if not base.is_dir():
        return []
    found = []
    for child in base.iterdir():
        if child.name.isascii() and child.name.isdigit() and is_complete(child):
            found.append(int(child.name))
    return sorted(found)


def is_complete(version_dir: str | os.PathLike) -> bool:
    path = Path(version_dir)
    return (path / SAVED_MODEL_FILE).is_file() and (
        path / "variables" / "variables.index"
    ).is_file()


def newest_version(base_dir: str | os.PathLike) -> int | None:
    found = versions(base_dir)
    return found[-1] if found else None


def newest_version_dir(base_dir: str | os.PathLike) -> Path:
    """The newest version's directory; ModelNotFound when there is none."""
    version = newest_version(base_dir)
    if version is None:
        raise ModelNotFound(f"no model version (a numbered SavedModel directory) in {base_dir}")
    return Path(base_dir) / str(version)


@dataclasses.dataclass
class LoadedModel:
    """One loaded version and its serving_default signature."""

    path: Path
    version: str
    signature: object  # the ConcreteFunction of serving_default
    saved: object = dataclasses.field(default=None, repr=False)  # keeps the variables alive

    def predict(self, instances: list[Instance]) -> list[float]:
        """Birth weight in pounds for each instance, as the pushed signature computes it."""
        if not instances:
            return []
        import tensorflow as tf

        inputs = {k: tf.constant(v) for k, v in signature_inputs(instances).items()}
        outputs = self.signature(**inputs)[F.PREDICTION_KEY]
        return [float(x) for x in outputs.numpy()]

    def signature_defs(self) -> dict:
        """Every signature's inputs and outputs, as TF Serving's metadata API describes them."""
        from tensorflow.core.framework import types_pb2

        def tensor(spec, name: str) -> dict:
            dims = [{"size": str(d if d is not None else -1), "name": ""} for d in spec.shape]
            return {
                "dtype": types_pb2.DataType.Name(spec.dtype.as_datatype_enum),
                "tensor_shape": {"dim": dims, "unknown_rank": False},
                "name": name,
            }

        defs = {}
        for sig_name, fn in sorted(self.saved.signatures.items()):
            _, kwargs = fn.structured_input_signature
            defs[sig_name] = {
                "inputs": {
                    k: tensor(spec, f"{sig_name}_{k}:0") for k, spec in sorted(kwargs.items())
                },
                "outputs": {
                    k: tensor(spec, k) for k, spec in sorted(fn.structured_outputs.items())
                },
                "method_name": "tensorflow/serving/predict",
            }
        return defs


def load(version_dir: str | os.PathLike, *, warm_up: bool = True) -> LoadedModel:
    """Load one version directory. With warm_up, one prediction runs so the first request
    does not pay for tracing."""
    import tensorflow as tf

    path = Path(version_dir)
    if not is_complete(path):
        raise ModelNotFound(f"{path} is not a complete SavedModel")
    saved = tf.saved_model.load(str(path))
    model = LoadedModel(
        path=path, version=path.name, signature=saved.signatures[F.RAW_SIGNATURE], saved=saved
    )
    if warm_up:  # one row of the table's examples, so the first request does not trace
        model.predict([example_instance()])
    return model
