"""Lessons in quick mode (training in practice: batches, overfitting, convnets, the digit project, DL vs ML):
its pictures exist and its measured claims hold.

Each lesson runs once (module-scoped fixture) on real data; the assertions read the numbers
it wrote to results.json, so each can fail when the idea it teaches is not reproduced.
"""

import math

import pytest
from conftest import check_pictures, lesson_fixture

import kerazoo

batch_and_epochs = lesson_fixture("batch_and_epochs")
overfitting = lesson_fixture("overfitting")
cnn = lesson_fixture("cnn")
mnist_project = lesson_fixture("mnist_project")
dl_vs_ml = lesson_fixture("dl_vs_ml")


def test_batch_and_epochs(batch_and_epochs):
    out, results = batch_and_epochs
    n = results["numbers"]
    check_pictures(out, results, ["batch_size.png"])
    sizes = (8, 32, 128, 512)
    # One update per batch: ceil(N / B) of them in an epoch.
    for size in sizes:
        assert n[f"updates_per_epoch_batch{size}"] == math.ceil(n["n_train"] / size)
    # Larger batches make an epoch faster on a CPU (vectorized work, fewer steps)...
    assert n["seconds_per_epoch_batch8"] > 2 * n["seconds_per_epoch_batch512"]
    # ...but with the same epochs, the 3 updates per epoch of batch 512 end behind.
    assert n["val_accuracy_batch512"] < n["val_accuracy_batch32"] - 0.03
    assert n["val_accuracy_batch32"] > 0.8


@pytest.mark.slow
def test_overfitting(overfitting):
    out, results = overfitting
    n = results["numbers"]
    check_pictures(out, results, ["overfitting.png", "remedies.png", "augmentation.png"])
    assert (n["n_train"], n["n_val"]) == (600, 1500)
    # Memorized: 100% on the training digits, far less on new ones.
    assert n["train_accuracy_no_regularization"] > 0.99
    assert n["gap_no_regularization"] > 0.08
    # Each remedy closes part of the loss gap; augmentation also most of the accuracy gap.
    base = n["loss_gap_no_regularization"]
    for key in ("dropout", "l2", "early_stopping", "augmentation"):
        assert n[f"loss_gap_{key}"] < 0.95 * base, key
    assert n["loss_gap_augmentation"] < 0.5 * base
    assert n["gap_augmentation"] < 0.6 * n["gap_no_regularization"]
    # The lesson's temporary model is gone from the registry again.
    assert "lesson_augmented_mlp" not in kerazoo.list_models()


def test_cnn(cnn):
    out, results = cnn
    n = results["numbers"]
    check_pictures(
        out, results, ["convolution.png", "kernels.png", "feature_maps.png", "parameters.png"]
    )
    # A convolution is the weighted sum of the patch under the kernel.
    assert n["by_hand_minus_keras_vertical"] < 1e-5
    assert n["by_hand_minus_keras_horizontal"] < 1e-5
    # Pooling halves the maps: 28 -> 14 -> 7.
    assert (n["shape_conv_1"], n["shape_pool_1"], n["shape_pool_2"]) == (
        "28x28x32",
        "14x14x32",
        "7x7x64",
    )
    # Weight sharing: 320 weights against 19.7 million for the same outputs.
    assert n["conv_params"] == 3 * 3 * 32 + 32
    assert n["dense_params_same_outputs"] == 784 * 25088 + 25088
    assert n["test_accuracy"] > 0.85


@pytest.mark.slow
def test_mnist_project(mnist_project):
    out, results = mnist_project
    n = results["numbers"]
    check_pictures(out, results, ["accuracy.png", "predictions.png"])
    assert (n["pixel_max_raw"], n["pixel_max_normalised"]) == (255, 1.0)
    assert n["n_train"] == 3600 and n["n_test"] == 1000
    # The seeds' bar: a small CNN on real MNIST digits above 95% test accuracy.
    assert n["test_accuracy"] > 0.95 and n["reaches_95_percent"] is True
    assert n["random_digits_correct"] >= 15


@pytest.mark.slow
def test_dl_vs_ml(dl_vs_ml):
    out, results = dl_vs_ml
    n = results["numbers"]
    check_pictures(out, results, ["data_size.png"])
    small, large = 100, 900
    # Every model learns more from more real digits...
    for key in ("logreg", "forest", "mlp", "cnn"):
        assert n[f"accuracy_{key}_{large}"] > n[f"accuracy_{key}_{small}"] + 0.05, key
    # ...the convnet ends ahead of both classical models...
    assert n[f"cnn_minus_best_classical_{large}"] > 0.02
    assert n["accuracy_cnn_900"] > 0.9
    # ...and costs many times the seconds of a random forest to fit.
    assert n[f"cnn_over_forest_seconds_{large}"] > 2
