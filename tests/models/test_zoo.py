"""The battery every registered model goes through (parametrized over the registry).

A model is tested here the moment it is registered: it builds with its defaults and with
its `tiny` settings, gives its declared output shape on real data, takes a training step
without NaNs, round-trips its config, and survives a `.keras` save and a `safe_mode=True`
load in a new Python process with identical predictions.
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
from kerazoo.models import _common  # noqa: F401  (also registers every family)

registry._load_builtin_models()
NAMES = [
    n for n in registry.list_models() if registry._REGISTRY[n].fn.__module__.startswith("kerazoo.")
]


def tiny(name: str, **extra):
    spec = registry.get_spec(name)
    return registry.create_model(name, **(spec.tiny | extra))


def real_inputs(model, n: int = 32):
    """A real batch shaped for the model's input, and the matching real targets."""
    spec = model.inputs[0]
    shape, dtype = tuple(spec.shape[1:]), spec.dtype
    if "int" in str(dtype):  # token ids: real quotations
        seq_len = shape[0] or 32
        vocab = _vocab_size(model)
        texts, labels = realdata.fortunes(n // 2, ("en", "de"))
        return realdata.token_ids(texts, vocab, seq_len), labels
    if len(shape) == 3:  # images: real digits brought to the model's size
        x, y = realdata.mnist_digits(n)
        return realdata.as_images(x, shape), y
    if len(shape) == 2:  # a sequence of numbers: real sunspot windows
        x, y = realdata.windows(realdata.sunspots(), shape[0])
        return np.repeat(x[:n], shape[1], axis=-1), y[:n]
    if shape == (10,):  # the basics courses' 10-feature nets: real tables
        from kerazoo.data import tabular

        if model.output_shape[-1] == 1 and model.layers[-1].activation.__name__ == "sigmoid":
            x, y, _ = tabular.breast_cancer()
        else:
            x, y, _ = tabular.diabetes()
            y = (y - y.mean()) / y.std()
        x = (x - x.mean(0)) / x.std(0)
        return x[:n], y[:n]
    if len(shape) == 1 and shape[0] == 784:
        x, y = realdata.mnist_digits(n)
        return x.reshape(n, -1), y
    # A generator's latent vector: noise is its genuine input.
    return np.random.default_rng(0).normal(size=(n, *shape)).astype("float32"), None


def _vocab_size(model) -> int:
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.Embedding):
            return layer.input_dim
    raise AssertionError("an int-input model without an Embedding layer")


def training_batch(name: str, model, n: int = 32):
    """(x, y) for one fit step: labels for classifiers, targets for regressors,
    the inputs themselves for reconstruction, real images (no y) for generators."""
    task = registry.get_spec(name).task
    if task == "generation":
        x, _ = realdata.mnist_digits(n)
        image_shape = model.generator.output_shape[1:]
        return realdata.as_images(x, image_shape), None
    x, y = real_inputs(model, n)
    if task == "classification":
        classes = max(2, model.output_shape[-1])
        keep = y < classes
        return x[keep], y[keep]
    if task == "reconstruction":
        return x, x
    return x, y[:, : model.output_shape[-1]] if y.ndim == 2 else y


@pytest.mark.parametrize("name", NAMES)
def test_defaults_build_and_forward_on_real_data(name):
    model = registry.create_model(name)
    info = registry.model_info(name)
    assert isinstance(model, keras.Model)
    assert model.count_params() == info.params
    x, _ = real_inputs(model, 4)
    out = model.predict(x, verbose=0)
    assert out.shape == (len(x), *info.output_shape)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_tiny_fit_step_trains_without_nan(name):
    model = tiny(name)
    x, y = training_batch(name, model)
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
    x, _ = real_inputs(seq, 8)
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
        x, _ = real_inputs(model, 8)
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
