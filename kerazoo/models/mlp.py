"""Multi-layer perceptrons: neurons, layers, activations, initializers and regularization.

The feed-forward network of the basics courses: every hidden layer computes
`activation(x @ W + b)`; the head decides the task (softmax classes, one sigmoid unit for
binary classification, one linear unit for regression).
"""

from __future__ import annotations

import keras

from kerazoo.models import _common as c
from kerazoo.registry import register_model

HEADS = ("classification", "binary", "regression")


@register_model(
    family="mlp",
    task="classification",
    description="Fully connected classifier: flatten, one hidden ReLU layer of 128, softmax.",
    reference="Rumelhart, Hinton & Williams 1986, 'Learning representations by back-propagating errors'",
    datasets=("mnist", "fashion_mnist"),
    inputs=("input_shape", "num_classes"),
    metrics=("accuracy",),
)
def mlp(
    *,
    input_shape: tuple = (28, 28, 1),
    hidden_units=(128,),
    num_classes: int = 10,
    head: str = "classification",
    activation="relu",
    output_activation=None,
    dropout: float = 0.0,
    kernel_initializer="glorot_uniform",
    l2: float = 0.0,
    batchnorm: bool = False,
    shift: float = 0.0,
    api: str = "sequential",
    optimizer="adam",
    learning_rate: float | None = None,
    compile: bool = True,
    name: str = "mlp",
) -> keras.Model:
    """A fully connected network: `input -> [Dense -> (BatchNorm) -> act -> (Dropout)]* -> head`.

    Args:
        input_shape: shape of one example; inputs of rank > 1 (images) are flattened first.
        hidden_units: width of each hidden layer, e.g. `(128, 64)`; `()` gives a linear or
            logistic model.
        num_classes: classes for `head="classification"`; ignored by the other heads.
        head: `"classification"` (softmax over `num_classes`), `"binary"` (one sigmoid unit)
            or `"regression"` (one linear unit).
        activation: hidden activation: `"relu"`, `"sigmoid"`, `"tanh"`, `"gelu"`, ...
        output_activation: override of the head's activation (default: softmax, sigmoid,
            linear by head).
        dropout: dropout rate after each hidden layer, in [0, 1).
        kernel_initializer: `"glorot_uniform"` (alias `"xavier"`), `"he_normal"` (`"he"`),
            `"random_uniform"` (`"uniform"`), or any Keras initializer.
        l2: L2 weight-decay factor on every kernel (0 disables it).
        batchnorm: add BatchNormalization before each hidden activation.
        shift: images only; while training, shift each image at random by up to this
            fraction of its height and width (`keras.layers.RandomTranslation`, filled with
            0; inactive at inference): a network without convolutions learns that a digit
            moved by two pixels is the same digit. 0 disables it.
        api: `"sequential"` or `"functional"`: the same layers either way.
        optimizer: `"adam"`, `"sgd"`, `"rmsprop"`, `"adamw"` or an optimizer instance.
        learning_rate: learning rate for a named optimizer (its default when None).
        compile: compile with the head's loss and metrics; False returns the raw model.
        name: model name.

    Returns:
        A `keras.Model`.

    Raises:
        ValueError: for any invalid argument, naming it and the received value.

    Example:

    ```python
    model = mlp(input_shape=(10,), hidden_units=(64, 32), head="binary")
    ```
    """
    c.check_choice(head, "head", HEADS)
    shape = tuple(input_shape) if isinstance(input_shape, list | tuple) else input_shape
    if not isinstance(shape, tuple) or not shape:
        raise ValueError(
            f"input_shape must be a non-empty tuple of positive integers. "
            f"Received: input_shape={input_shape!r}"
        )
    shape = c.check_input_shape(shape, rank=len(shape), model=name)
    hidden_units = c.check_units(hidden_units)
    if head == "classification":
        c.check_num_classes(num_classes, minimum=2)
    activation = c.check_activation(activation)
    if output_activation is not None:
        output_activation = c.check_activation(output_activation, "output_activation")
    dropout = c.check_rate(dropout)
    init = c.check_initializer(kernel_initializer)
    reg = c.l2_regularizer(l2)
    c.check_api(api, model=name)

    shift = c.check_rate(shift, "shift")
    if shift and len(shape) != 3:
        raise ValueError(
            f"shift moves images; {name} takes inputs of shape {shape}. Received: shift={shift!r}"
        )

    layers = []
    if shift:
        layers.append(
            keras.layers.RandomTranslation(shift, shift, fill_mode="constant", name="shift")
        )
    if len(shape) > 1:
        layers.append(keras.layers.Flatten(name="flatten"))
    layers += c.dense_layers(
        hidden_units,
        activation=activation,
        batchnorm=batchnorm,
        dropout=dropout,
        kernel_initializer=init,
        kernel_regularizer=reg,
    )

    units, default_act, task = {
        "classification": (num_classes, "softmax", "classification"),
        "binary": (1, "sigmoid", "binary"),
        "regression": (1, "linear", "regression"),
    }[head]
    layers.append(
        keras.layers.Dense(
            units,
            activation=output_activation or default_act,
            kernel_initializer=init,
            kernel_regularizer=reg,
            dtype=c.OUTPUT_DTYPE,
            name="output",
        )
    )
    model = c.assemble(layers, input_shape=shape, api=api, name=name)
    return c.compile_for_task(
        model, task, compile=compile, optimizer=optimizer, learning_rate=learning_rate
    )


mnist_mlp = register_model(
    name="mnist_mlp",
    base=mlp,
    preset={"hidden_units": (512, 256), "dropout": 0.2, "shift": 0.1, "name": "mnist_mlp"},
    description="MNIST MLP preset: 512-256 ReLU hidden layers, dropout 0.2, training images "
    "shifted at random by up to 10%.",
    reference="Keras example 'mnist_mlp' (after Simard et al. 2003)",
    datasets=("mnist", "fashion_mnist"),
)

binary_mlp = register_model(
    name="binary_mlp",
    base=mlp,
    preset={"input_shape": (10,), "hidden_units": (64, 32), "head": "binary", "name": "binary_mlp"},
    description="The basics-course binary classifier: 10 inputs, 64-32 ReLU, 1 sigmoid unit.",
    reference="Deep-learning-basics lesson 40: Sequential Dense(64)-Dense(32)-Dense(1, sigmoid)",
    datasets=("breast_cancer",),
    inputs=("input_shape",),
)

regression_mlp = register_model(
    name="regression_mlp",
    base=mlp,
    preset={
        "input_shape": (10,),
        "hidden_units": (32,),
        "head": "regression",
        "name": "regression_mlp",
    },
    task="regression",
    description="The basics-course regressor: 10 inputs, 32 ReLU, 1 linear output.",
    reference="Deep-learning-basics lesson 3: SimpleNN Linear(10, 32)-ReLU-Linear(32, 1)",
    datasets=("diabetes",),
    inputs=("input_shape",),
    metrics=("mae",),
)

# One neuron: `hidden_units=()` leaves only the head, `sigmoid(x . w + b)`. Two inputs by
# default so that its decision line can be drawn (the course's `neuron` lesson); a
# dataset with more columns gives it one weight per column.
perceptron = register_model(
    name="perceptron",
    base=mlp,
    preset={"input_shape": (2,), "hidden_units": (), "head": "binary", "name": "perceptron"},
    description="A single neuron: sigmoid(w . x + b), one weight per input feature and a bias.",
    reference="Rosenblatt 1958, 'The perceptron'; logistic regression (Cox 1958)",
    datasets=("breast_cancer",),
    inputs=("input_shape",),
)

# The seeds' first network: nn.Linear(1, 5) -> ReLU -> nn.Linear(5, 1), fitted to y = 2x
# (the `forward_backprop` lesson trains it by hand). A table with more columns gives it
# more inputs.
tiny_regressor = register_model(
    name="tiny_regressor",
    base=mlp,
    preset={
        "input_shape": (1,),
        "hidden_units": (5,),
        "head": "regression",
        "name": "tiny_regressor",
    },
    task="regression",
    description="The seeds' 1-5-1 regressor: 1 input, 5 ReLU units, 1 linear output.",
    reference="Deep-learning-basics course: Linear(1, 5)-ReLU-Linear(5, 1) learning y = 2x",
    datasets=("diabetes",),
    inputs=("input_shape",),
    metrics=("mae",),
)
