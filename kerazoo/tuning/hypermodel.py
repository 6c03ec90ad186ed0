"""`kerazoo.hypermodel`: the zoo's search spaces as a KerasTuner `HyperModel`.

`kerazoo.tune` runs a whole search on the zoo's datasets; `hypermodel` hands the same space
to a tuner the user builds and feeds with their own data:

```python
tuner = keras_tuner.RandomSearch(kerazoo.hypermodel("mnist_cnn"), objective="val_accuracy",
                                 max_trials=5)
tuner.search(x, y, validation_data=(x_val, y_val), epochs=3)
```

The space is `kerazoo.tuning.spaces`' (no copy), and the HyperModels here are subclasses of
`kerazoo.tuning.engine.SpaceHyperModel`, the base of `tune`'s own: a trial trains with the
run's NaN guard and early stopping, then Keras's `fit` with whatever `search` was given.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import keras
import keras_tuner as kt

from kerazoo import registry, tasks
from kerazoo.config import RunConfig
from kerazoo.data.registry import default_dataset
from kerazoo.training import callbacks as cb
from kerazoo.training import run, steps
from kerazoo.tuning import spaces
from kerazoo.tuning.engine import SpaceHyperModel, ZooHyperModel

OWN_TASKS = ("classification", "regression")  # what `task=` compiles a user's model for
SHAPES_EXAMPLES = 64  # examples read from a model's declared dataset to learn its shapes


class _ZooModel(ZooHyperModel):
    """A registered model's space (`tune`'s `ZooHyperModel`: the same hyperparameters and
    trial callbacks) on the user's data: each trial is `create_model(name, **arguments,
    **the trial's values)`, trained by Keras's `fit` on what `search` was given."""

    def __init__(self, spec, config: RunConfig, arguments: dict, fix, narrow, seed):
        super().__init__(spec, config, None, fix, narrow)
        self.arguments = arguments
        self.seed = seed

    def make(self, name: str, overrides: dict):
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        return registry.create_model(name, **self.arguments, **overrides)

    train = SpaceHyperModel.train  # Keras's fit: the user's arrays are shuffled, as usual


class _OwnModel(SpaceHyperModel):
    """A user's model: each trial is a clone of it (fresh weights), compiled with the
    trial's optimizer and learning rate and the model's own loss and metrics (or those
    of `task`)."""

    def __init__(self, model, config: RunConfig, task, fix, narrow, seed):
        super().__init__(model.name, config, fix, narrow)
        self.model = model
        self.task = task
        self.seed = seed
        # The compiled loss and metrics, serialized: each trial gets fresh metric objects.
        self.compile_config = model.get_compile_config() if model.compiled else None
        self.defaults = _optimizer_defaults(model, task)

    def overrides(self, hp) -> tuple[str, dict]:
        return self.name, spaces.training_space(hp, self.fix, self.narrow, **self.defaults)

    def make(self, name: str, overrides: dict):
        from kerazoo.models import _common

        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        clone = keras.models.clone_model(self.model)
        optimizer = _common.get_optimizer(overrides["optimizer"], overrides["learning_rate"])
        if self.compile_config is None:
            clone.compile(optimizer=optimizer, loss=self.task.loss, metrics=list(self.task.metrics))
        else:
            settings = keras.saving.deserialize_keras_object(self.compile_config)
            clone.compile(**(settings | {"optimizer": optimizer}))
        return clone

    def trial_callbacks(self, validation: bool) -> list:
        # What `steps.callbacks_for` gives a zoo model's trial, without a registry spec to
        # read the task from: both tasks a model of your own can have watch val_loss.
        return cb.default_callbacks(
            None,
            monitor="val_loss",
            early_stopping=validation and self.config.early_stopping,
            patience=self.config.patience,
            lr_schedule=None,
            checkpoint=False,
            backup=False,
            csv=False,
            tensorboard=False,
        )


def _optimizer_defaults(model, task) -> dict:
    """The default optimizer and learning rate of a user's model's search: its compiled ones
    where the zoo has them, else the task's."""
    optimizer = getattr(model, "optimizer", None) if model.compiled else None
    if optimizer is None:
        return {"optimizer": task.optimizer, "learning_rate": task.learning_rate}
    name = type(optimizer).__name__.lower()
    rate = optimizer.learning_rate
    try:
        # A float32 variable (0.05 reads 0.0500000007); a schedule has no one value.
        rate = float(f"{float(keras.ops.convert_to_numpy(rate)):.6g}")
    except (TypeError, ValueError):
        rate = None
    return {
        "optimizer": name if name in spaces.OPTIMIZERS else "adam",
        "learning_rate": rate if rate is not None and math.isfinite(rate) else None,
    }


def _declared_shapes(spec, missing: list[str]) -> dict:
    """The factory arguments in `missing` as the model's declared dataset decides them."""
    from kerazoo.data import loader

    dataset = default_dataset(spec.name)
    # Only the shapes are read: the data's notices (an offline fallback) are not the point.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = loader.load_arrays(dataset, max_examples=SHAPES_EXAMPLES, scale=False)
    arguments = steps.model_arguments(spec, info)
    return {name: arguments[name] for name in missing}


def _zoo_arguments(spec, given: dict) -> dict:
    """The dataset-decided factory arguments: `given`, the rest from the declared dataset."""
    for name, value in given.items():
        if name not in spec.inputs:
            takes = ", ".join(spec.inputs) or "none"
            raise ValueError(
                f"{spec.name} takes these arguments from its data: {takes}; {name} is not "
                "one of them (fix other factory arguments with fix={...}). "
                f"Received: {name}={value!r}"
            )
    missing = [name for name in spec.inputs if name not in given]
    return given | (_declared_shapes(spec, missing) if missing else {})


def _load_own(model):
    """A user's `keras.Model`, or the one in a `.keras` file (loaded safely)."""
    if isinstance(model, str | os.PathLike):
        from kerazoo.saving import load_model

        model = load_model(Path(model))
    if not isinstance(model, keras.Model):
        raise ValueError(
            "model must be a zoo model name (see kerazoo.list_models()), a keras.Model or "
            f"the path of a .keras file. Received: model={model!r}"
        )
    if model.compiled:
        try:
            keras.saving.deserialize_keras_object(model.get_compile_config())
        except Exception as err:  # noqa: BLE001  (a loss or metric Keras cannot rebuild)
            raise ValueError(
                f"{model.name}'s compiled loss or metrics cannot be rebuilt for each trial "
                f"({type(err).__name__}: {' '.join(str(err).split())[:200]}): decorate them "
                "with @keras.saving.register_keras_serializable(), or pass the model "
                f"uncompiled with task=. Received: model={model.name!r}"
            ) from None
    try:
        keras.models.clone_model(model)
    except Exception as err:  # noqa: BLE001  (Keras's cloning errors vary by model kind)
        raise ValueError(
            f"{model.name} cannot be cloned, and every trial needs a fresh copy of it "
            "(keras.models.clone_model): build it with the Sequential or functional API, or "
            f"give its class get_config/from_config ({type(err).__name__}: "
            f"{' '.join(str(err).split())[:200]}). Received: model={model.name!r}"
        ) from None
    return model


def _own_task(model, task):
    """The `Task` whose loss and metrics compile an uncompiled model (None: compiled)."""
    if task is not None and task not in OWN_TASKS:
        raise ValueError(
            f"task must be one of {', '.join(OWN_TASKS)} (the loss and metrics a model of "
            f"your own is compiled with). Received: task={task!r}"
        )
    if model.compiled:
        if task is not None:
            raise ValueError(
                f"{model.name} is compiled: every trial keeps its loss and metrics, so task= "
                "is only for an uncompiled model; leave it out, or pass the model uncompiled. "
                f"Received: task={task!r}"
            )
        return None
    if task is None:
        raise ValueError(
            f"{model.name} is not compiled, so its loss is unknown: pass task="
            "'classification' (sparse categorical crossentropy, accuracy) or 'regression' "
            "(mean squared error, MAE), or compile it first. Received: task=None"
        )
    return tasks.get_task(task)


def hypermodel(
    model: str | os.PathLike | keras.Model,
    *,
    input_shape: tuple | None = None,
    num_classes: int | None = None,
    task: str | None = None,
    fix: dict | None = None,
    space: dict | None = None,
    seed: int | None = None,
    **inputs,
) -> kt.HyperModel:
    """A KerasTuner `HyperModel` with the zoo's search space, for a tuner of your own.

    Give it to `keras_tuner.RandomSearch`, `Hyperband`, `BayesianOptimization` (or any
    `keras_tuner.Tuner`) and search on your own data: NumPy arrays
    (`tuner.search(x, y, validation_data=(x_val, y_val), epochs=...)`) or `tf.data`
    datasets, with any other `fit` arguments (`batch_size`, `callbacks`, ...). Every trial
    trains with Keras's `fit` on them, after the run's NaN guard and (with validation data)
    early stopping (patience 5), as a trial of `kerazoo.tune` does.

    - A zoo model name: the model's registered space (`kerazoo tune NAME --show-space`
      lists it); each trial is `create_model(name, ...)` with the trial's values. The
      model takes its inputs as the zoo's models do (images as floats in [0, 1], text as
      token ids). The arguments its data decides (`input_shape`, `num_classes`, or
      `vocab_size`, `sequence_length`, `horizon` for text and series models) default to
      the model's declared dataset; give them for data of another shape.
    - Your own `keras.Model`, compiled or not, or the path of a `.keras` file (loaded with
      `kerazoo.load_model`'s checks): each trial is a `keras.models.clone_model` of it with
      fresh weights, compiled with the zoo's optimizer and learning-rate space (`optimizer`:
      adam, sgd, rmsprop, adamw; `learning_rate`: 1e-4 ... 1e-2; the model's compiled ones,
      else Adam at 1e-3, are the defaults). A compiled model keeps its loss and metrics;
      an uncompiled one is compiled for `task`.

    Args:
        model: a registered zoo model name of a tunable family, a `keras.Model`, or the
            path of a `.keras` file.
        input_shape: a zoo model's input shape, without the batch dimension.
        num_classes: a zoo classifier's number of classes.
        task: for an uncompiled model of your own: `"classification"` (sparse categorical
            crossentropy, accuracy) or `"regression"` (mean squared error, MAE).
        fix: hyperparameter name -> the one value to use (`{"filters_1": 16}`, `{"lr":
            1e-3}`), as in `kerazoo.tune`.
        space: hyperparameter name -> the values to choose from (`{"dropout": [0.1,
            0.3]}`), as in `kerazoo.tune`.
        seed: seeds each trial's weights (`keras.utils.set_random_seed` before each
            build: the same values build the same model); None leaves the random state
            alone.
        **inputs: a zoo model's other data-decided arguments (`vocab_size`,
            `sequence_length`, `horizon`).

    Returns:
        A `keras_tuner.HyperModel`.

    Raises:
        ValueError: for an unknown or untunable model name, a `.keras` file that cannot be
            loaded, a model that cannot be cloned, an uncompiled model without `task` (or a
            compiled one with it), shapes the model cannot take, an unknown hyperparameter
            in `fix` or `space` (naming the accepted ones), or a fixed value the model
            refuses. The default configuration is built once here, so a bad argument is
            reported now and not as failed trials.

    Example:

    ```python
    import keras_tuner
    import kerazoo

    splits, info = kerazoo.data.load_arrays("mnist_sample")
    tuner = keras_tuner.RandomSearch(
        kerazoo.hypermodel("mnist_cnn", fix={"blocks": 2}),
        objective="val_accuracy", max_trials=4, directory="runs", project_name="own",
    )
    tuner.search(splits.x_train, splits.y_train, epochs=2,
                 validation_data=(splits.x_val, splits.y_val))
    tuner.get_best_hyperparameters()[0].values, tuner.get_best_models()[0]
    ```
    """
    for name, value in (("fix", fix), ("space", space)):
        if value is not None and not isinstance(value, dict):
            raise ValueError(
                f"{name} must be a dict of hyperparameter names, e.g. {name}="
                f"{{'dropout': {0.2 if name == 'fix' else [0.1, 0.3]}}}. Received: {name}={value!r}"
            )
        run.check_numbers(value or {}, name)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be an integer >= 0 or None. Received: seed={seed!r}")
    config = RunConfig(model=getattr(model, "name", str(model)))
    if isinstance(model, str) and not model.endswith(".keras"):
        spec = registry.get_spec(model)  # an unknown name: close matches
        spaces.check_tunable(model)
        if task is not None and task != spec.task:
            raise ValueError(
                f"{model} is a {spec.task} model; task= is for a model of your own. "
                f"Received: task={task!r}"
            )
        given = {"input_shape": input_shape, "num_classes": num_classes, **inputs}
        given = {name: value for name, value in given.items() if value is not None}
        fix, space = spaces.check_keys(model, fix, space)
        built = _ZooModel(spec, config, _zoo_arguments(spec, given), fix, space, seed)
    else:
        own = _load_own(model)
        shapes = {"input_shape": input_shape, "num_classes": num_classes, **inputs}
        for name, value in shapes.items():
            if value is not None:
                raise ValueError(
                    f"{own.name} is a model of your own: its shapes are its own; {name} is "
                    f"only for a zoo model name. Received: {name}={value!r}"
                )
        task_ = _own_task(own, task)
        fix, space = spaces.check_keys(own.name, fix, space, accepted=list(spaces.TRAINING))
        built = _OwnModel(own, config, task_, fix, space, seed)
    # The default configuration (with the fixed values) must build: a bad shape or fixed
    # value is the user's error, reported now rather than as failed trials.
    built.build(kt.HyperParameters())
    return built
