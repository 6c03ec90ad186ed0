"""What is special about the autoencoders: reachable encoder/decoder sub-models, learning
to rebuild real held-out digits, noise only in training, and the VAE's loss and sampling.

The registry-wide battery (build, fit step, config, save/load in a new process, bad-input
matrix) lives in test_zoo.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import realdata

from kerazoo.models import autoencoder as ae

SMALL = {
    "dense_autoencoder": {"hidden_units": (32,), "latent_dim": 16},
    "conv_autoencoder": {"filters": (8, 16), "latent_dim": 16},
    "denoising_autoencoder": {"filters": (8, 16), "latent_dim": 16},
}


def small(name: str, **extra):
    return getattr(ae, name)(**(SMALL[name] | extra))


def tiny_vae(**extra):
    return ae.vae(**({"filters": (4, 8), "hidden_units": (8,), "latent_dim": 2} | extra))


def mse(a, b) -> float:
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


def summed_bce(x, p) -> np.ndarray:
    """Per-example binary crossentropy summed over pixels, clipped as Keras clips."""
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    x = x.astype(np.float64)
    return -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(len(x), -1).sum(axis=1)


def gaussian_kl(z_mean, z_log_var) -> np.ndarray:
    z_mean, z_log_var = z_mean.astype(np.float64), z_log_var.astype(np.float64)
    return -0.5 * np.sum(1 + z_log_var - z_mean**2 - np.exp(z_log_var), axis=1)


# --- encoder and decoder sub-models ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(SMALL))
def test_encoder_gives_the_code_and_decoder_rebuilds_the_image(name):
    x, _ = realdata.mnist_digits(8)
    model = small(name, compile=False)
    encoder, decoder = ae.get_encoder(model), ae.get_decoder(model)
    assert encoder is model.get_layer("encoder") and decoder is model.get_layer("decoder")
    codes = encoder.predict(x, verbose=0)
    assert codes.shape == (8, 16)
    images = decoder.predict(codes, verbose=0)
    assert images.shape == x.shape
    assert images.min() >= 0.0 and images.max() <= 1.0  # sigmoid output
    # The full model is exactly encoder then decoder (outside training).
    np.testing.assert_allclose(model.predict(x, verbose=0), images, atol=1e-6)


def test_vae_encoder_gives_mean_and_log_variance():
    x, _ = realdata.mnist_digits(8)
    model = tiny_vae(latent_dim=3, compile=False)
    assert ae.get_encoder(model) is model.encoder is model.get_layer("encoder")
    assert ae.get_decoder(model) is model.decoder is model.get_layer("decoder")
    z_mean, z_log_var = model.encoder.predict(x, verbose=0)
    assert z_mean.shape == z_log_var.shape == (8, 3)
    assert model.decoder.predict(z_mean, verbose=0).shape == (8, 28, 28, 1)


def test_dense_autoencoder_sequential_form_keeps_nested_encoder_and_decoder():
    seq = small("dense_autoencoder", api="sequential", compile=False)
    fun = small("dense_autoencoder", api="functional", compile=False)
    assert isinstance(seq, keras.Sequential)
    for part in ("encoder", "decoder"):
        assert isinstance(seq.get_layer(part), keras.Sequential)
        assert seq.get_layer(part).count_params() == fun.get_layer(part).count_params()
    assert ae.get_encoder(seq).output_shape == (None, 16)


def test_default_parameter_counts():
    # Dense: 784*128+128 + 128*32+32 | 32*128+128 + 128*784+784 (Chollet 2016 sizes).
    assert ae.dense_autoencoder(compile=False).count_params() == 209_968
    # VAE: the Keras example's layers with a 128-unit Dense layer before the code (the
    # example: 16) and a 16-D code (the example: 2). Encoder: 320 + 18,496 + 3136*128+128 +
    # 2*(128*16+16); decoder: the example's 65,089 with 16*3136+3136 in place of 2*3136+3136.
    model = ae.vae(compile=False)
    assert model.encoder.count_params() == 424_480
    assert model.decoder.count_params() == 108_993
    # Conv: the same trunk, a 16-d code, a 17*3136 projection back.
    assert ae.conv_autoencoder(compile=False).count_params() == 178_001


def test_sub_models_survive_save_and_load(tmp_path):
    x, _ = realdata.mnist_digits(8)
    model = small("conv_autoencoder", compile=False)
    path = tmp_path / "conv.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    for part in ("encoder", "decoder"):
        assert isinstance(loaded.get_layer(part), keras.Model)
    np.testing.assert_allclose(
        ae.get_encoder(loaded).predict(x, verbose=0),
        ae.get_encoder(model).predict(x, verbose=0),
        atol=1e-6,
    )


def test_get_encoder_refuses_a_model_without_one():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="plain")
    with pytest.raises(ValueError, match="no encoder sub-model.*Received: model='plain'"):
        ae.get_encoder(model)
    with pytest.raises(ValueError, match="no decoder sub-model"):
        ae.get_decoder(model)


# --- learning on real digits -----------------------------------------------------------


@pytest.mark.parametrize("name", ["dense_autoencoder", "conv_autoencoder"])
def test_training_lowers_reconstruction_error_on_held_out_digits(name):
    x_train, _ = realdata.mnist_digits(1000)
    x_test, _ = realdata.mnist_digits(200, offset=1000)
    mean_image_error = mse(x_test, x_train.mean(axis=0))
    model = small(name, learning_rate=2e-3)
    untrained_error = mse(model.predict(x_test, verbose=0), x_test)
    model.fit(x_train, x_train, epochs=3, batch_size=16, verbose=0)
    trained_error = mse(model.predict(x_test, verbose=0), x_test)
    # Measured over 4 seeds: conv 0.037-0.047, dense 0.046-0.051; the mean image: 0.070.
    assert trained_error < untrained_error
    assert trained_error < mean_image_error, (trained_error, mean_image_error)


# --- denoising -------------------------------------------------------------------------


def test_denoising_noise_is_applied_in_training_only():
    x, _ = realdata.mnist_digits(8)
    model = small("denoising_autoencoder", compile=False)
    noise = model.get_layer("noise")
    assert isinstance(noise, keras.layers.GaussianNoise) and noise.stddev == 0.3
    clean_path = ae.get_decoder(model)(ae.get_encoder(model)(x))
    inference = model(x, training=False)
    np.testing.assert_allclose(inference, model(x, training=False))  # deterministic
    np.testing.assert_allclose(inference, clean_path, atol=1e-6)
    noisy = model(x, training=True)
    assert np.max(np.abs(np.asarray(noisy) - np.asarray(inference))) > 1e-3


def test_conv_autoencoder_without_noise_has_no_noise_layer():
    model = small("conv_autoencoder", compile=False)
    assert not any(isinstance(layer, keras.layers.GaussianNoise) for layer in model.layers)


# --- the variational autoencoder -------------------------------------------------------


def test_vae_loss_is_reconstruction_plus_kl_on_real_digits():
    x, _ = realdata.mnist_digits(1000)
    model = ae.vae(filters=(8, 16), hidden_units=(16,), latent_dim=2, learning_rate=3e-3)
    # One epoch moves the code away from the prior, so the KL term is not negligible
    # (measured 1-5 nats against about 250 for the reconstruction).
    model.fit(x, epochs=1, batch_size=32, verbose=0)
    batch, _ = realdata.mnist_digits(64, offset=1000)
    reported = model.evaluate(batch, batch, batch_size=64, verbose=0, return_dict=True)

    # The same terms from the model's parts; outside training the code is z_mean.
    z_mean, z_log_var = (np.asarray(t) for t in model.encoder(batch))
    reconstruction = summed_bce(batch, np.asarray(model.decoder(z_mean))).mean()
    kl_per_example = gaussian_kl(z_mean, z_log_var)
    assert (kl_per_example >= -1e-6).all()
    kl = kl_per_example.mean()
    assert kl > 0.1
    np.testing.assert_allclose(reported["reconstruction_loss"], reconstruction, rtol=1e-4)
    np.testing.assert_allclose(reported["kl_loss"], kl, rtol=1e-3)
    # The total carries the KL term: compared on the difference, which float32 keeps
    # to about 1e-4 here, far below the KL itself.
    np.testing.assert_allclose(reported["loss"] - reported["reconstruction_loss"], kl, rtol=1e-2)
    np.testing.assert_allclose(reported["loss"], reconstruction + kl, rtol=1e-4)


def test_vae_fits_with_and_without_targets_and_reports_both_terms():
    x, _ = realdata.mnist_digits(128)
    model = tiny_vae()
    for args in ((x,), (x, x)):
        history = model.fit(*args, epochs=2, batch_size=32, verbose=0).history
        assert {"loss", "reconstruction_loss", "kl_loss"} <= set(history)
        for values in history.values():
            assert np.isfinite(values).all()
        assert min(history["kl_loss"]) >= 0.0
    losses = model.fit(x, epochs=2, batch_size=32, verbose=0).history["loss"]
    assert losses[-1] < history["loss"][0]  # still learning


def test_vae_trained_briefly_decodes_prior_samples_to_images():
    x, _ = realdata.mnist_digits(1000)
    model = ae.vae(filters=(8, 16), hidden_units=(16,), latent_dim=2, learning_rate=3e-3)
    losses = model.fit(x, epochs=2, batch_size=32, verbose=0).history["loss"]
    assert losses[1] < 0.8 * losses[0]  # measured: about 450 -> 250 nats per digit
    z = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")  # the N(0, I) prior
    samples = ae.get_decoder(model).predict(z, verbose=0)
    assert samples.shape == (16, 28, 28, 1)
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    # Different codes give different images (measured pixel std 0.02-0.05, not 0).
    assert samples.std(axis=0).mean() > 5e-3


def test_vae_samples_in_training_and_uses_the_mean_otherwise():
    x, _ = realdata.mnist_digits(16)
    model = tiny_vae(seed=3)
    z_mean, _ = model.encoder(x)
    sampler = model.get_layer("sampling")
    assert isinstance(sampler, ae.Sampling) and sampler.get_config()["seed"] == 3
    np.testing.assert_allclose(model(x, training=False), model.decoder(z_mean), atol=1e-6)
    sample = np.asarray(sampler(model.encoder(x), training=True))
    assert sample.shape == z_mean.shape
    assert not np.allclose(sample, z_mean)
    assert not np.allclose(sample, sampler(model.encoder(x), training=True))


def test_vae_save_and_load_keeps_encoder_decoder_and_loss(tmp_path):
    x, _ = realdata.mnist_digits(64)
    model = tiny_vae()
    model.fit(x, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, ae.VAE)
    for part in ("encoder", "decoder"):
        before, after = getattr(model, part), getattr(loaded, part)
        assert after.name == part
        for a, b in zip(before.get_weights(), after.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    z = np.random.default_rng(1).normal(size=(4, 2)).astype("float32")
    np.testing.assert_allclose(
        loaded.decoder.predict(z, verbose=0), model.decoder.predict(z, verbose=0)
    )
    assert loaded.compiled
    np.testing.assert_allclose(
        loaded.evaluate(x, x, verbose=0), model.evaluate(x, x, verbose=0), rtol=1e-5
    )


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "kwargs", "pattern"),
    [
        ("conv_autoencoder", {"input_shape": (30, 30, 1)}, r"divisible by 4.*input_shape=\(30"),
        ("vae", {"input_shape": (28, 28, 1), "filters": (8, 8, 8)}, r"divisible by 8"),
        ("conv_autoencoder", {"input_shape": (28, 28)}, "input_shape must have rank 3"),
        ("conv_autoencoder", {"filters": ()}, r"filters=\(\)"),
        ("conv_autoencoder", {"latent_dim": 0}, "latent_dim=0"),
        ("vae", {"latent_dim": 1.5}, "latent_dim=1.5"),
        ("dense_autoencoder", {"latent_dim": -3}, "latent_dim=-3"),
        ("dense_autoencoder", {"hidden_units": (32, 0)}, "hidden_units="),
        ("dense_autoencoder", {"loss": "hinge"}, "loss='hinge'"),
        ("conv_autoencoder", {"api": "sequential"}, "Received: api='sequential'"),
        ("denoising_autoencoder", {"noise_stddev": -0.1}, "noise_stddev=-0.1"),
        ("vae", {"seed": -1}, "seed=-1"),
        ("vae", {"activation": "wiggly"}, "activation='wiggly'"),
        ("vae", {"optimizer": "adamax"}, "optimizer='adamax'"),
    ],
)
def test_bad_arguments_name_the_argument(factory, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        getattr(ae, factory)(**kwargs)


# --- tf.distribute ---------------------------------------------------------------------

_MIRRORED = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    sys.path.insert(0, sys.argv[1])
    import realdata
    from kerazoo.models import autoencoder as ae

    x, _ = realdata.mnist_digits(16)
    model = ae.vae(filters=(4, 8), hidden_units=(8,), latent_dim=2)
    whole = float(model.compute_loss(x, x, model(x, training=False), training=False))
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    halves = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(x[8 * ctx.replica_id_in_sync_group : 8 * (ctx.replica_id_in_sync_group + 1)])
    )

    @tf.function
    def replica_losses(xs):
        fn = lambda xs: model.compute_loss(xs, xs, model(xs, training=False), training=False)
        return strategy.reduce("SUM", strategy.run(fn, args=(xs,)), axis=None)

    print("LOSSES", whole, float(replica_losses(halves)))
    with strategy.scope():
        model = ae.vae(filters=(4, 8), hidden_units=(8,), latent_dim=2)
    x, _ = realdata.mnist_digits(64)
    history = model.fit(x, epochs=1, batch_size=16, verbose=0).history
    print("FIT", history["loss"][0], history["reconstruction_loss"][0], history["kl_loss"][0])
    """
)


@pytest.mark.slow
def test_vae_loss_under_mirrored_strategy_is_a_share_of_the_global_batch():
    """Two replicas on half a batch each add up to one replica's loss on the whole batch
    (so their summed gradients match too), and fit reports the unscaled loss."""
    tests_dir = str(Path(realdata.__file__).parent)
    proc = subprocess.run(
        [sys.executable, "-c", _MIRRORED, tests_dir],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = {
        ln.split()[0]: ln.split()[1:]
        for ln in proc.stdout.splitlines()
        if ln[:4] in ("LOSS", "FIT ")
    }
    whole, summed = map(float, lines["LOSSES"])
    np.testing.assert_allclose(summed, whole, rtol=1e-5)
    loss, reconstruction, kl = map(float, lines["FIT"])
    # Unscaled: about 540 nats per digit at the start, not half of it.
    assert 300 < loss < 800
    np.testing.assert_allclose(loss, reconstruction + kl, rtol=1e-3)
