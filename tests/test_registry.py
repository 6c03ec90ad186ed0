"""The registry: listing, building by name, describing, registering."""

from __future__ import annotations

import subprocess
import sys

import pytest

import kerazoo
from kerazoo import registry


@pytest.fixture
def scratch_registry():
    """Lets a test register models and removes them afterwards."""
    before = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(before)


def test_every_family_is_in_the_zoo():
    families = {kerazoo.model_info(n).family for n in kerazoo.list_models()}
    assert {"mlp", "cnn", "resnet", "rnn", "autoencoder", "gan", "transformer"} <= families
    for name in ["mnist_cnn", "mnist_mlp", "fashion_cnn", "lenet5", "resnet20", "lstm_classifier",
                 "gru_classifier", "lstm_forecaster", "gru_forecaster", "dense_autoencoder",
                 "conv_autoencoder", "denoising_autoencoder", "vae", "dcgan",
                 "transformer_classifier", "binary_mlp", "regression_mlp"]:  # fmt: skip
        assert name in kerazoo.list_models()


def test_wildcards_and_natural_order():
    assert kerazoo.list_models("resnet*") == [
        "resnet8", "resnet14", "resnet20", "resnet32", "resnet44", "resnet56",
    ]  # fmt: skip
    assert set(kerazoo.list_models("*_forecaster")) == {"lstm_forecaster", "gru_forecaster"}
    assert kerazoo.list_models("no_such_*") == []


def test_family_filter():
    names = kerazoo.list_models(family="resnet")
    assert names and all(kerazoo.model_info(n).family == "resnet" for n in names)
    assert kerazoo.list_models("resnet2*", family="resnet") == ["resnet20"]
    with pytest.raises(ValueError, match=r"Received: family='nope'"):
        kerazoo.list_models(family="nope")


def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match=r"Did you mean: .*mnist_cnn.*Received: name='mnist_cn'"):
        kerazoo.create_model("mnist_cn")
    with pytest.raises(ValueError, match=r"Did you mean: .*resnet20.*Received: name='resnet21'"):
        kerazoo.model_info("resnet21")


def test_unknown_override_is_a_clear_error():
    with pytest.raises(
        ValueError, match=r"does not take the argument 'colour'. Received: colour='red'"
    ):
        kerazoo.create_model("mnist_cnn", colour="red")


def test_overrides_reach_the_factory():
    model = kerazoo.create_model("mnist_mlp", num_classes=3, compile=False, name="three")
    assert model.output_shape == (None, 3)
    assert model.name == "three"
    assert not model.compiled  # compile=False: the raw model


def test_model_info_describes_the_model():
    info = kerazoo.model_info("lenet5")
    assert (info.family, info.task, info.num_classes) == ("cnn", "classification", 10)
    assert info.params == 61706
    assert "LeCun" in info.reference
    assert info.input_shape[-1] == 1 and info.datasets[0] in ("mnist", "mnist_sample")
    assert info.as_dict()["name"] == "lenet5"


def test_top_level_factories():
    from kerazoo import mnist_cnn

    model = mnist_cnn()
    assert model.name == "mnist_cnn" and model.compiled  # compiled by default
    assert "mnist_cnn" in dir(kerazoo)
    with pytest.raises(AttributeError):
        kerazoo.no_such_model  # noqa: B018


def test_register_a_user_model(scratch_registry):
    from kerazoo.models.mlp import mlp

    @kerazoo.register_model(family="mlp", task="classification", description="Tiny test MLP.")
    def tiny_test_mlp(**kwargs):
        return mlp(**({"input_shape": (4,), "hidden_units": (3,), "num_classes": 2} | kwargs))

    assert "tiny_test_mlp" in kerazoo.list_models("tiny_test_*")
    info = kerazoo.model_info("tiny_test_mlp")  # built on demand: not in the catalogue
    assert info.params == 4 * 3 + 3 + 3 * 2 + 2
    assert kerazoo.create_model("tiny_test_mlp").count_params() == info.params


def test_registering_a_name_twice_is_an_error(scratch_registry):
    with pytest.raises(ValueError, match=r"already registered.*Received: name='mnist_cnn'"):

        @kerazoo.register_model(family="cnn", task="classification", description="again")
        def mnist_cnn(**kwargs):
            raise AssertionError


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "Bad-Name"}, r"snake_case.*Received: name='Bad-Name'"),
        ({"task": "dreaming"}, r"Received: task='dreaming'"),
        ({"family": ""}, r"Received: family=''"),
    ],
)
def test_registration_is_validated(scratch_registry, kwargs, match):
    settings = {"family": "mlp", "task": "classification", "description": "x", "name": "ok_name"}
    settings |= kwargs
    with pytest.raises(ValueError, match=match):
        kerazoo.register_model(lambda **kw: None, **settings)


def test_import_and_listing_do_not_import_keras_or_tensorflow():
    code = (
        "import sys, kerazoo\n"
        "names = kerazoo.list_models()\n"
        "info = kerazoo.model_info('resnet56')\n"
        "assert len(names) > 20 and info.params > 800000\n"
        "loaded = sorted(m for m in ('keras', 'tensorflow') if m in sys.modules)\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
