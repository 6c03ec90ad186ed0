"""Fast kernels a backend has and Keras 3's portable ops do not use.

Keras 3 writes `BatchNormalization` once, in `keras.ops`: on TensorFlow its training step
is about a dozen separate ops (two reductions for the moments, then the normalisation, and
the gradient of each), where Keras 2 called TensorFlow's fused kernel, one op forward and
one backward (keras-team/keras-core#225, "BatchNorm is slow", still so in Keras 3.15).
Measured on this project's 2-core CPU (bench/README.md, "Fused batch norm"): `mnist_cnn`'s
training step took 41-43 ms at batch 128 with Keras's layer and 28-32 ms with the fused
kernel, the same numbers to 1e-6.

TensorFlow is imported here, inside the function, and only on the TensorFlow backend, so
the model code that asks for the kernel (`kerazoo.models.batchnorm`) stays free of `tf.*`.
"""

from __future__ import annotations

import keras

# The input dtypes TensorFlow's fused kernel takes (its statistics are float32 either way).
_FUSED_DTYPES = ("float16", "bfloat16", "float32")


def has_fused_batch_norm(dtype: str) -> bool:
    """Whether `fused_batch_norm_training` runs on this backend for inputs of `dtype`."""
    return keras.backend.backend() == "tensorflow" and dtype in _FUSED_DTYPES


def fused_batch_norm_training(x, scale, offset, epsilon: float):
    """Batch norm of `x` over every axis but the last, in training mode, in one kernel.

    Returns `(y, mean, variance)`: `y` in float32, and the batch's mean and *biased* variance
    per channel, as Keras's `ops.moments` gives them (the kernel itself returns the
    Bessel-corrected variance; the moving averages must match Keras's layer).
    """
    import tensorflow as tf

    x = tf.cast(x, "float32")
    shape = tf.shape(x)
    channels = x.shape[-1]
    # The kernel wants (N, H, W, C); every axis but the channels' is reduced alike, so any
    # other rank is the same computation on a (rows, 1, 1, C) view.
    rank4 = x.shape.rank == 4
    x4 = x if rank4 else tf.reshape(x, [-1, 1, 1, channels])
    y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
        x4,
        tf.cast(scale, "float32"),
        tf.cast(offset, "float32"),
        epsilon=epsilon,
        data_format="NHWC",
        is_training=True,
    )
    count = tf.cast(tf.size(x4) // channels, "float32")
    variance = variance * tf.maximum(count - 1.0, 0.0) / count
    if not rank4:
        y = tf.reshape(y, shape)
    return y, mean, variance
