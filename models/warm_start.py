"""Warm start: the Trainer's new model starts from the base model's weights when it may.

The base model (Trainer's `base_model` input, found by pipeline/resolvers.py) is an earlier
blessed SavedModel. Its recorded configuration (babyweight/model_config.py) must equal this
model's, or the model trains from scratch and the reason names what changed. The base loads from
its Keras config (it was saved without layer traces), and its weights are copied by position,
after a check that every shape matches. The decision goes to the log, to the runner's terminal
(a progress note) and into the Model artifact, where the run summary reads it.
"""

from __future__ import annotations

import json
import os

from babyweight import model_config
from babyweight.metadata.progress import note

import tensorflow as tf
from absl import logging


def _copy_weights(model: tf.keras.Model, base_dir: str) -> str | None:
    """Copy the base model's weights into `model`; the reason when they do not fit."""
    base = tf.keras.models.load_model(base_dir, compile=False)
    mine, theirs = model.get_weights(), base.get_weights()
    shapes = [w.shape for w in mine], [w.shape for w in theirs]
    if shapes[0] != shapes[1]:
        return f"the base model's weights have other shapes ({len(theirs)} arrays)"
    model.set_weights(theirs)
    return None


def warm_start(model: tf.keras.Model, fn_args, config: dict) -> dict:
    """Start `model` from fn_args.base_model when the configurations match; record and say
    what was done. Returns the record ({"warm_start", "base_model", "reason", "config"})."""
    base_dir = fn_args.base_model
    no_base = (fn_args.custom_config or {}).get("no_base_model", "no base model")
    base_config = model_config.read_config(base_dir) if base_dir else None
    use, reason = model_config.decide(base_dir, base_config, config, no_base)
    if use:
        problem = _copy_weights(model, base_dir)
        if problem:
            use, reason = False, f"trained from scratch: {problem}"
    record = {"warm_start": use, "base_model": base_dir, "reason": reason, "config": config}
    artifact_dir = os.path.dirname(fn_args.serving_model_dir.rstrip("/"))
    tf.io.gfile.makedirs(artifact_dir)
    with tf.io.gfile.GFile(os.path.join(artifact_dir, model_config.WARM_START_FILE), "w") as f:
        f.write(json.dumps(record, indent=2) + "\n")
    logging.info("warm start: %s", reason)
    note("Trainer", reason)
    return record
