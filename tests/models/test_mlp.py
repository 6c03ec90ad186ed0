"""MLP family: heads, activations, initializers, regularization, and real-data learning."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerazoo.data import tabular
from kerazoo.models.mlp import binary_mlp, mlp, mnist_mlp, regression_mlp
from tests import realdata


def _standardize(train, test):
    mean, std = train.mean(0), train.std(0)
    return (train - mean) / std, (test - mean) / std


def test_the_basics_course_nets_have_the_classic_shapes():
    binary = binary_mlp()
    assert [layer.units for layer in binary.layers if isinstance(layer, keras.layers.Dense)] == [
        64,
        32,
        1,
    ]
    assert binary.layers[-1].activation.__name__ == "sigmoid"
    assert binary.count_params() == 10 * 64 + 64 + 64 * 32 + 32 + 32 + 1
    regressor = regression_mlp()
    assert regressor.count_params() == 10 * 32 + 32 + 32 + 1
    assert regressor.layers[-1].activation.__name__ == "linear"
    assert regressor.loss == "mse"


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "gelu", "elu", "selu", "swish"])
def test_hidden_activation_is_applied(activation):
    model = mlp(input_shape=(4,), hidden_units=(3,), activation=activation, compile=False)
    assert model.get_layer("dense_1").activation is keras.activations.get(activation)


@pytest.mark.parametrize(
    "alias, keras_class",
    [
        ("xavier", "GlorotUniform"),
        ("he", "HeNormal"),
        ("uniform", "RandomUniform"),
        ("lecun_normal", "LecunNormal"),
    ],
)
def test_initializer_aliases(alias, keras_class):
    model = mlp(input_shape=(4,), hidden_units=(3,), kernel_initializer=alias, compile=False)
    assert type(model.get_layer("dense_1").kernel_initializer).__name__ == keras_class


def test_regularization_options_add_layers_and_losses():
    model = mlp(
        input_shape=(4,), hidden_units=(8, 8), dropout=0.5, l2=1e-3, batchnorm=True, compile=False
    )
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("BatchNormalization") == 2 and kinds.count("Dropout") == 2
    x = np.ones((2, 4), "float32")
    model(x)
    assert len(model.losses) == 3  # one L2 penalty per Dense kernel


def test_image_inputs_are_flattened():
    model = mnist_mlp(compile=False, shift=0.0)
    assert isinstance(model.layers[0], keras.layers.Flatten)
    assert model.output_shape == (None, 10)


def test_shift_moves_training_images_only():
    model = mnist_mlp(compile=False)  # the preset shifts by up to 10%
    assert isinstance(model.layers[0], keras.layers.RandomTranslation)
    x, _ = realdata.mnist_digits(8)
    shift = model.get_layer("shift")
    np.testing.assert_array_equal(np.asarray(shift(x, training=False)), x)
    assert not np.allclose(np.asarray(shift(x, training=True)), x)
    with pytest.raises(ValueError, match="shift moves images"):
        mlp(input_shape=(10,), shift=0.1)


def test_binary_mlp_learns_real_breast_cancer_diagnoses():
    x, y, _ = tabular.breast_cancer()
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    x_train, x_test = _standardize(x[:400], x[400:])
    model = binary_mlp()
    model.fit(x_train, y[:400], epochs=20, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y[400:], verbose=0)
    assert accuracy > 0.88  # majority class is ~0.63


def test_regression_mlp_beats_the_mean_on_real_diabetes_scores():
    x, y, _ = tabular.diabetes()
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], (y[order] - y.mean()) / y.std()
    x_train, x_test = _standardize(x[:350], x[350:])
    model = regression_mlp(learning_rate=0.01)
    model.fit(x_train, y[:350], epochs=40, batch_size=32, verbose=0)
    mse = model.evaluate(x_test, y[350:], verbose=0)[0]
    baseline = float(np.mean((y[350:] - y[:350].mean()) ** 2))
    assert mse < 0.75 * baseline


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"head": "ranking"}, "Received: head='ranking'"),
        ({"hidden_units": (64, 0)}, "Received: hidden_units=(64, 0)"),
        ({"hidden_units": "64"}, "Received: hidden_units='64'"),
        ({"input_shape": ()}, "Received: input_shape=()"),
        ({"l2": -1}, "Received: l2=-1"),
        ({"learning_rate": 0}, "Received: learning_rate=0"),
        ({"num_classes": 1}, "Received: num_classes=1"),
    ],
)
def test_mlp_specific_bad_input(kwargs, message):
    with pytest.raises(ValueError) as err:
        mlp(**kwargs)
    assert message in str(err.value)


def test_perceptron_and_tiny_regressor_are_the_course_nets():
    from kerazoo.models.mlp import perceptron, tiny_regressor

    neuron = perceptron()
    assert neuron.count_params() == 3  # w1, w2, b
    assert neuron.get_layer("output").activation.__name__ == "sigmoid"
    assert neuron.loss == "binary_crossentropy" or "binary" in str(neuron.loss).lower()
    seeds = tiny_regressor()
    assert [layer.units for layer in seeds.layers if isinstance(layer, keras.layers.Dense)] == [
        5,
        1,
    ]
    assert seeds.count_params() == 16  # Linear(1, 5) + Linear(5, 1)
    # A table with more columns gives one weight per column.
    assert perceptron(input_shape=(10,)).count_params() == 11


def test_perceptron_learns_two_real_measurements():
    x, y, names = tabular.breast_cancer()
    assert list(names[:2]) == ["mean radius", "mean texture"]
    x = x[:, :2]
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    x_train, x_test = _standardize(x[:450], x[450:])
    keras.utils.set_random_seed(0)
    from kerazoo.models.mlp import perceptron

    model = perceptron(optimizer="sgd", learning_rate=0.1)
    model.fit(x_train, y[:450], epochs=15, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y[450:], verbose=0)
    assert accuracy > 0.8
