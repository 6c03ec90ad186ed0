"""Choosing how a run spreads over devices, and splitting batches across its replicas.

The training loop asks this module for a strategy, builds and compiles the model inside
`strategy.scope()`, fits inside `fit_scope(strategy)` and records `describe(strategy)` in
`metrics.json`. What a strategy is depends on the Keras backend:

- TensorFlow: a `tf.distribute.Strategy` (this is the only module of the training path that
  speaks `tf.distribute`; the models stay backend-neutral Keras 3 code).
- JAX: `"mirrored"` (and `"auto"` with two or more GPUs) is `keras.distribution.DataParallel`
  over the local devices, the other names one device; JAX shards each batch itself, so
  the losses need no per-replica scaling.
- torch: one device; `"mirrored"` and `"multiworker"` are refused in one line (Keras has
  no torch distribution).

On every backend tf.data stays the input pipeline (Keras's `fit` reads it on all three).

Batch size convention: the batch size a user gives (`kerazoo train --batch-size B`,
`kerazoo.train(batch_size=B)`) is the GLOBAL batch. The dataset is batched with B, and
under a strategy with R replicas every step splits each batch of B examples into R slices
of about B / R. A run therefore takes the same number of steps per epoch, and (with the
losses scaled to the global batch, as Keras's and kerazoo's train steps do) makes the same
updates, whatever the number of devices. `global_batch_size` checks B against the replicas
and `per_replica_batch_size` says what each replica sees.

XLA: kerazoo never turns XLA on for CPU. Small convnets train slower with it there: the
issue's measurement was ~4x; re-measured on this project's shared 2-core machine, mnist_cnn
(batch 128, 4,096 real digits, after a warm-up fit) ran 875 samples/s with
`jit_compile=True` against 1,685 without, about 2x slower. XLA's CPU kernels lose to
TensorFlow's oneDNN ones, and each new batch shape (the last, smaller batch) recompiles.
Keras's own `jit_compile="auto"` already leaves XLA off on CPU-only machines and under
`tf.distribute`; `recommended_jit_compile()` states that choice explicitly.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

# The strategy names are settings (one table: kerazoo.config).
from kerazoo.config import STRATEGIES, TRAIN_STRATEGIES  # noqa: E402,F401

BACKENDS = ("tensorflow", "jax", "torch")
# What each backend cannot do, and why: checked before anything loads.
_REFUSED = {
    ("torch", "mirrored"): "Keras has no data-parallel distribution for the torch backend",
    ("torch", "multiworker"): "multi-worker training uses TensorFlow's MultiWorkerMirroredStrategy",
    ("jax", "multiworker"): "multi-worker training uses TensorFlow's MultiWorkerMirroredStrategy",
}


def keras_backend() -> str:
    """The backend Keras runs on, or will run on once imported, without importing it.

    Keras reads it once, at import: `KERAS_BACKEND`, else `backend` in
    `$KERAS_HOME/keras.json` (default `~/.keras/keras.json`), else TensorFlow.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        return json.loads((Path(home) / "keras.json").read_text()).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def check_strategy(name: str, backend: str | None = None) -> str:
    """Refuses a strategy the backend cannot run, in one line, before anything loads.

    Args:
        name: a strategy name (`kerazoo.config.TRAIN_STRATEGIES`).
        backend: the Keras backend (default: `keras_backend()`).

    Returns:
        `name`.

    Raises:
        ValueError: for an unknown name, or one the backend cannot do (torch: mirrored,
            multiworker; JAX: multiworker), naming the backend to use instead.
    """
    if not isinstance(name, str) or name not in TRAIN_STRATEGIES:
        raise ValueError(
            f"strategy must be one of {', '.join(TRAIN_STRATEGIES)}. Received: strategy={name!r}"
        )
    backend = backend or keras_backend()
    why = _REFUSED.get((backend, name))
    if why is not None:
        raise ValueError(
            f"strategy {name!r} cannot run on the {backend} backend: {why}. Use "
            f"--backend tensorflow{' or --backend jax' if name == 'mirrored' else ''} "
            f"(KERAS_BACKEND in Python), or another strategy. Received: strategy={name!r}"
        )
    return name


class SingleDevice:
    """The strategy of a JAX or torch run on one device: no distribution, one replica.

    Keras places the model on the backend's default device (the first GPU, else the CPU).
    """

    num_replicas_in_sync = 1

    def __init__(self, device: str):
        self.device = device

    def scope(self):
        return contextlib.nullcontext()


class DataParallel:
    """A JAX run spread over local devices: `keras.distribution.DataParallel`.

    The model is built in `scope()` (its variables replicated on every device) and fitted
    in `fit_scope(strategy)` (each batch split along its first axis). Evaluation and
    prediction run outside it, on the replicated weights, so no batch must divide.
    """

    def __init__(self, devices: list[str]):
        import keras

        self.devices = list(devices)
        self.distribution = keras.distribution.DataParallel(devices=self.devices)
        self.num_replicas_in_sync = len(self.devices)

    def scope(self):
        return self.distribution.scope()


def _tf():
    # Imported on use: `import kerazoo.training` stays cheap for the CLI's list/info.
    import tensorflow as tf

    return tf


def get_strategy(name: str = "auto"):
    """Returns the `tf.distribute.Strategy` named by `name` for the devices of this machine.

    - `"auto"`: `MirroredStrategy` over all GPUs when there are two or more,
      `OneDeviceStrategy("/gpu:0")` on a single GPU, and the default strategy
      (`tf.distribute.get_strategy()`, one replica, no distribution) on CPU.
    - `"default"`: the default strategy, whatever the devices.
    - `"mirrored"`: `MirroredStrategy` over all GPUs; without GPUs, over all logical CPU
      devices (several of them only if `split_cpu(n)` configured them, which is how the
      tests exercise data parallelism without a GPU).
    - `"onedevice"`: `OneDeviceStrategy` on the first GPU, or on the CPU without one.
    - `"multiworker"`: `MultiWorkerMirroredStrategy` over the workers `TF_CONFIG` lists
      (see `kerazoo.training.multiworker`); it must be created before any other
      TensorFlow operation of the process.

    On JAX, `"mirrored"` (and `"auto"` with two or more GPUs) gives a `DataParallel` over
    the local devices (several CPU devices only with
    `XLA_FLAGS=--xla_force_host_platform_device_count=N`), the others a `SingleDevice`; on
    torch every allowed name gives a `SingleDevice` (see `check_strategy`).

    Args:
        name: one of `"auto"`, `"default"`, `"mirrored"`, `"onedevice"`, `"multiworker"`.

    Returns:
        A `tf.distribute.Strategy` on TensorFlow, else a `DataParallel` or `SingleDevice`.
        Build and compile the model inside its `scope()`.

    Raises:
        ValueError: for an unknown name, or one the backend cannot run.

    Example:

    ```python
    strategy = get_strategy("auto")
    with strategy.scope():
        model = kerazoo.create_model("mnist_cnn")
    model.fit(x, y, batch_size=global_batch_size(128, strategy))
    ```
    """
    backend = keras_backend()
    check_strategy(name, backend)
    if backend != "tensorflow":
        return _keras_strategy(name, backend)
    if name == "multiworker":
        return _multiworker()
    tf = _tf()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "auto":
        if len(gpus) >= 2:
            return _mirrored(tuple(d.name for d in gpus))
        if len(gpus) == 1:
            return tf.distribute.OneDeviceStrategy("/gpu:0")
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = gpus or tf.config.list_logical_devices("CPU")
        return _mirrored(tuple(d.name for d in devices))
    # "onedevice"
    return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")


def _keras_strategy(name: str, backend: str):
    import keras

    if backend != "jax":
        import torch

        return SingleDevice("cuda:0" if torch.cuda.is_available() else "cpu")
    devices = keras.distribution.list_devices()
    gpus = [d for d in devices if not d.startswith("cpu")]
    if name == "mirrored" or (name == "auto" and len(gpus) >= 2):
        return DataParallel(devices)
    return SingleDevice(devices[0])


def fit_scope(strategy):
    """Where `fit` runs: inside a JAX `DataParallel`'s distribution (Keras's JAX trainer
    shards the batches only while it is active); elsewhere nothing is needed."""
    if isinstance(strategy, DataParallel):
        return strategy.scope()
    return contextlib.nullcontext()


def fit_batches(dataset, strategy, examples: int, batch_size: int):
    """`dataset` as `fit` can split it over a JAX `DataParallel`'s devices.

    JAX shards each batch evenly over the devices, so an epoch's last, smaller batch is cut
    to a multiple of them: at most `replicas - 1` examples sit out that epoch (the
    shuffle changes which). Other strategies get `dataset` unchanged.

    Args:
        dataset: a batched `tf.data.Dataset` of `examples` examples in batches of
            `batch_size` (the last one smaller).
        strategy: what `get_strategy` returned.
        examples: how many examples the dataset holds.
        batch_size: its batch size.
    """
    if not isinstance(strategy, DataParallel) or dataset is None:
        return dataset
    tf = _tf()
    replicas = strategy.num_replicas_in_sync
    batches = -(-examples // batch_size)
    last = examples - (batches - 1) * batch_size
    if last % replicas == 0:
        return dataset

    def size(*batch):
        return tf.shape(tf.nest.flatten(batch)[0])[0]

    def whole(*batch):
        keep = size(*batch) // replicas * replicas
        cut = tf.nest.map_structure(lambda t: t[:keep], batch)
        return cut if len(batch) > 1 else cut[0]

    # The count stays known (Keras's progress bar and epoch end read it).
    return (
        dataset.map(whole)
        .filter(lambda *batch: size(*batch) > 0)
        .apply(tf.data.experimental.assert_cardinality(batches - (last < replicas)))
    )


_MIRRORED: dict[tuple[str, ...], Any] = {}


def _mirrored(devices: tuple[str, ...]):
    # One MirroredStrategy per device set and process: a second instance over the same
    # devices reuses collective instance keys, and its all-reduces then meet the first
    # one's ("Shape mismatch in the collective instance", measured with two runs in one
    # process).
    if devices not in _MIRRORED:
        _MIRRORED[devices] = _tf().distribute.MirroredStrategy(list(devices))
    return _MIRRORED[devices]


_MULTIWORKER: list = []


def _multiworker():
    # One per process, like MirroredStrategy (a second one would start a second server on
    # the same port); TF_CONFIG is checked first for a clear error.
    from kerazoo.training.multiworker import read_tf_config, wait_for_peers

    read_tf_config()
    if not _MULTIWORKER:
        wait_for_peers()  # bounded (KERAZOO_PEER_TIMEOUT); TensorFlow's own wait has no limit
        from kerazoo import _private_api

        # A worker starved of CPU for 10 s (TensorFlow's default) is not a dead worker.
        _private_api.configure_patient_coordination(heartbeat_seconds=300)
        _MULTIWORKER.append(_tf().distribute.MultiWorkerMirroredStrategy())
    return _MULTIWORKER[0]


def describe(strategy=None) -> dict[str, Any]:
    """What `metrics.json` records about a strategy: its class, replicas and devices.

    Args:
        strategy: what `get_strategy` returned; None describes the current one
            (`tf.distribute.get_strategy()` on TensorFlow, one device elsewhere).

    Returns:
        `{"strategy": class name, "replicas": int, "devices": [device names]}`, e.g.
        `{"strategy": "MirroredStrategy", "replicas": 2, "devices":
        ["/job:localhost/replica:0/task:0/device:CPU:0", ...]}`.

    Example:

    ```python
    describe(get_strategy("default"))
    # {'strategy': '_DefaultDistributionStrategy', 'replicas': 1, 'devices': [...CPU:0]}
    ```
    """
    if strategy is None and keras_backend() != "tensorflow":
        strategy = get_strategy("default")
    if isinstance(strategy, DataParallel):
        return {
            "strategy": "DataParallel",  # keras.distribution's, on JAX
            "replicas": strategy.num_replicas_in_sync,
            "devices": list(strategy.devices),
        }
    if isinstance(strategy, SingleDevice):
        return {"strategy": "SingleDevice", "replicas": 1, "devices": [strategy.device]}
    tf = _tf()
    if strategy is None:
        strategy = tf.distribute.get_strategy()
    try:
        devices = [str(d) for d in strategy.extended.worker_devices]
    except (AttributeError, RuntimeError, NotImplementedError):
        # The default strategy has no worker list: it runs wherever TensorFlow places ops.
        devices = []
    if not devices:
        gpus = tf.config.list_logical_devices("GPU")
        devices = [(gpus or tf.config.list_logical_devices("CPU"))[0].name]
    name = type(strategy).__name__
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        name = "MultiWorkerMirroredStrategy"  # its class is CollectiveAllReduceStrategy
    return {
        "strategy": name,
        "replicas": int(strategy.num_replicas_in_sync),
        "devices": devices,
    }


def split_cpu(n: int) -> list[str]:
    """Configures the physical CPU as `n` logical devices, so `MirroredStrategy` can run
    `n` replicas without a GPU (how data parallelism is tested on CPU-only machines).

    It must run before TensorFlow initialises its devices, that is before any tensor is
    created, any model is built or any device is listed with `list_logical_devices`. Calling
    it again with the same `n` is harmless.

    Args:
        n: number of logical CPU devices, at least 1.

    Returns:
        The names of the logical CPU devices, e.g. `["/device:CPU:0", "/device:CPU:1"]`.

    Raises:
        ValueError: if `n` is not a positive integer.
        RuntimeError: if TensorFlow has already initialised its devices with another
            layout; call `split_cpu` first thing in a fresh process.

    Example:

    ```python
    split_cpu(2)                         # first thing in the process
    strategy = get_strategy("mirrored")  # MirroredStrategy with 2 replicas
    ```
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(
            f"n must be an integer >= 1 (number of logical CPU devices). Received: n={n!r}"
        )
    tf = _tf()
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is None or len(current) != n:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
            )
        except RuntimeError as error:
            have = len(tf.config.list_logical_devices("CPU"))
            if have == n:  # already initialised with the layout asked for
                return [d.name for d in tf.config.list_logical_devices("CPU")]
            raise RuntimeError(
                f"split_cpu({n}) came too late: TensorFlow has already initialised its "
                f"devices ({have} logical CPU device(s)). Call split_cpu before building any "
                "model or creating any tensor, in a fresh process (for tests, a subprocess). "
                f"Received: n={n}"
            ) from error
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def global_batch_size(batch_size: int, strategy=None) -> int:
    """The batch size to batch the dataset with: the user's batch size, which is GLOBAL.

    kerazoo does not multiply the batch by the number of replicas: `--batch-size 128` on
    two GPUs gives each GPU 64 examples a step, and the same number of steps per epoch as
    on one device. This function only checks that every replica gets at least one example.

    Args:
        batch_size: the global batch size the user asked for.
        strategy: the `tf.distribute.Strategy` the run uses (None: the current one).

    Returns:
        `batch_size`, unchanged.

    Raises:
        ValueError: if `batch_size` is not a positive integer, or is smaller than the
            number of replicas.

    Example:

    ```python
    dataset = dataset.batch(global_batch_size(128, strategy))
    ```
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1. Received: batch_size={batch_size!r}")
    replicas = _replicas(strategy)
    if batch_size < replicas:
        raise ValueError(
            f"batch_size is the global batch, split across {replicas} replicas, so it must be "
            f"at least {replicas}; pass a larger --batch-size. Received: batch_size={batch_size}"
        )
    if isinstance(strategy, DataParallel) and batch_size % replicas:
        raise ValueError(
            f"batch_size is the global batch, split evenly across {replicas} JAX devices, so "
            f"it must be a multiple of {replicas}; pass --batch-size "
            f"{batch_size // replicas * replicas or replicas}. Received: batch_size={batch_size}"
        )
    return batch_size


def per_replica_batch_size(batch_size: int, strategy=None) -> int:
    """How many examples each replica sees per step for a GLOBAL `batch_size`.

    When `batch_size` is not a multiple of the replicas, tf.distribute gives some replicas
    one example more; this returns the smaller share, `batch_size // replicas`.

    Args:
        batch_size: the global batch size.
        strategy: the `tf.distribute.Strategy` (None: the current one).

    Returns:
        `batch_size // num_replicas_in_sync`.

    Raises:
        ValueError: as `global_batch_size`.
    """
    return global_batch_size(batch_size, strategy) // _replicas(strategy)


def recommended_jit_compile() -> bool | str:
    """The `jit_compile` to pass to `model.compile`: on TensorFlow False without a GPU,
    else `"auto"`; on JAX and torch always `"auto"`.

    XLA stays off on TensorFlow's CPU path (small convnets measured 2-4x slower with it,
    see the module docstring); on GPUs Keras's `"auto"` decides. JAX compiles every step
    with XLA (turning it off runs op by op), and torch's `"auto"` leaves it eager.
    """
    if keras_backend() != "tensorflow":
        return "auto"
    return "auto" if _tf().config.list_physical_devices("GPU") else False


def _replicas(strategy) -> int:
    if strategy is None:
        if keras_backend() != "tensorflow":
            return 1
        strategy = _tf().distribute.get_strategy()
    return int(strategy.num_replicas_in_sync)
