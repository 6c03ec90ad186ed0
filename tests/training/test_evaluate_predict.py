"""`evaluate` and `predict` on run folders of tiny models trained briefly on real data.

The run folders are written as `train` writes them (model.keras, config.json,
dataset.json, vocabulary.txt), from the zoo's loaders and the task objects, so these tests
check evaluate/predict on their own.
"""

from __future__ import annotations

import json

import matplotlib.image as mpimg
import numpy as np
import pytest

from kerazoo import registry
from kerazoo.data import loader
from kerazoo.tasks import get_task, spread
from kerazoo.training.evaluate import evaluate
from kerazoo.training.predict import predict


def _run(folder, model, dataset, max_examples, data_options=None, epochs=1, **arguments):
    """Trains `model` on `dataset` and writes a run folder as `train` does."""
    data_options = data_options or {}
    splits, info = loader.load_arrays(
        dataset, max_examples=max_examples, scale=False, **data_options
    )
    net = registry.create_model(model, **arguments)
    task = get_task(registry.model_info(model).task)
    train, val, _ = task.prepare(*loader.pipelines(splits, 32))
    net.fit(train, validation_data=val, epochs=epochs, verbose=0, shuffle=False)
    folder.mkdir(parents=True)
    net.save(folder / "model.keras")
    config = {
        "model": model,
        "dataset": dataset,
        "seed": 0,
        "validation_split": 0.1,
        "max_examples": max_examples,
        "data_options": data_options,
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "dataset.json").write_text(json.dumps(info.as_dict()))
    if info.vocabulary is not None:
        (folder / "vocabulary.txt").write_text("\n".join(info.vocabulary) + "\n")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    image = {"input_shape": (28, 28, 1)}
    return {
        "mlp": _run(
            root / "mlp", "mlp", "mnist_sample", 600, epochs=5, hidden_units=(64,), **image
        ),
        "vae": _run(
            root / "vae", "vae", "mnist_sample", 300,
            filters=(4, 8), hidden_units=(8,), latent_dim=2, **image,
        ),
        "dcgan": _run(
            root / "dcgan", "dcgan", "mnist_sample", 128,
            latent_dim=16, generator_filters=(16, 8), discriminator_filters=(8, 16),
        ),
        "lstm": _run(
            root / "lstm", "lstm_classifier", "fortunes_lang", 300,
            data_options={"vocab_size": 2000, "sequence_length": 32},
            vocab_size=2000, sequence_length=32, num_classes=4, embedding_dim=16, units=(16,),
        ),
        "regressor": _run(
            root / "regressor", "regression_mlp", "diabetes", None,
            input_shape=(10,), hidden_units=(16,),
        ),
    }  # fmt: skip


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory):
    """Eight real test digits as PNG files, and their labels."""
    folder = tmp_path_factory.mktemp("digits")
    splits, _ = loader.load_arrays("mnist_sample", max_examples=600)
    shown = spread(len(splits.x_test), 8)  # the test part is sorted by class
    files = []
    for i in shown:
        files.append(folder / f"digit{i}.png")
        mpimg.imsave(files[-1], splits.x_test[i, :, :, 0], cmap="gray", vmin=0, vmax=1)
    return files, splits.y_test[shown]


# --- evaluate -------------------------------------------------------------------------------


def test_evaluate_scores_an_autoencoder_against_its_inputs(runs):
    from kerazoo.saving import load_model

    scores = evaluate(runs["vae"])
    assert {"test_loss", "dataset", "n_test"} <= set(scores) and scores["n_test"] == 300
    # The same test images scored directly, as plain arrays: evaluate prepared them as
    # train does (scaled to [0, 1], targets = inputs).
    splits, _ = loader.load_arrays("mnist_sample", max_examples=300)
    model = load_model(runs["vae"] / "model.keras")
    direct = model.evaluate(splits.x_test, splits.x_test, batch_size=256, verbose=0)
    direct = direct[0] if isinstance(direct, list) else direct
    assert scores["test_loss"] == pytest.approx(direct, rel=1e-4)


def test_evaluate_a_classifier_and_a_regressor(runs):
    scores = evaluate(runs["mlp"])
    assert 0.5 < scores["test_accuracy"] <= 1.0 and scores["dataset"] == "mnist_sample"
    scores = evaluate(runs["regressor"])
    _, info = loader.load_arrays("diabetes")
    assert scores["test_mae_unscaled"] == pytest.approx(scores["test_mae"] * info.target_std)


def test_evaluate_a_gan_judges_real_images_with_its_discriminator(runs):
    scores = evaluate(runs["dcgan"])
    assert {"test_d_loss", "test_g_loss"} <= set(scores)
    assert all(np.isfinite(v) for k, v in scores.items() if k.startswith("test_"))


def test_evaluate_names_an_unknown_or_unfitting_dataset(runs):
    with pytest.raises(ValueError, match=r"Did you mean: fashion_mnist.*Received: dataset="):
        evaluate(runs["mlp"], "fashion_mnst")
    with pytest.raises(ValueError, match=r"cannot train on diabetes.*Received: dataset="):
        evaluate(runs["vae"], "diabetes")


# --- predict --------------------------------------------------------------------------------


def test_predict_classifies_real_digit_images(runs, digit_files):
    files, labels = digit_files
    predictions = predict(runs["mlp"], files)
    assert [p.source for p in predictions] == [str(f) for f in files]
    assert all(p.label in [str(k) for k in range(10)] for p in predictions)
    assert np.mean([p.label == str(y) for p, y in zip(predictions, labels, strict=True)]) >= 0.5


@pytest.mark.parametrize(
    "run, message",
    [
        ("vae", r"^vae is a reconstruction model; it takes images .*Received: path="),
        ("dcgan", r"^dcgan is a generation model; it takes random latent vectors .*Received: "),
        ("regressor", r"^regression_mlp is a regression model; it takes .*Received: path="),
    ],
)
def test_predict_refuses_models_that_give_no_labels(runs, digit_files, run, message):
    with pytest.raises(ValueError, match=message) as err:
        predict(runs[run], digit_files[0][:1])
    assert "\n" not in str(err.value)


def test_a_text_model_takes_text_files_not_images(runs, digit_files, tmp_path):
    with pytest.raises(ValueError) as err:
        predict(runs["lstm"], digit_files[0][:1])
    message = str(err.value)
    assert message.startswith("lstm_classifier classifies text; it takes text files")
    assert message.endswith(f"Received: {digit_files[0][0]}") and "\n" not in message
    quotes = tmp_path / "quotes.txt"
    quotes.write_text("The early bird catches the worm.\n\nDer frühe Vogel fängt den Wurm.\n")
    predictions = predict(runs["lstm"], [quotes])
    assert [p.source for p in predictions] == [f"{quotes}:1", f"{quotes}:3"]  # file lines
    assert all(p.label in ("en", "de", "es", "it") for p in predictions)


def test_an_image_model_takes_images_not_text(runs, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image\n")
    with pytest.raises(ValueError, match=r"^mlp classifies images; it takes PNG or JPEG files"):
        predict(runs["mlp"], [notes])
