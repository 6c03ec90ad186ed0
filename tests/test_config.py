"""The one settings table (`kerazoo.config`): its checks, the flags and signatures it makes."""

from __future__ import annotations

import argparse
import inspect
import math
import subprocess
import sys

import pytest

from kerazoo import config


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"epochs": 10**26}, "at most 100,000"),
        ({"epochs": 2.5}, "Received: epochs=2.5"),
        ({"batch_size": 2**63}, "Received: batch_size="),
        ({"seed": 2**32}, "Received: seed=4294967296"),
        ({"seed": -1}, "Received: seed=-1"),
        ({"learning_rate": math.nan}, "Received: learning_rate=nan"),
        ({"learning_rate": math.inf}, "Received: learning_rate=inf"),
        ({"learning_rate": True}, "Received: learning_rate=True"),
        ({"patience": -1}, "Received: patience=-1"),
        ({"validation_split": 1.0}, "Received: validation_split=1.0"),
        ({"optimizer": "adagrad"}, "adam, sgd, rmsprop, adamw"),
        ({"lr_schedule": "linear"}, "Received: lr_schedule='linear'"),
        ({"strategy": "tpu"}, "Received: strategy='tpu'"),
        ({"overrides": [("dropout", 0.3)]}, "Received: overrides="),
        ({"early_stopping": "no"}, "Received: early_stopping='no'"),
        ({"epoch": 3}, "'epoch' is not a setting"),
    ],
)
def test_bad_run_settings_name_the_setting_and_the_value(settings, message):
    with pytest.raises(ValueError, match="Received: ") as err:
        config.make(config.RunConfig, "mnist_cnn", settings)
    assert message in str(err.value)


def test_search_settings_are_checked_by_the_same_table():
    with pytest.raises(ValueError, match="Received: max_trials=0"):
        config.make(config.SearchConfig, "mnist_cnn", {"max_trials": 0})
    with pytest.raises(ValueError, match="random, hyperband, bayesian, grid"):
        config.make(config.SearchConfig, "mnist_cnn", {"tuner": "evolution"})
    with pytest.raises(ValueError, match="Received: strategy='multiworker'"):
        config.make(config.SearchConfig, "mnist_cnn", {"strategy": "multiworker"})
    assert config.make(config.SearchConfig, "mnist_cnn", {"max_retries": 0}).max_retries == 0


def test_every_flag_comes_from_the_table_and_only_typed_values_reach_the_config():
    parser = argparse.ArgumentParser()
    config.add_arguments(parser, config.RunConfig)
    args = parser.parse_args(
        ["--lr", "0.01", "--set", "dropout=0.3", "--set", "filters=(8, 16)", "--no-early-stopping"]
    )
    assert config.settings_from_args(config.RunConfig, args) == {
        "learning_rate": 0.01,
        "overrides": {"dropout": 0.3, "filters": (8, 16)},
        "early_stopping": False,
    }
    # Nothing typed: no setting, so the dataclass's defaults are the only defaults.
    assert config.settings_from_args(config.RunConfig, parser.parse_args([])) == {}
    flags = {o.flag for o in config.options(config.RunConfig).values() if o.flag}
    assert {"--lr", "--epochs", "--batch-size", "--set", "--patience"} <= flags
    with pytest.raises(SystemExit):
        parser.parse_args(["--optimizer", "adagrad"])


def test_parse_pairs_reads_literals_and_lists():
    assert config.parse_pairs(["units=(64, 32)", "activation=tanh"], flag="--set") == {
        "units": (64, 32),
        "activation": "tanh",
    }
    assert config.parse_pairs(["units_1=32,64"], flag="--space", many=True) == {"units_1": [32, 64]}
    with pytest.raises(ValueError, match="Received: --set 'dropout'"):
        config.parse_pairs(["dropout"], flag="--set")


def test_train_and_tune_show_every_setting_in_their_signature_and_doc():
    import kerazoo

    for fn, table in ((kerazoo.train, config.RunConfig), (kerazoo.tune, config.SearchConfig)):
        params = inspect.signature(fn).parameters
        for name in config.options(table):
            assert name in params, (fn.__name__, name)
            assert f"{name}: " in fn.__doc__, (fn.__name__, name)
    assert inspect.signature(kerazoo.train).parameters["epochs"].default == config.DEFAULT_EPOCHS


def test_a_resume_compares_only_what_was_given():
    saved = config.RunConfig(model="mnist_cnn", dataset="fashion_mnist", epochs=3)
    # The dataset was not named on resume: the saved one is kept (the README's command).
    config.check_unchanged(saved, config.RunConfig(model="mnist_cnn"))
    config.check_unchanged(saved, config.RunConfig(model="mnist_cnn", epochs=3))
    with pytest.raises(ValueError, match="saved with epochs=3.*Received: epochs=4"):
        config.check_unchanged(saved, config.RunConfig(model="mnist_cnn", epochs=4))
    with pytest.raises(ValueError, match="Received: dataset='mnist'"):
        config.check_unchanged(saved, config.RunConfig(model="mnist_cnn", dataset="mnist"))


def test_the_table_imports_only_the_standard_library():
    code = (
        "import sys, kerazoo.config; "
        "bad = [m for m in ('numpy', 'keras', 'tensorflow') if m in sys.modules]; "
        "sys.exit(', '.join(bad) or None)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
