"""Every finished lesson in quick mode: its pictures exist and its measured claims hold.

Each lesson runs once (module-scoped fixture) on real data; the assertions read the numbers
it wrote to results.json, so each can fail when the idea it teaches is not reproduced.
"""

import math

import pytest
from conftest import check_pictures, lesson_fixture

import kerazoo

activations = lesson_fixture("activations")
forward_backprop = lesson_fixture("forward_backprop")
losses = lesson_fixture("losses")
optimizers = lesson_fixture("optimizers")
learning_rate = lesson_fixture("learning_rate")


@pytest.mark.slow
def test_activations(activations):
    out, results = activations
    n = results["numbers"]
    check_pictures(out, results, ["functions.png", "accuracy.png"])
    assert n["max_slope_sigmoid"] == pytest.approx(0.25, abs=1e-3)
    assert n["max_slope_tanh"] == pytest.approx(1.0, abs=1e-3)
    assert (n["slope_relu_positive"], n["slope_relu_negative"]) == (1.0, 0.0)
    # The claim: a linear activation cannot fit what ReLU fits on real digits...
    assert n["test_accuracy_linear"] < n["test_accuracy_relu"] - 0.01
    assert n["test_accuracy_relu"] > 0.85
    # ...because the linear MLP is exactly one softmax layer.
    assert n["linear_collapse_max_difference"] < 1e-4
    assert n["linear_weight_matrix_shape"] == "784x10"


def test_forward_backprop(forward_backprop):
    out, results = forward_backprop
    n = results["numbers"]
    check_pictures(out, results, ["gradients.png", "y_equals_2x.png"])
    assert n["batch_size"] == 64 and n["parameters"] == 97
    assert n["max_abs_gradient_difference"] < 1e-6
    assert n["largest_gradient"] > 1e-2  # the match is not between two zero tensors
    assert n["max_abs_output_difference"] < 1e-6
    assert n["loss_hand"] == pytest.approx(n["loss_keras"], abs=1e-6)
    assert n["y2x_first_loss"] > 1 and n["y2x_final_loss"] < 1e-2
    assert n["y2x_predictions"] == pytest.approx([0, 2, 4, 6], abs=0.2)


def test_losses(losses):
    out, results = losses
    n = results["numbers"]
    check_pictures(out, results, ["loss_shapes.png", "outlier.png"])
    assert (n["mse_at_error_3"], n["mae_at_error_3"], n["huber_at_error_3"]) == (9.0, 3.0, 2.5)
    assert n["cross_entropy_at_p_0.01"] == pytest.approx(-math.log(0.01), rel=1e-4)
    # One wrong value drags the MSE fit far more than the robust losses.
    assert n["slope_shift_mse"] > 5 * n["slope_shift_mae"]
    assert n["slope_shift_mse"] > 5 * n["slope_shift_huber"]
    assert n["slope_mse_clean"] > 0  # heavier patients progress faster in the clean data


@pytest.mark.slow
def test_optimizers(optimizers):
    out, results = optimizers
    n = results["numbers"]
    check_pictures(out, results, ["paths.png", "digits.png"])
    start = 0.05 * 81 + 2 * 1.6**2
    for key in ("sgd", "sgd_momentum_0.9", "rmsprop", "adam", "adamw"):
        assert n[f"surface_loss_after_60_{key}"] < start / 10
    # Same model, data, seed and epochs on real digits: momentum and the adaptive
    # optimizers get much further than plain SGD.
    for key in ("sgd_momentum", "rmsprop", "adam", "adamw"):
        assert n[f"final_train_loss_{key}"] < 0.6 * n["final_train_loss_sgd"]
        assert n[f"test_accuracy_{key}"] > n["test_accuracy_sgd"]


@pytest.mark.slow
def test_learning_rate(learning_rate):
    out, results = learning_rate
    n = results["numbers"]
    check_pictures(out, results, ["three_rates.png", "range_test.png", "schedules.png"])

    def loss(key):
        value = n[f"final_train_loss_{key}"]
        return math.inf if isinstance(value, str) else value

    assert loss("good") < 0.5 * loss("too_small")
    assert loss("good") < 0.5 * loss("too_large")
    assert n["test_accuracy_good"] > 0.8
    assert 1e-3 < n["range_test_suggested_lr"] < 1.0
    assert n["range_test_min_loss"] < 2.0  # the loss did fall somewhere in the range
    assert n["final_lr_constant"] == pytest.approx(0.05)
    assert n["final_lr_step"] < 0.05 and n["final_lr_cosine"] < n["final_lr_step"]


initializers = lesson_fixture("initializers")


@pytest.mark.slow
def test_initializers(initializers):
    out, results = initializers
    n = results["numbers"]
    check_pictures(out, results, ["spreads.png", "training.png"])
    # Zeros: no symmetry breaking, nothing flows.
    for act in ("relu", "tanh"):
        assert n[f"act_std_layer10_{act}_zeros"] == 0 and n[f"grad_std_layer1_{act}_zeros"] == 0
    # Too small a uniform scale: the signal vanishes over ten layers.
    assert n["act_std_layer10_relu_uniform"] < 1e-4 * n["act_std_layer1_relu_uniform"]
    assert n["act_std_layer10_tanh_uniform"] < 1e-3 * n["act_std_layer1_tanh_uniform"]
    # He keeps a ReLU net's signal within a small factor; Glorot a tanh net's.
    assert 0.2 < n["act_std_layer10_relu_he"] / n["act_std_layer1_relu_he"] < 5
    assert 0.2 < n["act_std_layer10_tanh_glorot"] / n["act_std_layer1_tanh_glorot"] < 5
    assert n["act_std_layer10_relu_he"] > 5 * n["act_std_layer10_relu_glorot"]
    # Training follows: zeros and the tiny uniform stay near chance, He learns.
    assert n["test_accuracy_zeros"] < 0.2 and n["test_accuracy_uniform"] < 0.3
    assert n["test_accuracy_he"] > 0.6
    assert n["test_accuracy_he"] > n["test_accuracy_zeros"] + 0.4


batch_and_epochs = lesson_fixture("batch_and_epochs")


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


overfitting = lesson_fixture("overfitting")


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


cnn = lesson_fixture("cnn")


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


mnist_project = lesson_fixture("mnist_project")


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


dl_vs_ml = lesson_fixture("dl_vs_ml")


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


attention = lesson_fixture("attention")


@pytest.mark.slow
def test_attention(attention):
    out, results = attention
    n = results["numbers"]
    check_pictures(out, results, ["heads.png", "received.png"])
    assert n["test_accuracy"] > 0.8
    assert n["predicted_language"] == n["true_language"]
    assert "[UNK]" not in n["quotation"] and 8 <= len(n["quotation"].split()) <= 16
    # The weights read from the model's own MultiHeadAttention are the ones it uses:
    # each row is a softmax, padding gets nothing, and the block rebuilt from them matches.
    assert n["row_sum_max_error"] < 1e-5
    assert n["weight_on_padding"] < 1e-6
    assert n["block_by_hand_max_difference"] < 1e-4
    assert n["heads"] == 4
    # The second block attends selectively (well above the uniform 1/length).
    assert n["block2_max_weight_over_uniform"] > 1.5


autoencoder = lesson_fixture("autoencoder")


@pytest.mark.slow
def test_autoencoder(autoencoder):
    out, results = autoencoder
    n = results["numbers"]
    check_pictures(out, results, ["bottleneck.png", "latent_2d.png", "denoising.png"])
    # A wider bottleneck keeps more of the digit.
    assert n["test_mse_code2"] > n["test_mse_code8"] > n["test_mse_code32"]
    assert n["mse_code2_over_largest"] > 1.5
    # Without labels, the 2-number codes still group the classes (chance: ~10%).
    assert n["code2_nearest_centre_accuracy"] > 0.3
    # Denoising removes much of the stray ink from the blank background.
    assert n["denoise_stray_ink_cleaned"] < 0.75 * n["denoise_stray_ink_noisy"]
    assert n["denoise_mse_cleaned"] < n["denoise_mse_noisy"]


workflow = lesson_fixture("workflow")


@pytest.mark.slow
def test_workflow(workflow):
    out, results = workflow
    n = results["numbers"]
    check_pictures(out, results, ["workflow.png"])
    assert n["classes"] == "malignant, benign" and n["features"] == 10
    assert n["n_train"] + n["n_val"] + n["n_test"] == 569
    assert n["train_feature_mean_max"] < 1e-4
    assert (n["loss"], n["optimizer"]) == ("binary_crossentropy", "Adam")
    assert n["baseline_val_accuracy"] > 0.85
    assert 1 <= n["trials"] <= 3
    assert "optimizer=adam" in n["best_hyperparameters"]
    assert n["test_accuracy"] > 0.8
    # The deployed file answers as the Keras model does.
    assert n["tflite_max_difference"] < 1e-4
    assert n["tflite_test_accuracy"] == pytest.approx(n["test_accuracy"], abs=0.01)
    assert n["tflite_bytes"] > 1000
