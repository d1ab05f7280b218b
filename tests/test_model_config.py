"""Warm start: the model configuration recorded in an exported model, the comparison that decides
whether a new model may start from it, and the weights copied by models/warm_start.py."""

from __future__ import annotations

import json

from babyweight import features as F
from babyweight import model_config

import numpy as np
import pytest
from tfx.components.trainer.fn_args_utils import FnArgs

from models import model as M
from models import warm_start as W


def test_the_configuration_holds_what_shapes_the_weights():
    config = model_config.model_config([64, 32], 4)
    assert config["categorical_features"] == F.CATEGORICAL_XF
    assert config["buckets"][F.MOTHER_AGE] == F.MOTHER_AGE_BOUNDARIES
    assert config["hidden_units"] == [64, 32] and config["embedding_dim"] == 4
    assert "learning_rate" not in json.dumps(config)  # how it trains, not what weights mean
    assert model_config.differences(config, model_config.model_config((64, 32), 4)) == []


def test_differences_name_each_changed_setting_with_both_values():
    old = model_config.model_config([64, 32], 4)
    new = model_config.model_config([128, 64], 8)
    new["buckets"][F.MOTHER_AGE] = [20, 30, 40]
    new["categorical_features"]["smoker_xf"] = 2
    assert model_config.differences(old, new) == [
        "buckets.mother_age [20, 25, 30, 35, 40] -> [20, 30, 40]",
        "categorical_features.smoker_xf (none) -> 2",
        "embedding_dim 4 -> 8",
        "hidden_units [64, 32] -> [128, 64]",
    ]


@pytest.mark.parametrize(
    "base_dir, base_config, expected",
    [
        (None, None, (False, "trained from scratch: no blessed model yet")),
        ("/m/1", None, (False, "trained from scratch: the base model /m/1 records no config")),
        ("/m/1", "same", (True, "warm-started from /m/1 (the configuration is unchanged)")),
        ("/m/1", "other", (False, "trained from scratch: the configuration changed since the")),
    ],
)
def test_warm_start_only_from_the_very_same_configuration(base_dir, base_config, expected):
    config = model_config.model_config([64, 32], 4)
    recorded = {"same": config, "other": model_config.model_config([64], 4)}.get(base_config)
    use, reason = model_config.decide(base_dir, recorded, config, "no blessed model yet")
    assert use == expected[0] and reason.startswith(expected[1])
    if base_config == "other":
        assert reason.endswith("(hidden_units [64] -> [64, 32])")


def saved_model(tmp_path, hidden_units, name="base"):
    """A built model saved as run_fn saves it (no layer traces), with its configuration."""
    model = M.build_model(learning_rate=0.003, hidden_units=hidden_units, embedding_dim=2)
    path = str(tmp_path / name / "Format-Serving")
    model.save(path, save_format="tf", save_traces=False)
    model_config.write_config(path, model_config.model_config(hidden_units, 2))
    return model, path


def fn_args(tmp_path, base_model):
    serving = tmp_path / "new" / "Format-Serving"
    return FnArgs(
        base_model=base_model,
        serving_model_dir=str(serving),
        custom_config={"no_base_model": "no blessed model trained on other data yet"},
    )


def test_the_new_model_starts_from_the_base_weights_and_records_why(tmp_path):
    base, path = saved_model(tmp_path, [8])
    assert model_config.read_config(path)["hidden_units"] == [8]
    model = M.build_model(learning_rate=0.003, hidden_units=[8], embedding_dim=2)
    pairs = zip(model.get_weights(), base.get_weights(), strict=True)
    assert not all(np.array_equal(a, b) for a, b in pairs)  # built afresh: other weights
    record = W.warm_start(model, fn_args(tmp_path, path), model_config.model_config([8], 2))
    assert record["warm_start"] is True and record["base_model"] == path
    for mine, theirs in zip(model.get_weights(), base.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    written = model_config.read_warm_start(str(tmp_path / "new"))  # beside Format-Serving
    assert written["reason"] == f"warm-started from {path} (the configuration is unchanged)"


def test_a_changed_configuration_trains_from_scratch_and_says_why(tmp_path):
    base, path = saved_model(tmp_path, [8])
    model = M.build_model(learning_rate=0.003, hidden_units=[16], embedding_dim=2)
    before = model.get_weights()
    record = W.warm_start(model, fn_args(tmp_path, path), model_config.model_config([16], 2))
    assert record["warm_start"] is False
    assert record["reason"].endswith("(hidden_units [8] -> [16])")
    for now, then in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(now, then)  # untouched
    none = W.warm_start(model, fn_args(tmp_path, None), model_config.model_config([16], 2))
    assert none["reason"] == "trained from scratch: no blessed model trained on other data yet"
