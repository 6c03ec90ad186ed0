"""What is special about the DCGAN: one fit step trains both networks, generated images
and their range, the paper's architecture, save/load of both networks, and the loss
scaling under tf.distribute.

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

from kerazoo import backend_steps
from kerazoo.models import gan

TINY = {"latent_dim": 16, "generator_filters": (16, 8), "discriminator_filters": (8, 16)}


def tiny_gan(**extra):
    return gan.dcgan(**(TINY | extra))


def weights(model):
    return [w.copy() for w in model.get_weights()]


def changed(before, after) -> bool:
    return any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_fit_on_real_digits_trains_both_networks():
    x, _ = realdata.mnist_digits(256)
    model = tiny_gan()
    g_before, d_before = weights(model.generator), weights(model.discriminator)
    history = model.fit(x, epochs=1, batch_size=32, verbose=0).history
    assert set(history) == {"d_loss", "g_loss"}
    assert np.isfinite(history["d_loss"]).all() and np.isfinite(history["g_loss"]).all()
    # At the start D can barely tell: d_loss near 2 ln 2, g_loss near ln 2 (not 0, not huge).
    assert 0.1 < history["d_loss"][0] < 5 and 0.05 < history["g_loss"][0] < 5
    assert changed(g_before, model.generator.get_weights())
    assert changed(d_before, model.discriminator.get_weights())
    assert int(model.d_optimizer.iterations) == int(model.g_optimizer.iterations) == 8


def test_under_mixed_float16_both_steps_scale_their_loss(tmp_path):
    # float16 gradients underflow to zero without a loss scale; Keras's compile wraps its
    # one optimizer, the DCGAN wraps both of its own (the other backends: tests/backends).
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = tiny_gan(seed=0)
    finally:
        keras.config.set_dtype_policy(previous)
    for optimizer in (model.d_optimizer, model.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    x, _ = realdata.mnist_digits(128)
    g_before = weights(model.generator)
    history = model.fit(x, epochs=1, batch_size=32, verbose=0).history
    # The logged losses are unscaled: near 2 ln 2 and ln 2, not 32768 times more.
    assert 0.5 < history["d_loss"][0] < 3 and 0.2 < history["g_loss"][0] < 3
    assert changed(g_before, model.generator.get_weights())
    assert float(model.d_optimizer.dynamic_scale) >= 1.0
    model.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert isinstance(loaded.g_optimizer, keras.optimizers.LossScaleOptimizer)


def test_float32_steps_are_not_loss_scaled():
    model = tiny_gan()
    assert not isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert not isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)


def test_discriminator_learns_to_tell_real_digits_from_fakes():
    x, _ = realdata.mnist_digits(512)
    model = tiny_gan(seed=0)
    model.fit(x, epochs=2, batch_size=32, verbose=0)
    held_out, _ = realdata.mnist_digits(64, offset=512)
    real_logits = model.discriminator.predict(held_out * 2 - 1, verbose=0)
    fake_logits = model.discriminator.predict(model.generate(64, seed=5) * 2 - 1, verbose=0)
    assert real_logits.mean() > fake_logits.mean()


def test_generate_gives_images_in_unit_range():
    model = tiny_gan()
    images = model.generate(6)
    assert isinstance(images, np.ndarray)
    assert images.shape == (6, 28, 28, 1)
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(model.generate(3, seed=7), model.generate(3, seed=7))
    assert not np.array_equal(model.generate(3, seed=7), model.generate(3, seed=8))


def test_call_runs_the_generator_with_tanh_output():
    model = tiny_gan()
    z = np.random.default_rng(0).normal(size=(4, 16)).astype("float32")  # latent noise
    out = np.asarray(model(z, training=False))
    np.testing.assert_allclose(out, model.generator(z, training=False), atol=1e-6)
    assert out.min() >= -1.0 and out.max() <= 1.0
    assert model.input_shape == (None, 16) and model.output_shape == (None, 28, 28, 1)


def test_non_default_image_shape_colour_32x32():
    model = tiny_gan(image_shape=(32, 32, 3))
    assert model.generator.output_shape == (None, 32, 32, 3)
    assert model.discriminator.input_shape == (None, 32, 32, 3)
    assert model.generate(2).shape == (2, 32, 32, 3)
    x, _ = realdata.mnist_digits(32)
    history = model.fit(realdata.as_images(x, (32, 32, 3)), epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all()


def test_architecture_follows_radford_et_al():
    model = gan.dcgan(compile=False)
    g_layers, d_layers = model.generator.layers, model.discriminator.layers
    kinds = {type(layer).__name__ for layer in g_layers + d_layers}
    assert not {"MaxPooling2D", "AveragePooling2D"} & kinds  # strided convs, no pooling
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in g_layers) == 2
    assert all(
        layer.negative_slope == 0.2 for layer in d_layers if type(layer).__name__ == "LeakyReLU"
    )
    assert g_layers[-1].activation.__name__ == "tanh"
    assert d_layers[-1].units == 1 and d_layers[-1].activation.__name__ == "linear"  # logit
    # 100 -> 7x7x128 (no bias) -> 14x14x64 -> 28x28x1 with 5x5 kernels.
    assert (
        model.generator.count_params()
        == 100 * 6272 + 4 * 6272 + 25 * 128 * 64 + 4 * 64 + 25 * 64 + 1
    )
    assert model.discriminator.count_params() == (25 * 64 + 64) + (25 * 64 * 128 + 128) + (6272 + 1)
    assert model.count_params() == 1_071_810


def test_compile_defaults_to_the_papers_adam():
    model = tiny_gan()
    for optimizer in (model.d_optimizer, model.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert float(optimizer.learning_rate) == pytest.approx(2e-4)
        assert optimizer.beta_1 == 0.5
    assert model.d_optimizer is not model.g_optimizer
    assert isinstance(model.loss_fn, keras.losses.BinaryCrossentropy)
    assert model.loss_fn.get_config()["from_logits"] is True


def test_save_and_load_keeps_both_networks_and_generation(tmp_path):
    x, _ = realdata.mnist_digits(64)
    model = tiny_gan()
    model.fit(x, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "gan.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, gan.DCGAN)
    for part in ("generator", "discriminator"):
        for a, b in zip(
            getattr(model, part).get_weights(), getattr(loaded, part).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.generate(5, seed=11), model.generate(5, seed=11))
    # Compiled again with both optimizers, their state restored, ready to go on training.
    assert int(loaded.d_optimizer.iterations) == int(model.d_optimizer.iterations) == 2
    assert float(loaded.g_optimizer.beta_1) == 0.5
    history = loaded.fit(x, epochs=1, batch_size=32, verbose=0).history
    assert np.isfinite(history["g_loss"]).all()


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"image_shape": (30, 30, 1)}, r"divisible by 4.*image_shape=\(30, 30, 1\)"),
        ({"image_shape": (28, 28)}, r"image_shape must be a tuple.*image_shape=\(28, 28\)"),
        ({"image_shape": (28, 28, 0)}, "image_shape="),
        ({"image_shape": (32, 32, 3), "generator_filters": (8, 8, 8, 8, 8, 8)}, "divisible by 64"),
        ({"latent_dim": 0}, "latent_dim=0"),
        ({"latent_dim": 2.5}, "latent_dim=2.5"),
        ({"latent_dim": True}, "latent_dim=True"),
        ({"generator_filters": ()}, r"generator_filters=\(\)"),
        ({"discriminator_filters": (8, -1)}, "discriminator_filters="),
        ({"dropout": 1.0}, "dropout=1.0"),
        ({"kernel_initializer": "sideways"}, "kernel_initializer='sideways'"),
        ({"learning_rate": 0}, "learning_rate=0"),
        ({"beta_1": 1.0}, "beta_1=1.0"),
        ({"seed": "x"}, "seed='x'"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        gan.dcgan(**kwargs)


def test_compile_refuses_what_it_would_ignore_or_share():
    model = tiny_gan(compile=False)
    with pytest.raises(ValueError, match="loss_fn=.*binary_crossentropy"):
        model.compile(loss_fn="binary_crossentropy")
    with pytest.raises(ValueError, match="Received: optimizer='adam'"):
        model.compile(optimizer="adam")
    shared = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two optimizer instances"):
        model.compile(d_optimizer=shared, g_optimizer=shared)
    with pytest.raises(ValueError, match="Received: n=0"):
        model.generate(0)


def test_unsupported_backend_says_how_to_switch(monkeypatch):
    # TensorFlow, JAX and torch are supported (tests/backends); Keras's numpy backend is not.
    monkeypatch.setattr(backend_steps.keras.backend, "backend", lambda: "numpy")
    with pytest.raises(NotImplementedError, match="KERAS_BACKEND=tensorflow.*'numpy'"):
        backend_steps.compute_gradients(lambda: 0.0, [])
    assert backend_steps.num_replicas_in_sync() == 1


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
    from kerazoo import backend_steps
    from kerazoo.models import gan

    tiny = {"latent_dim": 16, "generator_filters": (16, 8), "discriminator_filters": (8, 16)}
    model = gan.dcgan(dropout=0.0, **tiny)  # no dropout: the same function on every replica
    x, _ = realdata.mnist_digits(16)
    real, fake = x * 2 - 1, model.generate(16, seed=1) * 2 - 1
    variables = model.discriminator.trainable_variables
    def objective(r, f):
        return model.discriminator_loss(model.discriminator(r), model.discriminator(f))
    loss, grads = backend_steps.compute_gradients(lambda: objective(real, fake), variables)

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    def halves(a):
        return strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.constant(a[8 * ctx.replica_id_in_sync_group : 8 * (ctx.replica_id_in_sync_group + 1)])
        )

    @tf.function
    def replica_step(r, f):
        fn = lambda r, f: backend_steps.compute_gradients(lambda: objective(r, f), variables)
        loss, grads = strategy.run(fn, args=(r, f))
        # tf.distribute sums the replicas' gradients when it applies them.
        return strategy.reduce("SUM", loss, axis=None), [strategy.reduce("SUM", g, axis=None) for g in grads]

    summed_loss, summed_grads = replica_step(halves(real), halves(fake))
    print("LOSS", float(loss), float(summed_loss))
    print("GRAD", max(float(np.max(np.abs(a - b))) for a, b in zip(grads, summed_grads)),
          max(float(np.max(np.abs(a))) for a in grads))
    with strategy.scope():
        model = gan.dcgan(**tiny)
    x, _ = realdata.mnist_digits(64)
    history = model.fit(x, epochs=1, batch_size=16, verbose=0).history
    print("FIT", history["d_loss"][0], history["g_loss"][0])
    """
)


@pytest.mark.slow
def test_two_replicas_give_the_same_discriminator_update_as_one():
    """Each replica's loss is its per-example sum over the GLOBAL batch, so two replicas on
    half a batch each produce the gradient of one replica on the whole batch; fit under
    MirroredStrategy trains and reports unscaled losses."""
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
        if ln[:4] in ("LOSS", "GRAD", "FIT ")
    }
    whole, summed = map(float, lines["LOSS"])
    np.testing.assert_allclose(summed, whole, rtol=1e-5)
    difference, largest = map(float, lines["GRAD"])
    assert largest > 0 and difference < 1e-5 * max(1.0, largest)
    d_loss, g_loss = map(float, lines["FIT"])
    # Unscaled: near 2 ln 2 = 1.39 and ln 2 = 0.69 at the start, not half of them.
    assert 1.0 < d_loss < 2.0 and 0.4 < g_loss < 1.0
