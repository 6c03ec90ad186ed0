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
        ValueError, match=r"does not take the argument 'colour'.*Received: colour='red'$"
    ):
        kerazoo.create_model("mnist_cnn", colour="red")


@pytest.mark.parametrize("name", ["mnist_cnn", "resnet20", "lstm_classifier", "vae", "mlp"])
def test_an_entry_and_create_model_give_the_same_documented_error(name):
    with pytest.raises(ValueError) as by_name:
        kerazoo.create_model(name, dropuot=0.3)
    with pytest.raises(ValueError) as by_entry:
        getattr(kerazoo, name)(dropuot=0.3)
    assert str(by_entry.value) == str(by_name.value)
    assert str(by_name.value).endswith("Received: dropuot=0.3")
    assert f"{name} does not take the argument 'dropuot'" in str(by_name.value)


def test_every_entry_shows_its_real_arguments_and_doc():
    import inspect

    for name in kerazoo.list_models():
        entry = getattr(kerazoo, name)
        params = inspect.signature(entry).parameters
        assert "compile" in params and "name" in params, name
        assert not any(p.kind is p.VAR_KEYWORD for p in params.values()), name
        assert entry.__doc__ and "Args:" in entry.__doc__, name
    # A preset's defaults are its own; its doc is its description plus the builder's Args.
    params = inspect.signature(kerazoo.mnist_cnn).parameters
    assert params["batchnorm"].default is True and params["name"].default == "mnist_cnn"
    assert params["filters"].default == (32, 64) and params["kernel_size"].default == 3
    doc = kerazoo.mnist_cnn.__doc__
    assert doc.startswith(registry.get_spec("mnist_cnn").description)
    assert "kerazoo.models.cnn.cnn" in doc and "    dense_units: widths" in doc


def test_a_fixed_preset_argument_is_refused_and_left_out_of_the_signature():
    import inspect

    assert "depth" not in inspect.signature(kerazoo.resnet20).parameters
    assert "    depth:" not in kerazoo.resnet20.__doc__
    for build in (
        lambda: kerazoo.resnet20(depth=32),
        lambda: kerazoo.create_model("resnet20", depth=32),
    ):
        with pytest.raises(
            ValueError, match=r"fixed depth=20; call resnet\(depth=...\).*Received: depth=32$"
        ):
            build()


def test_the_spec_carries_the_models_facts():
    from kerazoo.models import cnn, rnn

    spec = registry.get_spec("mnist_cnn")
    assert spec.base is cnn.cnn and spec.preset["batchnorm"] is True
    assert spec.inputs == ("input_shape", "num_classes") and spec.metrics == ("accuracy",)
    assert spec.arguments()["dropout"] == 0.5 and spec.arguments()["kernel_size"] == 3
    text = registry.get_spec("gru_classifier")
    assert text.base is rnn.recurrent_classifier and text.preset == {"cell": "gru"}
    assert text.inputs == ("vocab_size", "sequence_length", "num_classes")
    assert registry.get_spec("lstm_forecaster").inputs == ("input_shape", "horizon")
    assert registry.get_spec("dcgan").inputs == ("image_shape",)
    assert registry.get_spec("vae").metrics == ()
    assert registry.get_spec("resnet8").fixed == ("depth",)
    lenet = registry.get_spec("lenet5")
    assert lenet.base is lenet.fn and lenet.preset == {}  # a registered builder is its own base


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


def test_register_a_users_preset(scratch_registry):
    import inspect

    from kerazoo.models.mlp import mlp

    entry = kerazoo.register_model(
        name="tiny_test_preset",
        base=mlp,
        preset={"input_shape": (4,), "hidden_units": (3,), "num_classes": 2},
        description="Tiny test preset.",
        datasets=("breast_cancer",),
    )
    spec = registry.get_spec("tiny_test_preset")
    # Family, task, inputs and metrics come from the registered base (mlp).
    assert (spec.family, spec.task, spec.inputs) == (
        "mlp",
        "classification",
        ("input_shape", "num_classes"),
    )
    assert entry.__module__ == __name__ and entry.__name__ == "tiny_test_preset"
    assert inspect.signature(entry).parameters["hidden_units"].default == (3,)
    assert kerazoo.create_model("tiny_test_preset").count_params() == 4 * 3 + 3 + 3 * 2 + 2
    assert entry(hidden_units=(5,), compile=False).count_params() == 4 * 5 + 5 + 5 * 2 + 2
    kerazoo.registry.unregister_model("tiny_test_preset")
    assert "tiny_test_preset" not in kerazoo.list_models()
    with pytest.raises(ValueError, match=r"Received: name='mnist_cnn'"):
        kerazoo.registry.unregister_model("mnist_cnn")  # the zoo's own models stay


def test_a_preset_naming_an_argument_its_base_lacks_is_refused(scratch_registry):
    from kerazoo.models.mlp import mlp

    with pytest.raises(
        ValueError, match=r"sets 'widths', which mlp does not take.*Received: preset="
    ):
        kerazoo.register_model(
            name="bad_preset", base=mlp, preset={"widths": (3,)}, description="x"
        )


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
        ({"recipe": {"dataset": "mnist"}}, r"among .*epochs.*Received: recipe=\{'dataset'"),
        ({"recipe": [("epochs", 3)]}, r"recipe must be a dict.*Received: recipe=\["),
    ],
)
def test_registration_is_validated(scratch_registry, kwargs, match):
    settings = {"family": "mlp", "task": "classification", "description": "x", "name": "ok_name"}
    settings |= kwargs
    with pytest.raises(ValueError, match=match):
        kerazoo.register_model(lambda **kw: None, **settings)


def _fresh_python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_and_listing_do_not_import_keras_or_tensorflow():
    code = (
        "import sys, kerazoo\n"
        "names = kerazoo.list_models()\n"
        "info = kerazoo.model_info('resnet56')\n"
        "assert len(names) > 20 and info.params > 800000\n"
        "loaded = sorted(m for m in ('keras', 'tensorflow') if m in sys.modules)\n"
        "print(loaded)\n"
    )
    assert _fresh_python(code) == "[]"


def test_the_registry_imports_no_model_module():
    # No registry <-> models cycle: the top-level package names the built-in modules.
    code = (
        "import sys, kerazoo.registry as r\n"
        "import inspect\n"
        "assert 'importlib.import_module(\"kerazoo' not in inspect.getsource(r)\n"
        "print(sorted(m for m in sys.modules if m.startswith('kerazoo.models')))\n"
    )
    assert _fresh_python(code) == "[]"
