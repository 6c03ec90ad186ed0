"""Reusable, serializable layers: token + position embedding and a transformer encoder block.

Both layers are registered under the package "kerazoo", so a model that uses them saves to
`.keras` and loads back with `safe_mode=True` in any process that has imported
`kerazoo.models`. Both accept and pass on Keras padding masks: with `mask_zero=True`
token id 0 is padding, the encoder keeps padded positions out of every attention, and a
following `GlobalAveragePooling1D` averages over the real tokens only.
"""

from __future__ import annotations

import keras
from keras import ops

from kerazoo.models import _common as c


@keras.saving.register_keras_serializable(package="kerazoo")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token embedding plus a learned position embedding, summed.

    Self-attention is blind to order, so each position `0..length-1` gets its own learned
    vector added to the token's vector (the learned variant of the positional encoding of
    Vaswani et al. 2017, as in BERT and the Keras text-classification example).

    Args:
        vocab_size: number of token ids, including 0 (padding) and 1 (out of vocabulary).
        sequence_length: the longest sequence the layer accepts (rows of the position
            table). Shorter inputs use the first positions.
        embedding_dim: size of each token and position vector.
        mask_zero: treat token id 0 as padding and emit a Keras mask for later layers.
        embeddings_initializer: initializer of both embedding tables.
        **kwargs: base `keras.layers.Layer` arguments such as `name` and `dtype` (a
            policy such as `"mixed_bfloat16"` applies to the sub-layers as well).

    Input shape:
        `(batch, length)` integer token ids, `length <= sequence_length`.

    Output shape:
        `(batch, length, embedding_dim)`.

    Raises:
        ValueError: for a non-positive size, naming it and the received value, or an input
            longer than `sequence_length` (checked when the length is known at build time).

    Example:

    ```python
    inputs = keras.Input(shape=(32,), dtype="int32")
    x = TokenAndPositionEmbedding(2000, 32, 16, mask_zero=True)(inputs)  # (None, 32, 16)
    ```
    """

    def __init__(
        self,
        vocab_size: int,
        sequence_length: int,
        embedding_dim: int,
        mask_zero: bool = False,
        embeddings_initializer="uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = c.check_positive_int(vocab_size, "vocab_size", minimum=2)
        self.sequence_length = c.check_positive_int(sequence_length, "sequence_length")
        self.embedding_dim = c.check_positive_int(embedding_dim, "embedding_dim")
        if not isinstance(mask_zero, bool):
            raise ValueError(f"mask_zero must be True or False. Received: mask_zero={mask_zero!r}")
        self.mask_zero = mask_zero
        if not isinstance(embeddings_initializer, dict):  # a dict comes from get_config
            embeddings_initializer = c.check_initializer(
                embeddings_initializer, "embeddings_initializer"
            )
        # Kept serialized so each table gets its own initializer instance.
        self.embeddings_initializer = keras.initializers.serialize(
            keras.initializers.get(embeddings_initializer)
        )
        self.supports_masking = mask_zero
        # Sub-layers take this layer's dtype policy: built with the global one instead, a
        # per-layer policy (dtype="mixed_float16") would be ignored inside and the output
        # would stay float32.
        self.token_embedding = keras.layers.Embedding(
            vocab_size,
            embedding_dim,
            embeddings_initializer=self.embeddings_initializer,
            mask_zero=mask_zero,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.position_embedding = keras.layers.Embedding(
            sequence_length,
            embedding_dim,
            embeddings_initializer=self.embeddings_initializer,
            dtype=self.dtype_policy,
            name="position_embedding",
        )

    def build(self, input_shape):
        length = input_shape[-1]
        if length is not None and length > self.sequence_length:
            raise ValueError(
                f"Inputs are longer than the position table of {self.name}: length {length} > "
                f"sequence_length={self.sequence_length}. Received: input_shape={input_shape!r}"
            )
        self.token_embedding.build(input_shape)
        self.position_embedding.build((length,))
        self.built = True

    def call(self, inputs):
        positions = ops.arange(ops.shape(inputs)[-1], dtype="int32")
        # (length, dim) broadcasts over the batch axis.
        return self.token_embedding(inputs) + self.position_embedding(positions)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)

    def get_config(self):
        return super().get_config() | {
            "vocab_size": self.vocab_size,
            "sequence_length": self.sequence_length,
            "embedding_dim": self.embedding_dim,
            "mask_zero": self.mask_zero,
            "embeddings_initializer": self.embeddings_initializer,
        }


@keras.saving.register_keras_serializable(package="kerazoo")
class TransformerEncoder(keras.layers.Layer):
    """One transformer encoder block: self-attention and a feed-forward net, each residual.

    `x -> LayerNorm(x + Dropout(MultiHeadAttention(x, x)))
       -> LayerNorm(x + Dropout(Dense(ff_dim, activation) -> Dense(embedding_dim)))`,
    the post-norm block of Vaswani et al. 2017. With `norm_first=True` each sub-layer
    normalizes its input instead (`x + f(LayerNorm(x))`, the pre-norm variant that trains
    more stably in deep stacks; put a final LayerNormalization after the last block).
    The output has the input's shape, so blocks stack.

    Padding: a Keras mask on the input (from `Embedding(mask_zero=True)` or
    `TokenAndPositionEmbedding(mask_zero=True)`) or a `padding_mask` argument of shape
    `(batch, length)` keeps padded positions out of every token's attention, so the
    outputs at real positions do not depend on how much padding follows. The mask is
    passed on to the next layer. An `attention_mask` of shape `(batch, length, length)`
    (True = may attend) is combined with it.

    Args:
        num_heads: number of attention heads.
        ff_dim: width of the hidden layer of the position-wise feed-forward net.
        key_dim: size of each head's query/key projection; defaults to
            `embedding_dim // num_heads` (then `embedding_dim` must be divisible by
            `num_heads`).
        dropout: dropout rate on the attention weights and each sub-layer's output, in [0, 1).
        activation: activation of the feed-forward hidden layer (`"relu"`, `"gelu"`, ...).
        norm_first: pre-norm (`True`) instead of the paper's post-norm (`False`).
        epsilon: LayerNormalization epsilon, > 0.
        kernel_initializer: initializer of the attention and feed-forward kernels.
        **kwargs: base `keras.layers.Layer` arguments such as `name` and `dtype` (a
            policy such as `"mixed_bfloat16"` applies to the sub-layers as well).

    Input shape:
        `(batch, length, embedding_dim)`.

    Output shape:
        Same as the input.

    Raises:
        ValueError: for an invalid argument, naming it and the received value; when built,
            if `embedding_dim` is not divisible by `num_heads` and `key_dim` is not given.

    Example:

    ```python
    inputs = keras.Input(shape=(32,), dtype="int32")
    x = TokenAndPositionEmbedding(2000, 32, 16, mask_zero=True)(inputs)
    x = TransformerEncoder(num_heads=2, ff_dim=32)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)  # averages the real tokens only
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    ```
    """

    def __init__(
        self,
        num_heads: int,
        ff_dim: int,
        key_dim: int | None = None,
        dropout: float = 0.1,
        activation="relu",
        norm_first: bool = False,
        epsilon: float = 1e-6,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = c.check_positive_int(num_heads, "num_heads")
        self.ff_dim = c.check_positive_int(ff_dim, "ff_dim")
        self.key_dim = None if key_dim is None else c.check_positive_int(key_dim, "key_dim")
        self.dropout = c.check_rate(dropout)
        self.activation = c.check_activation(activation)
        if not isinstance(norm_first, bool):
            raise ValueError(
                f"norm_first must be True or False. Received: norm_first={norm_first!r}"
            )
        self.norm_first = norm_first
        if isinstance(epsilon, bool) or not isinstance(epsilon, int | float) or epsilon <= 0:
            raise ValueError(f"epsilon must be a number > 0. Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)
        if not isinstance(kernel_initializer, dict):  # a dict comes from get_config
            kernel_initializer = c.check_initializer(kernel_initializer)
        # Kept serialized so each sub-layer gets its own initializer instance.
        self.kernel_initializer = keras.initializers.serialize(
            keras.initializers.get(kernel_initializer)
        )
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                f"{self.name} expects inputs of shape (batch, length, embedding_dim). "
                f"Received: input_shape={input_shape!r}"
            )
        embedding_dim = input_shape[-1]
        key_dim = self.key_dim
        if key_dim is None:
            if embedding_dim % self.num_heads:
                raise ValueError(
                    f"The embedding size must be divisible by num_heads when key_dim is not "
                    f"given. Received: embedding_dim={embedding_dim}, num_heads={self.num_heads}"
                )
            key_dim = embedding_dim // self.num_heads
        # Sub-layers are created here because the attention's key size and the second
        # feed-forward width depend on the input's embedding size. Each takes this layer's
        # dtype policy, so a per-layer policy (dtype="mixed_float16") reaches every op.
        policy = self.dtype_policy
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads,
            key_dim,
            dropout=self.dropout,
            kernel_initializer=self.kernel_initializer,
            dtype=policy,
            name="self_attention",
        )
        self.attention_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="attention_dropout"
        )
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=policy, name="attention_norm"
        )
        self.ffn_hidden = keras.layers.Dense(
            self.ff_dim,
            activation=self.activation,
            kernel_initializer=self.kernel_initializer,
            dtype=policy,
            name="ffn_hidden",
        )
        self.ffn_output = keras.layers.Dense(
            embedding_dim,
            kernel_initializer=self.kernel_initializer,
            dtype=policy,
            name="ffn_output",
        )
        self.ffn_dropout = keras.layers.Dropout(self.dropout, dtype=policy, name="ffn_dropout")
        self.ffn_norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, dtype=policy, name="ffn_norm"
        )

        self.attention.build(input_shape, input_shape)
        self.attention_norm.build(input_shape)
        self.ffn_hidden.build(input_shape)
        self.ffn_output.build((*input_shape[:-1], self.ff_dim))
        self.ffn_norm.build(input_shape)
        self.built = True

    def call(self, inputs, mask=None, padding_mask=None, attention_mask=None, training=None):
        attention_mask = self._merge_masks(mask, padding_mask, attention_mask)
        x = inputs
        y = self.attention_norm(x) if self.norm_first else x
        y = self.attention(y, y, attention_mask=attention_mask, training=training)
        x = x + self.attention_dropout(y, training=training)
        if not self.norm_first:
            x = self.attention_norm(x)

        y = self.ffn_norm(x) if self.norm_first else x
        y = self.ffn_output(self.ffn_hidden(y))
        x = x + self.ffn_dropout(y, training=training)
        if not self.norm_first:
            x = self.ffn_norm(x)
        return x

    @staticmethod
    def _merge_masks(mask, padding_mask, attention_mask):
        """One (batch, length, length) boolean mask: query i may attend to key j.

        Padding is applied on the key side, which is what keeps real tokens from reading
        padding. (MultiHeadAttention also masks padded queries when the input carries a
        Keras mask; their outputs stay finite and later layers ignore them.)
        """
        merged = None
        for keys in (mask, padding_mask):
            if keys is not None:
                keys = ops.expand_dims(ops.cast(keys, "bool"), axis=1)
                merged = keys if merged is None else ops.logical_and(merged, keys)
        if attention_mask is not None:
            attention_mask = ops.cast(attention_mask, "bool")
            merged = attention_mask if merged is None else ops.logical_and(merged, attention_mask)
        return merged

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return super().get_config() | {
            "num_heads": self.num_heads,
            "ff_dim": self.ff_dim,
            "key_dim": self.key_dim,
            "dropout": self.dropout,
            "activation": keras.activations.serialize(keras.activations.get(self.activation)),
            "norm_first": self.norm_first,
            "epsilon": self.epsilon,
            "kernel_initializer": self.kernel_initializer,
        }


@keras.saving.register_keras_serializable(package="kerazoo")
class MaskedAveragePooling1D(keras.layers.GlobalAveragePooling1D):
    """The mean over the unmasked steps; all zeros for an input with no unmasked step.

    Keras's `GlobalAveragePooling1D` divides the masked sum by the number of unmasked steps,
    which is 0/0 = NaN for a text with no token (one made only of punctuation); a single
    such example turns a whole training batch's loss into NaN. Here the count is at least
    one, so an empty text pools to zeros and the classifier falls back to its bias.

    Example:

    ```python
    x = TokenAndPositionEmbedding(10000, 64, 64, mask_zero=True)(tokens)
    pooled = MaskedAveragePooling1D()(x)
    ```
    """

    def call(self, inputs, mask=None):
        if mask is None or self.data_format != "channels_last":
            return super().call(inputs, mask)
        weights = ops.cast(ops.expand_dims(mask, 2), inputs.dtype)
        total = ops.sum(inputs * weights, axis=1, keepdims=self.keepdims)
        count = ops.sum(weights, axis=1, keepdims=self.keepdims)
        return total / ops.maximum(count, 1.0)
