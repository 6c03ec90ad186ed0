"""The CIFAR ResNets of He et al. 2016: residual blocks with identity shortcuts.

A residual block learns a correction `F(x)` added to its input, `y = relu(x + F(x))`, so
an extra block can start as the identity and deep plain stacks stop getting worse with
depth. Section 4.2 of the paper builds 6n+2-layer networks for 32x32 images: a 3x3 conv,
three stages of n two-conv blocks at 16, 32 and 64 filters (halving the image between
stages), global average pooling and a softmax.
"""

from __future__ import annotations

import keras

from kerazoo.models import _common as c
from kerazoo.models.batchnorm import BatchNormalization
from kerazoo.registry import register_model

# Blocks per stage n -> depth 6n + 2, as in the paper's Table 6.
DEPTHS = {8: 1, 14: 2, 20: 3, 32: 5, 44: 7, 56: 9}


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@keras.saving.register_keras_serializable(package="kerazoo")
class ChannelPad(keras.layers.Layer):
    """Zero-pads the channel axis of a channels-last tensor.

    The paper's parameter-free shortcut "option A": where a stage doubles the filters,
    the shortcut adds zero channels instead of learning a 1x1 projection.

    Args:
        pad: `(before, after)` numbers of zero channels, or an int split as evenly as
            possible with the extra one after.
    """

    def __init__(self, pad, **kwargs):
        super().__init__(**kwargs)
        pair = (pad // 2, pad - pad // 2) if _is_count(pad) else pad
        if not isinstance(pair, list | tuple) or len(pair) != 2 or not all(map(_is_count, pair)):
            raise ValueError(
                "pad must be an int >= 0 or a pair (before, after) of ints >= 0. "
                f"Received: pad={pad!r}"
            )
        self.pad = tuple(pair)

    def call(self, inputs):
        widths = [[0, 0]] * (len(inputs.shape) - 1) + [list(self.pad)]
        return keras.ops.pad(inputs, widths)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        if channels is not None:
            channels += sum(self.pad)
        return (*input_shape[:-1], channels)

    def get_config(self):
        return super().get_config() | {"pad": list(self.pad)}


def _conv(filters: int, strides: int, *, init, reg, name: str):
    # No bias: the BatchNormalization right after supplies the shift.
    return keras.layers.Conv2D(
        filters,
        3,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer=init,
        kernel_regularizer=reg,
        name=name,
    )


def _basic_block(x, filters: int, strides: int, *, activation, init, reg, name: str):
    """conv-BN-act-conv-BN, added to the shortcut, then act (the paper's Fig. 2)."""
    shortcut = x
    y = _conv(filters, strides, init=init, reg=reg, name=f"{name}_conv1")(x)
    y = BatchNormalization(momentum=c.BN_MOMENTUM, name=f"{name}_bn1")(y)
    y = keras.layers.Activation(activation, name=f"{name}_act1")(y)
    y = _conv(filters, 1, init=init, reg=reg, name=f"{name}_conv2")(y)
    y = BatchNormalization(momentum=c.BN_MOMENTUM, name=f"{name}_bn2")(y)
    if strides > 1:
        # A 1x1 max pool with stride 2 keeps every other pixel: the paper's subsampling.
        shortcut = keras.layers.MaxPooling2D(1, strides=strides, name=f"{name}_subsample")(shortcut)
    if shortcut.shape[-1] != filters:
        shortcut = ChannelPad(filters - shortcut.shape[-1], name=f"{name}_pad")(shortcut)
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.Activation(activation, name=f"{name}_out")(y)


def resnet(
    *,
    depth: int = 20,
    input_shape: tuple = (32, 32, 3),
    num_classes: int = 10,
    base_filters: int = 16,
    activation="relu",
    dropout: float = 0.0,
    kernel_initializer="he_normal",
    l2: float = 1e-4,
    api: str = "functional",
    optimizer="adam",
    learning_rate: float | None = None,
    compile: bool = True,
    name: str | None = None,
) -> keras.Model:
    """A CIFAR ResNet of depth 6n+2 (He et al. 2016, section 4.2), option-A shortcuts.

    Layers: 3x3 conv with `base_filters` filters, BN, ReLU; three stages of n basic blocks
    with `base_filters` x 1, 2, 4 filters, the first block of stages 2 and 3 using stride 2;
    global average pooling; softmax. Every conv is followed by BatchNormalization before
    its activation. Shortcuts are identities; where a stage halves the image and doubles
    the filters, the shortcut subsamples by 2 and zero-pads the new channels (option A,
    no parameters), so the parameter counts match the paper's Table 6 (resnet20 0.27M,
    resnet32 0.46M, resnet44 0.66M, resnet56 0.85M).

    The paper trains with SGD, momentum 0.9, learning rate 0.1 divided by 10 at 32k and 48k
    iterations, weight decay 1e-4, batch 128, for 64k iterations with flip-and-crop
    augmentation. For the short runs of a course Adam is more forgiving, so it is the
    default here; pass `optimizer="sgd", learning_rate=0.1` for the paper's setting. Keras's
    `L2(l2)` adds `l2 * sum(w**2)` to the loss, a decay of `2 * l2 * w` per step, so the
    default `l2=1e-4` (as in Keras's own CIFAR ResNet example) decays twice as fast as the
    paper's SGD weight decay 1e-4; `l2=5e-5` matches it exactly. BatchNorm keeps its
    moving statistics with momentum 0.9 (Torch's default) so that short runs evaluate well.

    Args:
        depth: number of weighted layers, 6n+2: 8, 14, 20, 32, 44, 56, 110, ...
        input_shape: `(height, width, channels)`, at least 28x28, any number of channels.
        num_classes: number of classes of the softmax output (>= 2).
        base_filters: filters of the first stage (16 in the paper); the next stages have
            two and four times as many. Smaller values give quick, narrow test models.
        activation: activation after each BatchNormalization and each addition.
        dropout: dropout rate before the softmax layer, in [0, 1); 0 (none) in the paper.
        kernel_initializer: initializer of every kernel; the paper uses `"he_normal"`.
        l2: L2 weight-decay factor on every kernel; the paper's 1e-4 by default.
        api: only `"functional"`: the shortcuts need the functional API.
        optimizer: `"adam"`, `"sgd"`, `"rmsprop"`, `"adamw"` or an optimizer instance.
        learning_rate: learning rate for a named optimizer (its default when None).
        compile: compile with sparse categorical cross-entropy and accuracy; False returns
            the raw model.
        name: model name; `f"resnet{depth}"` when None.

    Returns:
        A functional `keras.Model`.

    Raises:
        ValueError: for any invalid argument, naming it and the received value: a depth
            that is not 6n+2, an input smaller than 28x28, `api="sequential"`, ...

    Example:

    ```python
    model = resnet(depth=32, input_shape=(32, 32, 3), num_classes=100)
    ```
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(
            "depth must be 6n+2 for an integer n >= 1 (8, 14, 20, 32, 44, 56, 110, ...). "
            f"Received: depth={depth!r}"
        )
    blocks = (depth - 2) // 6
    name = f"resnet{depth}" if name is None else name
    shape = c.check_input_shape(
        input_shape, rank=3, model=name, min_size=28, layout="(height, width, channels)"
    )
    c.check_num_classes(num_classes, minimum=2)
    base_filters = c.check_positive_int(base_filters, "base_filters")
    activation = c.check_activation(activation)
    dropout = c.check_rate(dropout)
    init = c.check_initializer(kernel_initializer)
    reg = c.l2_regularizer(l2)
    c.check_api(api, model=name, functional_only="it has skip connections")

    inputs = keras.Input(shape=shape, name="input")
    x = _conv(base_filters, 1, init=init, reg=reg, name="stem_conv")(inputs)
    x = BatchNormalization(momentum=c.BN_MOMENTUM, name="stem_bn")(x)
    x = keras.layers.Activation(activation, name="stem_act")(x)
    for stage in range(3):
        filters = base_filters * 2**stage
        for block in range(blocks):
            strides = 2 if stage > 0 and block == 0 else 1
            x = _basic_block(
                x,
                filters,
                strides,
                activation=activation,
                init=init,
                reg=reg,
                name=f"stage{stage + 1}_block{block + 1}",
            )
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(
        num_classes,
        activation="softmax",
        kernel_initializer=init,
        kernel_regularizer=reg,
        dtype=c.OUTPUT_DTYPE,
        name="output",
    )(x)
    model = keras.Model(inputs, outputs, name=name)
    return c.compile_for_task(
        model, "classification", compile=compile, optimizer=optimizer, learning_rate=learning_rate
    )


def _register(depth: int):
    """Registers resnet{depth}: the builder with its depth fixed, one shared description."""
    return register_model(
        name=f"resnet{depth}",
        base=resnet,
        preset={"depth": depth, "name": f"resnet{depth}"},
        fixed=("depth",),
        family="resnet",
        task="classification",
        description=f"CIFAR ResNet-{depth}: {DEPTHS[depth]} basic block(s) per stage at "
        "16/32/64 filters, option-A shortcuts, global average pooling.",
        reference="He, Zhang, Ren & Sun 2016, 'Deep residual learning for image "
        "recognition', section 4.2",
        # CIFAR-10 is the paper's dataset, but it needs --download once, so an offline dataset
        # stays the default (the first): `kerazoo train resnet20` trains anywhere, and
        # `--dataset cifar10 --download` trains it as the paper did.
        datasets=("fashion_mnist", "cifar10", "mnist", "mnist_sample"),
        # Same depth and topology, a quarter of the width: 28x28 digits, < 60k parameters.
        tiny={"input_shape": (28, 28, 1), "num_classes": 10, "base_filters": 4},
        inputs=("input_shape", "num_classes"),
        metrics=("accuracy",),
    )


resnet8 = _register(8)
resnet14 = _register(14)
resnet20 = _register(20)
resnet32 = _register(32)
resnet44 = _register(44)
resnet56 = _register(56)
