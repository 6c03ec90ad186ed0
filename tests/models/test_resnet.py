"""ResNet family: the paper's depths and parameter counts, option-A shortcuts, ChannelPad."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import realdata

from kerazoo import registry
from kerazoo.models import resnet as resnet_module
from kerazoo.models.resnet import ChannelPad, resnet, resnet8, resnet20

# He et al. 2016, Table 6: parameters of the CIFAR-10 ResNets, in millions.
PAPER_PARAMS_M = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85}


def _trainable(model) -> int:
    # The paper counts learned weights; BatchNorm's moving statistics are not parameters.
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _weighted_layers(model) -> list:
    return [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense)
    ]


@pytest.mark.parametrize("depth", sorted(resnet_module.DEPTHS))
def test_depth_is_6n_plus_2_weighted_layers(depth):
    model = registry.create_model(f"resnet{depth}", compile=False)
    assert model.name == f"resnet{depth}"
    assert len(_weighted_layers(model)) == depth
    n = resnet_module.DEPTHS[depth]
    assert depth == 6 * n + 2
    # Option A: every conv is 3x3 (no 1x1 projection shortcuts), and only the two stage
    # transitions pad channels.
    assert all(layer.kernel_size == (3, 3) for layer in _weighted_layers(model)[:-1])
    assert sum(isinstance(layer, ChannelPad) for layer in model.layers) == 2
    if depth in PAPER_PARAMS_M:
        assert round(_trainable(model) / 1e6, 2) == PAPER_PARAMS_M[depth]


def test_stages_halve_the_image_and_double_the_filters():
    model = resnet20(compile=False)
    assert model.get_layer("stem_act").output.shape[1:] == (32, 32, 16)
    assert model.get_layer("stage1_block3_out").output.shape[1:] == (32, 32, 16)
    assert model.get_layer("stage2_block1_out").output.shape[1:] == (16, 16, 32)
    assert model.get_layer("stage3_block3_out").output.shape[1:] == (8, 8, 64)
    assert model.get_layer("stage2_block1_conv1").strides == (2, 2)
    assert model.get_layer("stage2_block2_conv1").strides == (1, 1)
    assert isinstance(model.get_layer("avg_pool"), keras.layers.GlobalAveragePooling2D)
    assert model.output_shape == (None, 10)


def test_batchnorm_follows_every_conv_before_the_activation():
    model = resnet8(compile=False)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    for conv in convs:
        bn = model.get_layer(conv.name.replace("conv", "bn"))
        assert isinstance(bn, keras.layers.BatchNormalization)
        assert bn.input is conv.output
        assert bn.momentum == pytest.approx(0.9)
        assert not conv.use_bias
        assert type(conv.kernel_initializer).__name__ == "HeNormal"


def test_weight_decay_is_the_papers_and_can_be_changed():
    default = resnet8(compile=False)
    assert default.get_layer("stem_conv").kernel_regularizer.l2 == pytest.approx(1e-4)
    assert default.get_layer("output").kernel_regularizer.l2 == pytest.approx(1e-4)
    assert resnet8(l2=0.0, compile=False).get_layer("stem_conv").kernel_regularizer is None


@pytest.mark.parametrize("input_shape", [(28, 28, 1), (40, 36, 5), (29, 31, 2)])
def test_any_input_from_28_pixels_and_any_channels(input_shape):
    model = resnet8(input_shape=input_shape, num_classes=4, compile=False)
    assert model.input_shape == (None, *input_shape)
    assert model.output_shape == (None, 4)
    x = realdata.as_images(realdata.mnist_digits(2)[0], input_shape)
    assert model.predict(x, verbose=0).shape == (2, 4)


@pytest.mark.parametrize("input_shape", [(27, 27, 3), (32, 20, 3)])
def test_rejects_inputs_smaller_than_28(input_shape):
    with pytest.raises(ValueError, match=r"input_shape.*Received: input_shape="):
        resnet20(input_shape=input_shape)


@pytest.mark.parametrize("depth", [0, 7, 9, 21, 110.0, "20", True, None])
def test_rejects_depths_that_are_not_6n_plus_2(depth):
    with pytest.raises(ValueError, match=rf"6n\+2.*Received: depth={depth!r}"):
        resnet(depth=depth)


def test_named_depths_are_fixed():
    with pytest.raises(ValueError, match=r"resnet\(depth=.*Received: depth=32"):
        resnet20(depth=32)
    assert resnet(depth=26, compile=False).name == "resnet26"  # any 6n+2 via the factory


def test_sequential_api_is_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"skip connections.*Received: api='sequential'"):
        resnet20(api="sequential")


def test_default_optimizer_is_adam_and_the_papers_sgd_is_available():
    assert isinstance(resnet8().optimizer, keras.optimizers.Adam)
    sgd = resnet8(optimizer="sgd", learning_rate=0.1).optimizer
    assert isinstance(sgd, keras.optimizers.SGD)
    assert float(sgd.momentum) == pytest.approx(0.9)
    assert float(sgd.learning_rate) == pytest.approx(0.1)


def test_channel_pad_adds_zero_channels_around_real_images():
    x, _ = realdata.mnist_digits(3)
    layer = ChannelPad((2, 3))
    y = keras.ops.convert_to_numpy(layer(x))
    assert y.shape == (3, 28, 28, 6)
    np.testing.assert_array_equal(y[..., 2:3], x)
    assert not y[..., :2].any() and not y[..., 3:].any()
    assert layer.compute_output_shape((None, 28, 28, 1)) == (None, 28, 28, 6)
    assert ChannelPad(5).pad == (2, 3)
    assert layer.count_params() == 0


def test_channel_pad_config_round_trip():
    layer = ChannelPad((1, 4), name="pad")
    clone = ChannelPad.from_config(layer.get_config())
    assert clone.pad == (1, 4) and clone.name == "pad"
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(revived, ChannelPad) and revived.pad == (1, 4)


@pytest.mark.parametrize("pad", [-1, (1,), (1, -2), "2", (1.5, 1)])
def test_channel_pad_rejects_bad_padding(pad):
    with pytest.raises(ValueError, match=r"Received: pad="):
        ChannelPad(pad)


def test_saved_resnet_reloads_with_safe_mode(tmp_path):
    model = resnet8(**registry.get_spec("resnet8").tiny, compile=False)
    x, _ = realdata.mnist_digits(8)
    path = tmp_path / "resnet8.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.get_layer("stage2_block1_pad"), ChannelPad)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_tiny_configs_keep_the_depth():
    for depth in resnet_module.DEPTHS:
        spec = registry.get_spec(f"resnet{depth}")
        assert spec.family == "resnet" and "depth" not in spec.tiny
    tiny56 = registry.create_model("resnet56", **registry.get_spec("resnet56").tiny)
    assert len(_weighted_layers(tiny56)) == 56
    assert tiny56.count_params() < 60_000


def test_resnet8_learns_real_digits():
    x, y = realdata.mnist_digits(1500)
    model = resnet8(input_shape=(28, 28, 1), base_filters=8, learning_rate=3e-3)
    model.fit(x[:1000], y[:1000], epochs=3, batch_size=16, verbose=0)
    # Evaluated in inference mode: BatchNorm's moving statistics must have caught up too
    # (with Keras's default momentum 0.99 this gave 0.15 while training accuracy was 0.8).
    _, accuracy = model.evaluate(x[1000:], y[1000:], verbose=0)
    assert accuracy > 0.6  # chance is 0.1; measured 0.79-0.84 over two seeds
