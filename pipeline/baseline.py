"""The baseline, the warm start and the previous span's statistics on OSS KFP, without Resolver
nodes: components that hand on what babyweight/baseline.py chose.

The OSS backend refuses Resolver nodes. The compiled `kfp` spec's ResolveSpan task (never
cached, babyweight/kfp/resolve_span.py) answers "which model is the baseline?" from the push
destination and its state record (babyweight/baseline.py) and passes each answer, a directory or
"", as the `source` parameter of these tasks (babyweight/kfp/spec_patch.py wires it). Each task
is cached by that parameter like any other, so an unchanged answer reuses its artifact and the
tasks downstream stay cached.

- ImportModel (ids baseline_model, base_model): the chosen pushed version as a Model artifact
  (copied to Format-Serving, where the Evaluator and Trainer look), or, with no source, an
  artifact marked ABSENT, which the image's task entry drops from the next task's inputs: the
  Evaluator then has no baseline and the Trainer no base model, as with a resolver that found
  nothing.
- PreviousStatistics: records this run's statistics for its span in the state record, and hands
  on the previous span's statistics (or an ABSENT artifact) to the DistributionValidator.
- RecordPush: after the Pusher, records which span and files a pushed version was trained on.
"""

import os

from babyweight import baseline as state

from absl import logging
from tfx import v1 as tfx
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

Input = tfx.dsl.components.InputArtifact
Output = tfx.dsl.components.OutputArtifact
Parameter = tfx.dsl.components.Parameter
standard = tfx.types.standard_artifacts
SPLIT_PREFIX = "Split-"


def _absent(artifact, why: str) -> None:
    artifact.set_int_custom_property(state.ABSENT, 1)
    logging.info("%s: %s", artifact.type_name, why)


def import_model(model, source: str, note: str) -> None:
    """The pushed version `source` as the Model artifact `model`, or `model` marked ABSENT."""
    if not source:
        _absent(model, note or "no model chosen")
        return
    io_utils.copy_dir(source, path_utils.serving_model_dir(model.uri))
    model.set_string_custom_property(state.SOURCE, source)
    logging.info("model from %s", source)


@tfx.dsl.components.component
def ImportModel(  # noqa: N802  (TFX component names are classes by convention)
    model: Output[standard.Model], source: Parameter[str], note: Parameter[str] = ""
) -> None:
    import_model(model, source, note)


def _split_names(uri: str) -> list[str]:
    names = [n.rstrip("/") for n in fileio.listdir(uri)]
    return sorted(n[len(SPLIT_PREFIX) :] for n in names if n.startswith(SPLIT_PREFIX))


@tfx.dsl.components.component
def PreviousStatistics(  # noqa: N802
    examples: Input[standard.Examples],
    statistics: Input[standard.ExampleStatistics],
    previous_statistics: Output[standard.ExampleStatistics],
    serving_model_dir: Parameter[str],
    source: Parameter[str],
) -> None:
    previous_statistics_of(examples, statistics, previous_statistics, serving_model_dir, source)


def previous_statistics_of(examples, statistics, previous, serving_model_dir: str, source: str):
    """Record `statistics` as the span's, then hand on `source` as `previous` (or ABSENT)."""
    state.record_statistics(serving_model_dir, examples.span, statistics.uri)
    if not source:
        _absent(previous, f"no span before span {examples.span} to compare with")
        return
    io_utils.copy_dir(source, previous.uri)
    previous.split_names = artifact_utils.encode_split_names(_split_names(source))
    previous.set_string_custom_property(state.SOURCE, source)


@tfx.dsl.components.component
def RecordPush(  # noqa: N802
    pushed_model: Input[standard.PushedModel],
    examples: Input[standard.Examples],
    serving_model_dir: Parameter[str],
) -> None:
    record_push(pushed_model, examples, serving_model_dir)


def record_push(pushed_model, examples, serving_model_dir: str) -> None:
    """Record what a pushed version was trained on; nothing when nothing was pushed."""
    if not pushed_model.get_int_custom_property("pushed"):
        logging.info("nothing pushed: the state record is unchanged")
        return
    destination = pushed_model.get_string_custom_property("pushed_destination")
    version = os.path.basename(destination.rstrip("/"))
    fingerprint = examples.get_string_custom_property(state.FINGERPRINT)
    state.record_push(serving_model_dir, version, examples.span, fingerprint)
