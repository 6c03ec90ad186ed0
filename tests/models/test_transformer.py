"""Family tests for the transformer classifier and TransformerEncoder in user models."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import realdata

import kerazoo
from kerazoo.models import transformer
from kerazoo.models.layers import TokenAndPositionEmbedding, TransformerEncoder

TINY = {
    "vocab_size": 2000,
    "sequence_length": 32,
    "embedding_dim": 16,
    "num_heads": 2,
    "ff_dim": 32,
    "num_blocks": 1,
}


@pytest.fixture(scope="module")
def fortune_ids():
    """Real English and German quotations as ids padded to 48: (ids, labels)."""
    texts, labels = realdata.fortunes(200, ("en", "de"))
    return realdata.token_ids(texts, 2000, 48), labels


def _encoders(model):
    return [layer for layer in model.layers if isinstance(layer, TransformerEncoder)]


def test_stacks_the_requested_number_of_encoder_blocks():
    model = transformer.transformer_classifier(**(TINY | {"num_blocks": 3}), compile=False)
    assert [layer.name for layer in _encoders(model)] == ["encoder_1", "encoder_2", "encoder_3"]
    assert isinstance(model.get_layer("embedding"), TokenAndPositionEmbedding)
    assert isinstance(model.get_layer("pooling"), keras.layers.GlobalAveragePooling1D)


def test_default_param_count():
    d, ff, vocab, length = 64, 128, 10000, 64
    embedding = vocab * d + length * d
    block = 4 * (d * d + d) + (d * ff + ff) + (ff * d + d) + 4 * d
    head = d * 4 + 4
    model = transformer.transformer_classifier(compile=False)
    assert model.count_params() == embedding + 2 * block + head == 711300


def test_pre_norm_adds_a_final_layer_norm():
    model = transformer.transformer_classifier(**TINY, norm_first=True, compile=False)
    assert all(layer.norm_first for layer in _encoders(model))
    assert isinstance(model.get_layer("final_norm"), keras.layers.LayerNormalization)


def test_extra_padding_does_not_change_the_prediction(fortune_ids):
    ids, _ = fortune_ids
    short = ids[(ids > 0).sum(axis=1) <= 20][:8]  # real quotations that fit in 32 tokens
    model_32 = transformer.transformer_classifier(**TINY, compile=False)
    model_48 = transformer.transformer_classifier(**(TINY | {"sequence_length": 48}), compile=False)
    # Same weights; the longer position table keeps its own rows for positions 32..47,
    # which only padding occupies.
    for small, big in zip(model_32.weights, model_48.weights, strict=True):
        value = keras.ops.convert_to_numpy(small)
        if small.shape != big.shape:
            value = np.concatenate([value, keras.ops.convert_to_numpy(big)[value.shape[0] :]])
        big.assign(value)

    p32 = model_32.predict(short[:, :32], verbose=0)
    p48 = model_48.predict(short, verbose=0)
    np.testing.assert_allclose(p32, p48, atol=1e-5)


def test_transformer_tells_english_from_german_quotations(fortune_ids):
    ids, labels = fortune_ids
    ids = ids[:, :32]
    keras.utils.set_random_seed(0)
    model = transformer.transformer_classifier(**TINY, num_classes=2, learning_rate=3e-3)
    train = len(ids) * 3 // 4  # 300 quotations to train on, 100 held out
    model.fit(ids[:train], labels[:train], epochs=3, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(ids[train:], labels[train:], verbose=0)
    # Measured 0.95-1.0 over four seeds; chance is 0.5.
    assert accuracy > 0.8


@pytest.mark.slow
def test_encoder_in_a_user_model_trains_saves_and_loads_in_a_new_process(fortune_ids, tmp_path):
    ids, labels = fortune_ids
    inputs = keras.Input((48,), dtype="int32")
    x = TokenAndPositionEmbedding(2000, 48, 16, mask_zero=True)(inputs)
    x = TransformerEncoder(num_heads=2, ff_dim=32, activation="gelu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")

    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    loss = model.train_on_batch(ids[:32], labels[:32])
    assert np.isfinite(loss)
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    kernels = [
        (w.path, not np.array_equal(a, b))
        for w, a, b in zip(model.trainable_weights, after, before, strict=True)
        if w.path.endswith(("kernel", "embeddings"))
    ]
    assert len(kernels) == 9  # 2 embedding tables, Q/K/V/output and 2 feed-forward, head
    assert all(changed for _, changed in kernels), kernels

    path, batch = tmp_path / "user.keras", tmp_path / "ids.npy"
    model.save(path)
    np.save(batch, ids[:16])
    expected = model.predict(ids[:16], verbose=0)
    script = textwrap.dedent(
        f"""
        import keras, numpy as np
        import kerazoo.models  # registers the kerazoo layers, no custom_objects needed
        model = keras.saving.load_model({str(path)!r}, safe_mode=True)
        np.save({str(tmp_path / "out.npy")!r}, model.predict(np.load({str(batch)!r}), verbose=0))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-6)


def test_sequential_api_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="residual connections.*Received: api='sequential'"):
        transformer.transformer_classifier(api="sequential")


def test_embedding_dim_must_divide_by_num_heads():
    with pytest.raises(ValueError, match="Received: embedding_dim=30, num_heads=4"):
        transformer.transformer_classifier(embedding_dim=30, num_heads=4)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"vocab_size": 1}, "vocab_size"),
        ({"sequence_length": 0}, "sequence_length"),
        ({"embedding_dim": 0}, "embedding_dim"),
        ({"num_heads": 0}, "num_heads"),
        ({"ff_dim": 0}, "ff_dim"),
        ({"num_blocks": 0}, "num_blocks"),
        ({"dropout": 1.0}, "dropout"),
        ({"activation": "nope"}, "activation"),
        ({"norm_first": 1}, "norm_first"),
        ({"kernel_initializer": "nope"}, "kernel_initializer"),
        ({"num_classes": 1}, "num_classes"),
        ({"api": "foo"}, "api"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=rf"Received: {argument}="):
        transformer.transformer_classifier(**kwargs)


def test_a_text_without_any_token_does_not_turn_the_loss_into_nan():
    """Real quotations made only of punctuation vectorize to all padding; Keras's masked
    average of nothing is 0/0. The zoo's pooling gives zeros instead, so training goes on."""
    from kerazoo.data import loader

    splits, info = loader.load_arrays("fortunes_lang", vocab_size=500, sequence_length=16)
    empty = np.flatnonzero((splits.x_train == 0).all(axis=1))
    assert len(empty) >= 1  # the real data has such texts
    batch = np.concatenate([empty, np.arange(32)])
    model = kerazoo.create_model(
        "transformer_classifier",
        vocab_size=info.vocab_size,
        sequence_length=16,
        embedding_dim=16,
        num_heads=2,
        ff_dim=16,
        num_blocks=1,
    )
    probs = model.predict(splits.x_train[empty], verbose=0)
    assert np.isfinite(probs).all() and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    loss = model.train_on_batch(splits.x_train[batch], splits.y_train[batch])
    assert np.isfinite(np.asarray(loss)).all()
