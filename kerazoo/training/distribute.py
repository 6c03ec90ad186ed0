"""Choosing a `tf.distribute` strategy and splitting batches across its replicas.

This is the only module of the training path that speaks TensorFlow: the models themselves
stay backend-neutral Keras 3 code, and the training loop asks this module for a strategy,
builds and compiles the model inside `strategy.scope()`, and records `describe(strategy)`
in `metrics.json`.

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

from typing import Any

# The strategy names are settings (one table: kerazoo.config).
from kerazoo.config import STRATEGIES, TRAIN_STRATEGIES  # noqa: E402,F401


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

    Args:
        name: one of `"auto"`, `"default"`, `"mirrored"`, `"onedevice"`, `"multiworker"`.

    Returns:
        A `tf.distribute.Strategy`. Build and compile the model inside its `scope()`.

    Raises:
        ValueError: for an unknown name.

    Example:

    ```python
    strategy = get_strategy("auto")
    with strategy.scope():
        model = kerazoo.create_model("mnist_cnn")
    model.fit(x, y, batch_size=global_batch_size(128, strategy))
    ```
    """
    if not isinstance(name, str) or name not in TRAIN_STRATEGIES:
        raise ValueError(
            f"strategy must be one of {', '.join(TRAIN_STRATEGIES)}. Received: strategy={name!r}"
        )
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
    from kerazoo.training.multiworker import read_tf_config

    read_tf_config()
    if not _MULTIWORKER:
        _MULTIWORKER.append(_tf().distribute.MultiWorkerMirroredStrategy())
    return _MULTIWORKER[0]


def describe(strategy=None) -> dict[str, Any]:
    """What `metrics.json` records about a strategy: its class, replicas and devices.

    Args:
        strategy: a `tf.distribute.Strategy`; None describes the current one
            (`tf.distribute.get_strategy()`).

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
    """The `jit_compile` to pass to `model.compile`: False without a GPU, else `"auto"`.

    XLA stays off on CPU (small convnets measured 2-4x slower with it, see the module
    docstring); on GPUs Keras's `"auto"` decides.
    """
    return "auto" if _tf().config.list_physical_devices("GPU") else False


def _replicas(strategy) -> int:
    if strategy is None:
        strategy = _tf().distribute.get_strategy()
    return int(strategy.num_replicas_in_sync)
