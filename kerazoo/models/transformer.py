"""Transformer encoders for text classification.

Token ids become token + learned position vectors, pass through a stack of encoder blocks
(self-attention and a feed-forward net, each with a residual connection and layer
normalization, Vaswani et al. 2017), are averaged over the real tokens and classified.
Token id 0 is padding: it is masked out of every attention and out of the average, so a
sentence gets the same prediction however much padding follows it.

The building blocks, `TokenAndPositionEmbedding` and `TransformerEncoder`, live in
`kerazoo.models.layers` for use in your own models.
"""

from __future__ import annotations

import keras

from kerazoo.models import _common as c
from kerazoo.models.layers import (
    MaskedAveragePooling1D,
    TokenAndPositionEmbedding,
    TransformerEncoder,
)
from kerazoo.registry import register_model


@register_model(
    family="transformer",
    task="classification",
    description="Text classifier: token+position embedding 64, 2 encoder blocks (4 heads), "
    "masked mean pooling, softmax over 4 languages.",
    reference="Vaswani et al. 2017, 'Attention Is All You Need'",
    # imdb after fortunes_lang: the default stays offline (imdb needs --download once).
    datasets=("fortunes_lang", "imdb"),
    tiny={
        "vocab_size": 2000,
        "sequence_length": 32,
        "embedding_dim": 16,
        "num_heads": 2,
        "ff_dim": 32,
        "num_blocks": 1,
    },
    inputs=("vocab_size", "sequence_length", "num_classes"),
    metrics=("accuracy",),
)
def transformer_classifier(
    *,
    vocab_size: int = 10000,
    sequence_length: int = 64,
    embedding_dim: int = 64,
    num_heads: int = 4,
    ff_dim: int = 128,
    num_blocks: int = 2,
    dropout: float = 0.1,
    activation="relu",
    norm_first: bool = False,
    kernel_initializer="glorot_uniform",
    num_classes: int = 4,
    api: str = "functional",
    optimizer="adam",
    learning_rate: float | None = None,
    compile: bool = True,
    name: str = "transformer_classifier",
) -> keras.Model:
    """A transformer-encoder text classifier.

    `token ids -> TokenAndPositionEmbedding -> TransformerEncoder x num_blocks
    -> masked GlobalAveragePooling1D -> Dropout -> Dense softmax`.

    Args:
        vocab_size: number of token ids, including 0 (padding) and 1 (out of vocabulary).
        sequence_length: tokens per example (also the size of the position table).
        embedding_dim: size of the token vectors carried through every block; must be
            divisible by `num_heads`.
        num_heads: attention heads per block; each head has size
            `embedding_dim // num_heads`.
        ff_dim: hidden width of each block's feed-forward net.
        num_blocks: number of stacked encoder blocks.
        dropout: dropout rate inside the blocks and before the classifier, in [0, 1).
        activation: feed-forward activation (`"relu"` as in the paper, `"gelu"`, ...).
        norm_first: pre-norm blocks plus a final LayerNormalization instead of the
            paper's post-norm blocks.
        kernel_initializer: initializer of the attention, feed-forward and output kernels:
            `"glorot_uniform"` (alias `"xavier"`), `"he_normal"` (`"he"`), ...
        num_classes: number of classes (4 for the fortunes en/de/es/it language id).
        api: `"functional"` only: the blocks have residual connections.
        optimizer: `"adam"`, `"sgd"`, `"rmsprop"`, `"adamw"` or an optimizer instance.
        learning_rate: learning rate for a named optimizer (its default when None).
        compile: compile with sparse categorical cross-entropy and accuracy.
        name: model name.

    Returns:
        A functional `keras.Model` taking int32 ids of shape `(batch, sequence_length)`.

    Raises:
        ValueError: for any invalid argument, naming it and the received value, including
            `embedding_dim` not divisible by `num_heads` and `api="sequential"`.

    Example:

    ```python
    model = transformer_classifier(vocab_size=2000, sequence_length=32, num_classes=2)
    ```
    """
    c.check_positive_int(vocab_size, "vocab_size", minimum=2)
    c.check_positive_int(sequence_length, "sequence_length")
    c.check_positive_int(embedding_dim, "embedding_dim")
    c.check_positive_int(num_heads, "num_heads")
    if embedding_dim % num_heads:
        raise ValueError(
            "embedding_dim must be divisible by num_heads (each head gets an equal slice). "
            f"Received: embedding_dim={embedding_dim}, num_heads={num_heads}"
        )
    c.check_positive_int(ff_dim, "ff_dim")
    c.check_positive_int(num_blocks, "num_blocks")
    dropout = c.check_rate(dropout)
    activation = c.check_activation(activation)
    if not isinstance(norm_first, bool):
        raise ValueError(f"norm_first must be True or False. Received: norm_first={norm_first!r}")
    init = c.check_initializer(kernel_initializer)
    c.check_num_classes(num_classes, minimum=2)
    c.check_api(api, model=name, functional_only="it has residual connections")

    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="input")
    x = TokenAndPositionEmbedding(
        vocab_size, sequence_length, embedding_dim, mask_zero=True, name="embedding"
    )(inputs)
    for i in range(1, num_blocks + 1):
        x = TransformerEncoder(
            num_heads,
            ff_dim,
            dropout=dropout,
            activation=activation,
            norm_first=norm_first,
            kernel_initializer=init,
            name=f"encoder_{i}",
        )(x)
    if norm_first:
        # Pre-norm blocks leave the residual stream unnormalized.
        x = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    # The padding mask travels with x, so the average covers the real tokens only (and an
    # input without any token pools to zeros instead of 0/0).
    x = MaskedAveragePooling1D(name="pooling")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(
        num_classes,
        activation="softmax",
        kernel_initializer=init,
        dtype=c.OUTPUT_DTYPE,
        name="output",
    )(x)
    model = keras.Model(inputs, outputs, name=name)
    return c.compile_for_task(
        model, "classification", compile=compile, optimizer=optimizer, learning_rate=learning_rate
    )
