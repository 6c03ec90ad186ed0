"""Task objects: what a model's task decides, in one place.

A model's task (`classification`, `regression`, `reconstruction`, `generation`) decides how
it is compiled, what a run monitors, which datasets it can learn from, how its data is fed
to `fit`, which test metrics a run reports, which pictures it draws and what `predict`
returns. Each task is one object here, so the training path, `evaluate`, `predict`, the
tuner and the model factories ask the task instead of branching on its name:

```python
task = get_task(spec.task)
model.compile(optimizer=task.optimizer, loss=task.loss, metrics=list(task.metrics))
train_ds, val_ds = task.prepare(train_ds, val_ds)
callbacks = default_callbacks(run_dir, monitor=task.monitor, ...)
```

This module imports neither Keras nor TensorFlow at import time (the registry and the CLI
read it); the methods that need them import them when called.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np

TASKS = ("classification", "regression", "reconstruction", "generation")


def spread(n: int, k: int = 10) -> np.ndarray:
    """`k` indices spread evenly over `n` examples: test files are often sorted by class,
    so the first `k` would all show one class."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int))


def scaled(x: np.ndarray) -> np.ndarray:
    """Images as float32 in [0, 1] (uint8 images are divided by 255; others unchanged)."""
    return x.astype("float32") / 255.0 if x.dtype == np.uint8 else x


def _decode(ids: np.ndarray, vocabulary: list[str]) -> list[str]:
    # Token ids back to (lower-cased, punctuation-free) words: what the model saw.
    return [" ".join(vocabulary[i] for i in row if i > 0) for row in ids]


def _field(info, name: str):
    """A field of a `DatasetInfo` or of its `as_dict()` form (a run's dataset.json)."""
    if info is None:
        return None
    return info.get(name) if isinstance(info, dict) else getattr(info, name, None)


class Task:
    """What one task decides; the four instances are returned by `get_task`.

    Attributes:
        name: the task's name, one of `TASKS`.
        monitor: the logged value that ranks epochs (checkpoint, early stopping, history).
        early_stopping: whether early stopping can apply to a run of this task.
        save_best_only: whether the checkpoint keeps the best epoch (else the last).
        lr_schedule: whether a run's learning-rate schedule can apply.
        loss: the default compile loss (None: the model compiles itself).
        metrics: the default compile metrics.
        optimizer: the default optimizer name.
        learning_rate: the default learning rate (None: the optimizer's own default).
        needs_labels: a dataset must have this task's labels (classification labels,
            regression targets); False when the model learns from the inputs alone.
    """

    name: str = ""
    monitor: str = "val_loss"
    early_stopping: bool = True
    save_best_only: bool = True
    lr_schedule: bool = True
    loss: str | None = "mse"
    metrics: tuple[str, ...] = ("mae",)
    optimizer: str = "adam"
    learning_rate: float | None = None
    needs_labels: bool = True
    # Logged names a tuner can rank trials by, best default first; `_always` are reported
    # whatever metrics the model was compiled with.
    _ranked: tuple[str, ...] = ("loss", "mae")
    _always: tuple[str, ...] = ("loss",)
    # "<it takes ...> and <gives ...>", for the error of `predict` on a model of this task.
    _takes: str = ""

    def __repr__(self) -> str:
        return f"<Task {self.name}>"

    # -- compile and tuning ------------------------------------------------------------------

    def objectives(self, metrics: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """The logged values a search can rank trials by; the first is the default.

        Args:
            metrics: the model's compiled metric names (None: this task's defaults).

        Returns:
            The validation names first, then the training ones, e.g.
            `("val_accuracy", "val_loss", "accuracy", "loss")` for a classifier.
        """
        metrics = self.metrics if metrics is None else tuple(metrics)
        names = [n for n in self._ranked if n in self._always or n in metrics]
        return tuple(f"val_{n}" for n in names) + tuple(names)

    def fits(self, dataset_task: str) -> bool:
        """Whether a model of this task can learn from a dataset of task `dataset_task`."""
        return not self.needs_labels or dataset_task == self.name

    # -- data and metrics --------------------------------------------------------------------

    def prepare(self, *datasets) -> tuple:
        """The `(inputs, labels)` pipelines as this task's `fit` needs them."""
        return tuple(datasets)

    def data_model(self, model):
        """The part of `model` that takes the dataset's inputs (a GAN: its discriminator)."""
        return model

    def test_metrics(self, scores: dict, info) -> dict:
        """`model.evaluate(..., return_dict=True)`'s scores as `{"test_<name>": float}`."""
        return {f"test_{k}": float(v) for k, v in scores.items()}

    # -- pictures ----------------------------------------------------------------------------

    def monitors(self, out_dir, splits, seed: int) -> list:
        """Callbacks drawing a picture after every epoch into `out_dir` (none by default)."""
        return []

    def draw(self, model, spec, info, splits, run_dir, seed: int = 0) -> list[Path]:
        """Draws this task's pictures of the held-out test split into `run_dir`.

        Args:
            model: the trained model.
            spec: its registry spec (for the title).
            info: the dataset's `DatasetInfo`.
            splits: the dataset's `Splits` (images may still be uint8).
            run_dir: the folder to draw into.
            seed: seed of any random latent vectors drawn.

        Returns:
            The files written.
        """
        return []

    # -- predict -----------------------------------------------------------------------------

    def predictions(self, model, x, info, *, received: str | None = None) -> list:
        """What `predict` returns for inputs `x`: `(label, probability)` per input row.

        Raises:
            ValueError: `<model> is a <task> model; it takes ...` for tasks whose output is
                not a label (only classifiers predict).
        """
        self.check_predicts(
            getattr(model, "name", "the model"),
            received=received or f"inputs of shape {np.shape(x)}",
        )
        return []

    def check_predicts(self, model_name: str, *, received: str) -> None:
        """Raises the ValueError of `predictions` unless this task's models predict labels."""
        raise ValueError(
            f"{model_name} is a {self.name} model; it takes {self._takes}, not labels, so "
            "there is nothing to predict (kerazoo evaluate gives its test metrics). "
            f"Received: {received}"
        )


class Classification(Task):
    name = "classification"
    loss = "sparse_categorical_crossentropy"
    metrics = ("accuracy",)
    _ranked = ("accuracy", "loss")

    def check_predicts(self, model_name: str, *, received: str) -> None:
        return None

    def predictions(self, model, x, info, *, received: str | None = None) -> list:
        """`(label, probability)` of the most likely class of every row of `x`.

        Labels are the dataset's class names (`info.class_names`) where known, else the
        class index as a string.
        """
        labels, probabilities = _classify(model, x)
        names = _field(info, "class_names")
        return [
            (names[k] if names and k < len(names) else str(int(k)), float(p))
            for k, p in zip(labels, probabilities, strict=True)
        ]

    def draw(self, model, spec, info, splits, run_dir, seed: int = 0) -> list[Path]:
        from kerazoo.viz import plots

        run_dir = Path(run_dir)
        x = scaled(splits.x_test)
        y_pred, p_pred = _classify(model, x, batch_size=256)
        y = np.asarray(splits.y_test).reshape(-1).astype(np.int64)
        written = [run_dir / "confusion_matrix.png"]
        plots.plot_confusion_matrix(y, y_pred, info.class_names, written[0])
        if info.vocabulary is not None:
            texts = _decode(x[:12], info.vocabulary)
            written.append(run_dir / "predictions.png")
            plots.plot_text_predictions(
                texts, y[:12], y_pred[:12], p_pred[:12], info.class_names, written[-1]
            )
        elif x.ndim == 4:
            written.append(run_dir / "predictions.png")
            plots.plot_predictions(
                x, y, y_pred, p_pred, info.class_names, written[-1], n=25, seed=0
            )
        return written


def _classify(model, x, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class, its probability) per row; one sigmoid unit gives P(class 1)."""
    probs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    if probs.ndim != 2:
        raise ValueError(
            f"{getattr(model, 'name', 'The model')} does not output class probabilities "
            f"(one row per input). Received: outputs of shape {probs.shape}"
        )
    if probs.shape[-1] == 1:
        p1 = probs[:, 0]
        labels = (p1 >= 0.5).astype(np.int64)
        return labels, np.where(labels == 1, p1, 1.0 - p1)
    return probs.argmax(axis=-1), probs.max(axis=-1)


class Regression(Task):
    name = "regression"
    _takes = "windows of a series or rows of a table and predicts numbers"

    def test_metrics(self, scores: dict, info) -> dict:
        """The scores, plus `test_mae_unscaled`: the error in the data's own units."""
        metrics = super().test_metrics(scores, info)
        series = _field(info, "window") is not None
        scale = _field(info, "std") if series else _field(info, "target_std")
        if "test_mae" in metrics and scale:
            # Targets are standardized for training; this is the error in the data's units.
            metrics["test_mae_unscaled"] = metrics["test_mae"] * float(scale)
        return metrics

    def draw(self, model, spec, info, splits, run_dir, seed: int = 0) -> list[Path]:
        from kerazoo.viz import plots

        run_dir = Path(run_dir)
        predicted = np.asarray(model.predict(splits.x_test, verbose=0))[:, :1]
        actual = np.asarray(splits.y_test).reshape(len(predicted), -1)[:, :1]
        if info.window is not None:  # a series: forecast vs actual over the test years
            mean, std = info.mean, info.std
            out = run_dir / "forecast.png"
            plots.plot_forecast(
                np.asarray(info.test_years),
                actual[:, 0] * std + mean,
                predicted[:, 0] * std + mean,
                out,
                title=f"{info.name}: one-step forecast of the test years",
                xlabel="year",
            )
            return [out]
        mean, std = info.target_mean or 0.0, info.target_std or 1.0
        out = run_dir / "predictions.png"
        plots.plot_regression(
            actual * std + mean, predicted * std + mean, out, title=f"{info.name} test set"
        )
        return [out]


class Reconstruction(Task):
    name = "reconstruction"
    needs_labels = False
    _takes = "images and gives back their reconstructions"

    def prepare(self, *datasets) -> tuple:
        """Autoencoders learn to give back their input: (x, label) batches become (x, x)."""
        return tuple(ds.map(lambda x, y: (x, x)) for ds in datasets)

    def monitors(self, out_dir, splits, seed: int) -> list:
        from kerazoo.training.monitors import ReconstructionMonitor

        shown = scaled(splits.x_test[spread(len(splits.x_test))])
        return [ReconstructionMonitor(shown, out_dir)]

    def draw(self, model, spec, info, splits, run_dir, seed: int = 0) -> list[Path]:
        from kerazoo.viz import plots

        run_dir = Path(run_dir)
        x = scaled(splits.x_test)
        originals = x[spread(len(x))]
        written = [run_dir / "reconstructions.png"]
        plots.plot_reconstructions(originals, model.predict(originals, verbose=0), written[0])
        decoder = getattr(model, "decoder", None)
        if type(model).__name__ == "VAE" and decoder is not None:
            import keras

            # A VAE's decoder turns any N(0, I) code into an image: show what it invents.
            z = keras.random.normal((16, decoder.input_shape[-1]), seed=seed)
            images = keras.ops.convert_to_numpy(decoder(z, training=False))
            written.append(run_dir / "samples.png")
            plots.plot_image_grid(images, written[-1], title="decoded random z")
        return written


class Generation(Task):
    name = "generation"
    # A GAN's two losses pull against each other: neither ranks its epochs.
    monitor = "val_g_loss"
    early_stopping = False
    save_best_only = False
    lr_schedule = False  # its two optimizers are its own
    loss = None
    metrics = ()
    learning_rate = 2e-4
    needs_labels = False
    _ranked = ("g_loss", "d_loss")
    _always = ("g_loss", "d_loss")
    _takes = "random latent vectors and generates images"

    def data_model(self, model):
        return model.discriminator

    def monitors(self, out_dir, splits, seed: int) -> list:
        from kerazoo.training.monitors import SampleGridMonitor

        return [SampleGridMonitor(out_dir, n=16, seed=seed)]

    def draw(self, model, spec, info, splits, run_dir, seed: int = 0) -> list[Path]:
        from kerazoo.viz import plots

        out = Path(run_dir) / "samples.png"
        title = f"{spec.name} on {info.name}: samples"
        plots.plot_image_grid(model.generate(16, seed=seed), out, title=title)
        return [out]


_TASKS = {t.name: t for t in (Classification(), Regression(), Reconstruction(), Generation())}


def get_task(name: str) -> Task:
    """The task object of a task name.

    Raises:
        ValueError: for an unknown name, naming the four tasks.

    Example:
    ```python
    get_task("classification").loss  # 'sparse_categorical_crossentropy'
    ```
    """
    if isinstance(name, Task):
        return name
    task = _TASKS.get(name) if isinstance(name, str) else None
    if task is None:
        close = difflib.get_close_matches(str(name), TASKS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown task.{hint} Tasks: {', '.join(TASKS)}. Received: task={name!r}")
    return task
