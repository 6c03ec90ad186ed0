"""Adding a model is one registration: a preset registered in the user's own module trains,
tunes, draws and round-trips like the zoo's own models, with no other file touched.

The preset lives in a module written outside the package (in tmp_path) and imported from
there, as a user's would be; it is unregistered afterwards. Real digits (the MNIST sample,
a few hundred examples), one epoch: about 30 s on two cores.
"""

from __future__ import annotations

import importlib
import sys
import textwrap

import numpy as np
import pytest
import realdata

import kerazoo
from kerazoo import registry
from kerazoo.tuning import spaces

NAME = "external_test_cnn"

MODULE = textwrap.dedent(
    f"""
    import kerazoo
    from kerazoo.models.cnn import cnn

    {NAME} = kerazoo.register_model(
        name="{NAME}",
        base=cnn,
        preset={{
            "filters": (4, 8),
            "kernel_size": 5,
            "dense_units": (16,),
            "batchnorm": True,
            "dropout": 0.1,
            "name": "{NAME}",
        }},
        family="cnn",
        task="classification",
        description="A user's narrow convnet with 5x5 kernels and batch norm.",
        reference="tests/test_external_model.py",
        datasets=("mnist_sample",),
    )
    """
)


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user_code")
    (folder / "my_zoo_models.py").write_text(MODULE, encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module("my_zoo_models")
        yield module
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("my_zoo_models", None)
        if NAME in registry.list_models():
            registry.unregister_model(NAME)


QUICK = {"epochs": 1, "max_examples": 300, "verbose": 0}


def test_the_registration_alone_makes_a_full_model(external):
    assert NAME in kerazoo.list_models("external_*")
    assert getattr(kerazoo, NAME) is getattr(external, NAME)
    spec = registry.get_spec(NAME)
    assert spec.inputs == ("input_shape", "num_classes") and spec.metrics == ("accuracy",)
    model = kerazoo.create_model(NAME, compile=False)
    assert model.name == NAME and model.get_layer("conv_1").kernel_size == (5, 5)
    assert kerazoo.model_info(NAME).params == model.count_params()  # built on demand
    with pytest.raises(ValueError, match=r"Did you mean 'dropout'.*Received: dropuot=0.3$"):
        getattr(kerazoo, NAME)(dropuot=0.3)


def test_it_trains_draws_and_round_trips(external, tmp_path):
    result = kerazoo.train(NAME, "mnist_sample", out=tmp_path / "run", plots=False, **QUICK)
    assert result.model.name == NAME
    assert 0.0 <= result.metrics["test_accuracy"] <= 1.0
    assert (result.run_dir / "model.keras").is_file()

    svg = kerazoo.plot(result.model, tmp_path / f"{NAME}.svg")
    text = svg.read_text(encoding="utf-8")
    assert "conv_1" in text and "batchnorm_1" in text and "(None, 28, 28, 4)" in text

    path = tmp_path / "saved.keras"
    result.model.save(path)
    loaded = kerazoo.load_model(path)
    x, _ = realdata.mnist_digits(16)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), result.model.predict(x, verbose=0), atol=1e-6
    )


def test_it_tunes_from_its_preset(external, tmp_path):
    result = kerazoo.tune(
        NAME,
        "mnist_sample",
        out=tmp_path / "search",
        max_trials=2,
        retrain=False,
        fix={"blocks": 2, "filters_1": 4, "filters_2": 8, "dense_units": 16},
        space={"dropout": [0.0, 0.1]},
        **QUICK,
    )
    best = result.best_hyperparameters
    assert best["filters_1"] == 4 and best["dropout"] in (0.0, 0.1)
    assert result.best_score is not None and len(result.trials) == 2
    # The space's defaults are the preset's: 5x5 kernels, batch norm on.
    rows = {row["name"]: row for row in spaces.describe(NAME)}
    assert rows["kernel_size"]["default"] == 5 and rows["batchnorm"]["default"] is True
    assert rows["dense_units"]["default"] == 16 and rows["dropout"]["default"] == 0.1
