"""The run pictures, drawn from real digits, a real 2-epoch fit and the sunspot series."""

from __future__ import annotations

import csv
import gc
import os

import numpy as np
import pytest
import realdata
from matplotlib.image import imread

from kerazoo.viz import plots

DIGITS = [str(d) for d in range(10)]


@pytest.fixture(scope="module")
def run():
    """A tiny mnist_cnn fitted 2 epochs on 1,024 real digits, and its test predictions."""
    import keras

    import kerazoo
    from kerazoo import registry

    keras.utils.set_random_seed(0)
    x, y = realdata.mnist_digits(1024)
    x_test, y_test = realdata.mnist_digits(300, offset=1024)
    model = kerazoo.create_model("mnist_cnn", **registry.get_spec("mnist_cnn").tiny)
    history = model.fit(x, y, validation_split=0.2, epochs=2, batch_size=32, verbose=0)
    probs = model.predict(x_test, verbose=0)
    return {
        "history": history.history,
        "x_test": x_test,
        "y_test": y_test,
        "probs": probs,
        "y_pred": probs.argmax(-1),
    }


def read_png(path, size):
    """Decodes the PNG, checks its (height, width) in pixels and that it is not blank."""
    image = imread(path)
    assert image.shape[:2] == size
    assert image[..., :3].std() > 0.05  # something drawn, not an empty canvas
    return image


def no_temp_files(folder):
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


# --- training curves -----------------------------------------------------------------


def test_history_from_a_real_fit(run, tmp_path):
    history = run["history"]
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    path = plots.plot_history(history, tmp_path / "history.png")
    assert path == tmp_path / "history.png"
    read_png(path, (350, 900))  # two panels (loss, accuracy) of 450 x 350 pixels
    no_temp_files(tmp_path)


def test_history_from_csvlogger_file(run, tmp_path):
    csv_path = tmp_path / "history.csv"
    with csv_path.open("w", newline="") as f:  # CSVLogger's layout: epoch, then keys sorted
        keys = sorted(run["history"])
        writer = csv.writer(f)
        writer.writerow(["epoch", *keys, "learning_rate"])
        for epoch in range(2):
            writer.writerow([epoch, *(run["history"][k][epoch] for k in keys), 0.001])
    path = plots.plot_history(str(csv_path), tmp_path / "history.png", title="mnist_cnn")
    read_png(path, (350, 1350))  # loss, accuracy, learning_rate


@pytest.mark.parametrize(
    "history,match",
    [
        ({}, "history is empty"),
        ({"loss": []}, "no epochs"),
        ({"loss": [1.0, 0.5], "val_loss": [1.0]}, "same length"),
        ({"loss": ["a", "b"]}, "list of numbers"),
        ([1.0, 2.0], "Received: history="),
        ("missing.csv", "existing CSV"),
    ],
)
def test_history_bad_input(history, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        plots.plot_history(history, tmp_path / "h.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["h.jpg", "h", "h.PNG.txt"])
def test_unsupported_extension(run, tmp_path, name):
    with pytest.raises(ValueError, match="Received: to_file="):
        plots.plot_history(run["history"], tmp_path / name)


# --- classifiers ---------------------------------------------------------------------


def test_predictions_grid(run, tmp_path):
    y_test, y_pred = run["y_test"], run["y_pred"]
    assert (y_test != y_pred).any() and (y_test == y_pred).any()  # both colours appear
    path = plots.plot_predictions(
        run["x_test"], y_test, y_pred, run["probs"], DIGITS, tmp_path / "predictions.png"
    )
    image = read_png(path, (950, 800))  # 25 images: 5 x 5 panels of 160 x 190 pixels
    # Mistakes are framed in red: some strongly red pixels exist.
    red = (image[..., 0] > 0.7) & (image[..., 1] < 0.3) & (image[..., 2] < 0.3)
    assert red.sum() > 50


def test_predictions_takes_probability_vector_and_no_names(run, tmp_path):
    p = run["probs"].max(-1)
    path = plots.plot_predictions(
        run["x_test"][:6], run["y_test"][:6], run["y_pred"][:6], p[:6], None, tmp_path / "p.png"
    )
    read_png(path, (380, 480))  # 6 images: 2 rows x 3 columns


@pytest.mark.parametrize(
    "change,match",
    [
        ({"y_true": np.zeros(5, np.int64)}, "same length"),
        ({"y_pred": np.full(300, 10)}, r"\[0, 10\)"),
        ({"probs": np.ones(7)}, "same length"),
        ({"images": np.zeros((0, 28, 28))}, "empty"),
        ({"images": np.zeros((300, 28, 28, 2))}, "1 or 3 channels"),
        ({"y_pred": np.full(300, 0.5)}, "integer class indices"),
        ({"n": 0}, "Received: n=0"),
    ],
)
def test_predictions_bad_input(run, tmp_path, change, match):
    args = {
        "images": run["x_test"],
        "y_true": run["y_test"],
        "y_pred": run["y_pred"],
        "probs": run["probs"],
        "class_names": DIGITS,
        "to_file": tmp_path / "p.png",
    } | change
    with pytest.raises(ValueError, match=match):
        plots.plot_predictions(**args)


def test_confusion_matrix_counts_and_picture(run, tmp_path):
    from sklearn.metrics import confusion_matrix

    y_test, y_pred = run["y_test"], run["y_pred"]
    counts = plots.confusion_counts(y_test, y_pred, 10)
    np.testing.assert_array_equal(counts, confusion_matrix(y_test, y_pred, labels=range(10)))
    assert counts.sum() == 300
    path = plots.plot_confusion_matrix(y_test, y_pred, DIGITS, tmp_path / "confusion_matrix.png")
    read_png(path, (750, 800))  # 10 classes: 8.0 x 7.5 inches at 100 dpi


def test_confusion_matrix_bad_input(run, tmp_path):
    with pytest.raises(ValueError, match="same length"):
        plots.confusion_counts(run["y_test"], run["y_pred"][:10], 10)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        plots.plot_confusion_matrix(
            run["y_test"], run["y_pred"], ["a", "b", "c"], tmp_path / "c.png"
        )
    with pytest.raises(ValueError, match="empty"):
        plots.plot_confusion_matrix([], [], DIGITS, tmp_path / "c.png")
    with pytest.raises(ValueError, match="class_names is required"):
        plots.plot_confusion_matrix(run["y_test"], run["y_pred"], None, tmp_path / "c.png")


# --- autoencoders, generators, forecasts ---------------------------------------------


def test_reconstructions_from_a_real_autoencoder(tmp_path):
    import keras

    import kerazoo
    from kerazoo import registry

    keras.utils.set_random_seed(0)
    x, _ = realdata.mnist_digits(1024)
    # Wider than the registry's tiny setting, so a few seconds give outputs that look like
    # digits (the picture is meant to be looked at).
    settings = registry.get_spec("dense_autoencoder").tiny | {"hidden_units": (128,)}
    model = kerazoo.create_model("dense_autoencoder", **settings | {"latent_dim": 32})
    model.fit(x, x, epochs=8, batch_size=32, verbose=0)
    x_test, _ = realdata.mnist_digits(10, offset=1024)
    outputs = model.predict(x_test, verbose=0).reshape(x_test.shape)
    path = plots.plot_reconstructions(x_test, outputs, tmp_path / "reconstructions.png")
    read_png(path, (280, 1200))
    with pytest.raises(ValueError, match="same shape"):
        plots.plot_reconstructions(x_test, outputs[:5], tmp_path / "r.png")


def test_image_grid_grey_colour_and_uint8(tmp_path):
    x, _ = realdata.mnist_digits(16)
    read_png(plots.plot_image_grid(x, tmp_path / "grey.png", title="epoch 1"), (440, 400))
    colour = realdata.as_images(x, (28, 28, 3)) * np.array([1.0, 0.6, 0.2], np.float32)
    read_png(plots.plot_image_grid(colour, tmp_path / "colour.png", ncols=8), (200, 800))
    as_bytes = (x[..., 0] * 255).astype(np.uint8)
    read_png(plots.plot_image_grid(as_bytes, tmp_path / "bytes.png"), (400, 400))
    with pytest.raises(ValueError, match="3 dimensions or 4|3 or 4 dimensions"):
        plots.plot_image_grid(x[0, :, :, 0].reshape(-1), tmp_path / "bad.png")
    no_temp_files(tmp_path)


def test_forecast_on_sunspots(tmp_path):
    values = realdata.sunspots()
    years = np.arange(1700, 1700 + len(values))
    persistence = np.concatenate([[np.nan], values[:-1]])  # next year = this year
    path = plots.plot_forecast(
        years, values, persistence, tmp_path / "forecast.png", title="persistence", xlabel="year"
    )
    read_png(path, (380, 900))
    with pytest.raises(ValueError, match="same length"):
        plots.plot_forecast(years[:-1], values, persistence, tmp_path / "f.png")
    with pytest.raises(ValueError, match="all NaN"):
        plots.plot_forecast(years, values, np.full(len(values), np.nan), tmp_path / "f.png")


def test_svg_and_pdf(run, tmp_path):
    assert (
        plots.plot_history(run["history"], tmp_path / "h.svg").read_text().lstrip().startswith("<")
    )
    assert plots.plot_history(run["history"], tmp_path / "h.pdf").read_bytes()[:4] == b"%PDF"


def test_overwrites_atomically_and_holds_no_figures(run, tmp_path):
    import matplotlib.pyplot as plt

    path = tmp_path / "history.png"
    path.write_bytes(b"old")
    before = len(gc.get_objects())
    for _ in range(5):
        plots.plot_history(run["history"], path)
    gc.collect()
    assert plt.get_fignums() == []  # nothing registered with pyplot, no windows
    assert len(gc.get_objects()) - before < 5000  # no figure kept alive per call
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["history.png"]
