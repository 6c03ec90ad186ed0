"""Runs every MirroredStrategy check in one fresh process and prints one JSON line.

TensorFlow's logical devices can only be configured before TensorFlow initialises them,
and the pytest process has long done that, so `test_distribute.py` runs this script in a
subprocess: it splits the CPU into two logical devices, then

1. fits the tiny mnist_cnn classifier, the VAE and the DCGAN on real digits under
   MirroredStrategy (2 replicas), built and compiled inside `strategy.scope()`, and runs
   the classifier and the VAE through `kerazoo.train(strategy="mirrored")`;
2. takes ONE gradient step with the same initial weights and the same GLOBAL batch under
   MirroredStrategy and under the default strategy, and reports how far apart the weights
   end up (they must agree: each replica's loss is its share of the global-batch mean, and
   tf.distribute sums the replicas' gradients).

For the second check everything random is made the same in both runs: dropout off, batch
norm statistics synchronised across replicas (otherwise each replica normalises with its
own half batch, a real but separate difference), and the VAE's and DCGAN's noise drawn
from one fixed table, each replica reading the rows of its slice of the global batch.
SGD, not Adam: Adam's first step is about lr * sign(gradient) and would hide a gradient
scaled by the wrong factor.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for realdata

from kerazoo.training import distribute  # noqa: E402

distribute.split_cpu(2)  # before anything initialises TensorFlow's devices

import keras  # noqa: E402
import numpy as np  # noqa: E402
import realdata  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerazoo  # noqa: E402
from kerazoo import registry  # noqa: E402

GLOBAL_BATCH = 16
# Learning rates giving updates of about 0.02-0.3 in one step, far above the 1e-5 the
# comparison allows (the VAE's loss sums 784 pixels, so its gradients are large).
LR = {"mnist_cnn": 0.1, "vae": 1e-3, "dcgan": 0.1}


def tiny(name: str, **overrides) -> dict:
    return dict(registry.get_spec(name).tiny) | overrides


def finite(history) -> bool:
    return all(np.isfinite(v).all() for v in history.history.values())


# --- 1. fitting under MirroredStrategy ----------------------------------------------


def fit_runs(strategy) -> dict:
    x, y = realdata.mnist_digits(1024)
    x_test, y_test = realdata.mnist_digits(256, offset=1024)
    out = {}

    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = kerazoo.create_model("mnist_cnn", **tiny("mnist_cnn"))
    before = model.evaluate(x_test, y_test, batch_size=64, verbose=0, return_dict=True)
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    after = model.evaluate(x_test, y_test, batch_size=64, verbose=0, return_dict=True)
    out["classifier"] = {
        "loss_before": float(before["loss"]),
        "loss_after": float(after["loss"]),
        "accuracy_before": float(before["accuracy"]),
        "accuracy_after": float(after["accuracy"]),
        "finite": finite(history),
        "seconds": time.perf_counter() - start,
    }

    for name in ("vae", "dcgan"):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = kerazoo.create_model(name, **tiny(name))
        start = time.perf_counter()
        history = model.fit(x, batch_size=32, epochs=2, verbose=0)
        out[name] = {
            "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
            "finite": finite(history),
            "seconds": time.perf_counter() - start,
        }
    return out


# --- 2. one step: MirroredStrategy vs the default strategy ---------------------------

_draws = threading.local()  # per thread: MirroredStrategy runs each replica in its own
_TABLES = [np.random.default_rng(k).standard_normal((GLOBAL_BATCH, 64)) for k in (1, 2)]


def _fixed_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Stands in for keras.random.normal: the i-th draw of a step reads table i % 2, rows
    of this replica's slice of the global batch, so 1 and 2 replicas see the same noise."""
    i = getattr(_draws, "i", 0)
    _draws.i = i + 1
    table = tf.constant(_TABLES[i % 2], dtype=dtype or "float32")
    context = tf.distribute.get_replica_context()
    replica = context.replica_id_in_sync_group if context is not None else 0
    n, d = shape[0], shape[1]
    start = tf.cast(replica, tf.int32) * tf.cast(n, tf.int32)
    return mean + stddev * tf.slice(table, [start, 0], [n, d])


def _variables(model) -> list:
    if hasattr(model, "discriminator"):  # the DCGAN's two networks
        return list(model.generator.weights) + list(model.discriminator.weights)
    return list(model.weights)


def one_step(name: str, strategy, initial: list | None) -> tuple[list, list, dict]:
    keras.utils.set_random_seed(0)
    x, y = realdata.mnist_digits(GLOBAL_BATCH, offset=2048)
    with strategy.scope():
        if name == "mnist_cnn":
            model = kerazoo.create_model(name, **tiny(name, dropout=0.0), compile=False)
            model.compile(
                optimizer=keras.optimizers.SGD(LR[name]),
                loss="sparse_categorical_crossentropy",
            )
        elif name == "vae":
            model = kerazoo.create_model(name, **tiny(name), compile=False)
            model.compile(optimizer=keras.optimizers.SGD(LR[name]))
        else:
            model = kerazoo.create_model(name, **tiny(name, dropout=0.0), compile=False)
            model.compile(
                d_optimizer=keras.optimizers.SGD(LR[name]),
                g_optimizer=keras.optimizers.SGD(LR[name]),
            )
    # Keras's own walk over nested layers (it also finds the DCGAN's discriminator).
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True  # global-batch statistics, as on one replica
    variables = _variables(model)
    if initial is None:
        initial = [v.numpy() for v in variables]
    for v, value in zip(variables, initial, strict=True):
        v.assign(value)

    real_normal = keras.random.normal
    keras.random.normal = _fixed_normal
    _draws.i = 0
    try:
        targets = (y,) if name == "mnist_cnn" else ()
        history = model.fit(
            x, *targets, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0
        )
    finally:
        keras.random.normal = real_normal
    logs = {k: float(v[-1]) for k, v in history.history.items()}
    return initial, [v.numpy() for v in variables], logs


def _max_abs_diff(first: list, second: list) -> float:
    return max(float(np.max(np.abs(a - b))) for a, b in zip(first, second, strict=True))


def step_runs(mirrored, default) -> dict:
    out = {}
    for name in ("mnist_cnn", "vae", "dcgan"):
        initial, single, single_logs = one_step(name, default, None)
        _, multi, multi_logs = one_step(name, mirrored, initial)
        out[name] = {
            "max_weight_diff": _max_abs_diff(single, multi),
            "max_update": _max_abs_diff(single, initial),
            "logs_default": single_logs,
            "logs_mirrored": multi_logs,
        }
    return out


def train_runs() -> dict:
    """`kerazoo.train(strategy="mirrored")`: the whole training path on 2 replicas."""
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = (("mnist_cnn", "mirrored"), ("mnist_cnn", "default"), ("vae", "mirrored"))
        for name, strategy in runs:
            result = kerazoo.train(
                name,
                "mnist_sample",
                epochs=3,
                batch_size=GLOBAL_BATCH * 2,
                max_examples=640,
                strategy=strategy,
                out=Path(tmp) / f"{name}-{strategy}",
                overrides=tiny(name),
                verbose=0,
                plots=False,
            )
            out[f"{name}-{strategy}"] = result.metrics
    return out


def main() -> None:
    start = time.perf_counter()
    mirrored = distribute.get_strategy("mirrored")
    default = distribute.get_strategy("default")
    report = {
        "mirrored": distribute.describe(mirrored),
        "auto": distribute.describe(distribute.get_strategy("auto")),
        "per_replica_batch": distribute.per_replica_batch_size(GLOBAL_BATCH, mirrored),
        "fit": fit_runs(mirrored),
        "step": step_runs(mirrored, default),
        "train": train_runs(),
    }
    report["seconds"] = time.perf_counter() - start
    print("RESULT " + json.dumps(report))


if __name__ == "__main__":
    main()
