"""Recurrent networks: LSTM and GRU text classifiers and time-series forecasters.

A recurrent layer reads a sequence one step at a time and carries a state forward; the
LSTM (Hochreiter & Schmidhuber 1997) and the GRU (Cho et al. 2014) gate that state so it
can hold information over many steps. Stacked layers pass their whole output sequence up;
the last one passes only its final state to the head.

Text classifiers take token ids (0 = padding) through `Embedding(mask_zero=True)`, so the
recurrent layers skip padded steps: a sentence gets the same prediction however much
padding follows it.
"""

from __future__ import annotations

import keras

from kerazoo.models import _common as c
from kerazoo.registry import register_model

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple": keras.layers.SimpleRNN}
# The name a cell gives its layers and models (`simple_rnn_1`, `simple_rnn_classifier`).
_CELL_NAMES = {"lstm": "lstm", "gru": "gru", "simple": "simple_rnn"}


def _check_cell(cell) -> str:
    return c.check_choice(cell, "cell", tuple(CELLS))


def _check_flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False. Received: {name}={value!r}")
    return value


def _recurrent_stack(
    cell: str,
    units: tuple,
    *,
    bidirectional: bool,
    activation,
    kernel_initializer,
    dropout: float,
    recurrent_dropout: float,
    recurrent_initializer="orthogonal",
) -> list:
    """The recurrent layers: every layer but the last returns its whole sequence."""
    layers = []
    for i, width in enumerate(units, start=1):
        last = i == len(units)
        layer = CELLS[cell](
            width,
            return_sequences=not last,
            activation=activation,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            name=f"{_CELL_NAMES[cell]}_{i}",
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{i}")
        layers.append(layer)
    return layers


def recurrent_classifier(
    *,
    cell: str = "lstm",
    vocab_size: int = 10000,
    sequence_length: int | None = 64,
    embedding_dim: int = 64,
    units=(64,),
    bidirectional: bool = False,
    activation="tanh",
    kernel_initializer="glorot_uniform",
    recurrent_initializer="orthogonal",
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    num_classes: int = 4,
    api: str = "sequential",
    optimizer="adam",
    learning_rate: float | None = None,
    compile: bool = True,
    name: str | None = None,
) -> keras.Model:
    """A text classifier: `token ids -> Embedding -> [LSTM|GRU|SimpleRNN]* -> Dense softmax`.

    Args:
        cell: `"lstm"`, `"gru"` or `"simple"` (a plain `SimpleRNN`: `h = tanh(x W + h U
            + b)`, no gates, so its gradient fades over long sequences).
        vocab_size: number of token ids, including 0 (padding) and 1 (out of vocabulary).
        sequence_length: tokens per example; `None` accepts sequences of any length.
        embedding_dim: size of each token's vector.
        units: width of each stacked recurrent layer, e.g. `(64, 32)`; all but the last
            return their whole sequence.
        bidirectional: read the sequence both ways (`keras.layers.Bidirectional`), which
            doubles the recurrent parameters and the width passed up.
        activation: the cell's output/candidate activation (`"tanh"` as in the papers).
        kernel_initializer: initializer of the input kernels and of the output layer:
            `"glorot_uniform"` (alias `"xavier"`), `"he_normal"` (`"he"`), ...
        recurrent_initializer: initializer of the recurrent (state-to-state) kernels:
            `"orthogonal"` (Keras's default: the state's norm is kept step after step) or
            e.g. `"random_normal"` (small random weights, as in the 1990s networks whose
            gradients vanished).
        dropout: dropout rate on each recurrent layer's inputs, in [0, 1).
        recurrent_dropout: dropout rate on each recurrent layer's state, in [0, 1).
        num_classes: number of classes (4 for the fortunes en/de/es/it language id).
        api: `"sequential"` or `"functional"`: the same layers either way.
        optimizer: `"adam"`, `"sgd"`, `"rmsprop"`, `"adamw"` or an optimizer instance.
        learning_rate: learning rate for a named optimizer (its default when None).
        compile: compile with sparse categorical cross-entropy and accuracy.
        name: model name; defaults to `"{cell}_classifier"` (`"simple_rnn_classifier"`).

    Returns:
        A `keras.Model` taking int32 ids of shape `(batch, sequence_length)`.

    Raises:
        ValueError: for any invalid argument, naming it and the received value.

    Example:

    ```python
    model = recurrent_classifier(cell="gru", vocab_size=2000, units=(32, 32), num_classes=2)
    ```
    """
    cell = _check_cell(cell)
    name = name or f"{_CELL_NAMES[cell]}_classifier"
    c.check_positive_int(vocab_size, "vocab_size", minimum=2)
    if sequence_length is not None:
        c.check_positive_int(sequence_length, "sequence_length")
    c.check_positive_int(embedding_dim, "embedding_dim")
    units = c.check_units(units, "units", allow_empty=False)
    _check_flag(bidirectional, "bidirectional")
    activation = c.check_activation(activation)
    init = c.check_initializer(kernel_initializer)
    recurrent_init = c.check_initializer(recurrent_initializer, "recurrent_initializer")
    dropout = c.check_rate(dropout)
    recurrent_dropout = c.check_rate(recurrent_dropout, "recurrent_dropout")
    c.check_num_classes(num_classes, minimum=2)
    c.check_api(api, model=name)

    layers = [
        # mask_zero: id 0 is padding, and the mask makes the recurrent layers skip it.
        keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding"),
        *_recurrent_stack(
            cell,
            units,
            bidirectional=bidirectional,
            activation=activation,
            kernel_initializer=init,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            recurrent_initializer=recurrent_init,
        ),
        keras.layers.Dense(
            num_classes,
            activation="softmax",
            kernel_initializer=init,
            dtype=c.OUTPUT_DTYPE,
            name="output",
        ),
    ]
    model = c.assemble(
        layers, input_shape=(sequence_length,), api=api, name=name, input_dtype="int32"
    )
    return c.compile_for_task(
        model, "classification", compile=compile, optimizer=optimizer, learning_rate=learning_rate
    )


def recurrent_forecaster(
    *,
    cell: str = "lstm",
    input_shape: tuple = (24, 1),
    units=(64,),
    horizon: int = 1,
    bidirectional: bool = False,
    activation="tanh",
    kernel_initializer="glorot_uniform",
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    api: str = "sequential",
    optimizer="adam",
    learning_rate: float | None = None,
    compile: bool = True,
    name: str | None = None,
) -> keras.Model:
    """A time-series forecaster: `(window, features) -> [LSTM|GRU|SimpleRNN]* -> Dense(horizon)`.

    Args:
        cell: `"lstm"`, `"gru"` or `"simple"` (a plain `SimpleRNN`).
        input_shape: `(window, features)`: past steps seen and values per step.
        units: width of each stacked recurrent layer; all but the last return their
            whole sequence.
        horizon: number of future steps predicted at once.
        bidirectional: read the window both ways (`keras.layers.Bidirectional`).
        activation: the cell's output/candidate activation (`"tanh"` as in the papers).
        kernel_initializer: initializer of the input kernels and of the output layer:
            `"glorot_uniform"` (alias `"xavier"`), `"he_normal"` (`"he"`), ...; the
            recurrent kernels stay orthogonal.
        dropout: dropout rate on each recurrent layer's inputs, in [0, 1).
        recurrent_dropout: dropout rate on each recurrent layer's state, in [0, 1).
        api: `"sequential"` or `"functional"`: the same layers either way.
        optimizer: `"adam"`, `"sgd"`, `"rmsprop"`, `"adamw"` or an optimizer instance.
        learning_rate: learning rate for a named optimizer (its default when None).
        compile: compile with mean squared error and mean absolute error.
        name: model name; defaults to `"{cell}_forecaster"` (`"simple_rnn_forecaster"`).

    Returns:
        A `keras.Model` mapping `(batch, window, features)` to `(batch, horizon)`.

    Raises:
        ValueError: for any invalid argument, naming it and the received value.

    Example:

    ```python
    model = recurrent_forecaster(cell="gru", input_shape=(12, 1), horizon=3)
    ```
    """
    cell = _check_cell(cell)
    name = name or f"{_CELL_NAMES[cell]}_forecaster"
    shape = c.check_input_shape(
        input_shape, rank=2, model=name, layout="(window, features)", allow_none=False
    )
    units = c.check_units(units, "units", allow_empty=False)
    c.check_positive_int(horizon, "horizon")
    _check_flag(bidirectional, "bidirectional")
    activation = c.check_activation(activation)
    init = c.check_initializer(kernel_initializer)
    dropout = c.check_rate(dropout)
    recurrent_dropout = c.check_rate(recurrent_dropout, "recurrent_dropout")
    c.check_api(api, model=name)

    layers = [
        *_recurrent_stack(
            cell,
            units,
            bidirectional=bidirectional,
            activation=activation,
            kernel_initializer=init,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
        ),
        keras.layers.Dense(horizon, kernel_initializer=init, dtype=c.OUTPUT_DTYPE, name="output"),
    ]
    model = c.assemble(layers, input_shape=shape, api=api, name=name)
    return c.compile_for_task(
        model, "regression", compile=compile, optimizer=optimizer, learning_rate=learning_rate
    )


# The models' names follow their cell (`name=None`), so a tuner's cell choice builds
# gru_classifier's network from lstm_classifier.
_CLASSIFIER = {
    "family": "rnn",
    "task": "classification",
    # imdb after fortunes_lang: the default stays offline (imdb needs --download once).
    "datasets": ("fortunes_lang", "imdb"),
    "tiny": {"vocab_size": 2000, "sequence_length": 32, "embedding_dim": 16, "units": (16,)},
    "inputs": ("vocab_size", "sequence_length", "num_classes"),
    "metrics": ("accuracy",),
}
_FORECASTER = {
    "family": "rnn",
    "task": "regression",
    "datasets": ("sunspots",),
    "tiny": {"units": (16,)},
    "inputs": ("input_shape", "horizon"),
    "metrics": ("mae",),
}

lstm_classifier = register_model(
    name="lstm_classifier",
    base=recurrent_classifier,
    preset={"cell": "lstm"},
    description="Text classifier: masked word embedding 64, LSTM 64, softmax over 4 languages.",
    reference="Hochreiter & Schmidhuber 1997, 'Long Short-Term Memory'",
    **_CLASSIFIER,
)

gru_classifier = register_model(
    name="gru_classifier",
    base=recurrent_classifier,
    preset={"cell": "gru"},
    description="Text classifier: masked word embedding 64, GRU 64, softmax over 4 languages.",
    reference="Cho et al. 2014, 'Learning Phrase Representations using RNN Encoder-Decoder'",
    **_CLASSIFIER,
)

lstm_forecaster = register_model(
    name="lstm_forecaster",
    base=recurrent_forecaster,
    preset={"cell": "lstm"},
    description="Forecaster: 24 past values through LSTM 64, one linear output per future step.",
    reference="Hochreiter & Schmidhuber 1997, 'Long Short-Term Memory'",
    **_FORECASTER,
)

gru_forecaster = register_model(
    name="gru_forecaster",
    base=recurrent_forecaster,
    preset={"cell": "gru"},
    description="Forecaster: 24 past values through GRU 64, one linear output per future step.",
    reference="Cho et al. 2014, 'Learning Phrase Representations using RNN Encoder-Decoder'",
    **_FORECASTER,
)

# The plain recurrent layer the gated cells improve on: the course's `rnn` lesson measures
# how much less gradient reaches its early steps than an LSTM's.
simple_rnn_classifier = register_model(
    name="simple_rnn_classifier",
    base=recurrent_classifier,
    preset={"cell": "simple"},
    description="Text classifier: masked word embedding 64, SimpleRNN 64 (no gates), softmax "
    "over 4 languages.",
    reference="Elman 1990, 'Finding structure in time'",
    **_CLASSIFIER,
)
