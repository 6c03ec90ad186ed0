"""The pictures of a finished run, by task.

Every run: `history.png` (loss and metric curves, train vs validation) and
`architecture.png`. Then, drawn from the held-out test split:

- classifiers: `confusion_matrix.png`, and `predictions.png` (a grid of test images with
  predicted and true labels, or the first test texts for text classifiers);
- regressors: `predictions.png` (predicted vs actual); forecasters: `forecast.png` (the
  series and the forecast of its test years);
- autoencoders: `reconstructions.png` (inputs above outputs), plus `samples.png` (decoded
  random latent vectors) for the VAE;
- GANs: `samples.png` (a 4x4 grid from fixed latent vectors).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerazoo.viz import diagrams, plots


def spread(n: int, k: int = 10) -> np.ndarray:
    """`k` indices spread evenly over `n` examples: test files are often sorted by class,
    so the first `k` would all show one class."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int))


def _scaled(x: np.ndarray) -> np.ndarray:
    return x.astype("float32") / 255.0 if x.dtype == np.uint8 else x


def _decode(ids: np.ndarray, vocabulary: list[str]) -> list[str]:
    # Token ids back to (lower-cased, punctuation-free) words: what the model saw.
    return [" ".join(vocabulary[i] for i in row if i > 0) for row in ids]


def _classification(model, info, x, y, run_dir: Path) -> None:
    probs = np.asarray(model.predict(x, batch_size=256, verbose=0))
    if probs.shape[-1] == 1:  # one sigmoid unit: P(class 1)
        p1 = probs[:, 0]
        y_pred = (p1 >= 0.5).astype(np.int64)
        p_pred = np.where(y_pred == 1, p1, 1.0 - p1)
    else:
        y_pred = probs.argmax(axis=-1)
        p_pred = probs.max(axis=-1)
    y = np.asarray(y).reshape(-1).astype(np.int64)
    plots.plot_confusion_matrix(y, y_pred, info.class_names, run_dir / "confusion_matrix.png")
    if info.vocabulary is not None:
        texts = _decode(x[:12], info.vocabulary)
        plots.plot_text_predictions(
            texts, y[:12], y_pred[:12], p_pred[:12], info.class_names, run_dir / "predictions.png"
        )
    elif x.ndim == 4:
        plots.plot_predictions(
            x, y, y_pred, p_pred, info.class_names, run_dir / "predictions.png", n=25, seed=0
        )


def _regression(model, info, splits, run_dir: Path) -> None:
    predicted = np.asarray(model.predict(splits.x_test, verbose=0))[:, :1]
    actual = np.asarray(splits.y_test).reshape(len(predicted), -1)[:, :1]
    if info.window is not None:  # a series: forecast vs actual over the test years
        mean, std = info.mean, info.std
        plots.plot_forecast(
            np.asarray(info.test_years),
            actual[:, 0] * std + mean,
            predicted[:, 0] * std + mean,
            run_dir / "forecast.png",
            title=f"{info.name}: one-step forecast of the test years",
            xlabel="year",
        )
        return
    mean, std = info.target_mean or 0.0, info.target_std or 1.0
    plots.plot_regression(
        actual * std + mean,
        predicted * std + mean,
        run_dir / "predictions.png",
        title=f"{info.name} test set",
    )


def _reconstruction(model, x, run_dir: Path, seed: int) -> None:
    originals = x[spread(len(x))]
    plots.plot_reconstructions(
        originals, model.predict(originals, verbose=0), run_dir / "reconstructions.png"
    )
    if type(model).__name__ == "VAE":
        import keras

        from kerazoo.models.autoencoder import get_decoder

        decoder = get_decoder(model)
        z = keras.random.normal((16, decoder.input_shape[-1]), seed=seed)
        images = keras.ops.convert_to_numpy(decoder(z, training=False))
        plots.plot_image_grid(images, run_dir / "samples.png", title="decoded random z")


def draw(model, spec, info, splits, run_dir: Path, *, seed: int = 0) -> list[Path]:
    """Draws the run's pictures into `run_dir`; returns the files written.

    Args:
        model: the trained model (best weights).
        spec: its registry `ModelSpec` (task and family decide the pictures).
        info: the dataset's `DatasetInfo`.
        splits: the dataset's `Splits` (images may still be uint8).
        run_dir: the run folder.
        seed: seed of the random latent vectors drawn.
    """
    run_dir = Path(run_dir)
    before = {p.name for p in run_dir.iterdir()}
    title = f"{spec.name} on {info.name}"
    plots.plot_history(run_dir / "history.csv", run_dir / "history.png", title=title)
    diagrams.plot(model, run_dir / "architecture.png")
    x_test = _scaled(splits.x_test)
    if spec.task == "classification":
        _classification(model, info, x_test, splits.y_test, run_dir)
    elif spec.task == "regression":
        _regression(model, info, splits, run_dir)
    elif spec.task == "reconstruction":
        _reconstruction(model, x_test, run_dir, seed)
    elif spec.task == "generation":
        plots.plot_image_grid(
            model.generate(16, seed=seed), run_dir / "samples.png", title=f"{title}: samples"
        )
    return sorted(p for p in run_dir.iterdir() if p.name not in before or p.suffix == ".png")
