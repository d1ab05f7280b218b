"""The model's configuration, recorded in every exported model, and the comparison that decides
whether a new model may start from an earlier model's weights (warm start).

The configuration is what shapes the weights: the features the model reads (categories and their
counts, buckets and their edges, crosses, numerics), the label, the architecture, the hidden
units and the embedding size. Learning rate, batch size and steps are not in it: they change
how a model trains, not what its weights mean. models/model.py writes it into the SavedModel
(CONFIG_FILE) and reads the base model's back, so the comparison is with what the base model
was trained as, not with what the code says today. What the Trainer decided goes beside the
model in its artifact (WARM_START_FILE), where the run summary reads it.
"""

from __future__ import annotations

import json
import os

from babyweight import features as F

# Bump when models/model.py build_model changes its layers: weights of another architecture
# never load into this one.
ARCHITECTURE = "wide-and-deep/1"
CONFIG_FILE = os.path.join("assets.extra", "babyweight_model_config.json")  # in a SavedModel
WARM_START_FILE = "warm_start.json"  # in the Trainer's Model artifact, beside Format-Serving


def model_config(hidden_units, embedding_dim: int) -> dict:
    """The configuration of a model built with these hyperparameters from the table of
    features (babyweight/features.py)."""
    return {
        "architecture": ARCHITECTURE,
        "label": F.LABEL_KEY,
        "categorical_features": dict(F.CATEGORICAL_XF),
        "numeric_features": list(F.NUMERIC_XF),
        "crosses": [list(pair) for pair in F.CROSSES],
        "buckets": {f.name: list(f.buckets) for f in F.FEATURES if f.buckets},
        "hidden_units": [int(u) for u in hidden_units],
        "embedding_dim": int(embedding_dim),
    }


def _flat(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def differences(old: dict, new: dict) -> list[str]:
    """What changed from `old` to `new`, one entry per setting: `hidden_units [64, 32] ->
    [128, 64]`, `buckets.mother_age [20, 25] -> [20, 30]`, `embedding_dim (none) -> 4`."""
    before, after = _flat(old), _flat(new)
    changed = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            was = json.dumps(before[name]) if name in before else "(none)"
            now = json.dumps(after[name]) if name in after else "(none)"
            changed.append(f"{name} {was} -> {now}")
    return changed


def write_config(saved_model_dir: str, config: dict) -> None:
    import tensorflow as tf

    path = os.path.join(saved_model_dir, CONFIG_FILE)
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")


def read_config(saved_model_dir: str) -> dict | None:
    """The configuration an exported model records, or None (a model from before it did)."""
    import tensorflow as tf

    path = os.path.join(saved_model_dir, CONFIG_FILE)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def decide(base_dir: str | None, base_config: dict | None, config: dict, no_base: str):
    """(warm start?, why) for a model of `config` and a base model (None: none found, `no_base`
    says why). Warm start only when the base records the very same configuration."""
    if not base_dir:
        return False, f"trained from scratch: {no_base}"
    if base_config is None:
        return False, f"trained from scratch: the base model {base_dir} records no configuration"
    changed = differences(base_config, config)
    if changed:
        return False, (
            "trained from scratch: the configuration changed since the base model "
            f"({'; '.join(changed)})"
        )
    return True, f"warm-started from {base_dir} (the configuration is unchanged)"


def read_warm_start(model_uri: str) -> dict:
    """What the Trainer recorded about warm start in its Model artifact ({} when nothing)."""
    import tensorflow as tf

    path = os.path.join(model_uri, WARM_START_FILE)
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)
