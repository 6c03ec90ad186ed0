"""Task objects (`kerazoo.tasks`): compile defaults, monitored values, tuner objectives,
data preparation, test metrics, pictures and what `predict` may return, on real data."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import kerazoo
from kerazoo.data import loader
from kerazoo.tasks import TASKS, Task, get_task


def test_get_task_gives_one_object_per_task():
    assert TASKS == ("classification", "regression", "reconstruction", "generation")
    for name in TASKS:
        task = get_task(name)
        assert isinstance(task, Task) and task.name == name
        assert get_task(name) is task


def test_unknown_task_names_the_four():
    with pytest.raises(ValueError, match=r"Did you mean 'regression'.*Received: task='regresion'"):
        get_task("regresion")
    with pytest.raises(ValueError) as err:
        get_task("segmentation")
    for name in TASKS:
        assert name in str(err.value)


def test_what_each_task_decides_for_a_run():
    classification, regression, reconstruction, generation = map(get_task, TASKS)
    assert (classification.loss, classification.metrics) == (
        "sparse_categorical_crossentropy",
        ("accuracy",),
    )
    assert (regression.loss, regression.metrics) == ("mse", ("mae",))
    assert (reconstruction.loss, reconstruction.metrics) == ("mse", ("mae",))
    for task in (classification, regression, reconstruction):
        assert task.monitor == "val_loss"
        assert task.early_stopping and task.save_best_only and task.lr_schedule
    # A GAN's losses pull against each other: they rank no epoch; its optimizers are its own.
    assert generation.monitor == "val_g_loss"
    assert not (generation.early_stopping or generation.save_best_only or generation.lr_schedule)


def test_objectives_for_the_tuner():
    assert get_task("classification").objectives(None) == (
        "val_accuracy",
        "val_loss",
        "accuracy",
        "loss",
    )
    assert get_task("regression").objectives(None) == ("val_loss", "val_mae", "loss", "mae")
    assert get_task("regression").objectives(("mae",))[0] == "val_loss"
    # The VAE reports only its loss (and its parts): no mae to rank by.
    assert get_task("reconstruction").objectives(()) == ("val_loss", "loss")
    assert get_task("classification").objectives(()) == ("val_loss", "loss")
    assert get_task("generation").objectives(None)[0] == "val_g_loss"


def test_which_datasets_a_task_learns_from():
    assert get_task("classification").fits("classification")
    assert not get_task("classification").fits("regression")
    assert get_task("regression").fits("regression")
    assert not get_task("regression").fits("classification")
    for name in ("reconstruction", "generation"):  # the inputs alone
        assert get_task(name).fits("classification") and get_task(name).fits("regression")


def test_factories_compile_with_the_task_defaults():
    classifier = kerazoo.create_model("mlp", hidden_units=(8,))
    assert classifier.loss == "sparse_categorical_crossentropy"
    regressor = kerazoo.create_model("regression_mlp", input_shape=(10,))
    assert regressor.loss == "mse"
    binary = kerazoo.create_model("binary_mlp", input_shape=(10,))
    assert binary.loss == "binary_crossentropy"


def test_reconstruction_feeds_inputs_as_targets_on_real_images():
    splits, _ = loader.load_arrays("mnist_sample", max_examples=64, scale=False)
    train, val, test = loader.pipelines(splits, 16)
    for ds in get_task("reconstruction").prepare(train, val, test):
        x, y = next(iter(ds))
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    kept = get_task("classification").prepare(test)
    assert kept == (test,)
    _, labels = next(iter(kept[0]))
    assert labels.shape == (16,)


def test_regression_test_metrics_give_the_error_in_the_datas_units():
    _, info = loader.load_arrays("diabetes")
    metrics = get_task("regression").test_metrics({"loss": 0.5, "mae": 0.6}, info)
    assert metrics["test_loss"] == 0.5
    assert metrics["test_mae_unscaled"] == pytest.approx(0.6 * info.target_std)
    assert 40 < metrics["test_mae_unscaled"] < 60  # disease progression units (25-346)
    _, series = loader.load_arrays("sunspots")
    metrics = get_task("regression").test_metrics({"loss": 0.1, "mae": 0.2}, series)
    assert metrics["test_mae_unscaled"] == pytest.approx(0.2 * series.std)
    # A dataset.json dict works as well as a DatasetInfo.
    as_json = get_task("regression").test_metrics({"mae": 0.2}, series.as_dict())
    assert as_json["test_mae_unscaled"] == pytest.approx(0.2 * series.std)
    scores = get_task("classification").test_metrics({"loss": 0.3, "accuracy": 0.9}, info)
    assert scores == {"test_loss": 0.3, "test_accuracy": 0.9}


def test_reconstruction_monitor_and_pictures(tmp_path):
    splits, info = loader.load_arrays("mnist_sample", max_examples=200, scale=False)
    task = get_task("reconstruction")
    vae = kerazoo.create_model("vae", filters=(4, 8), hidden_units=(8,), latent_dim=2)
    (monitor,) = task.monitors(tmp_path, splits, seed=0)
    assert monitor.images.max() <= 1.0 and len(monitor.images) == 10
    train, _, _ = task.prepare(*loader.pipelines(splits, 50))
    vae.fit(train, epochs=1, verbose=0, shuffle=False, callbacks=[monitor])
    assert (tmp_path / "reconstructions" / "epoch_001.png").is_file()
    spec = kerazoo.model_info("vae")
    written = task.draw(vae, spec, info, splits, tmp_path, seed=0)
    assert [p.name for p in written] == ["reconstructions.png", "samples.png"]
    assert all(p.stat().st_size > 1000 for p in written)
    assert get_task("classification").monitors(tmp_path, splits, seed=0) == []


def test_only_classifiers_predict():
    vae = kerazoo.create_model("vae", filters=(4, 8), hidden_units=(8,), latent_dim=2)
    with pytest.raises(ValueError, match=r"^vae is a reconstruction model; it takes images"):
        get_task("reconstruction").predictions(vae, np.zeros((1, 28, 28, 1)), None)
    splits, info = loader.load_arrays("mnist_sample", max_examples=20)
    classifier = kerazoo.create_model("mlp", hidden_units=(8,))
    rows = get_task("classification").predictions(classifier, splits.x_test[:5], info)
    assert len(rows) == 5
    for label, probability in rows:
        assert label in info.class_names and 0.0 < probability <= 1.0


def test_dcgan_reports_the_learning_rate_it_trains_with(tmp_path):
    import keras
    import tensorflow as tf

    gan = kerazoo.dcgan(latent_dim=16, generator_filters=(16, 8), discriminator_filters=(8, 16))
    # Both networks train at 2e-4; the model's optimizer is the generator's, not an unused
    # default at 0.001.
    assert gan.optimizer is gan.g_optimizer
    assert float(gan.optimizer.learning_rate) == pytest.approx(2e-4)
    splits, _ = loader.load_arrays("mnist_sample", max_examples=64)
    gan.fit(
        splits.x_train,
        batch_size=32,
        epochs=1,
        verbose=0,
        callbacks=[keras.callbacks.TensorBoard(tmp_path)],
    )
    assert int(gan.optimizer.iterations) == 2
    logged = {}
    for event_file in (tmp_path / "train").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                logged[value.tag] = float(tf.make_ndarray(value.tensor))
    assert logged["epoch_learning_rate"] == pytest.approx(2e-4)


def test_tasks_module_imports_no_keras():
    code = "import sys, kerazoo.tasks; sys.exit('keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
