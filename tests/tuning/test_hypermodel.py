"""`kerazoo.hypermodel`: the zoo's search space in a KerasTuner tuner of the user's own.

Real digits (400 of each split of the MNIST sample), one epoch per trial, small models.
"""

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf

import kerazoo
from kerazoo import registry
from kerazoo.tuning import spaces

CHANCE = 0.1  # ten digit classes


@pytest.fixture(scope="module")
def digits():
    # A seeded random 400 of each split (the sample's files are sorted by class), as floats
    # in [0, 1], as the zoo's models take them; Keras's fit shuffles the arrays.
    splits, info = kerazoo.data.load_arrays("mnist_sample", max_examples=400)
    assert info.input_shape == (28, 28, 1) and info.num_classes == 10
    assert all(len(np.unique(y)) == 10 for y in (splits.y_train, splits.y_val, splits.y_test))
    return (
        (splits.x_train, splits.y_train),
        (splits.x_val, splits.y_val),
        (splits.x_test, splits.y_test),
    )


def _random_search(hypermodel, tmp_path, *search_args, **search_kwargs):
    tuner = kt.RandomSearch(
        hypermodel, objective="val_accuracy", max_trials=2, seed=1, directory=tmp_path,
        project_name="search",
    )  # fmt: skip
    tuner.search(*search_args, epochs=1, verbose=0, **search_kwargs)
    trials = tuner.oracle.get_best_trials(num_trials=10)
    assert [t.status for t in trials] == ["COMPLETED", "COMPLETED"]
    return tuner


def _test_accuracy(tuner, test) -> float:
    model = tuner.get_best_models(num_models=1)[0]
    return model.evaluate(*test, verbose=0, return_dict=True)["accuracy"]


def _own_mlp(name="my_mlp"):
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name=name,
    )


def test_a_zoo_name_searches_its_registered_space_on_the_users_arrays(tmp_path, digits):
    train, val, test = digits
    hypermodel = kerazoo.hypermodel(
        "mnist_cnn", input_shape=(28, 28, 1), num_classes=10, seed=0,
        fix={"blocks": 1, "optimizer": "adam"}, space={"lr": [1e-3, 3e-3]},
    )  # fmt: skip
    assert isinstance(hypermodel, kt.HyperModel)
    tuner = _random_search(hypermodel, tmp_path, *train, validation_data=val, batch_size=32)

    best = tuner.get_best_hyperparameters()[0].values
    rows = {row["name"]: row for row in spaces.describe("mnist_cnn")}
    assert set(best) <= set(rows) and {"filters_1", "kernel_size", "dropout"} <= set(best)
    for name, value in best.items():
        assert value in rows[name]["values"], (name, value)
    assert best["blocks"] == 1 and best["optimizer"] == "adam"
    assert best["learning_rate"] in (1e-3, 3e-3)
    # The best model is the zoo's own mnist_cnn built with those values, trained once.
    name, overrides = hypermodel.overrides(tuner.get_best_hyperparameters()[0])
    expected = registry.create_model(name, **overrides).count_params()
    assert tuner.get_best_models()[0].count_params() == expected
    assert _test_accuracy(tuner, test) > CHANCE + 0.2


def test_a_zoo_names_shapes_default_to_its_declared_dataset():
    # resnet8's factory default is 32x32x3; its declared dataset is Fashion-MNIST's 28x28x1.
    model = kerazoo.hypermodel("resnet8").build(kt.HyperParameters())
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    model = kerazoo.hypermodel("resnet8", input_shape=(32, 32, 3), num_classes=4).build(
        kt.HyperParameters()
    )
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 4)


def test_hyperband_runs_the_zoo_space_for_its_epoch_schedule(tmp_path, digits):
    train, val, _ = digits
    hypermodel = kerazoo.hypermodel("mnist_mlp", fix={"layers": 1, "units_1": 16}, seed=0)
    tuner = kt.Hyperband(
        hypermodel, objective="val_accuracy", max_epochs=2, factor=2, hyperband_iterations=1,
        seed=1, directory=tmp_path, project_name="hyperband",
    )  # fmt: skip
    tuner.search(*train, validation_data=val, verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert trials and all(t.status == "COMPLETED" for t in trials)
    values = [t.hyperparameters.values for t in trials]
    assert {v["tuner/epochs"] for v in values} == {1, 2}
    assert any(v["tuner/initial_epoch"] == 1 for v in values)  # a trial went on from epoch 1
    assert tuner.oracle.get_best_trials()[0].score > CHANCE


def test_a_users_compiled_model_keeps_its_loss_and_trains_fresh_clones(tmp_path, digits):
    train, val, test = digits
    own = _own_mlp()
    own.compile(
        optimizer=keras.optimizers.SGD(0.05),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")],
    )
    weights = [w.copy() for w in own.get_weights()]
    # The zoo's optimizer and learning-rate space, the compiled ones as its defaults.
    hp = kt.HyperParameters()
    kerazoo.hypermodel(own).build(hp)
    space = {h.name: h for h in hp.space}
    assert set(space) == {"optimizer", "learning_rate"}
    assert space["optimizer"].default == "sgd" and space["learning_rate"].default == 0.05
    assert set(spaces.LEARNING_RATES) < set(space["learning_rate"].values)

    train_ds = tf.data.Dataset.from_tensor_slices(train).shuffle(400, seed=0).batch(32)
    val_ds = tf.data.Dataset.from_tensor_slices(val).batch(64)
    hypermodel = kerazoo.hypermodel(
        own, seed=0, fix={"optimizer": "sgd"}, space={"lr": [0.01, 0.05]}
    )
    tuner = _random_search(hypermodel, tmp_path, train_ds, validation_data=val_ds)
    assert {t.hyperparameters.values["learning_rate"] for t in tuner.oracle.trials.values()} <= {
        0.01,
        0.05,
    }
    best = tuner.get_best_models()[0]
    assert best.loss == "sparse_categorical_crossentropy"
    assert "top3" in best.evaluate(*test, verbose=0, return_dict=True)
    assert _test_accuracy(tuner, test) > CHANCE + 0.2
    # Every trial trained a clone: the user's model is untouched.
    assert all(np.array_equal(a, b) for a, b in zip(weights, own.get_weights(), strict=True))


def test_an_uncompiled_model_file_is_compiled_for_its_task(tmp_path, digits):
    train, val, test = digits
    path = tmp_path / "my_mlp.keras"
    _own_mlp().save(path)
    hypermodel = kerazoo.hypermodel(
        str(path), task="classification", seed=0, fix={"optimizer": "adam"},
        space={"lr": [1e-3, 3e-3]},
    )  # fmt: skip
    tuner = _random_search(hypermodel, tmp_path, *train, validation_data=val)
    best = tuner.get_best_hyperparameters()[0].values
    assert best["optimizer"] == "adam" and best["learning_rate"] in (1e-3, 3e-3)
    assert tuner.get_best_models()[0].loss == "sparse_categorical_crossentropy"
    assert _test_accuracy(tuner, test) > CHANCE + 0.2


def _compiled():
    model = _own_mlp()
    model.compile(loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize(
    "model, kwargs, message",
    [
        ("mnist_cnnn", {}, r"Did you mean: mnist_cnn.*Received: name='mnist_cnnn'"),
        ("dcgan", {}, r"cannot be tuned.*Received: model='dcgan'"),
        ("mnist_cnn", {"input_shape": (28, 28)}, r"rank 3.*Received: input_shape=\(28, 28\)"),
        ("mnist_cnn", {"num_classes": 0}, r"Received: num_classes=0"),
        ("mnist_cnn", {"vocab_size": 100}, r"input_shape, num_classes.*Received: vocab_size=100"),
        ("mnist_cnn", {"fix": {"units": 3}}, r"accepted: blocks, .*Received: fix=\{'units': 3\}"),
        ("mnist_cnn", {"fix": {"dropout": 7.0}}, r"Received: dropout=7.0"),
        ("mnist_cnn", {"space": {"dropout": [0.1, 1]}}, r"one kind.*Received: space="),
        ("mnist_cnn", {"task": "regression"}, r"model of your own.*Received: task='regression'"),
        (_own_mlp, {}, r"not compiled.*task=.*Received: task=None"),
        (_own_mlp, {"task": "ranking"}, r"Received: task='ranking'"),
        (_compiled, {"task": "classification"}, r"is compiled.*Received: task="),
        (_compiled, {"input_shape": (28, 28, 1)}, r"shapes are its own.*Received: input_shape="),
        (
            _compiled,
            {"fix": {"dropout": 0.1}},
            r"accepted: optimizer, learning_rate.*Received: fix=",
        ),
        (_compiled, {"fix": {"optimizer": "nadam"}}, r"Received: optimizer='nadam'"),
        ("no/such/model.keras", {}, r"Received: path='no/such/model.keras'"),
        (3, {}, r"zoo model name.*keras.Model.*Received: model=3"),
    ],
)
def test_bad_input_is_one_value_error_saying_what_was_received(model, kwargs, message):
    model = model() if callable(model) else model
    with pytest.raises(ValueError, match=message):
        kerazoo.hypermodel(model, **kwargs)


def test_a_compiled_loss_keras_cannot_rebuild_is_refused_with_the_fix(tmp_path):
    def my_loss(y, p):  # neither registered nor importable: no trial could compile it
        return keras.ops.mean(keras.ops.square(y - p))

    model = _own_mlp()
    model.compile(loss=my_loss)
    with pytest.raises(ValueError, match=r"register_keras_serializable.*task=.*Received: model="):
        kerazoo.hypermodel(model)
