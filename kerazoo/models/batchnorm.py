"""The zoo's batch normalization: Keras's layer, trained with the backend's fused kernel.

`BatchNormalization` is `keras.layers.BatchNormalization` with the same arguments, weights,
numbers and saved config; only its training-mode call differs, and only where a backend has
a fused kernel for it (TensorFlow: `kerazoo.backend_kernels`). Everywhere else (inference,
JAX, torch, masks, `synchronized=True`, `renorm=True`, a normalised axis other than the
last) it is Keras's own code. It is registered under the package "kerazoo": a model that
uses it saves to `.keras` and loads back in any process that has imported `kerazoo.models`
(the weights file is the same as Keras's layer's, so weights move either way).
"""

from __future__ import annotations

import keras
from keras import ops

from kerazoo import backend_kernels


@keras.saving.register_keras_serializable(package="kerazoo")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization`, faster to train on TensorFlow.

    Written by hand because Keras 3 computes batch norm with portable ops on every backend;
    on TensorFlow that is about 1.4x slower per training step of `mnist_cnn` than the fused
    kernel Keras 2 used (`kerazoo.backend_kernels`). Same arguments as Keras's layer,
    e.g. `BatchNormalization(momentum=0.9, name="bn")`.
    """

    def _fused(self, inputs, training, mask) -> bool:
        return (
            bool(training)
            and self.trainable
            and mask is None
            and not self.synchronized
            and not self.renorm
            and self.axis in (-1, len(inputs.shape) - 1)
            and len(inputs.shape) >= 2
            and backend_kernels.has_fused_batch_norm(keras.backend.standardize_dtype(inputs.dtype))
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fused(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        scale = self.gamma if self.scale else ops.ones((channels,))
        offset = self.beta if self.center else ops.zeros((channels,))
        outputs, mean, variance = backend_kernels.fused_batch_norm_training(
            inputs, scale, offset, self.epsilon
        )
        momentum = self.momentum
        self.moving_mean.assign(
            self.moving_mean * momentum + ops.cast(mean, self.moving_mean.dtype) * (1.0 - momentum)
        )
        self.moving_variance.assign(
            self.moving_variance * momentum
            + ops.cast(variance, self.moving_variance.dtype) * (1.0 - momentum)
        )
        return ops.cast(outputs, self.compute_dtype)
