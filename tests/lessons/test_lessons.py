"""Lessons in quick mode (the first lessons: activations to initializers):
its pictures exist and its measured claims hold.

Each lesson runs once (module-scoped fixture) on real data; the assertions read the numbers
it wrote to results.json, so each can fail when the idea it teaches is not reproduced.
"""

import math

import pytest
from conftest import check_pictures, lesson_fixture

activations = lesson_fixture("activations")
forward_backprop = lesson_fixture("forward_backprop")
losses = lesson_fixture("losses")
optimizers = lesson_fixture("optimizers")
learning_rate = lesson_fixture("learning_rate")
initializers = lesson_fixture("initializers")


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
