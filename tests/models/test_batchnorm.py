"""The zoo's BatchNormalization: Keras's layer with TensorFlow's fused kernel in training.

It must be indistinguishable from `keras.layers.BatchNormalization` in everything but speed:
the same outputs, gradients and moving statistics in training, the same weights file, and
Keras's own layer test (config round trip, serialization, a training step, the per-layer
mixed-precision stage). The inputs are real digits: as images (N, H, W, C), flattened
(N, 784) and as sequences of pixel rows (N, 28, 28).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import realdata
from keras.src.testing import TestCase  # checked against Keras 3.15.1

from kerazoo import backend_kernels, registry
from kerazoo.models.batchnorm import BatchNormalization

TENSORFLOW = keras.backend.backend() == "tensorflow"


def _digits(n: int = 16) -> np.ndarray:
    x, _ = realdata.mnist_digits(n)
    return x


def _views():
    """The same 16 digits in the three layouts the zoo normalises."""
    x = _digits()
    # 28x28x1 -> 14x14x4 (each 2x2 block of pixels as 4 channels): 4 real channels to normalise.
    blocks = x.reshape(16, 14, 2, 14, 2).transpose(0, 1, 3, 2, 4).reshape(16, 14, 14, 4)
    return {"images": blocks, "flat": x.reshape(16, 784), "rows": x.reshape(16, 28, 28)}


def _train_call(layer, x, upstream):
    """One training-mode call: output, gradients of sum(output * upstream) w.r.t. the input,
    gamma and beta, and the moving statistics after the call's update."""
    import tensorflow as tf

    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        total = tf.reduce_sum(y * upstream)
    grads = tape.gradient(total, [x, layer.gamma, layer.beta])
    return (
        [y.numpy(), *(g.numpy() for g in grads)],
        [layer.moving_mean.numpy(), layer.moving_variance.numpy()],
    )


@pytest.mark.skipif(not TENSORFLOW, reason="compares TensorFlow gradients (GradientTape)")
@pytest.mark.parametrize("layout", ["images", "flat", "rows"])
def test_training_matches_keras_layer(layout):
    x = _views()[layout]
    upstream = np.cos(np.arange(x.size, dtype=np.float32)).reshape(x.shape)  # uneven weights
    ours, theirs = BatchNormalization(momentum=0.9), keras.layers.BatchNormalization(momentum=0.9)
    ours.build(x.shape)
    theirs.build(x.shape)
    assert backend_kernels.has_fused_batch_norm("float32")  # the fast path is what is compared
    a, a_stats = _train_call(ours, x, upstream)
    b, b_stats = _train_call(theirs, x, upstream)
    for got, want, what in zip(a, b, ["output", "d/dx", "d/dgamma", "d/dbeta"], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-4, err_msg=what)
    # The moving averages use the biased batch variance, as Keras's do; the kernel's own is
    # Bessel-corrected, which would be 1/(n-1) off here.
    for got, want in zip(a_stats, b_stats, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Inference reads those statistics the same way.
    np.testing.assert_allclose(ours(x, training=False), theirs(x, training=False), atol=1e-5)


@pytest.mark.skipif(not TENSORFLOW, reason="compares TensorFlow gradients (GradientTape)")
def test_without_center_or_scale_and_with_a_16_bit_policy():
    x = _views()["images"]
    for kwargs in ({"center": False}, {"scale": False}):
        ours, theirs = BatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs)
        np.testing.assert_allclose(ours(x, training=True), theirs(x, training=True), atol=1e-4)
        np.testing.assert_allclose(ours.moving_variance, theirs.moving_variance, rtol=1e-5)
    layer = BatchNormalization(dtype="mixed_bfloat16")
    y = layer(x, training=True)
    assert keras.ops.dtype(y) == "bfloat16"
    assert all(w.dtype == "float32" for w in layer.weights)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.ops.cast(y, "float32")),
        keras.layers.BatchNormalization()(x, training=True),
        atol=0.05,  # bfloat16 keeps 8 bits of mantissa
    )


def test_fallback_paths_are_kerass_own():
    """A mask, a normalised axis other than the last, or synchronized/renorm: Keras's code."""
    x = _views()["rows"]
    mask = np.arange(28)[None, :] < np.arange(12, 28)[:, None]  # 16 rows of 12..27 real steps
    for kwargs, call in (({}, {"mask": mask}), ({"axis": 1}, {}), ({"renorm": True}, {})):
        ours, theirs = BatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs)
        np.testing.assert_allclose(
            ours(x, training=True, **call), theirs(x, training=True, **call), atol=1e-5
        )


def test_weights_move_between_it_and_kerass_layer(tmp_path):
    """Same weights file: a zoo model's weights load into Keras's layer and back."""
    x = _views()["images"]
    ours = keras.Sequential([keras.Input(x.shape[1:]), BatchNormalization(name="bn")])
    theirs = keras.Sequential(
        [keras.Input(x.shape[1:]), keras.layers.BatchNormalization(name="bn")]
    )
    ours(x, training=True)  # moving statistics away from their initial values
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs.load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), ours.predict(x, verbose=0), atol=1e-6)


def test_zoo_models_use_it():
    for name in ("mnist_cnn", "fashion_cnn", "resnet8", "dcgan"):
        model = registry.create_model(name, **registry.get_spec(name).tiny)
        norms = [
            layer
            for layer in model._flatten_layers()
            if isinstance(layer, keras.layers.BatchNormalization)
        ]
        assert norms and all(isinstance(layer, BatchNormalization) for layer in norms), name


class KerasLayerTest(TestCase):
    """Keras's own layer test, mixed-precision stage included, on real digits."""

    def test_images(self):
        self.run_layer_test(
            BatchNormalization,
            {"momentum": 0.9},
            input_data=_views()["images"],
            expected_output_shape=(16, 14, 14, 4),
            expected_num_trainable_weights=2,
            expected_num_non_trainable_weights=2,
        )

    def test_flat_without_center(self):
        self.run_layer_test(
            BatchNormalization,
            {"center": False},
            input_data=_views()["flat"],
            expected_output_shape=(16, 784),
            expected_num_trainable_weights=1,
            expected_num_non_trainable_weights=2,
        )
