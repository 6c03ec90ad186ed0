"""`kerazoo.train`: every family end to end on its real default dataset (short runs), the
run-folder contract, evaluation that reproduces the run's test metrics, and bad input."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from matplotlib import image as mpimg

import kerazoo
from kerazoo import registry
from kerazoo.training import run
from kerazoo.training.evaluate import evaluate

COMMON = ("config.json", "dataset.json", "model.keras", "metrics.json", "history.csv")
PICTURES = ("history.png", "architecture.png")
# One short run per family (and per task within a family), each on its default dataset.
FAMILY_RUNS = {
    "mnist_mlp": ("predictions.png", "confusion_matrix.png"),
    "mnist_cnn": ("predictions.png", "confusion_matrix.png"),
    "resnet8": ("predictions.png", "confusion_matrix.png"),
    "lstm_classifier": ("predictions.png", "confusion_matrix.png", "vocabulary.txt"),
    "gru_forecaster": ("forecast.png",),
    "transformer_classifier": ("predictions.png", "confusion_matrix.png", "vocabulary.txt"),
    "conv_autoencoder": ("reconstructions.png", "reconstructions/epoch_002.png"),
    "vae": ("reconstructions.png", "samples.png", "reconstructions/epoch_002.png"),
    "dcgan": ("samples.png", "samples/epoch_001.png", "samples/epoch_002.png"),
    "binary_mlp": ("confusion_matrix.png",),
    "regression_mlp": ("predictions.png",),
}


def _small(name: str) -> dict:
    """The model's tiny settings, minus what the dataset decides."""
    spec = registry.get_spec(name)
    return {k: v for k, v in spec.tiny.items() if k not in spec.inputs}


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("name", sorted(FAMILY_RUNS))
def test_every_family_trains_end_to_end_and_leaves_a_complete_run_folder(tmp_path, name):
    out = tmp_path / name
    text = registry.get_spec(name).datasets[0] == "fortunes_lang"
    options = {"vocab_size": 2000, "sequence_length": 32} if text else {}
    result = kerazoo.train(
        name,
        epochs=2,
        max_examples=256,
        out=out,
        overrides=_small(name),
        data_options=options,
        verbose=0,
    )
    spec = registry.get_spec(name)
    for file in (*COMMON, *PICTURES, *FAMILY_RUNS[name]):
        assert (out / file).is_file(), f"{file} missing from the run folder"
    for png in out.rglob("*.png"):
        picture = mpimg.imread(png)
        assert picture.ndim == 3 and min(picture.shape[:2]) > 50, png
    assert not (out / "backup").exists() and not (out / ".clock.json").exists()

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == result.metrics
    # In a notebook the result shows its summary line and every picture of the folder.
    assert result._repr_html_().count("<img") == len(list(out.glob("*.png")))
    assert metrics["dataset"] == spec.datasets[0] or name == "mnist_cnn"
    assert metrics["n_train"] == result.info.n_train <= 256
    assert metrics["n_test"] == result.info.n_test > 0
    assert metrics["epochs"] == 2 and metrics["replicas"] == 1
    assert metrics["seconds"] > 0 and metrics["samples_per_second"] > 0
    tests = {k: v for k, v in metrics.items() if k.startswith("test_")}
    assert tests and all(math.isfinite(v) for v in tests.values())
    if spec.task == "classification":
        assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert [int(r["epoch"]) for r in _rows(out / "history.csv")] == [0, 1]

    config = json.loads((out / "config.json").read_text())
    assert config["model"] == name and config["epochs"] == 2 and config["max_examples"] == 256
    # The saved model is the trained one: loading it gives the same test metrics.
    again = evaluate(out)
    for key, value in tests.items():
        assert again[key] == pytest.approx(value, rel=1e-4, abs=1e-4), key


def test_mnist_cnn_reaches_97_percent_on_the_mnist_sample_in_5_epochs(tmp_path):
    """The README's `make demo` figure: 5 epochs, default settings, 1,000 held-out digits."""
    result = kerazoo.train("mnist_cnn", "mnist_sample", epochs=5, out=tmp_path, verbose=0)
    assert result.metrics["n_test"] == 1000 and result.metrics["n_train"] == 3600
    assert result.metrics["test_accuracy"] >= 0.97
    assert result.metrics["batch_size"] == 32


def test_a_finished_run_is_refused_then_replaced_with_overwrite(tmp_path):
    kwargs = dict(epochs=1, max_examples=128, out=tmp_path, verbose=0, plots=False)
    kerazoo.train("binary_mlp", **kwargs)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(ValueError, match="already holds a run.*--resume.*--overwrite"):
        kerazoo.train("binary_mlp", **kwargs)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before

    # resume on a finished run: nothing to do, its metrics come back.
    result = kerazoo.train("binary_mlp", resume=True, **kwargs)
    assert result.metrics == json.loads(before["metrics.json"])

    result = kerazoo.train("binary_mlp", **kwargs | {"overwrite": True, "seed": 1})
    assert json.loads((tmp_path / "config.json").read_text())["seed"] == 1
    assert result.metrics["n_train"] == 128


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dataset": "imagenet"}, "Unknown dataset.*Received: dataset='imagenet'"),
        ({"model": "lstm_classifier", "dataset": "mnist"}, "cannot train on mnist.*fortunes_lang"),
        ({"model": "dcgan", "dataset": "sunspots"}, "cannot train on sunspots"),
        ({"model": "binary_mlp", "dataset": "diabetes"}, "cannot train on diabetes"),
        ({"model": "mnist_cnm"}, "mnist_cnn"),
        ({"epochs": 0}, "Received: epochs=0"),
        ({"batch_size": -8}, "Received: batch_size=-8"),
        ({"max_examples": 0}, "Received: max_examples=0"),
        ({"optimizer": "adagrad"}, "Received: optimizer='adagrad'"),
        ({"learning_rate": -1.0}, "Received: learning_rate=-1.0"),
        ({"lr_schedule": "linear"}, "Received: lr_schedule='linear'"),
        ({"strategy": "tpu"}, "Received: strategy='tpu'"),
        ({"seed": -1}, "Received: seed=-1"),
        ({"overrides": {"num_classes": 3}}, "comes from the dataset.*Received: num_classes=3"),
        ({"overrides": {"learning_rate": 0.1}}, "--lr.*Received: learning_rate=0.1"),
        ({"overrides": {"dropout": 2.0}}, "Received: dropout=2.0"),
        ({"overrides": {"depth": 3}}, "does not take the argument 'depth'"),
        ({"resume": True}, "no run to resume"),
        ({"resume": True, "overwrite": True}, "exclude each other"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(tmp_path, kwargs, message):
    kwargs = {"model": "mnist_cnn", "dataset": "mnist_sample", "out": tmp_path / "run"} | kwargs
    kwargs["verbose"] = 0
    with pytest.raises(ValueError, match=message):
        kerazoo.train(kwargs.pop("model"), **kwargs)
    assert not (tmp_path / "run").exists()


def test_a_folder_that_is_not_a_run_is_never_overwritten(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for flag in ({}, {"overwrite": True}):
        with pytest.raises(ValueError, match="not a kerazoo run folder"):
            kerazoo.train("binary_mlp", out=tmp_path, verbose=0, **flag)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_resume_keeps_the_saved_settings(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps(run.RunConfig(model="binary_mlp", dataset="breast_cancer", epochs=3).to_json())
    )
    with pytest.raises(ValueError, match="saved with epochs=3.*Received: epochs=5"):
        kerazoo.train("binary_mlp", epochs=5, out=tmp_path, resume=True, verbose=0)
    with pytest.raises(ValueError, match="saved with model='binary_mlp'"):
        kerazoo.train("mnist_cnn", out=tmp_path, resume=True, verbose=0)


def test_default_datasets_and_fits():
    assert run.default_dataset("mnist_cnn") == "mnist"
    assert run.default_dataset("lstm_classifier") == "fortunes_lang"
    assert run.default_dataset("gru_forecaster") == "sunspots"
    run.check_model_fits("mlp", "mnist_sample")  # an image model fits every image set
    run.check_model_fits("vae", "fashion_mnist")
    with pytest.raises(ValueError, match="cannot train on breast_cancer"):
        run.check_model_fits("mnist_cnn", "breast_cancer")


def test_text_runs_save_the_vocabulary_the_model_reads(tmp_path):
    result = kerazoo.train(
        "lstm_classifier",
        epochs=1,
        max_examples=200,
        out=tmp_path,
        overrides=_small("lstm_classifier"),
        data_options={"vocab_size": 500, "sequence_length": 16},
        verbose=0,
        plots=False,
    )
    words = (tmp_path / "vocabulary.txt").read_text().split("\n")[:-1]
    assert words == result.info.vocabulary and len(words) <= 500 and words[:2] == ["", "[UNK]"]
    assert result.model.input_shape[1:] == (16,)
    info = json.loads((tmp_path / "dataset.json").read_text())
    assert info["class_names"] == ["en", "de", "es", "it"] and info["sequence_length"] == 16
    assert np.isfinite(result.metrics["test_loss"])


def test_resume_without_the_dataset_continues_on_the_saved_one(tmp_path):
    # The README's `kerazoo train mnist_cnn --out runs/fashion --resume`: the run was made
    # on fashion_mnist, not on mnist_cnn's default dataset.
    saved = run.RunConfig(model="mnist_cnn", dataset="fashion_mnist", epochs=2)
    (tmp_path / "config.json").write_text(json.dumps(saved.to_json()))
    config, _, got = run.plan("mnist_cnn", out=tmp_path, resume=True)
    assert config.dataset == got.dataset == "fashion_mnist" and config.epochs == 2
    with pytest.raises(ValueError, match="saved with dataset='fashion_mnist'"):
        run.plan("mnist_cnn", "mnist", out=tmp_path, resume=True)


def test_a_models_recipe_fills_the_settings_the_caller_left_out(tmp_path):
    # fashion_cnn trains 6 epochs on a cosine schedule unless told otherwise (bench/README.md:
    # its time to 92% on Fashion-MNIST); what the caller gives wins, setting by setting.
    config, _, _ = run.plan("fashion_cnn", out=tmp_path / "a")
    assert (config.epochs, config.lr_schedule) == (6, "cosine")
    assert kerazoo.model_info("fashion_cnn").recipe == {"epochs": 6, "lr_schedule": "cosine"}
    config, _, _ = run.plan("fashion_cnn", out=tmp_path / "b", epochs=3)
    assert (config.epochs, config.lr_schedule) == (3, "cosine")
    config, _, _ = run.plan("mnist_cnn", out=tmp_path / "c")
    assert (config.epochs, config.lr_schedule) == (run.DEFAULT_EPOCHS, "constant")
    # A run folder saved before the recipe resumes with its own settings, not refused.
    old = run.RunConfig(model="fashion_cnn", dataset="fashion_mnist", epochs=10)
    (tmp_path / "config.json").write_text(json.dumps(old.to_json()))
    config, _, _ = run.plan("fashion_cnn", out=tmp_path, resume=True)
    assert (config.epochs, config.lr_schedule) == (10, "constant")


def test_a_schedule_the_gan_cannot_follow_is_refused_not_ignored(tmp_path):
    with pytest.raises(ValueError, match="steps its own optimizers.*Received: lr_schedule"):
        kerazoo.train("dcgan", lr_schedule="cosine", out=tmp_path / "run", verbose=0)
    assert not (tmp_path / "run").exists()


def test_refit_trains_on_train_and_validation_and_keeps_the_last_epoch(tmp_path):
    result = kerazoo.train(
        "binary_mlp",
        epochs=2,
        max_examples=200,
        refit=True,
        out=tmp_path,
        verbose=0,
        plots=False,
    )
    # Every training and validation example is trained on; no epoch is chosen by a
    # validation score the model has seen.
    assert result.metrics["n_train"] == result.info.n_train + result.info.n_val
    assert result.metrics["epochs"] == 2 and result.metrics["best_epoch"] is None
    rows = _rows(tmp_path / "history.csv")
    assert all(v == "NA" for row in rows for k, v in row.items() if k.startswith("val_"))
