"""The named steps of kerazoo's one training path.

    prepare_data(config, task) -> build(config, spec, data) -> fit(net, ...) -> evaluate(net, ...)

`kerazoo.train` runs them in that order and writes the run folder around them; a KerasTuner
trial builds through `build` and fits through `fit` (`ZooHyperModel.fit`), with the same
callbacks from `callbacks_for`; a search's best configuration is retrained by `train` itself.
The multi-worker loop is the `fit` step for `strategy="multiworker"`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from kerazoo import registry, tasks
from kerazoo.config import RunConfig
from kerazoo.data import loader
from kerazoo.training import distribute

LARGE_TRAIN_SET = 20_000  # from this many training examples on, the default batch is 128


@dataclasses.dataclass
class Data:
    """A run's data, ready for `fit`: arrays, info, and the task's `tf.data` pipelines.

    Attributes:
        splits: the NumPy splits (images uint8; pipelines scale them per batch).
        info: the `DatasetInfo`.
        strategy: the strategy the pipelines are batched for (`distribute.get_strategy`).
        global_batch: the global batch size.
        train, val, test: `(inputs, targets)` pipelines as the task trains on them.
    """

    splits: Any
    info: Any
    strategy: Any
    global_batch: int
    train: Any
    val: Any
    test: Any


def prepare_data(config: RunConfig, task, *, refit: bool = False) -> Data:
    """Loads `config.dataset` and makes the task's pipelines at the global batch size.

    Used by `train`, by every tuning trial and by `evaluate`, so they all see the same splits
    batched and scaled the same way.

    Args:
        config: the run's settings (dataset, seed, split, batch, strategy, data options).
        task: the model's `kerazoo.tasks.Task` (it shapes the targets).
        refit: train on train+validation (a search's best configuration, retrained to be
            tested once); the validation pipeline is then the validation part all the same.
    """
    splits, info = loader.load_arrays(
        config.dataset,
        seed=config.seed,
        validation_split=config.validation_split,
        max_examples=config.max_examples,
        scale=False,
        # `--download` (config.download) or data_options={"download": True}.
        **config.data_options | ({"download": True} if config.download else {}),
    )
    if refit:
        import numpy as np

        splits = dataclasses.replace(
            splits,
            x_train=np.concatenate([splits.x_train, splits.x_val]),
            y_train=np.concatenate([splits.y_train, splits.y_val]),
        )
    batch = config.batch_size or (128 if info.n_train >= LARGE_TRAIN_SET else 32)
    strategy = distribute.get_strategy(config.strategy)
    global_batch = distribute.global_batch_size(batch, strategy)
    train, val, test = task.prepare(*loader.pipelines(splits, global_batch, seed=config.seed))
    # JAX's data parallelism splits every batch evenly: the training and validation batches
    # (fit's) are cut to whole shares; the test split is scored outside it, in full.
    train = distribute.fit_batches(train, strategy, len(splits.x_train), global_batch)
    val = distribute.fit_batches(val, strategy, len(splits.x_val), global_batch)
    return Data(splits, info, strategy, global_batch, train, val, test)


def model_arguments(spec, info) -> dict:
    """The factory arguments the dataset decides (`spec.inputs`: shapes, classes, vocabulary)."""
    values = {
        "image_shape": tuple(info.input_shape),
        "input_shape": tuple(info.input_shape),
        "num_classes": info.num_classes,
        "vocab_size": info.vocab_size,
        "sequence_length": info.sequence_length,
        "horizon": info.horizon,
    }
    return {name: values[name] for name in spec.inputs}


def cpu_has_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU reports bfloat16 instructions (the `avx512_bf16` or `amx_bf16` flag).

    False where the file is missing (not Linux): unknown counts as no.
    """
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return False
    flags = {
        flag
        for line in text.splitlines()
        if line.startswith("flags")
        for flag in line.partition(":")[2].split()
    }
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def resolve_precision(precision: str) -> str:
    """The Keras dtype policy a `precision` setting means here.

    `"auto"` is `"mixed_float16"` when Keras sees a GPU (tensor cores compute float16),
    `"mixed_bfloat16"` on a CPU with bfloat16 instructions (`cpu_has_bf16`), else
    `"float32"`; any other value is the policy itself.
    """
    if precision != "auto":
        return precision
    import keras

    if keras.distribution.list_devices("gpu"):
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"


def build(config: RunConfig, spec, data: Data, overrides: dict | None = None):
    """The compiled model, seeded and built in the strategy's scope.

    The dataset decides its shapes; `overrides` (default `config.overrides`) its other
    factory arguments; `config.optimizer`/`learning_rate` the optimizer where given;
    `config.precision` the dtype policy its layers are created with (the global policy is
    set around the factory call only and restored after it, so nothing else in the
    process changes).
    """
    import keras

    keras.utils.set_random_seed(config.seed)
    arguments = model_arguments(spec, data.info)
    arguments |= config.overrides if overrides is None else overrides
    for name in ("optimizer", "learning_rate"):
        if getattr(config, name) is not None:
            arguments[name] = getattr(config, name)
    previous = keras.config.dtype_policy()
    # Every layer takes the global policy when it is created, and compile() wraps the
    # optimizer in a LossScaleOptimizer under mixed_float16: both happen in the factory.
    keras.config.set_dtype_policy(resolve_precision(config.precision))
    try:
        with data.strategy.scope():
            return registry.create_model(spec.name, **arguments)
    finally:
        keras.config.set_dtype_policy(previous)


def callbacks_for(config: RunConfig, spec, out_dir: Path, *, files: bool = True, extra=()) -> list:
    """The run's callbacks: NaN guard, learning-rate schedule, early stopping, and with
    `files` the backup, best-model checkpoint, history.csv and TensorBoard logs.

    A trial uses `files=False`: the same guard, schedule and early stopping, writing nothing.
    With `config.refit` there is no validation data: no early stopping, and the checkpoint
    keeps the last epoch.
    """
    from kerazoo.training import callbacks as cb

    task = tasks.get_task(spec.task)
    return cb.default_callbacks(
        out_dir,
        monitor=task.monitor,
        early_stopping=config.early_stopping and task.early_stopping and not config.refit,
        patience=config.patience,
        save_best_only=task.save_best_only and not config.refit,
        lr_schedule=None if config.lr_schedule == "constant" else config.lr_schedule,
        epochs=config.epochs,
        checkpoint=files,
        backup=files,
        csv=files,
        tensorboard=files,
        extra=list(extra),
    )


def fit(
    net,
    train,
    val,
    *,
    epochs: int,
    callbacks: list,
    verbose: int = 0,
    initial_epoch: int = 0,
    cluster: dict | None = None,
    strategy=None,
    n_train: int | None = None,
    global_batch: int | None = None,
):
    """Trains `net`: Keras's `fit`, or the multi-worker loop when `cluster` is given.

    Returns:
        The `History` (one machine) or the multi-worker loop's statistics.
    """
    if cluster is not None:
        from kerazoo.training import multiworker

        return multiworker.fit(
            net,
            train,
            val,
            strategy=strategy,
            epochs=epochs,
            callbacks=callbacks,
            n_train=n_train,
            global_batch=global_batch,
            verbose=verbose,
        )
    # On JAX, a DataParallel strategy shards the batches while fit runs (no-op elsewhere).
    with distribute.fit_scope(strategy):
        return net.fit(
            train,
            validation_data=val,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,  # the pipeline shuffles (seeded, every epoch)
        )


def evaluate(net, data: Data, spec) -> dict:
    """`test_*` metrics of `net` on the held-out test split, as the task reports them."""
    scores = net.evaluate(data.test, verbose=0, return_dict=True)
    return tasks.get_task(spec.task).test_metrics(scores, data.info)
