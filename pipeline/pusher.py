"""The Pusher, minus duplicate pushes: a blessed model that is already the newest version in the
serving directory is not copied again.

A rerun with nothing changed hands the Evaluator the cached model with itself as the baseline;
it is blessed again, and the stock Pusher would copy an identical SavedModel as a new version (a
running server would then hot-swap to it). This executor compares the model's files with those
of the newest version first (over TFX's fileio, so gs:// works too). When they are the same, the
PushedModel artifact is recorded in ML Metadata as not pushed (`pushed` = 0), with
`already_serving_version` and `already_serving_destination` saying which version serves it.
Otherwise it is the stock Pusher.

After a push, the project's batch prediction job fills the pushed version's prediction table
(babyweight/batch/table.py): over the whole input domain, or, when the domain has more rows than
the `prediction_table_rows` setting, over the combinations most frequent in the train split of
the `examples` input (the examples the model was trained on).

With an `edge_model` input (pipeline/edge.py), a push also copies the edge variants that passed
their accuracy gate to `<version>/edge/<variant>.tflite` (with codes.json and the report);
nothing of a failed variant is copied. The pushed model records them as `edge_variants`.
"""

from __future__ import annotations

import hashlib
import os

from babyweight import prediction_table, warmup_requests
from babyweight.metadata.edge import CODES_FILE, REPORT_FILE
from babyweight.metadata.summary import ALREADY_SERVING_DESTINATION, ALREADY_SERVING_VERSION

import numpy as np
from absl import logging
from tfx import types
from tfx.components.pusher import executor as stock
from tfx.dsl.components.base import base_component, executor_spec
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.utils import proto_utils
from tfx.v1.components import Pusher

from .edge import PASSED, EdgeModel

EDGE_DIR = "edge"  # in a pushed version: <version>/edge/<variant>.tflite
EDGE_MODEL_KEY = "edge_model"
EXAMPLES_KEY = "examples"  # optional input: the examples the model was trained on
TABLE_ROWS_KEY = "prediction_table_rows"  # optional parameter: the table's most rows
PREDICTION_TABLE_ROWS = 1_000_000  # without the parameter (pipeline.configs sets it)
EDGE_VARIANTS = "edge_variants"  # custom property of the pushed model: the variants pushed


def newest_version_dir(base_directory: str) -> tuple[str, str] | None:
    """(version, path) of the highest numbered version under `base_directory`, or None."""
    if not fileio.isdir(base_directory):
        return None
    versions = [name.rstrip("/") for name in fileio.listdir(base_directory)]
    versions = [v for v in versions if v.isdigit()]
    if not versions:
        return None
    newest = max(versions, key=int)
    return newest, os.path.join(base_directory, newest)


def _files(root: str) -> dict[str, str]:
    """Relative path -> sha256 of every file under `root`, but its edge/ directory."""
    found = {}
    for directory, _, names in fileio.walk(root):
        if os.path.relpath(directory, root).split(os.sep)[0] == EDGE_DIR:
            continue
        for name in names:
            path = os.path.join(directory, name)
            with fileio.open(path, "rb") as f:
                found[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return found


def same_model(model_dir: str, version_dir: str) -> bool:
    """True when both SavedModel directories hold the same files with the same bytes, besides
    the serving extras written after a push (write_serving_extras)."""
    pushed = {k: v for k, v in _files(version_dir).items() if k not in SERVING_EXTRAS}
    return _files(model_dir) == pushed


# Written beside a pushed version, not part of the model (relative paths, as _files gives them).
SERVING_EXTRAS = frozenset(
    os.path.join(module.ASSETS_EXTRA, module.FILE_NAME)
    for module in (warmup_requests, prediction_table)
)


def training_counts(examples: list) -> np.ndarray | None:
    """How often each row of the input domain occurs in the train split of the Examples
    artifacts (raw tf.Examples, gzipped TFRecords; a window of spans is several), read by
    babyweight.instances' rules; None without an artifact."""
    if not examples:
        return None
    from babyweight import features as F
    from babyweight.instances import read_instance_columns

    import tensorflow as tf

    files = [
        path
        for artifact in examples
        for path in fileio.glob(
            os.path.join(artifact_utils.get_split_uri([artifact], "train"), "*")
        )
    ]
    spec = {  # a missing value reads as "" or -1: then the row is not counted
        f.name: tf.io.FixedLenFeature([], tf.string, b"")
        if f.stored_dtype == "string"
        else tf.io.FixedLenFeature([], tf.int64, -1)
        for f in F.FEATURES
    }
    domain = prediction_table.Domain.from_features()
    counts = np.zeros(domain.size, dtype=np.int64)
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(8192)
    for batch in dataset:
        parsed = tf.io.parse_example(batch, spec)
        columns = {k: v.numpy().tolist() for k, v in parsed.items()}
        columns = {k: [x.decode() if isinstance(x, bytes) else x for x in v]
                   for k, v in columns.items()}  # fmt: skip
        read = read_instance_columns(columns, len(columns[F.FEATURE_KEYS[0]]))
        counts += prediction_table.count_rows(domain, read.inputs)
    return counts


def write_serving_extras(version_dir: str, table_rows: int, examples: list = ()) -> None:
    """Beside a pushed version, under assets.extra/: TF Serving's warm-up requests (real rows)
    and the table of its predictions (babyweight/prediction_table.py), filled by the batch
    prediction job over the input domain or, when it has more than `table_rows` rows, over the
    combinations most frequent in `examples`' train split. Local directories only; a table that
    cannot be made is logged (the server then uses the model for every row)."""
    if not os.path.isdir(version_dir):
        logging.info(
            "%s is not a local directory: no warm-up file or prediction table", version_dir
        )
        return
    from babyweight.batch import table
    from babyweight.layout import MODEL_NAME

    warmup_requests.write(version_dir, MODEL_NAME)
    domain_size = prediction_table.Domain.from_features().size
    counts = training_counts(examples) if domain_size > table_rows else None
    try:
        path = table.fill(version_dir, max_rows=table_rows, counts=counts)
    except prediction_table.TableError as e:
        logging.warning("no prediction table: %s", e)
        return
    logging.info("prediction table written to %s", path)


class Executor(stock.Executor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:  # noqa: N802  (TFX's name)
        pushed_model = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        )
        serving = self._already_serving(input_dict, exec_properties)
        if serving is None:
            super().Do(input_dict, output_dict, exec_properties)
            if pushed_model.get_int_custom_property("pushed"):
                self._push_edge(input_dict.get(EDGE_MODEL_KEY) or [], pushed_model)
                write_serving_extras(
                    pushed_model.get_string_custom_property("pushed_destination"),
                    exec_properties.get(TABLE_ROWS_KEY) or PREDICTION_TABLE_ROWS,
                    input_dict.get(EXAMPLES_KEY) or [],
                )
            return
        version, path = serving
        self._MarkNotPushed(pushed_model)
        pushed_model.set_string_custom_property(ALREADY_SERVING_VERSION, version)
        pushed_model.set_string_custom_property(ALREADY_SERVING_DESTINATION, path)
        logging.info("Model already serving as version %s (%s); nothing pushed.", version, path)

    def _push_edge(self, edge_models: list, pushed_model) -> None:
        """Copy the variants that passed the gate (and codes, report) to <version>/edge/."""
        if not edge_models:
            return
        edge = edge_models[0]
        passed = [v for v in edge.get_string_custom_property(PASSED).split(",") if v]
        if not passed:
            return
        target = os.path.join(
            pushed_model.get_string_custom_property("pushed_destination"), EDGE_DIR
        )
        fileio.makedirs(target)
        for name in [f"{v}.tflite" for v in passed] + [CODES_FILE, REPORT_FILE]:
            fileio.copy(os.path.join(edge.uri, name), os.path.join(target, name), overwrite=True)
        pushed_model.set_string_custom_property(EDGE_VARIANTS, ",".join(passed))
        logging.info("Edge variants pushed to %s: %s", target, ", ".join(passed))

    def _already_serving(self, input_dict, exec_properties) -> tuple[str, str] | None:
        """(version, path) when the blessed model is the newest version already, else None."""
        if not self.CheckBlessing(input_dict):
            return None
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination
        )
        if destination.WhichOneof("destination") != "filesystem":
            return None
        newest = newest_version_dir(destination.filesystem.base_directory)
        if newest and same_model(self.GetModelPath(input_dict), newest[1]):
            return newest
        return None


class ServingPusherSpec(standard_component_specs.PusherSpec):
    INPUTS = {
        **standard_component_specs.PusherSpec.INPUTS,
        EDGE_MODEL_KEY: ChannelParameter(type=EdgeModel, optional=True),
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples, optional=True),
    }
    PARAMETERS = {
        **standard_component_specs.PusherSpec.PARAMETERS,
        TABLE_ROWS_KEY: ExecutionParameter(type=int, optional=True),
    }


class ServingPusher(Pusher):
    """tfx.components.Pusher with the executor above and one more, optional input: the edge
    model whose passing variants go beside the SavedModel, and two for the prediction table: the
    examples the model was trained on and the table's most rows."""

    SPEC_CLASS = ServingPusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(
        self,
        model,
        model_blessing,
        push_destination,
        edge_model=None,
        examples=None,
        prediction_table_rows: int | None = None,
    ):
        spec = ServingPusherSpec(
            model=model,
            model_blessing=model_blessing,
            push_destination=push_destination,
            edge_model=edge_model,
            examples=examples,
            prediction_table_rows=prediction_table_rows,
            pushed_model=types.Channel(type=standard_artifacts.PushedModel),
        )
        base_component.BaseComponent.__init__(self, spec=spec)
