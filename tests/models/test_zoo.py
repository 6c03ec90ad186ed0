"""The battery every registered model goes through (parametrized over the registry).

A model is tested here the moment it is registered: it builds with its defaults and with
its `tiny` settings, gives its declared output shape on real data, takes a training step
without NaNs, round-trips its config, and survives a `.keras` save and a `safe_mode=True`
load in a new Python process with identical predictions.

Everything about a model's input is read from its registry spec, as timm's tests read each
model's declared input size: the real data comes from its default dataset
(`spec.datasets[0]`), shaped by the arguments its spec says a dataset decides
(`spec.inputs`) at the values the model is built with (`spec.arguments()` and `spec.tiny`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import realdata

from kerazoo import registry

registry._load_builtin_models()
NAMES = [n for n in registry.list_models() if registry.get_spec(n).builtin]


def tiny(name: str, **extra):
    spec = registry.get_spec(name)
    return registry.create_model(name, **(spec.tiny | extra))


def _images(dataset: str, n: int):
    if dataset == "fashion_mnist":
        return realdata.fashion_images(n)
    return realdata.mnist_digits(n)  # mnist and its 5,000-digit sample


def _table(dataset: str, n: int):
    from kerazoo.data import tabular

    x, y, _ = getattr(tabular, dataset)()
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")
    if dataset == "diabetes":  # a regression target: standardized too
        y = ((y - y.mean()) / y.std()).astype("float32")
    return x[:n], y[:n]


def real_batch(name: str, n: int = 32, **built_with):
    """(x, y): n real examples from the model's default dataset, shaped for the model as
    built with `built_with` over its defaults; y is None where there is no target."""
    spec = registry.get_spec(name)
    args = spec.arguments() | built_with
    dataset = spec.datasets[0]
    if dataset in ("mnist", "mnist_sample", "fashion_mnist"):
        x, y = _images(dataset, n)
        shape = tuple(args["image_shape" if "image_shape" in spec.inputs else "input_shape"])
        x = x.reshape(len(x), *shape) if np.prod(shape) == 784 else realdata.as_images(x, shape)
    elif dataset == "fortunes_lang":
        texts, y = realdata.fortunes(n // 2, ("en", "de"))
        x = realdata.token_ids(texts, args["vocab_size"], args["sequence_length"] or 32)
    elif dataset == "sunspots":
        window, features = args["input_shape"]
        x, y = realdata.windows(realdata.sunspots(), window, args["horizon"])
        x, y = np.repeat(x[:n], features, axis=-1), y[:n]
    elif dataset in ("breast_cancer", "diabetes"):
        x, y = _table(dataset, n)
        # A model declaring fewer inputs (the perceptron's 2, tiny_regressor's 1) gets the
        # table's first columns, as image models get the digits resized to their shape.
        x = x[:, : args["input_shape"][0]]
    else:
        raise AssertionError(f"the battery has no real data for {name}'s dataset {dataset!r}")
    if spec.task == "classification" and "num_classes" in spec.inputs:
        keep = y < args["num_classes"]
        x, y = x[keep], y[keep]
    return x, {"reconstruction": x, "generation": None}.get(spec.task, y)


def model_inputs(name: str, model, n: int = 32, **built_with):
    """What the model is called on: real examples, or for a generator its genuine input,
    noise of its latent size."""
    if registry.get_spec(name).task == "generation":
        return np.random.default_rng(0).normal(size=(n, *model.input_shape[1:])).astype("float32")
    return real_batch(name, n, **built_with)[0]


@pytest.mark.parametrize("name", NAMES)
def test_defaults_build_and_forward_on_real_data(name):
    model = registry.create_model(name)
    info = registry.model_info(name)
    assert isinstance(model, keras.Model)
    assert model.count_params() == info.params
    x = model_inputs(name, model, 4)
    out = model.predict(x, verbose=0)
    assert out.shape == (len(x), *info.output_shape)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_tiny_fit_step_trains_without_nan(name):
    model = tiny(name)
    x, y = real_batch(name, **registry.get_spec(name).tiny)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    for key, values in history.history.items():
        assert np.isfinite(values).all(), f"{key} is not finite: {values}"
    after = model.get_weights()
    assert all(np.isfinite(w).all() for w in after)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True)), (
        "no weight changed"
    )


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    model = tiny(name, compile=False)
    config = keras.saving.serialize_keras_object(model)
    clone = keras.saving.deserialize_keras_object(json.loads(json.dumps(config)))
    assert type(clone) is type(model)
    assert clone.count_params() == model.count_params()
    assert [type(layer).__name__ for layer in clone.layers] == [
        type(layer).__name__ for layer in model.layers
    ]


@pytest.mark.parametrize("name", NAMES)
def test_sequential_and_functional_are_the_same_network(name):
    try:
        seq = tiny(name, api="sequential", compile=False)
    except ValueError as err:
        # Models with skip connections or sub-models refuse the Sequential form (or take no
        # api argument at all), by design and with a clear message.
        assert "Received: api='sequential'" in str(err)
        return
    fun = tiny(name, api="functional", compile=False)
    assert isinstance(seq, keras.Sequential) and not isinstance(fun, keras.Sequential)
    assert seq.count_params() == fun.count_params()
    fun.set_weights(seq.get_weights())
    x = model_inputs(name, seq, 8, **registry.get_spec(name).tiny)
    np.testing.assert_allclose(seq.predict(x, verbose=0), fun.predict(x, verbose=0), atol=1e-6)


_LOADER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras
    import kerazoo.models  # registers the zoo's classes; no custom_objects below
    from kerazoo import load_model
    results = {}
    for name, path in json.loads(sys.argv[1]).items():
        x = np.load(path + ".x.npy")
        expected = np.load(path + ".y.npy")
        plain = keras.saving.load_model(path, safe_mode=True)
        checked = load_model(path)
        results[name] = [
            float(np.max(np.abs(m.predict(x, verbose=0) - expected))) for m in (plain, checked)
        ]
    print("RESULTS" + json.dumps(results))
    """
)


@pytest.fixture(scope="module")
def reloaded_in_new_process(tmp_path_factory):
    """Saves every tiny model, then loads them all in one fresh Python process."""
    folder = tmp_path_factory.mktemp("saved")
    paths = {}
    for name in NAMES:
        model = tiny(name)
        x = model_inputs(name, model, 8, **registry.get_spec(name).tiny)
        path = str(folder / f"{name}.keras")
        model.save(path)
        np.save(path + ".x.npy", x)
        np.save(path + ".y.npy", model.predict(x, verbose=0))
        paths[name] = path
    proc = subprocess.run(
        [sys.executable, "-c", _LOADER, json.dumps(paths)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS"))
    return json.loads(line[len("RESULTS") :])


@pytest.mark.parametrize("name", NAMES)
def test_save_and_load_in_new_process_gives_same_predictions(name, reloaded_in_new_process):
    plain_diff, checked_diff = reloaded_in_new_process[name]
    assert plain_diff < 1e-5
    assert checked_diff < 1e-5
