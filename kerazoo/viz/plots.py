"""Pictures of a training run: curves, predictions, confusion matrix, reconstructions,
generated samples and forecasts.

Every function draws on a standalone `matplotlib.figure.Figure` with the Agg canvas and
never touches `pyplot`: no window can pop up, no global figure list grows (a long run
plotting every epoch holds no figures), and nothing depends on the user's matplotlib
backend. Each writes its file atomically (a temporary file in the same folder, then
`os.replace`), so a reader never sees half a PNG and a crash leaves the old picture in
place. Each returns the file it wrote as a `kerazoo.viz.picture.Picture`: the path, which a
notebook also shows inline.

Images are given as `(n, height, width)` or `(n, height, width, channels)` arrays with 1 or
3 channels, either floats in [0, 1] or integers in [0, 255].
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from kerazoo.training.folder import kill_point
from kerazoo.viz.picture import Picture

FORMATS = (".png", ".svg", ".pdf")
DPI = 100
MISTAKE_COLOR = "#d62728"  # matplotlib's red
RIGHT_COLOR = "#2c7d2c"


# --- shared helpers ------------------------------------------------------------------

_UMASK = os.umask(0)
os.umask(_UMASK)


def _figure(width: float, height: float):
    # A Figure with its own Agg canvas: no pyplot, no window, no global registry.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _check_path(to_file) -> Path:
    if not isinstance(to_file, str | os.PathLike) or not str(to_file):
        raise ValueError(f"to_file must be a file path. Received: to_file={to_file!r}")
    path = Path(to_file)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(
            f"to_file must end in {', '.join(FORMATS)} (the picture formats written). "
            f"Received: to_file={str(to_file)!r}"
        )
    return path


def _save(fig, path: Path) -> Picture:
    """Writes `fig` to `path` atomically, releases the figure and returns the `Picture`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format=path.suffix[1:].lower(), dpi=DPI)
        kill_point("pictures")  # test hook (tests/training/test_kill_points.py)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        fig.clf()  # drop the artists now rather than at the next garbage collection
    return Picture(path)


def _as_array(values, name: str, *, ndim: tuple[int, ...] | None = None) -> np.ndarray:
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be array-like. Received: {name}={values!r}") from error
    if array.size == 0:
        raise ValueError(f"{name} is empty; pass at least one value. Received: {name}={values!r}")
    if ndim is not None and array.ndim not in ndim:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, ndim))} dimensions. "
            f"Received: {name} with shape {array.shape}"
        )
    return array


def _same_length(**arrays) -> int:
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        received = ", ".join(f"len({k})={v}" for k, v in lengths.items())
        raise ValueError(
            f"{', '.join(lengths)} must have the same length (one entry per example). "
            f"Received: {received}"
        )
    return next(iter(lengths.values()))


def _as_images(images, name: str = "images") -> np.ndarray:
    """(n, h, w) or (n, h, w, 1|3), floats in [0, 1] or integers in [0, 255] -> floats in
    [0, 1], shape (n, h, w) for grey or (n, h, w, 3) for colour."""
    array = _as_array(images, name, ndim=(3, 4))
    if array.ndim == 4 and array.shape[-1] not in (1, 3):
        raise ValueError(
            f"{name} must have 1 or 3 channels (last axis). Received: {name} with shape "
            f"{array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_):
        raise ValueError(f"{name} must be numeric. Received: {name} of dtype {array.dtype}")
    array = array.astype(np.float32)
    if np.issubdtype(np.asarray(images).dtype, np.integer) or array.max() > 1.0 + 1e-6:
        array = array / 255.0
    array = np.clip(array, 0.0, 1.0)
    return array[..., 0] if array.ndim == 4 and array.shape[-1] == 1 else array


def _show(ax, image) -> None:
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _grid(n: int, ncols: int | None = None) -> tuple[int, int]:
    ncols = ncols or math.ceil(math.sqrt(n))
    return math.ceil(n / ncols), ncols


def _check_n(n, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1. Received: {name}={n!r}")
    return n


# --- training curves -----------------------------------------------------------------


def _read_history(history) -> dict[str, np.ndarray]:
    if hasattr(history, "history") and isinstance(history.history, Mapping):
        history = history.history  # a keras.callbacks.History
    if isinstance(history, str | os.PathLike):
        path = Path(history)
        if not path.is_file():
            raise ValueError(
                "history must be a dict or the path of an existing CSV written by "
                f"keras.callbacks.CSVLogger. Received: history={str(history)!r}"
            )
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            raise ValueError(f"history CSV has no epochs. Received: history={str(history)!r}")
        # Keras's CSVLogger adds val_* columns of "NA" to a fit without validation data.
        history = {
            key: [row[key] for row in rows]
            for key in rows[0]
            if key != "epoch" and any(row[key] != "NA" for row in rows)
        }
    if not isinstance(history, Mapping):
        raise ValueError(
            "history must be a dict of per-epoch lists (History.history), a "
            f"keras.callbacks.History, or a CSV path. Received: history={history!r}"
        )
    if not history:
        raise ValueError("history is empty; it needs at least a loss. Received: history={}")
    curves = {}
    for key, values in history.items():
        try:
            curves[str(key)] = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"history[{key!r}] must be a list of numbers. Received: {values!r}"
            ) from error
    _same_length(**curves)
    if len(next(iter(curves.values()))) == 0:
        raise ValueError("history has no epochs. Received: history with empty lists")
    return curves


def plot_history(history, to_file, *, title: str | None = None) -> Picture:
    """Plots the loss and every metric of a run, training vs validation, one panel each.

    Each metric `m` gets a panel with `m` (training) and, when present, `val_m`
    (validation) against the epoch number. Figure: 4.5 x 3.5 inches (450 x 350 pixels)
    per panel, up to 3 panels a row.

    Args:
        history: `History.history` (a dict of per-epoch lists), a
            `keras.callbacks.History`, or the path of a CSV written by
            `keras.callbacks.CSVLogger` (its `epoch` column is used as the index only).
        to_file: where to write the picture (`.png`, `.svg` or `.pdf`).
        title: optional figure title.

    Returns:
        The written file as a `Picture` (a path that Jupyter shows inline).

    Raises:
        ValueError: for an empty history, curves of different lengths, non-numeric
            values, a missing CSV or an unsupported file extension.

    Example:

    ```python
    history = model.fit(x, y, validation_split=0.1, epochs=5)
    plot_history(history, "runs/mnist/history.png")
    ```
    """
    path = _check_path(to_file)
    curves = _read_history(history)
    # Training curves in the order Keras logs them, loss first; val_* join their metric.
    metrics = [k for k in curves if not k.startswith("val_")]
    metrics += [k[4:] for k in curves if k.startswith("val_") and k[4:] not in curves]
    metrics.sort(key=lambda k: k != "loss")
    rows, cols = _grid(len(metrics), min(3, len(metrics)))
    fig = _figure(4.5 * cols, 3.5 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, metric in zip(axes, metrics, strict=False):
        for key, label, style in ((metric, "train", "-o"), (f"val_{metric}", "validation", "-s")):
            if key in curves:
                values = curves[key]
                ax.plot(np.arange(1, len(values) + 1), values, style, label=label, markersize=3)
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


# --- classifiers ---------------------------------------------------------------------


def _labels(values, name: str, n_classes: int | None) -> np.ndarray:
    array = _as_array(values, name, ndim=(1,))
    if not np.issubdtype(array.dtype, np.integer):
        if np.issubdtype(array.dtype, np.floating) and np.all(array == np.round(array)):
            array = array.astype(np.int64)
        else:
            raise ValueError(
                f"{name} must hold integer class indices (take argmax of probabilities "
                f"first). Received: {name} of dtype {array.dtype}"
            )
    if array.min() < 0 or (n_classes is not None and array.max() >= n_classes):
        bound = f"[0, {n_classes})" if n_classes is not None else ">= 0"
        raise ValueError(
            f"{name} must hold class indices {bound}. "
            f"Received: {name} from {array.min()} to {array.max()}"
        )
    return array.astype(np.int64)


def _class_names(class_names) -> list[str] | None:
    if class_names is None:
        return None
    if isinstance(class_names, str) or not isinstance(class_names, Sequence | np.ndarray):
        raise ValueError(
            f"class_names must be a list of names. Received: class_names={class_names!r}"
        )
    if len(class_names) == 0:
        raise ValueError("class_names is empty. Received: class_names=[]")
    return [str(name) for name in class_names]


def plot_predictions(
    images,
    y_true,
    y_pred,
    probs,
    class_names,
    to_file,
    n: int = 25,
    *,
    seed: int | None = 0,
) -> Picture:
    """A grid of test images, each titled with its predicted and true label; mistakes in red.

    Each panel reads "pred 7 (98%)" over "true 7": green when right, red with a red frame
    when wrong. Figure: 1.6 x 1.9 inches per image, in a square-ish grid.

    Args:
        images: the test images, `(N, h, w)` or `(N, h, w, 1|3)`.
        y_true: true class indices, length N.
        y_pred: predicted class indices, length N.
        probs: None, the probability of each predicted class (length N), or the full
            probability matrix `(N, num_classes)` (the predicted class's entry is shown).
        class_names: names of the classes (None shows the indices).
        to_file: where to write the picture (`.png`, `.svg` or `.pdf`).
        n: how many images to show (at most N).
        seed: which images: a seeded random choice of n (sorted), or None for the first n.

    Returns:
        The written file as a `Picture` (a path that Jupyter shows inline).

    Raises:
        ValueError: for empty inputs, lengths that differ, labels outside the class names,
            malformed images or an unsupported file extension.

    Example:

    ```python
    probs = model.predict(x_test)
    plot_predictions(x_test, y_test, probs.argmax(-1), probs, names, "predictions.png")
    ```
    """
    path = _check_path(to_file)
    n = _check_n(n)
    pictures = _as_images(images)
    names = _class_names(class_names)
    n_classes = len(names) if names is not None else None
    y_true = _labels(y_true, "y_true", n_classes)
    y_pred = _labels(y_pred, "y_pred", n_classes)
    shown_probs = None
    if probs is not None:
        probs = _as_array(probs, "probs", ndim=(1, 2))
        _same_length(images=pictures, y_true=y_true, y_pred=y_pred, probs=probs)
        if probs.ndim == 2:
            if probs.shape[1] <= y_pred.max():
                raise ValueError(
                    f"probs has {probs.shape[1]} columns but y_pred reaches class "
                    f"{y_pred.max()}. Received: probs with shape {probs.shape}"
                )
            probs = probs[np.arange(len(probs)), y_pred]
        shown_probs = probs.astype(np.float64)
    total = _same_length(images=pictures, y_true=y_true, y_pred=y_pred)
    count = min(n, total)
    if seed is None or count == total:
        chosen = np.arange(count)
    else:
        chosen = np.sort(np.random.default_rng(seed).choice(total, size=count, replace=False))

    def name(label: int) -> str:
        return names[label] if names is not None else str(label)

    rows, cols = _grid(count)
    fig = _figure(1.6 * cols, 1.9 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, i in zip(axes, chosen, strict=False):
        _show(ax, pictures[i])
        wrong = y_true[i] != y_pred[i]
        color = MISTAKE_COLOR if wrong else RIGHT_COLOR
        guess = f"pred {name(y_pred[i])}"
        if shown_probs is not None:
            guess += f" ({shown_probs[i]:.0%})"
        ax.set_title(f"{guess}\ntrue {name(y_true[i])}", color=color, fontsize=8)
        if wrong:
            for spine in ax.spines.values():
                spine.set_edgecolor(MISTAKE_COLOR)
                spine.set_linewidth(3)
    for ax in axes[count:]:
        ax.set_visible(False)
    mistakes = int(np.sum(y_true[chosen] != y_pred[chosen]))
    fig.suptitle(f"{count} test images, {mistakes} wrong (red)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def confusion_counts(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """The confusion matrix: `counts[i, j]` = examples of true class i predicted as j.

    Args:
        y_true: true class indices.
        y_pred: predicted class indices, same length.
        num_classes: number of classes (default: the largest index seen + 1).

    Returns:
        An int64 array `(num_classes, num_classes)`; rows are true classes.

    Raises:
        ValueError: for empty inputs, lengths that differ or indices outside
            `[0, num_classes)`.
    """
    if num_classes is not None:
        _check_n(num_classes, "num_classes")
    y_true = _labels(y_true, "y_true", num_classes)
    y_pred = _labels(y_pred, "y_pred", num_classes)
    _same_length(y_true=y_true, y_pred=y_pred)
    k = num_classes or int(max(y_true.max(), y_pred.max())) + 1
    counts = np.zeros((k, k), np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def plot_confusion_matrix(y_true, y_pred, class_names, to_file) -> Picture:
    """The confusion matrix as a picture: counts written in the cells, colour by row share.

    Rows are true classes, columns predicted ones; a cell's colour is the fraction of its
    true class (the row) predicted as that column, so classes of different sizes compare.
    The title gives the accuracy. Figure: 0.55 inch per class plus margins, at least
    5 x 4.5 inches. The counts drawn are `confusion_counts(y_true, y_pred, len(class_names))`.

    Args:
        y_true: true class indices.
        y_pred: predicted class indices, same length.
        class_names: names of the classes, which sets the number of classes.
        to_file: where to write the picture (`.png`, `.svg` or `.pdf`).

    Returns:
        The written file as a `Picture` (a path that Jupyter shows inline).

    Raises:
        ValueError: for empty inputs, lengths that differ, indices outside the class
            names or an unsupported file extension.

    Example:

    ```python
    plot_confusion_matrix(y_test, probs.argmax(-1), info.class_names, "confusion_matrix.png")
    ```
    """
    path = _check_path(to_file)
    names = _class_names(class_names)
    if names is None:
        raise ValueError("class_names is required. Received: class_names=None")
    counts = confusion_counts(y_true, y_pred, len(names))
    k = len(names)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    size = max(5.0, 0.55 * k + 2.5)
    fig = _figure(size, max(4.5, 0.55 * k + 2.0))
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    if k <= 30:  # beyond that the numbers would not fit in the cells
        fontsize = 9 if k <= 12 else 6
        for i in range(k):
            for j in range(k):
                color = "white" if share[i, j] > 0.5 else "black"
                ax.text(
                    j,
                    i,
                    str(counts[i, j]),
                    ha="center",
                    va="center",
                    color=color,
                    fontsize=fontsize,
                )
    accuracy = np.trace(counts) / counts.sum()
    ax.set_title(f"confusion matrix: {counts.sum()} examples, accuracy {accuracy:.1%}")
    fig.tight_layout()
    return _save(fig, path)


# --- autoencoders and generators -----------------------------------------------------


def plot_reconstructions(originals, reconstructions, to_file, n: int = 10) -> Picture:
    """The first `n` inputs on the top row, the model's outputs for them below.

    Figure: 1.2 inches per image wide, 2.8 inches high.

    Args:
        originals: input images, `(N, h, w)` or `(N, h, w, 1|3)`.
        reconstructions: the model's outputs for them, same shape.
        to_file: where to write the picture (`.png`, `.svg` or `.pdf`).
        n: how many pairs to show (at most N).

    Returns:
        The written file as a `Picture` (a path that Jupyter shows inline).

    Raises:
        ValueError: for empty inputs, shapes that differ or an unsupported extension.

    Example:

    ```python
    plot_reconstructions(x_test[:10], autoencoder.predict(x_test[:10]), "reconstructions.png")
    ```
    """
    path = _check_path(to_file)
    n = _check_n(n)
    top, bottom = _as_images(originals, "originals"), _as_images(reconstructions, "reconstructions")
    if top.shape != bottom.shape:
        raise ValueError(
            "originals and reconstructions must have the same shape (one output per input). "
            f"Received: originals {np.shape(originals)}, reconstructions "
            f"{np.shape(reconstructions)}"
        )
    count = min(n, len(top))
    fig = _figure(1.2 * count, 2.8)
    axes = fig.subplots(2, count, squeeze=False)
    for j in range(count):
        _show(axes[0, j], top[j])
        _show(axes[1, j], bottom[j])
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("output")
    fig.suptitle("inputs (top) and reconstructions (bottom)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_image_grid(images, to_file, title: str | None = None, ncols: int | None = None) -> Picture:
    """A plain grid of images, e.g. DCGAN samples from a fixed noise vector.

    Figure: 1 inch per image (plus 0.4 inch for a title), `ncols` columns (default a
    square-ish grid).

    Args:
        images: `(N, h, w)` or `(N, h, w, 1|3)`, floats in [0, 1] or integers in [0, 255].
        to_file: where to write the picture (`.png`, `.svg` or `.pdf`).
        title: optional title, e.g. `"epoch 5"`.
        ncols: number of columns.

    Returns:
        The written file as a `Picture` (a path that Jupyter shows inline).

    Raises:
        ValueError: for empty or malformed images, a bad `ncols` or an unsupported
            extension.

    Example:

    ```python
    plot_image_grid(gan.generate(16, seed=0), "samples.png", title="epoch 20")
    ```
    """
    path = _check_path(to_file)
    pictures = _as_images(images)
    if ncols is not None:
        _check_n(ncols, "ncols")
    rows, cols = _grid(len(pictures), ncols)
    fig = _figure(float(cols), rows + (0.4 if title else 0.0))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, image in zip(axes, pictures, strict=False):
        _show(ax, image)
    for ax in axes[len(pictures) :]:
        ax.set_visible(False)
    top = 1.0
    if title:
        fig.suptitle(title, fontsize=10)
        top = 1.0 - 0.4 / (rows + 0.4)
    fig.subplots_adjust(
        left=0.02, right=0.98, bottom=0.02, top=top - 0.02, wspace=0.05, hspace=0.05
    )
    return _save(fig, path)


# --- forecasters ---------------------------------------------------------------------


def plot_forecast(
    x_axis,
    actual,
    predicted,
    to_file,
    *,
    title: str | None = None,
    xlabel: str = "time",
    ylabel: str | None = None,
) -> Picture:
    """The real series and the model's forecast of it on one axis.

    `predicted` may hold NaN where there is no forecast (e.g. the first window), so both
    series can share the same x axis. The title reports the mean absolute error over the
    forecast points. Figure: 9 x 3.8 inches.

    Args:
        x_axis: the x values (years, time steps), length N.
        actual: the real values, length N.
        predicted: the forecast values, length N (NaN where not forecast).
        to_file: where to write the picture (`.png`, `.svg` or `.pdf`).
        title: optional title (default: "forecast vs actual").
        xlabel: label of the x axis.
        ylabel: optional label of the values.

    Returns:
        The written file as a `Picture` (a path that Jupyter shows inline).

    Raises:
        ValueError: for empty inputs, lengths that differ, non-1-D series, no forecast
            point at all, or an unsupported extension.

    Example:

    ```python
    plot_forecast(years[-60:], sunspots[-60:], model.predict(windows)[:, 0], "forecast.png")
    ```
    """
    path = _check_path(to_file)
    x = _as_array(x_axis, "x_axis", ndim=(1,))
    y = _as_array(actual, "actual", ndim=(1,)).astype(np.float64)
    p = _as_array(predicted, "predicted", ndim=(1, 2))
    if p.ndim == 2:
        if p.shape[1] != 1:
            raise ValueError(
                "predicted must be one value per step (a horizon-1 forecast). "
                f"Received: predicted with shape {p.shape}"
            )
        p = p[:, 0]
    p = p.astype(np.float64)
    _same_length(x_axis=x, actual=y, predicted=p)
    forecast = ~np.isnan(p)
    if not forecast.any():
        raise ValueError("predicted is all NaN; nothing to plot. Received: predicted=[nan, ...]")
    mae = float(np.nanmean(np.abs(p[forecast] - y[forecast])))
    fig = _figure(9.0, 3.8)
    ax = fig.subplots()
    ax.plot(x, y, "-", color="black", linewidth=1.2, label="actual")
    ax.plot(x, p, "-", color="#1f77b4", linewidth=1.6, label="forecast")
    ax.set_title(f"{title or 'forecast vs actual'} (MAE {mae:.3g})")
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)


# --- regression and text -------------------------------------------------------------


def plot_regression(actual, predicted, to_file, *, title: str | None = None) -> Picture:
    """Predicted against actual values, one dot per test example, with the ideal diagonal.

    The title reports the mean absolute error and R^2. Figure: 5 x 5 inches.

    Args:
        actual: the true targets, length N.
        predicted: the model's predictions, length N (or `(N, 1)`).
        to_file: where to write the picture (`.png`, `.svg` or `.pdf`).
        title: optional title (default: "predicted vs actual").

    Returns:
        The written file as a `Picture` (a path that Jupyter shows inline).

    Raises:
        ValueError: for empty inputs, lengths that differ or an unsupported extension.

    Example:

    ```python
    plot_regression(y_test, model.predict(x_test), "predictions.png")
    ```
    """
    path = _check_path(to_file)
    y = _as_array(actual, "actual", ndim=(1, 2)).astype(np.float64).reshape(len(actual), -1)
    p = _as_array(predicted, "predicted", ndim=(1, 2)).astype(np.float64)
    p = p.reshape(len(p), -1)
    _same_length(actual=y, predicted=p)
    y, p = y[:, 0], p[:, 0]
    mae = float(np.mean(np.abs(p - y)))
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - p) ** 2)) / total if total > 0 else float("nan")
    fig = _figure(5.0, 5.0)
    ax = fig.subplots()
    ax.scatter(y, p, s=14, alpha=0.7, color="#1f77b4", edgecolors="none")
    low, high = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
    ax.plot([low, high], [low, high], "--", color="black", linewidth=1, label="ideal")
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted")
    ax.set_title(f"{title or 'predicted vs actual'}\nMAE {mae:.3g}, R² {r2:.3f}")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return _save(fig, path)


def plot_text_predictions(
    texts, y_true, y_pred, probs, class_names, to_file, n: int = 12
) -> Picture:
    """The first `n` texts, each with its predicted and true label; mistakes in red.

    Args:
        texts: the texts (or decoded token ids), length N; long ones are shortened.
        y_true: true class indices, length N.
        y_pred: predicted class indices, length N.
        probs: the probability of each predicted class, length N.
        class_names: names of the classes (None shows the indices).
        to_file: where to write the picture (`.png`, `.svg` or `.pdf`).
        n: how many texts to show (at most N).

    Returns:
        The written file as a `Picture` (a path that Jupyter shows inline).

    Raises:
        ValueError: for empty inputs, lengths that differ or an unsupported extension.

    Example:

    ```python
    plot_text_predictions(texts, y_test, y_pred, p_max, ["en", "de", "es", "it"], "p.png")
    ```
    """
    path = _check_path(to_file)
    _check_n(n)
    texts = [str(t) for t in _as_array(np.asarray(texts, dtype=object), "texts", ndim=(1,))]
    true = _labels(y_true, "y_true", None)
    pred = _labels(y_pred, "y_pred", None)
    p = _as_array(probs, "probs", ndim=(1,)).astype(np.float64)
    _same_length(texts=texts, y_true=true, y_pred=pred, probs=p)
    names = _class_names(class_names)

    def name(label: int) -> str:
        return names[label] if names and 0 <= label < len(names) else str(label)

    n = min(n, len(texts))
    fig = _figure(10.0, 0.45 * n + 0.9)
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(n, -1)
    right = int(np.sum(true[:n] == pred[:n]))
    ax.set_title(f"{right} of {n} right (first {n} test texts)")
    for i in range(n):
        ok = true[i] == pred[i]
        shown = " ".join(texts[i].split())
        shown = shown if len(shown) <= 90 else shown[:87] + "..."
        ax.text(
            0.0,
            i,
            f"pred {name(pred[i])} ({p[i]:.0%}) / true {name(true[i])}",
            color=RIGHT_COLOR if ok else MISTAKE_COLOR,
            fontsize=9,
            fontweight="bold",
            va="center",
        )
        ax.text(0.30, i, shown, fontsize=9, va="center", family="monospace")
    fig.tight_layout()
    return _save(fig, path)
