"""Argument checks and the compile/build helpers every family shares.

Checks run before any layer is built, so a bad argument gives one ValueError naming the
argument and the received value instead of a Keras-internal message about an inner layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kerazoo import config
from kerazoo.models.batchnorm import BatchNormalization
from kerazoo.tasks import get_task

OPTIMIZERS = config.OPTIMIZERS  # one list: kerazoo.config

# BatchNorm's moving-statistics momentum as in Torch (0.1 there, 0.9 in Keras terms). With
# Keras's default 0.99 the statistics used at test time trail the weights on short runs:
# mnist_cnn scored 96.4-96.9% on the 5,000-digit sample after 5 epochs with 0.99 and
# 97.3-97.6% with 0.9; resnet8 on digits predicted at 0.15 accuracy in inference mode
# while training at 0.8.
BN_MOMENTUM = 0.9
APIS = ("sequential", "functional")
# The dtype of every model's last layer (softmax, sigmoid, forecast, reconstruction). Under a
# mixed policy (mixed_float16 / mixed_bfloat16) the rest computes in 16 bits, but the
# outputs and so the losses and metrics stay float32, as the Keras mixed-precision guide
# advises: a float16 softmax rounds small probabilities to 0 (log 0 in the loss), and a
# bfloat16 one keeps about 3 significant digits. Under the default float32 policy it
# changes nothing.
OUTPUT_DTYPE = "float32"

# Friendly names used in the deep-learning-basics courses -> Keras initializer names.
_INITIALIZER_ALIASES = {
    "xavier": "glorot_uniform",
    "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal",
    "glorot": "glorot_uniform",
    "he": "he_normal",
    "kaiming": "he_normal",
    "uniform": "random_uniform",
    "normal": "random_normal",
}


def check_num_classes(num_classes, *, minimum: int = 1) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < minimum:
        raise ValueError(
            f"num_classes must be an integer >= {minimum}. Received: num_classes={num_classes!r}"
        )
    return num_classes


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    return value


def check_units(units, name: str = "hidden_units", *, allow_empty: bool = True) -> tuple:
    """A sequence of positive layer widths (an int is taken as one layer)."""
    if isinstance(units, int) and not isinstance(units, bool):
        units = (units,)
    ok = isinstance(units, Sequence) and not isinstance(units, str)
    ok = ok and all(isinstance(u, int) and not isinstance(u, bool) and u >= 1 for u in units)
    if not ok or (not allow_empty and not units):
        raise ValueError(
            f"{name} must be a list of positive integers, e.g. (128, 64). Received: {name}={units!r}"
        )
    return tuple(units)


def check_rate(rate, name: str = "dropout") -> float:
    """A rate in [0, 1), as Keras's Dropout expects."""
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1). Received: {name}={rate!r}")
    return float(rate)


def check_non_negative(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number >= 0. Received: {name}={value!r}")
    return float(value)


def check_choice(value, name: str, choices: Sequence[str]):
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}. Received: {name}={value!r}")
    return value


def check_api(api, *, model: str, functional_only: str | None = None) -> str:
    """`"sequential"` or `"functional"`; `functional_only` explains why a model lacks one."""
    check_choice(api, "api", APIS)
    if functional_only and api == "sequential":
        raise ValueError(
            f"{model} has no Sequential form ({functional_only}); use api='functional'. "
            f"Received: api={api!r}"
        )
    return api


def check_activation(activation, name: str = "activation"):
    """A Keras activation name (or callable); returns it unchanged."""
    if callable(activation):
        return activation
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError(
            f"{name} must be a Keras activation such as 'relu', 'sigmoid', 'tanh', 'gelu', "
            f"'elu', 'selu', 'swish', 'leaky_relu'. Received: {name}={activation!r}"
        ) from None
    if activation is None:
        raise ValueError(f"{name} must be a Keras activation name. Received: {name}=None")
    return activation


def check_initializer(initializer, name: str = "kernel_initializer"):
    """A Keras initializer name, a friendly alias (xavier, he, uniform) or an instance."""
    if isinstance(initializer, keras.initializers.Initializer):
        return initializer
    resolved = _INITIALIZER_ALIASES.get(initializer, initializer)
    try:
        keras.initializers.get(resolved)
    except (ValueError, TypeError):
        raise ValueError(
            f"{name} must be a Keras initializer such as 'glorot_uniform' (xavier), "
            f"'he_normal' (he), 'random_uniform' (uniform), 'lecun_normal', 'orthogonal'. "
            f"Received: {name}={initializer!r}"
        ) from None
    if resolved is None:
        raise ValueError(f"{name} must be an initializer name. Received: {name}=None")
    return resolved


def check_input_shape(
    input_shape,
    *,
    rank: int,
    model: str,
    min_size: int | None = None,
    layout: str = "",
    allow_none: bool = False,
) -> tuple:
    """A shape without the batch axis, of the given rank, each spatial size >= min_size.

    For rank-3 image shapes `min_size` applies to height and width.
    """
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    valid = shape is not None and all(
        (d is None and allow_none) or (isinstance(d, int) and not isinstance(d, bool) and d >= 1)
        for d in shape
    )
    if not valid:
        raise ValueError(
            f"input_shape must be a tuple of positive integers{' ' + layout if layout else ''}. "
            f"Received: input_shape={input_shape!r}"
        )
    if len(shape) != rank:
        raise ValueError(
            f"input_shape must have rank {rank}{' ' + layout if layout else ''} for {model}. "
            f"Received: input_shape={input_shape!r}"
        )
    if min_size is not None:
        spatial = shape[:2] if rank == 3 else shape[:1]
        if any(d is not None and d < min_size for d in spatial):
            raise ValueError(
                f"input_shape is too small for {model}: height and width must be >= {min_size}. "
                f"Received: input_shape={input_shape!r}"
            )
    return shape


def l2_regularizer(l2):
    """An L2 kernel regularizer, or None when `l2` is 0."""
    value = check_non_negative(l2, "l2")
    return keras.regularizers.L2(value) if value > 0 else None


def check_learning_rate(learning_rate) -> None:
    """The one rule for a learning rate (None or a finite number > 0), shared with train's
    settings: it is defined in kerazoo.config."""
    config.learning_rate(learning_rate, "learning_rate")


def get_optimizer(optimizer="adam", learning_rate: float | None = None):
    """A fresh optimizer from a name (`adam`, `sgd`, `rmsprop`, `adamw`) or an instance.

    `sgd` uses momentum 0.9, which is what the basics courses train with.
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if learning_rate is not None:
            raise ValueError(
                "Give learning_rate either inside the optimizer instance or as learning_rate, "
                f"not both. Received: learning_rate={learning_rate!r}"
            )
        return optimizer
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    check_learning_rate(learning_rate)
    kwargs = {} if learning_rate is None else {"learning_rate": float(learning_rate)}
    if optimizer == "adam":
        return keras.optimizers.Adam(**kwargs)
    if optimizer == "adamw":
        return keras.optimizers.AdamW(**kwargs)
    if optimizer == "rmsprop":
        return keras.optimizers.RMSprop(**kwargs)
    return keras.optimizers.SGD(momentum=0.9, **({"learning_rate": 0.01} | kwargs))


def classification_head(num_classes: int) -> tuple[int, str, str]:
    """(units, activation, loss) of a classifier's output: sigmoid for 2 classes only when
    the caller asks for a single unit (num_classes=1), softmax otherwise."""
    if num_classes == 1:
        return 1, "sigmoid", "binary_crossentropy"
    return num_classes, "softmax", "sparse_categorical_crossentropy"


def compile_for_task(
    model,
    task: str,
    *,
    compile: bool,
    optimizer="adam",
    learning_rate: float | None = None,
    loss=None,
    metrics=None,
):
    """Compiles `model` with the defaults of its task unless compile=False.

    The loss and metrics default to the task object's (`kerazoo.tasks.get_task(task)`);
    `task="binary"` is a classifier with one sigmoid unit (binary crossentropy, accuracy).
    The optimizer is validated even when compile=False so bad input fails the same way.
    """
    opt = get_optimizer(optimizer, learning_rate)
    if not compile:
        return model
    if task == "binary":
        default_loss, default_metrics = "binary_crossentropy", ("accuracy",)
    else:
        defaults = get_task(task)
        default_loss, default_metrics = defaults.loss, defaults.metrics
    loss = default_loss if loss is None else loss
    metrics = list(default_metrics) if metrics is None else metrics
    model.compile(optimizer=opt, loss=loss, metrics=metrics)
    return model


def dense_layers(
    units: tuple,
    *,
    activation,
    batchnorm: bool,
    dropout: float,
    kernel_initializer,
    kernel_regularizer,
    norm_prefix: str = "",
) -> list:
    """Hidden `Dense -> (BatchNorm -> activation) -> (Dropout)` layers, one group per width.

    With batch norm the Dense has no bias (BatchNorm's beta takes its place) and the
    activation comes after the normalisation.
    """
    layers = []
    for i, width in enumerate(units, start=1):
        layers.append(
            keras.layers.Dense(
                width,
                activation=None if batchnorm else activation,
                use_bias=not batchnorm,
                kernel_initializer=kernel_initializer,
                kernel_regularizer=kernel_regularizer,
                name=f"dense_{i}",
            )
        )
        if batchnorm:
            layers.append(
                BatchNormalization(momentum=BN_MOMENTUM, name=f"{norm_prefix}batchnorm_{i}")
            )
            layers.append(keras.layers.Activation(activation, name=f"{norm_prefix}activation_{i}"))
        if dropout:
            layers.append(keras.layers.Dropout(dropout, name=f"dropout_{i}"))
    return layers


def assemble(layers: list, *, input_shape: tuple, api: str, name: str, input_dtype="float32"):
    """The same list of layers as a Sequential or as a functional model.

    Both forms hold the very same layers, so they have the same parameter count.
    """
    inputs = keras.Input(shape=input_shape, dtype=input_dtype, name="input")
    if api == "sequential":
        return keras.Sequential([inputs, *layers], name=name)
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x, name=name)


def serialize_parts(model, parts: tuple[str, ...]) -> dict:
    """Config entries for a model built from named sub-models (VAE, DCGAN)."""
    return {part: keras.saving.serialize_keras_object(getattr(model, part)) for part in parts}


def deserialize_parts(config: dict, parts: tuple[str, ...], custom_objects=None) -> dict:
    """The inverse of `serialize_parts`: a copy of `config` with the sub-models rebuilt."""
    config = dict(config)
    for part in parts:
        config[part] = keras.saving.deserialize_keras_object(
            config[part], custom_objects=custom_objects
        )
    return config
