"""Lessons in quick mode (attention, autoencoders and the nine-step workflow):
its pictures exist and its measured claims hold.

Each lesson runs once (module-scoped fixture) on real data; the assertions read the numbers
it wrote to results.json, so each can fail when the idea it teaches is not reproduced.
"""

import pytest
from conftest import check_pictures, lesson_fixture

attention = lesson_fixture("attention")
autoencoder = lesson_fixture("autoencoder")
workflow = lesson_fixture("workflow")


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
