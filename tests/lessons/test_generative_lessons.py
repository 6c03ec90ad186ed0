"""The generative lesson (VAE latent map, DCGAN epoch by epoch) and the MLP mini project in
quick mode: their pictures exist and their measured claims hold (read from results.json)."""

import pytest
from conftest import check_pictures, lesson_fixture

vae_gan = lesson_fixture("vae_gan")
mlp_project = lesson_fixture("mlp_project")

# Quick mode trains a half-width VAE for 6 epochs at Adam 2e-3 (seed 0: 46.1% of
# reconstructions keep their class, test loss 167.5; with the 16-unit layer before the code
# it had 39.3% and 40.5% with seeds 0 and 1, loss 169.1 and 170.0; 30 and 50 epochs:
# docs/course/vae_gan.md, docs/results.md).
QUICK_SAME_CLASS = 0.4
QUICK_VAE_LOSS = 180.0


@pytest.mark.slow
def test_vae_gan(vae_gan):
    out, results = vae_gan
    n = results["numbers"]
    check_pictures(out, results, ["vae_reconstructions.png", "vae_latent.png", "gan_epochs.png"])
    # The VAE rebuilds digits as themselves, not as a few shared prototypes: many test
    # reconstructions have their input's class (measured in quick mode: 46%; 10% by chance).
    assert n["reconstruction_same_class"] > QUICK_SAME_CLASS
    assert n["input_same_class"] > 0.85
    assert n["vae_test_loss"] < QUICK_VAE_LOSS
    assert n["vae_test_kl_loss"] > 3  # the code carries information (a collapsed one: ~0)
    # The 2-D code separates the classes instead of piling them at the origin.
    assert n["latent_class_centre_spread"] > 0.4
    # The GAN's samples move from noise towards real digits over the epochs.
    assert n["gan_distance_last_epoch"] < n["gan_distance_epoch_1"]
    assert n["gan_distance_last_epoch"] < 0.6 * n["noise_distance"]


@pytest.mark.slow
def test_mlp_project(mlp_project):
    out, results = mlp_project
    n = results["numbers"]
    check_pictures(out, results, ["accuracy.png", "predictions.png"])
    assert (n["pixel_max_raw"], n["pixel_max_normalised"]) == (255, 1.0)
    assert n["n_train"] == 3600 and n["n_test"] == 1000
    # An honest multi-layer network: only Dense layers, no convolution.
    assert n["conv_layers"] == 0 and n["dense_layers"] >= 3
    # The seeds' bar is 95%; the lesson states honestly whether it was reached. Measured
    # in quick mode (5 epochs, 3,600 digits): 93.9%, below the bar (issue 12, open).
    assert n["test_accuracy"] > 0.92
    assert n["reaches_95_percent"] is (n["test_accuracy"] > 0.95)
    assert n["random_digits_correct"] >= 14
