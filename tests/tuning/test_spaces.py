"""Search spaces: built on the registry's factories, defaults = the registered defaults."""

import keras_tuner as kt
import pytest

from kerazoo import registry
from kerazoo.cli import main
from kerazoo.tuning import spaces

TUNABLE = [n for n in registry.list_models() if registry.get_spec(n).family in spaces.SPACES]


def test_every_family_but_the_gan_has_a_space():
    families = {registry.get_spec(n).family for n in registry.list_models()}
    assert families - set(spaces.SPACES) == {"gan"}


@pytest.mark.parametrize("name", TUNABLE)
def test_default_hyperparameters_build_the_registered_default_model(name):
    hp = kt.HyperParameters()
    built_as, overrides = spaces.model_for(name, spaces.space(hp, name))
    assert built_as == name
    tuned = registry.create_model(built_as, compile=False, **overrides)
    assert tuned.count_params() == registry.model_info(name).params


def test_the_cell_choice_is_an_argument_of_the_recurrent_builder():
    hp = kt.HyperParameters()
    overrides = spaces.space(hp, "lstm_classifier", fix={"cell": "gru"})
    name, overrides = spaces.model_for("lstm_classifier", overrides)
    assert name == "lstm_classifier" and overrides["cell"] == "gru"
    model = registry.create_model(name, compile=False, **overrides)
    # The name follows the cell: the very network of the registered gru_classifier.
    assert model.name == "gru_classifier"
    assert model.count_params() == registry.model_info("gru_classifier").params


def test_a_space_declares_only_what_the_base_builder_takes():
    lenet = spaces.hyperparameter_names("lenet5")
    assert "pool" in lenet and "activation" in lenet
    assert not {"blocks", "filters_1", "kernel_size", "dense_units", "batchnorm"} & set(lenet)
    assert {"blocks", "filters_1", "kernel_size", "dense_units"} <= set(
        spaces.hyperparameter_names("mnist_cnn")
    )
    assert "noise_stddev" in spaces.hyperparameter_names("denoising_autoencoder")
    assert "noise_stddev" not in spaces.hyperparameter_names("vae")  # the VAE has no noise
    # The defaults are the preset's: mnist_cnn's batch norm, denoising's noise level.
    rows = {r["name"]: r for r in spaces.describe("mnist_cnn")}
    assert rows["batchnorm"]["default"] is True and rows["filters_2"]["default"] == 64
    rows = {r["name"]: r for r in spaces.describe("denoising_autoencoder")}
    assert rows["noise_stddev"]["default"] == 0.3


@pytest.fixture
def scratch_registry():
    before = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(before)


def test_a_users_preset_tunes_and_a_plain_function_is_told_how(scratch_registry):
    from kerazoo.models.cnn import cnn

    registry.register_model(
        name="spaces_test_cnn",
        base=cnn,
        preset={"filters": (8,), "dense_units": (24,), "name": "spaces_test_cnn"},
        family="cnn",
        task="classification",
        description="A user's preset.",
    )
    hp = kt.HyperParameters()
    overrides = spaces.space(hp, "spaces_test_cnn")
    assert overrides["filters"] == (8,) and overrides["dense_units"] == (24,)
    assert hp.get("blocks") == 1 and hp.get("filters_1") == 8

    @registry.register_model(family="cnn", task="classification", description="Plain.")
    def spaces_test_plain(**kwargs):
        return cnn(**kwargs)

    with pytest.raises(ValueError, match=r"base=.*preset=.*Received: model='spaces_test_plain'"):
        spaces.check_tunable("spaces_test_plain")
    with pytest.raises(ValueError, match=r"Received: model='spaces_test_plain'"):
        spaces.space(kt.HyperParameters(), "spaces_test_plain")


def test_fix_and_space_narrow_the_space_and_depth_gates_widths():
    rows = {
        r["name"]: r for r in spaces.describe("mnist_mlp", {"layers": 1}, {"units_1": [32, 64]})
    }
    assert rows["layers"]["type"] == "Fixed" and rows["layers"]["values"] == [1]
    assert rows["units_1"]["values"] == [32, 64] and rows["units_1"]["default"] == 32
    assert "units_2" not in rows  # a one-layer MLP has no second width to search
    full = {r["name"]: r for r in spaces.describe("mnist_mlp")}
    assert full["units_2"]["when"] == "layers in [2, 3, 4]"
    assert full["units_1"]["default"] == 512 and full["dropout"]["default"] == 0.2


def test_a_fixed_value_reaches_the_factory():
    hp = kt.HyperParameters()
    overrides = spaces.space(
        hp, "mnist_cnn", fix={"blocks": 1, "filters_1": 4, "learning_rate": 0.5}
    )
    assert overrides["filters"] == (4,) and overrides["learning_rate"] == 0.5


def test_unknown_keys_are_refused_naming_the_accepted_ones():
    with pytest.raises(
        ValueError,
        match=r"'units' is not a hyperparameter of mnist_cnn; accepted: blocks, filters_1",
    ):
        spaces.check_keys("mnist_cnn", {"units": 3}, {})
    assert spaces.check_keys("mnist_cnn", {"lr": 0.01}, {}) == ({"learning_rate": 0.01}, {})
    with pytest.raises(ValueError, match="both fixed and narrowed"):
        spaces.check_keys("mnist_cnn", {"dropout": 0.1}, {"dropout": [0.1, 0.2]})


def test_the_dcgan_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="DCGAN cannot be tuned.*do not measure sample quality"):
        spaces.check_tunable("dcgan")


def _cli(*argv):
    return main(["tune", *argv])  # the kerazoo command's own entry point


def test_show_space_prints_name_type_values_default(capsys):
    assert _cli("lenet5", "--show-space", "--fix", "pool=max") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].split() == ["name", "type", "values", "default", "when"]
    assert "activation     Choice  relu, gelu, elu, tanh" in out
    assert "pool           Fixed   max" in out


def test_cli_errors_are_one_line_and_exit_2(capsys):
    assert _cli("dcgan", "--show-space") == 2
    assert _cli("mnist_cnn", "--show-space", "--fix", "nope=1") == 2
    assert _cli("mnist_cnn", "--fix", "dropout") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(e.startswith("kerazoo tune: error: ") for e in err)
    assert "--fix takes key=value" in err[2]
