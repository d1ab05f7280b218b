"""The wide-and-deep Keras model, its input pipeline, run_fn for Trainer and tuner_fn for Tuner.

Wide part: one-hot categories, buckets and their crosses into one linear unit.
Deep part: embeddings of the same categories plus the scaled numerics through dense layers.
Training reads Transform's output and adds, to every batch, a copy with sex and plurality
masked (is_male "Unknown"; plurality "Single(1)" or "Multiple(2+)"), as the course's data
augmentation does, so the model also predicts before an ultrasound can tell either.
"""

from __future__ import annotations

from babyweight import features as F
from babyweight import model_config
from babyweight.metadata.progress import training_steps_callback

import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tfx import v1 as tfx

from models.signatures import make_signatures
from models.warm_start import warm_start

# Training: epochs of EPOCH_STEPS steps, early stopping after PATIENCE epochs without a better
# validation loss. The shuffle buffer holds the whole embedded training split.
EPOCH_STEPS = 100
PATIENCE = 3
SHUFFLE_BUFFER = 10_000
SEED = 42

UNKNOWN_SEX_ID = F.IS_MALE_VALUES.index(F.UNKNOWN)
SINGLE_ID = F.PLURALITY_VALUES.index(F.SINGLE)
MULTIPLE_ID = F.PLURALITY_VALUES.index(F.MULTIPLE)


def mask_sex_and_plurality(features: dict) -> dict:
    """What is known before birth without an ultrasound: no sex, and single or multiple only."""
    masked = dict(features)
    is_male = features[F.transformed_name(F.IS_MALE)]
    plurality = features[F.transformed_name(F.PLURALITY)]
    masked[F.transformed_name(F.IS_MALE)] = tf.fill(
        tf.shape(is_male), tf.constant(UNKNOWN_SEX_ID, is_male.dtype)
    )
    masked[F.transformed_name(F.PLURALITY)] = tf.where(
        tf.equal(plurality, SINGLE_ID),
        tf.constant(SINGLE_ID, plurality.dtype),
        tf.constant(MULTIPLE_ID, plurality.dtype),
    )
    return masked


def with_masked_copy(features: dict, label: tf.Tensor):
    masked = mask_sex_and_plurality(features)
    both = {k: tf.concat([features[k], masked[k]], axis=0) for k in features}
    return both, tf.concat([label, label], axis=0)


def input_fn(file_pattern, tf_transform_output, batch_size: int, augment: bool) -> tf.data.Dataset:
    """Transform's examples as an endless, shuffled stream of (features, label) batches.

    The records are read and parsed by tf.data itself (TFX's data accessor feeds them through a
    Python generator, several times slower per step), and kept in memory after the first pass:
    the transformed examples are a few numbers per row.
    """
    patterns = [file_pattern] if isinstance(file_pattern, str) else list(file_pattern)
    files = sorted(f for pattern in patterns for f in tf.io.gfile.glob(pattern))
    spec = tf_transform_output.transformed_feature_spec()

    def parse(records):
        features = tf.io.parse_example(records, spec)
        return features, features.pop(F.LABEL_KEY)

    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").cache().repeat()
    dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=SEED).batch(batch_size, drop_remainder=True)
    dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    if augment:
        dataset = dataset.map(with_masked_copy, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def keep_autograph_out_of_tf_keras() -> None:
    """TensorFlow 2.16's autograph leaves the `keras` package alone but not `tf_keras`, where
    TFX's Keras 2 lives: tracing a Keras function then converts about 2,000 of tf_keras's own
    functions, 20-60 s of the Trainer on 2 cores. This adds the rule TensorFlow has for `keras`."""
    from tensorflow.python.autograph.core import config

    if not any(getattr(rule, "_prefix", None) == "tf_keras" for rule in config.CONVERSION_RULES):
        config.CONVERSION_RULES = (config.DoNotConvert("tf_keras"), *config.CONVERSION_RULES)


def build_model(
    learning_rate: float, hidden_units: list[int], embedding_dim: int
) -> tf.keras.Model:
    """Wide-and-deep regressor over Transform's outputs; call it inside a strategy scope. The
    hyperparameters come from the Trainer's configuration (pipeline/configs.py HYPERPARAMETERS,
    or the Tuner's best values); a test passes its own."""
    keep_autograph_out_of_tf_keras()
    inputs = {
        name: tf.keras.Input(shape=(1,), name=name, dtype=tf.int64) for name in F.CATEGORICAL_XF
    }
    inputs.update(
        {name: tf.keras.Input(shape=(1,), name=name, dtype=tf.float32) for name in F.NUMERIC_XF}
    )

    wide = [
        tf.keras.layers.CategoryEncoding(num_tokens=n, output_mode="one_hot")(inputs[name])
        for name, n in F.CATEGORICAL_XF.items()
    ]
    for a, b in F.CROSSES:
        n_a, n_b = F.CATEGORICAL_XF[a], F.CATEGORICAL_XF[b]
        crossed = inputs[a] * n_b + inputs[b]
        wide.append(
            tf.keras.layers.CategoryEncoding(num_tokens=n_a * n_b, output_mode="one_hot")(crossed)
        )
    wide_out = tf.keras.layers.Dense(1, name="wide")(tf.keras.layers.concatenate(wide))

    deep = [
        tf.keras.layers.Flatten()(tf.keras.layers.Embedding(n, embedding_dim)(inputs[name]))
        for name, n in F.CATEGORICAL_XF.items()
    ]
    deep += [inputs[name] for name in F.NUMERIC_XF]
    x = tf.keras.layers.concatenate(deep)
    for units in hidden_units:
        x = tf.keras.layers.Dense(units, activation="relu")(x)
    deep_out = tf.keras.layers.Dense(1, name="deep")(x)

    output = tf.keras.layers.Add(name=F.PREDICTION_KEY)([wide_out, deep_out])
    model = tf.keras.Model(inputs=inputs, outputs=output)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate),
        loss="mse",
        metrics=[tf.keras.metrics.RootMeanSquaredError(name="rmse")],
    )
    return model


def _hyperparameters(fn_args) -> dict:
    """Tuner's best values when the Tuner ran, over the configured ones (the Trainer's
    custom_config, from PipelineSettings.hyperparameters)."""
    configured = dict(fn_args.custom_config["hyperparameters"])
    if fn_args.hyperparameters:
        import keras_tuner

        tuned = keras_tuner.HyperParameters.from_config(fn_args.hyperparameters).values
        configured.update(tuned)
    if isinstance(configured.get("hidden_units"), str):
        configured["hidden_units"] = [int(u) for u in configured["hidden_units"].split(",")]
    return configured


def _model_args(hp: dict) -> dict:
    return {k: hp[k] for k in ("learning_rate", "hidden_units", "embedding_dim")}


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """Trainer entry point: train under MirroredStrategy and export the serving signatures.

    TrainArgs.num_steps is the budget: training runs in epochs of EPOCH_STEPS steps, each
    followed by EvalArgs.num_steps validation steps, and stops once the validation loss has not
    improved for PATIENCE epochs, keeping the best weights. The model starts from the base
    model's weights when the Trainer got one and the configuration is unchanged (warm start);
    the configuration is recorded in the exported model for the next run's comparison."""
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    hp = _hyperparameters(fn_args)
    tf.keras.utils.set_random_seed(SEED)  # the initial weights too: the same rows, the same model
    strategy = tf.distribute.MirroredStrategy()
    batch_size = int(hp["batch_size"]) * strategy.num_replicas_in_sync
    train = input_fn(fn_args.train_files, tf_transform_output, batch_size, augment=True)
    evaluation = input_fn(fn_args.eval_files, tf_transform_output, batch_size, augment=False)
    with strategy.scope():
        model = build_model(**_model_args(hp))
    config = model_config.model_config(hp["hidden_units"], hp["embedding_dim"])
    warm_start(model, fn_args, config)
    epoch_steps = min(EPOCH_STEPS, fn_args.train_steps)
    stop = tf.keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=PATIENCE, restore_best_weights=True
    )
    history = model.fit(
        train,
        epochs=max(1, fn_args.train_steps // epoch_steps),
        steps_per_epoch=epoch_steps,
        validation_data=evaluation,
        validation_steps=fn_args.eval_steps,
        verbose=2,
        callbacks=[
            stop,
            tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir),
            training_steps_callback(fn_args.train_steps),  # the runner's step lines
        ],
    )
    epochs = len(history.history["loss"])
    best = min(history.history["val_loss"]) ** 0.5
    logging.info(
        "trained %d of %d steps (%s); best validation RMSE %.3f lb",
        epochs * epoch_steps,
        fn_args.train_steps,
        f"stopped early after epoch {stop.stopped_epoch + 1}" if stop.stopped_epoch else "budget",
        best,
    )
    # save_traces=False: the layers are all built-in Keras layers, so the model loads from its
    # config; tracing every layer's call for the SavedModel costs ~10 s and serves nobody.
    model.save(
        fn_args.serving_model_dir,
        save_format="tf",
        signatures=make_signatures(model, tf_transform_output),
        save_traces=False,
    )
    model_config.write_config(fn_args.serving_model_dir, config)


def tuner_fn(fn_args: tfx.components.FnArgs):
    """Tuner entry point: random search over the configured search space (pipeline/configs.py
    TUNER_SEARCH_SPACE: learning rate, hidden units as "64,32", embedding size)."""
    import keras_tuner

    tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    custom = fn_args.custom_config
    batch_size = int(custom["hyperparameters"]["batch_size"])
    hp = keras_tuner.HyperParameters()
    for name, values in custom["search_space"].items():
        hp.Choice(name, values)

    def build(hp):
        return build_model(
            learning_rate=hp.get("learning_rate"),
            hidden_units=[int(u) for u in hp.get("hidden_units").split(",")],
            embedding_dim=hp.get("embedding_dim"),
        )

    tuner = keras_tuner.RandomSearch(
        build,
        objective=keras_tuner.Objective("val_rmse", "min"),
        max_trials=int(custom["max_trials"]),
        hyperparameters=hp,
        directory=fn_args.working_dir,
        project_name="babyweight_tuning",
        seed=SEED,
    )
    train = input_fn(fn_args.train_files, tf_transform_output, batch_size, augment=True)
    evaluation = input_fn(fn_args.eval_files, tf_transform_output, batch_size, augment=False)
    return tfx.components.TunerFnResult(
        tuner=tuner,
        fit_kwargs={
            "x": train,
            "validation_data": evaluation,
            "steps_per_epoch": fn_args.train_steps,
            "validation_steps": fn_args.eval_steps,
            "verbose": 0,
        },
    )
