"""Mixed precision: every custom layer passes Keras's own layer test, every zoo model trains.

Keras's `run_layer_test` (keras.src.testing, Keras 3.15.1: the helper Keras tests its own
layers with; it has no public alias) checks a layer's config and serialization round trip,
build, symbolic and eager calls and one compiled training step, and then builds it again
with a per-layer `dtype="mixed_float16"`: the output must have the policy's compute dtype
and every weight must stay float32. Under a mixed policy the zoo's custom layers pass it
only if their sub-layers take the layer's own policy.

The registry-wide part builds each model's tiny variant under the global `mixed_float16`
and `mixed_bfloat16` policies and trains one step on real examples of its declared dataset.
The factories take no `dtype` argument (a model's layers take the global policy when they
are created, which is how `kerazoo.train(precision=...)` applies it), so the global policy
is the per-model case; per-layer policies are covered by the custom layers below.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import realdata
from keras.src.testing import TestCase  # checked against Keras 3.15.1

from kerazoo import registry
from kerazoo.models.autoencoder import Sampling, get_encoder
from kerazoo.models.layers import (
    MaskedAveragePooling1D,
    TokenAndPositionEmbedding,
    TransformerEncoder,
)
from kerazoo.models.resnet import ChannelPad
from models.test_zoo import NAMES, real_batch

POLICIES = ("mixed_float16", "mixed_bfloat16")


def _quote_ids():
    """8 real quotations as word ids padded to 32 (int32), some padding in every row."""
    texts, _ = realdata.fortunes(20, ("en", "de"))
    ids = realdata.token_ids(texts, 500, 32)
    return ids[(ids > 0).sum(axis=1) <= 24][:8]


def _embedded_quotes():
    """The quotations through a float32 embedding: float32 (8, 32, 16), and their mask."""
    ids = _quote_ids()
    x = TokenAndPositionEmbedding(500, 32, 16, dtype="float32")(ids)
    return keras.ops.convert_to_numpy(x), ids > 0


def _codes():
    """[z_mean, z_log_var] of 8 real digits from a fresh tiny VAE's encoder: float32 (8, 2)."""
    digits, _ = realdata.mnist_digits(8)
    vae = registry.create_model("vae", **registry.get_spec("vae").tiny)
    return [keras.ops.convert_to_numpy(t) for t in get_encoder(vae)(digits)]


class KerasLayerTest(TestCase):
    """`run_layer_test` with its mixed-precision stage on (its default), on real inputs."""

    def test_token_and_position_embedding(self):
        self.run_layer_test(
            TokenAndPositionEmbedding,
            {"vocab_size": 500, "sequence_length": 32, "embedding_dim": 16, "mask_zero": True},
            input_data=_quote_ids(),
            expected_output_shape=(8, 32, 16),
            expected_num_trainable_weights=2,
            supports_masking=True,
            expected_mask_shape=(8, 32),
        )

    def test_transformer_encoder_post_norm(self):
        x, _ = _embedded_quotes()
        self.run_layer_test(
            TransformerEncoder,
            {"num_heads": 2, "ff_dim": 32},
            input_data=x,
            expected_output_shape=(8, 32, 16),
            # Q, K, V and output kernels and biases; two feed-forward Dense; two norms.
            expected_num_trainable_weights=8 + 4 + 4,
            expected_num_seed_generators=3,  # the attention's and the two residual dropouts
            supports_masking=True,
        )

    def test_transformer_encoder_pre_norm_with_padding_mask(self):
        x, mask = _embedded_quotes()
        self.run_layer_test(
            TransformerEncoder,
            {"num_heads": 2, "ff_dim": 32, "norm_first": True, "activation": "gelu"},
            input_data=x,
            call_kwargs={"padding_mask": mask},
            expected_output_shape=(8, 32, 16),
        )

    def test_masked_average_pooling(self):
        x, mask = _embedded_quotes()
        self.run_layer_test(
            MaskedAveragePooling1D,
            {},
            input_data=x,
            call_kwargs={"mask": mask},
            expected_output_shape=(8, 16),
            expected_num_trainable_weights=0,
            # No weights to train: the training step only needs a trainable model.
            run_training_check=False,
        )

    def test_sampling(self):
        self.run_layer_test(
            Sampling,
            {"seed": 1},
            input_data=_codes(),
            expected_output_shape=(8, 2),
            expected_num_seed_generators=1,
            expected_num_losses=1,  # the KL term
            run_training_check=False,  # no weights; the VAE below trains through it
        )

    def test_channel_pad(self):
        digits, _ = realdata.mnist_digits(8)
        self.run_layer_test(
            ChannelPad,
            {"pad": 3},
            input_data=digits,
            expected_output_shape=(8, 28, 28, 4),
            expected_num_trainable_weights=0,
            run_training_check=False,  # no weights
        )


@pytest.fixture(params=POLICIES)
def global_policy(request):
    """Sets the global dtype policy for one test and restores the previous one after it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(request.param)
    yield keras.config.dtype_policy()
    keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("policy", POLICIES)
def test_custom_layers_train_under_a_per_layer_policy(policy):
    """A text classifier whose own layers carry the policy (the global one stays float32)
    trains a step on real quotations, in the policy's 16-bit type, with a float32 output."""
    ids = _quote_ids()
    _, labels = realdata.fortunes(20, ("en", "de"))
    inputs = keras.Input((32,), dtype="int32")
    x = TokenAndPositionEmbedding(500, 32, 16, mask_zero=True, dtype=policy)(inputs)
    x = TransformerEncoder(2, 32, dtype=policy)(x)
    x = MaskedAveragePooling1D(dtype=policy)(x)
    outputs = keras.layers.Dense(2, activation="softmax", dtype="float32")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    compute = keras.mixed_precision.DTypePolicy(policy).compute_dtype
    assert keras.ops.dtype(model.layers[2](model.layers[1](ids))) == compute
    history = model.fit(ids, labels[: len(ids)], batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert all(w.dtype == "float32" for w in model.weights)


@pytest.mark.parametrize("name", NAMES)
def test_every_model_trains_a_step_under_a_global_mixed_policy(name, global_policy):
    spec = registry.get_spec(name)
    model = registry.create_model(name, **spec.tiny)
    x, y = real_batch(name, 8, **spec.tiny)
    # The layers compute in the policy's 16-bit type and keep float32 weights.
    compute = global_policy.compute_dtype
    assert any(layer.compute_dtype == compute for layer in model._flatten_layers())
    assert all(w.dtype == "float32" for w in model.weights)
    model.run_eagerly = True  # one step: tracing the step would cost more than it
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for key, values in history.history.items():
        assert np.isfinite(values).all(), f"{key} is not finite under {global_policy.name}"
    assert all(np.isfinite(w).all() for w in model.get_weights())
    if spec.task != "generation":  # the DCGAN's generator ends in its own tanh layer
        # Predictions, losses and metrics stay float32 (Keras's mixed-precision advice).
        assert keras.ops.dtype(model(x[:2])) == "float32"
