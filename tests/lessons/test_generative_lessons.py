"""The generative lesson (VAE latent map, DCGAN epoch by epoch) and the MLP mini project in
quick mode: their pictures exist and their measured claims hold (read from results.json)."""

import pytest
from conftest import check_pictures, lesson_fixture

vae_gan = lesson_fixture("vae_gan")
mlp_project = lesson_fixture("mlp_project")

# Quick mode trains two half-width VAEs for 6 epochs at Adam 2e-3, seed 0. Measured: the
# 16-D code (the zoo's default) rebuilt 89.1% of test digits as their own class at a test
# loss of 114.7 nats, the 2-D code 42.3% at 167.7 (with the 16-unit layer the 2-D code had
# 39-41%); the full mode's 30 epochs: docs/course/vae_gan.md.
QUICK_SAME_CLASS = 0.8
QUICK_SAME_CLASS_2D = 0.3
QUICK_VAE_LOSS = 130.0
QUICK_VAE_LOSS_2D = 180.0
# The quick DCGAN (4 epochs on 2,000 digits) measured a Fréchet distance of 104 after
# epoch 1 and 61 after epoch 4, random pixels 339 and 200 real digits 3.0.
QUICK_GAN_FD_KEPT = 0.8


@pytest.mark.slow
def test_vae_gan(vae_gan):
    out, results = vae_gan
    n = results["numbers"]
    check_pictures(out, results, ["vae_reconstructions.png", "vae_latent.png", "gan_epochs.png"])
    # The VAE rebuilds digits as themselves, not as a few shared prototypes: most test
    # reconstructions have their input's class (10% by chance), close to the inputs'
    # own score on the same check; the 2-D code keeps far fewer (it is what the map needs).
    assert n["input_same_class"] > 0.85
    assert n["reconstruction_same_class"] > QUICK_SAME_CLASS
    assert n["reconstruction_same_class_2d"] > QUICK_SAME_CLASS_2D
    assert n["reconstruction_same_class"] > n["reconstruction_same_class_2d"] + 0.2
    assert n["vae_test_loss"] < QUICK_VAE_LOSS
    assert n["vae_test_loss_2d"] < QUICK_VAE_LOSS_2D
    assert n["vae_test_kl_loss_2d"] > 3  # the code carries information (a collapsed one: ~0)
    assert n["vae_test_kl_loss"] > n["vae_test_kl_loss_2d"]  # a larger code carries more
    # The 2-D code separates the classes instead of piling them at the origin.
    assert n["latent_class_centre_spread"] > 0.4
    # The GAN's samples move towards real digits over the epochs (Fréchet distance in a
    # digit classifier's features), far below random pixels and towards what real digits
    # score.
    assert n["real_fd"] < n["gan_fd_best"] < n["noise_fd"] / 3
    assert n["gan_fd_last_epoch"] < QUICK_GAN_FD_KEPT * n["gan_fd_epoch_1"]


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
