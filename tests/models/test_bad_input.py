"""Bad arguments across the families: one ValueError naming the argument and the value.

Never a bare KeyError/TypeError and never a Keras-internal message about an inner layer.
"""

from __future__ import annotations

import pytest

import kerazoo

# One or two representatives per family.
MODELS = [
    "mnist_mlp", "lenet5", "mnist_cnn", "resnet20", "lstm_classifier", "gru_forecaster",
    "conv_autoencoder", "vae", "dcgan", "transformer_classifier",
]  # fmt: skip

COMMON = [
    ("num_classes", 0),
    ("dropout", -0.1),
    ("dropout", 1.0),
    ("activation", "nope"),
    ("kernel_initializer", "nope"),
    ("optimizer", "nope"),
    ("api", "foo"),
]

# Arguments that have no meaning for a model (forecasters and autoencoders have no
# classes; a GAN is two networks with their own settings). For these the zoo must still
# answer with a clear "does not take the argument" ValueError.
NOT_TAKEN = {
    ("gru_forecaster", "num_classes"),
    ("conv_autoencoder", "num_classes"),
    ("conv_autoencoder", "dropout"),
    ("vae", "num_classes"),
    ("vae", "dropout"),
    ("vae", "api"),
    ("dcgan", "num_classes"),
    ("dcgan", "activation"),  # generator and discriminator take their own activations
    ("dcgan", "optimizer"),  # d_optimizer and g_optimizer
    ("dcgan", "api"),
}

SHAPES = [
    ("mnist_mlp", "input_shape", ()),
    ("lenet5", "input_shape", (8, 8, 1)),
    ("lenet5", "input_shape", (28, 28)),
    ("mnist_cnn", "input_shape", (2, 2, 1)),
    ("mnist_cnn", "input_shape", (28, 28, 1, 1)),
    ("resnet20", "input_shape", (8, 8, 3)),
    ("resnet20", "input_shape", (32, 32)),
    ("gru_forecaster", "input_shape", (24,)),
    ("conv_autoencoder", "input_shape", (28, 28)),
    ("conv_autoencoder", "input_shape", (2, 2, 1)),
    ("vae", "input_shape", (28, 28)),
    ("dcgan", "image_shape", (28, 28)),
    ("dcgan", "image_shape", (30, 30, 1)),
    ("lstm_classifier", "sequence_length", 0),
    ("transformer_classifier", "sequence_length", 0),
]


def _assert_clear(err: ValueError, arg: str, value) -> None:
    message = str(err)
    assert f"Received: {arg}={value!r}" in message, message
    assert "Exception encountered" not in message  # not a Keras error from inside a layer


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("arg, value", COMMON)
def test_common_bad_arguments(name, arg, value):
    with pytest.raises(ValueError) as err:
        kerazoo.create_model(name, **{arg: value})
    _assert_clear(err.value, arg, value)
    if (name, arg) in NOT_TAKEN:
        assert "does not take the argument" in str(err.value)
    else:
        assert "does not take the argument" not in str(err.value), f"{name} ignores {arg}"


@pytest.mark.parametrize("name, arg, value", SHAPES)
def test_bad_shapes(name, arg, value):
    with pytest.raises(ValueError) as err:
        kerazoo.create_model(name, **{arg: value})
    _assert_clear(err.value, arg, value)


def test_unknown_model_name():
    with pytest.raises(ValueError, match=r"Unknown model name.*Received: name='resnet_20'"):
        kerazoo.create_model("resnet_20")
