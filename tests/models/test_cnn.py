"""CNN family: LeNet-5 as in the paper, the generic convnet's geometry, and real learning."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import realdata

from kerazoo import registry
from kerazoo.models.cnn import cnn, fashion_cnn, lenet5, mnist_cnn

# LeNet-5, fully connected C3: C1 156 + C3 2,416 + C5 48,120 + F6 10,164 + output 850.
LENET5_PARAMS = 61_706


@pytest.mark.parametrize("input_shape", [(28, 28, 1), (32, 32, 1)])
@pytest.mark.parametrize("api", ["sequential", "functional"])
def test_lenet5_has_the_papers_parameter_count(input_shape, api):
    assert lenet5(input_shape=input_shape, api=api, compile=False).count_params() == LENET5_PARAMS


@pytest.mark.parametrize("input_shape", [(28, 28, 1), (32, 32, 1)])
def test_lenet5_layers_have_the_papers_sizes(input_shape):
    model = lenet5(input_shape=input_shape, compile=False)
    sizes = {
        name: model.get_layer(name).output.shape[1:] for name in ("c1", "s2", "c3", "s4", "c5")
    }
    assert sizes == {
        "c1": (28, 28, 6),
        "s2": (14, 14, 6),
        "c3": (10, 10, 16),
        "s4": (5, 5, 16),
        "c5": (1, 1, 120),
    }
    # C3 sees all six S2 maps (not the paper's sparse table): one 5x5x6 kernel per map.
    assert tuple(model.get_layer("c3").kernel.shape) == (5, 5, 6, 16)
    assert model.get_layer("f6").units == 84
    assert isinstance(model.get_layer("s2"), keras.layers.AveragePooling2D)
    assert model.get_layer("c1").activation is keras.activations.tanh
    assert model.get_layer("c1").padding == ("same" if input_shape[0] == 28 else "valid")
    assert model.output_shape == (None, 10)


def test_lenet5_activation_and_pooling_can_be_modernised():
    model = lenet5(activation="relu", pool="max", compile=False)
    assert model.get_layer("c3").activation is keras.activations.relu
    assert isinstance(model.get_layer("s4"), keras.layers.MaxPooling2D)
    assert model.count_params() == LENET5_PARAMS


@pytest.mark.parametrize("input_shape", [(27, 27, 1), (28, 20, 1), (8, 8, 3)])
def test_lenet5_rejects_inputs_smaller_than_28(input_shape):
    with pytest.raises(ValueError, match=r"input_shape.*Received: input_shape="):
        lenet5(input_shape=input_shape)


def test_cnn_block_structure():
    model = cnn(
        filters=(8, 16, 32),
        convs_per_block=2,
        batchnorm=True,
        pool="avg",
        dense_units=(20, 10),
        conv_dropout=0.25,
        compile=False,
    )
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv2D") == 6
    assert kinds.count("BatchNormalization") == 8  # 6 convs + 2 hidden dense layers
    assert kinds.count("AveragePooling2D") == 3
    assert kinds.count("Dropout") == 3 + 2
    # BN replaces the bias of the layer it follows, and its moving statistics follow the
    # weights quickly enough for short runs.
    assert not model.get_layer("conv_2_1").use_bias
    assert model.get_layer("batchnorm_2_1").momentum == pytest.approx(0.9)
    assert model.get_layer("pool_3").output.shape[1:] == (3, 3, 32)


def test_cnn_without_dense_layers_is_conv_then_softmax():
    model = cnn(filters=(4,), dense_units=(), dropout=0.0, compile=False)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
    ]


@pytest.mark.parametrize(
    "kwargs, smallest",
    [
        ({"filters": (8, 8, 8, 8), "input_shape": (8, 8, 1)}, 16),
        (
            {"filters": (8, 8), "input_shape": (9, 9, 1), "padding": "valid", "convs_per_block": 2},
            16,
        ),
        ({"filters": (8, 8, 8), "input_shape": (32, 7, 1)}, 8),
    ],
)
def test_cnn_rejects_input_too_small_for_its_pooling_stages(kwargs, smallest):
    with pytest.raises(ValueError, match=rf">= {smallest}\. Received: input_shape="):
        cnn(**kwargs)
    # The smallest size named in the message does build.
    cnn(**(kwargs | {"input_shape": (smallest, smallest, 1)}), compile=False)


@pytest.mark.parametrize(
    "arg, value",
    [
        ("filters", ()),
        ("filters", (32, 0)),
        ("kernel_size", 0),
        ("convs_per_block", 0),
        ("padding", "full"),
        ("pool", "min"),
        ("dense_units", (-1,)),
        ("conv_dropout", 1.0),
        ("l2", -1.0),
        ("num_classes", 1),
    ],
)
def test_cnn_bad_arguments_name_the_argument(arg, value):
    with pytest.raises(ValueError, match=rf"Received: {arg}="):
        cnn(**{arg: value})


@pytest.mark.parametrize("factory", [lenet5, mnist_cnn])
def test_sequential_and_functional_give_identical_predictions(factory):
    sequential = factory(api="sequential", compile=False)
    functional = factory(api="functional", compile=False)
    assert isinstance(sequential, keras.Sequential)
    assert not isinstance(functional, keras.Sequential)
    functional.set_weights(sequential.get_weights())
    x, _ = realdata.mnist_digits(64)
    np.testing.assert_allclose(
        functional.predict(x, verbose=0), sequential.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_presets_are_registered_with_their_datasets():
    expected = {
        "cnn": ("mnist", "fashion_mnist", "mnist_sample"),
        "lenet5": ("mnist", "fashion_mnist", "mnist_sample"),
        "mnist_cnn": ("mnist", "mnist_sample", "fashion_mnist"),
        "fashion_cnn": ("fashion_mnist",),
    }
    for name, datasets in expected.items():
        spec = registry.get_spec(name)
        assert (spec.family, spec.task, spec.datasets) == ("cnn", "classification", datasets)
    assert mnist_cnn().name == "mnist_cnn" and fashion_cnn().name == "fashion_cnn"


def test_presets_architecture():
    model = mnist_cnn(compile=False)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [conv.filters for conv in convs] == [32, 64]
    assert model.get_layer("pool_2").output.shape[1:] == (7, 7, 64)
    assert model.get_layer("dropout_1").rate == pytest.approx(0.5)
    assert model.count_params() == 422_314
    fashion = fashion_cnn(compile=False)
    assert [type(layer) for layer in fashion.layers] == [type(layer) for layer in model.layers]
    assert fashion.count_params() == model.count_params()


@pytest.mark.parametrize("factory, epochs, floor", [(mnist_cnn, 2, 0.85), (lenet5, 3, 0.8)])
def test_learns_real_digits(factory, epochs, floor):
    x, y = realdata.mnist_digits(1500)
    model = factory()
    model.fit(x[:1000], y[:1000], epochs=epochs, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x[1000:], y[1000:], verbose=0)
    assert accuracy > floor  # chance is 0.1; measured 0.93-0.95 (mnist_cnn), 0.88-0.89 (lenet5)


def test_alexnet_small_starts_with_a_large_strided_kernel():
    from kerazoo.models.cnn import alexnet_small

    model = alexnet_small(compile=False)
    first = model.get_layer("conv_1")
    assert first.kernel_size == (5, 5) and first.strides == (2, 2)
    assert model.get_layer("conv_2").kernel_size == (3, 3)
    assert model.get_layer("conv_2").strides == (1, 1)
    assert [model.get_layer(f"dense_{i}").units for i in (1, 2)] == [256, 256]
    assert model.count_params() == 504_842
    assert alexnet_small(input_shape=(32, 32, 3), compile=False).output_shape == (None, 10)


def test_vgg_small_stacks_two_3x3_convs_per_block():
    from kerazoo.models.cnn import vgg_small

    model = vgg_small(compile=False)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.name for c in convs] == [f"conv_{b}_{k}" for b in (1, 2, 3) for k in (1, 2)]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert model.count_params() == 649_962


def test_the_first_conv_arguments_are_checked_and_change_nothing_by_default():
    assert (
        cnn(compile=False).count_params()
        == cnn(first_kernel_size=3, first_strides=1, compile=False).count_params()
    )
    with pytest.raises(ValueError, match=r"Received: first_strides=0"):
        cnn(first_strides=0)
    with pytest.raises(ValueError, match=r"Received: first_kernel_size='big'"):
        cnn(first_kernel_size="big")
    # The stride counts as a halving ("same" padding rounds up): 3 blocks after a stride of
    # 2 need 15 pixels (15 -> 8 -> 4 -> 2 -> 1).
    with pytest.raises(ValueError, match=r">= 15\. Received: input_shape="):
        cnn(filters=(4, 4, 4), first_strides=2, input_shape=(14, 14, 1))
    cnn(filters=(4, 4, 4), first_strides=2, input_shape=(15, 15, 1), compile=False)
