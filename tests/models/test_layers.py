"""Tests for the reusable layers: TokenAndPositionEmbedding and TransformerEncoder."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import realdata

from kerazoo.models.layers import TokenAndPositionEmbedding, TransformerEncoder


@pytest.fixture(scope="module")
def short_quotes():
    """Real quotations of at most 20 words as ids padded to 32: int32 (8, 32)."""
    texts, _ = realdata.fortunes(50, ("en", "de"))
    ids = realdata.token_ids(texts, 500, 32)
    return ids[(ids > 0).sum(axis=1) <= 20][:8]


def _embedded(ids):
    """Embedded quotations as float inputs for the encoder, and the padding mask."""
    embedding = TokenAndPositionEmbedding(500, 32, 16)
    return embedding(ids), ids > 0


# TokenAndPositionEmbedding ------------------------------------------------------------


def test_embedding_adds_a_learned_vector_per_position():
    layer = TokenAndPositionEmbedding(500, 32, 16)
    same_token = np.full((1, 32), 7, "int32")
    out = keras.ops.convert_to_numpy(layer(same_token))
    assert out.shape == (1, 32, 16)
    assert layer.count_params() == 500 * 16 + 32 * 16
    # One token everywhere: the rows differ only by the position vectors.
    positions = keras.ops.convert_to_numpy(layer.position_embedding.embeddings)
    np.testing.assert_allclose(
        out[0] - positions, np.broadcast_to(out[0, :1] - positions[:1], (32, 16)), atol=1e-6
    )
    assert np.abs(out[0, 0] - out[0, 1]).max() > 0


def test_embedding_emits_a_padding_mask_only_with_mask_zero(short_quotes):
    masked = TokenAndPositionEmbedding(500, 32, 16, mask_zero=True)
    mask = keras.ops.convert_to_numpy(masked.compute_mask(short_quotes))
    np.testing.assert_array_equal(mask, short_quotes != 0)
    assert TokenAndPositionEmbedding(500, 32, 16).compute_mask(short_quotes) is None


def test_embedding_accepts_shorter_inputs_and_refuses_longer_ones(short_quotes):
    layer = TokenAndPositionEmbedding(500, 32, 16)
    assert tuple(layer(short_quotes[:, :10]).shape) == (8, 10, 16)
    with pytest.raises(ValueError, match="sequence_length=32"):
        TokenAndPositionEmbedding(500, 32, 16)(keras.Input((40,), dtype="int32"))


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"vocab_size": 1}, "vocab_size"),
        ({"sequence_length": 0}, "sequence_length"),
        ({"embedding_dim": 0}, "embedding_dim"),
        ({"mask_zero": "yes"}, "mask_zero"),
        ({"embeddings_initializer": "nope"}, "embeddings_initializer"),
    ],
)
def test_embedding_bad_arguments(kwargs, argument):
    settings = {"vocab_size": 500, "sequence_length": 32, "embedding_dim": 16} | kwargs
    with pytest.raises(ValueError, match=rf"Received: {argument}="):
        TokenAndPositionEmbedding(**settings)


# TransformerEncoder -------------------------------------------------------------------


def test_encoder_keeps_the_shape_and_has_the_paper_parameter_count(short_quotes):
    x, _ = _embedded(short_quotes)
    encoder = TransformerEncoder(num_heads=2, ff_dim=32)
    assert tuple(encoder(x).shape) == (8, 32, 16)
    d, ff = 16, 32
    attention = 4 * (d * d + d)  # Q, K, V and output projections with biases
    feed_forward = (d * ff + ff) + (ff * d + d)
    norms = 2 * 2 * d
    assert encoder.count_params() == attention + feed_forward + norms


def test_post_norm_output_is_normalized_and_pre_norm_output_is_not(short_quotes):
    x, _ = _embedded(short_quotes)
    post = keras.ops.convert_to_numpy(TransformerEncoder(2, 32, dropout=0.0)(x))
    pre = keras.ops.convert_to_numpy(TransformerEncoder(2, 32, dropout=0.0, norm_first=True)(x))
    # A fresh LayerNormalization (gamma 1, beta 0) ends the post-norm block.
    np.testing.assert_allclose(post.mean(axis=-1), 0.0, atol=1e-4)
    np.testing.assert_allclose(post.std(axis=-1), 1.0, atol=1e-2)
    # Pre-norm adds the sub-layer outputs to the raw residual stream, which nothing normalizes.
    assert np.abs(pre.std(axis=-1) - 1.0).max() > 0.1


def _padding_invariance_model(mask_zero: bool):
    inputs = keras.Input((None,), dtype="int32")
    x = TokenAndPositionEmbedding(500, 32, 16, mask_zero=mask_zero)(inputs)
    x = TransformerEncoder(2, 32)(x)
    x = TransformerEncoder(2, 32, norm_first=True)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))


def test_padding_does_not_change_a_masked_model(short_quotes):
    model = _padding_invariance_model(mask_zero=True)
    for ids in short_quotes[:4]:
        length = int((ids > 0).sum())
        unpadded = model.predict(ids[None, :length], verbose=0)
        padded = model.predict(ids[None, :], verbose=0)
        np.testing.assert_allclose(unpadded, padded, atol=1e-5)


def test_padding_changes_an_unmasked_model(short_quotes):
    # Control for the test above: without the mask padding tokens are attended to.
    model = _padding_invariance_model(mask_zero=False)
    ids = short_quotes[0]
    length = int((ids > 0).sum())
    unpadded = model.predict(ids[None, :length], verbose=0)
    padded = model.predict(ids[None, :], verbose=0)
    assert np.abs(unpadded - padded).max() > 1e-5


def test_explicit_padding_mask_hides_the_padded_keys(short_quotes):
    x, padding = _embedded(short_quotes)
    x = keras.ops.convert_to_numpy(x)
    encoder = TransformerEncoder(2, 32, dropout=0.0)
    out = keras.ops.convert_to_numpy(encoder(x, padding_mask=padding))
    # Changing what sits at padded positions leaves the real positions' outputs as they were.
    noisy = np.where(padding[..., None], x, x[:, ::-1])
    out_noisy = keras.ops.convert_to_numpy(encoder(noisy, padding_mask=padding))
    np.testing.assert_allclose(out[padding], out_noisy[padding], atol=1e-5)
    assert np.abs(out[~padding] - out_noisy[~padding]).max() > 1e-3


def test_causal_attention_mask_hides_later_tokens(short_quotes):
    x, _ = _embedded(short_quotes)
    x = keras.ops.convert_to_numpy(x)
    causal = np.tril(np.ones((32, 32), bool))[None]
    encoder = TransformerEncoder(2, 32, dropout=0.0)
    changed = x.copy()
    changed[:, 10:] = x[:, 10:][::-1]  # other quotations' later tokens
    a = keras.ops.convert_to_numpy(encoder(x, attention_mask=causal))
    b = keras.ops.convert_to_numpy(encoder(changed, attention_mask=causal))
    np.testing.assert_allclose(a[:, :10], b[:, :10], atol=1e-5)


def test_key_dim_defaults_to_an_even_split_of_the_embedding():
    encoder = TransformerEncoder(num_heads=4, ff_dim=8)
    encoder.build((None, 10, 16))
    assert encoder.attention.key_dim == 4
    with pytest.raises(ValueError, match="embedding_dim=15, num_heads=4"):
        TransformerEncoder(num_heads=4, ff_dim=8).build((None, 10, 15))
    explicit = TransformerEncoder(num_heads=4, ff_dim=8, key_dim=5)
    explicit.build((None, 10, 15))  # an explicit head size works with any width
    assert explicit.attention.key_dim == 5


def test_encoder_config_round_trip():
    encoder = TransformerEncoder(
        3, 24, key_dim=6, dropout=0.2, activation="gelu", norm_first=True, kernel_initializer="he"
    )
    clone = TransformerEncoder.from_config(encoder.get_config())
    assert clone.get_config() == encoder.get_config()
    assert (clone.num_heads, clone.key_dim, clone.norm_first) == (3, 6, True)
    clone.build((None, 5, 12))
    assert isinstance(clone.ffn_hidden.kernel_initializer, keras.initializers.HeNormal)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"num_heads": 0}, "num_heads"),
        ({"ff_dim": 0}, "ff_dim"),
        ({"key_dim": 0}, "key_dim"),
        ({"dropout": 1.0}, "dropout"),
        ({"activation": "nope"}, "activation"),
        ({"norm_first": "yes"}, "norm_first"),
        ({"epsilon": 0}, "epsilon"),
        ({"kernel_initializer": "nope"}, "kernel_initializer"),
    ],
)
def test_encoder_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=rf"Received: {argument}="):
        TransformerEncoder(**({"num_heads": 2, "ff_dim": 8} | kwargs))


def test_encoder_refuses_inputs_without_an_embedding_axis():
    with pytest.raises(ValueError, match="batch, length, embedding_dim"):
        TransformerEncoder(2, 8)(keras.Input((16,)))
