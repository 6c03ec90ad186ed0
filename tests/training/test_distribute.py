"""tf.distribute: strategy choice, batch convention, and real training under
MirroredStrategy over two logical CPU devices (in a subprocess, see _strategy_worker.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kerazoo.training import distribute

WORKER = Path(__file__).with_name("_strategy_worker.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report():
    """The worker's JSON report; one subprocess for every MirroredStrategy check."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, str(WORKER)],
        capture_output=True,
        text=True,
        timeout=1800,  # a bound against a hang, not a speed check: the cores may be busy
        cwd=ROOT,
        env=env,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


# --- in this process (TensorFlow already initialised, one CPU device) ------------------


def test_auto_on_cpu_is_the_default_strategy_with_one_replica():
    import tensorflow as tf

    strategy = distribute.get_strategy("auto")
    assert strategy is tf.distribute.get_strategy()
    info = distribute.describe(strategy)
    assert info["replicas"] == 1
    assert info["strategy"] == type(tf.distribute.get_strategy()).__name__
    assert len(info["devices"]) == 1 and "CPU:0" in info["devices"][0]


def test_onedevice_and_default_on_cpu():
    one = distribute.describe(distribute.get_strategy("onedevice"))
    assert one["strategy"] == "OneDeviceStrategy" and one["replicas"] == 1
    assert one["devices"][0].endswith("CPU:0")
    assert distribute.describe(distribute.get_strategy("default"))["replicas"] == 1


@pytest.mark.parametrize("name", ["foo", "", "Mirrored", None, 2])
def test_unknown_strategy_names_raise(name):
    with pytest.raises(ValueError, match=f"Received: strategy={name!r}"):
        distribute.get_strategy(name)


def test_split_cpu_after_initialisation_says_it_is_too_late():
    import tensorflow as tf

    tf.config.list_logical_devices("CPU")  # make sure this process has initialised
    with pytest.raises(RuntimeError, match="too late"):
        distribute.split_cpu(3)
    # Asking for the layout already in place is harmless.
    assert len(distribute.split_cpu(len(tf.config.list_logical_devices("CPU")))) >= 1


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
def test_split_cpu_rejects_bad_counts(n):
    with pytest.raises(ValueError, match=f"Received: n={n!r}"):
        distribute.split_cpu(n)


def test_batch_size_is_global():
    strategy = distribute.get_strategy("default")
    assert distribute.global_batch_size(128, strategy) == 128
    assert distribute.per_replica_batch_size(128, strategy) == 128
    for bad in (0, -4, 2.0, True):
        with pytest.raises(ValueError, match=f"Received: batch_size={bad!r}"):
            distribute.global_batch_size(bad, strategy)


def test_no_xla_on_cpu():
    assert distribute.recommended_jit_compile() is False


# --- MirroredStrategy over two logical CPUs (subprocess) -----------------------------


@pytest.mark.slow
def test_mirrored_over_two_logical_cpus(report):
    mirrored = report["mirrored"]
    assert mirrored["strategy"] == "MirroredStrategy" and mirrored["replicas"] == 2
    assert [d[-5:] for d in mirrored["devices"]] == ["CPU:0", "CPU:1"]
    assert report["per_replica_batch"] == 8  # global batch 16 over 2 replicas
    # "auto" stays the default strategy on CPU even with several logical CPUs.
    assert report["auto"]["replicas"] == 1


@pytest.mark.slow
def test_classifier_learns_under_mirrored(report):
    run = report["fit"]["classifier"]
    assert run["finite"]
    assert run["loss_after"] < run["loss_before"] - 0.3
    assert run["accuracy_after"] > 0.2  # chance is 0.1 on ten digit classes


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,keys", [("vae", ("loss", "kl_loss")), ("dcgan", ("d_loss", "g_loss"))]
)
def test_vae_and_dcgan_fit_under_mirrored(report, name, keys):
    run = report["fit"][name]
    assert run["finite"]
    assert set(keys) <= set(run["history"])
    if name == "vae":
        assert run["history"]["loss"][-1] < run["history"]["loss"][0]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist_cnn", "vae", "dcgan"])
def test_one_step_matches_the_default_strategy(report, name):
    """Same initial weights, same global batch: 2 replicas make the same update as one.
    A loss scaled to the local instead of the global batch would double the update."""
    step = report["step"][name]
    assert step["max_update"] > 1e-2  # the comparison below is not vacuous
    assert step["max_weight_diff"] < 1e-5
    for key, value in step["logs_default"].items():
        assert step["logs_mirrored"][key] == pytest.approx(value, rel=1e-5)


@pytest.mark.parametrize("name, metric", [("mnist_cnn", "test_accuracy"), ("vae", "test_loss")])
def test_kerazoo_train_under_mirrored_records_the_replicas(report, name, metric):
    metrics = report["train"][f"{name}-mirrored"]
    assert metrics["strategy"] == "MirroredStrategy" and metrics["replicas"] == 2
    assert len(metrics["devices"]) == 2
    assert metrics["batch_size"] == 32 and metrics["epochs"] == 3
    assert metrics[metric] == metrics[metric]  # finite, not NaN
    if name == "mnist_cnn":
        # The same run on one replica: two replicas learn as well (chance is 0.1).
        single = report["train"]["mnist_cnn-default"]
        assert single["replicas"] == 1
        assert metrics["test_accuracy"] > 0.5
        assert abs(metrics["test_accuracy"] - single["test_accuracy"]) < 0.15
