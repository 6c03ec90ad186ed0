"""Multi-worker training: `MultiWorkerMirroredStrategy` from `TF_CONFIG` and its training loop.

`kerazoo train NAME --strategy multiworker` (or `kerazoo.train(..., strategy="multiworker")`)
runs on every worker of a cluster that `TF_CONFIG` describes, as TensorFlow documents it:

    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]},
                "task": {"type": "worker", "index": 0}}'

`kerazoo launch --workers N -- train NAME ...` sets it for N processes on this machine.

Why a loop of our own: Keras 3.15.1's `model.fit` fails under this strategy
(keras-team/keras#20585, "Attempt to convert a value (PerReplica:{...}) with an unsupported
type"): measured here, it fails in the trainer's `_maybe_symbolic_build`, which averages the
first distributed batch with `strategy.reduce` in eager mode. `evaluate` and `predict` take
the same path. The loop below is TensorFlow's documented custom loop: a distributed
dataset (sharded across the workers by tf.data), `strategy.run` of the model's own
`train_step` (which computes the loss scaled to the global batch, and whose
`optimizer.apply` all-reduces the gradients across the workers), and the metrics read back
across all workers at the end of each epoch. It drives the run's usual Keras callbacks
(checkpoint, early stopping, learning-rate schedule, CSV history, NaN guard, image
monitors), so the run folder is the one `fit` produces. A newer Keras that fixes `fit` can
replace the loop; 3.15.1 is the newest release available to this project.

Writing: only the chief (worker 0, or the `chief` task if the cluster has one) writes the
run folder. The other workers run the same callbacks into a temporary folder that is
removed when they finish (TensorFlow's documented pattern: every worker saves, because
saving may need all of them, and non-chiefs save to throw-away places).

Fault tolerance: the run's backup (`kerazoo.training.backup.RunBackup`) runs in the loop as
in `fit`: after every epoch it commits the weights, the optimizer state (its step count
included), the history rows and the epoch count to `backup/` in one atomic step. When a worker dies, the others cannot go
on (their all-reduces wait for it); `kerazoo launch` then stops the job. Started again with
`--resume`, every worker restores the chief's `backup/` (a non-chief copies it into its
temporary folder first; on several machines the run folder must be on a filesystem they
share) and goes on with the first unfinished epoch: no epoch is lost or run twice, and the
optimizer's step count is exact.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from kerazoo import _private_api as private

# ---------------------------------------------------------------------------------------------
# TF_CONFIG (read without TensorFlow, so bad clusters are answered before it loads)


def read_tf_config(environ=None) -> dict:
    """Reads and checks `TF_CONFIG`; returns `{"workers": N, "task_type", "task_id", "chief"}`.

    Args:
        environ: the environment to read (default `os.environ`).

    Raises:
        ValueError: when `TF_CONFIG` is missing, not JSON, or does not name this process's
            task in its cluster; the message says how to set it.
    """
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG")
    how = (
        "start the workers with `kerazoo launch --workers N -- train ...`, or set TF_CONFIG "
        'on each host, e.g. {"cluster": {"worker": ["host0:2222", "host1:2222"]}, "task": '
        '{"type": "worker", "index": 0}} (docs/distributed.md)'
    )
    if not raw:
        raise ValueError(
            "strategy='multiworker' reads the cluster from the TF_CONFIG environment variable, "
            f"which is not set; {how}. Received: TF_CONFIG=None"
        )
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        task_type, task_id = task["type"], int(task["index"])
        members = cluster[task_type]
        hosts = [h for kind in ("chief", "worker") for h in cluster.get(kind, [])]
    except (ValueError, TypeError, KeyError) as err:
        raise ValueError(
            f"TF_CONFIG must be JSON with a cluster and this process's task ({err}); {how}. "
            f"Received: TF_CONFIG={raw!r}"
        ) from None
    if task_type not in ("chief", "worker") or not 0 <= task_id < len(members):
        raise ValueError(
            f"TF_CONFIG's task must be a chief or worker listed in the cluster; {how}. "
            f"Received: TF_CONFIG={raw!r}"
        )
    has_chief = bool(cluster.get("chief"))
    chief = task_type == "chief" or (not has_chief and task_id == 0)
    return {"workers": len(hosts), "task_type": task_type, "task_id": task_id, "chief": chief}


def worker_name(tf_config: dict) -> str:
    """`"worker 1"` / `"chief"`: how messages name this process."""
    if tf_config["task_type"] == "chief":
        return "chief"
    return f"worker {tf_config['task_id']}"


# ---------------------------------------------------------------------------------------------
# Where each worker writes


def write_dir(run_dir: Path, tf_config: dict) -> Path:
    """The chief writes `run_dir`; another worker a fresh temporary folder (removed later).

    A non-chief's folder starts with a copy of the chief's `history.csv` and `backup/`, so
    a resumed run restores the same state and its early stopping and checkpoint take the
    same decisions on every worker (a worker stopping alone would leave the others waiting
    in an all-reduce). Call it before the first collective operation (building the model),
    while the chief cannot yet change those files.
    """
    if tf_config["chief"]:
        return run_dir
    folder = Path(tempfile.mkdtemp(prefix=f"kerazoo-worker{tf_config['task_id']}-"))
    history = run_dir / "history.csv"
    if history.is_file():
        shutil.copyfile(history, folder / "history.csv")
    if (run_dir / "backup").is_dir():
        shutil.copytree(run_dir / "backup", folder / "backup")
    return folder


def fingerprint(net) -> str:
    """A short SHA-256 of the model's weights: equal on every worker after a correct run."""
    digest = hashlib.sha256()
    for weight in net.weights:
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# The loop


def fit(
    net,
    train_ds,
    val_ds,
    *,
    strategy,
    epochs: int,
    callbacks: list,
    n_train: int,
    global_batch: int,
    verbose: int = 2,
) -> dict:
    """Trains `net` (built and compiled in `strategy.scope()`) with the distributed loop.

    Args:
        net: the compiled model.
        train_ds, val_ds: batched `tf.data` datasets of the GLOBAL batch; they are sharded
            across the workers here (tf.data's data sharding: every worker reads the same
            seeded order and keeps its part of each batch).
        strategy: the `MultiWorkerMirroredStrategy`.
        epochs: the run's epoch count (including epochs finished before a restart).
        callbacks: Keras callbacks, called as `fit` calls them (`on_train_begin/end`,
            `on_epoch_begin/end` with the epoch's logs, `val_*` included, and
            `on_train_batch_begin/end` without logs: reading the loss every step would cost
            an all-reduce per step). A `RunBackup` among them restores the state and
            the first unfinished epoch in `on_train_begin`, as in `fit`.
        n_train: training examples, for the progress parameters.
        global_batch: the global batch size.
        verbose: 0 silent, else a line per epoch.

    Returns:
        `{"initial_epoch", "epochs", "steps", "local_examples", "seconds"}`: `epochs` the
        epochs finished in all, `steps` the optimizer's step count at the end (restored steps
        included), `local_examples` the training examples this worker processed in this
        session.
    """
    import keras
    import tensorflow as tf

    options = tf.data.Options()
    # The datasets come from in-memory arrays, not files: shard by data, on every worker.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dist_train = strategy.experimental_distribute_dataset(train_ds.with_options(options))
    dist_val = strategy.experimental_distribute_dataset(val_ds.with_options(options))

    with strategy.scope():
        # What Keras's fit does before its first step (and where it fails under this
        # strategy, averaging a distributed batch in eager mode): build the metrics and the
        # optimizer from one plain batch, outside any replica context. A validation batch:
        # a new iterator over the training set would draw the first epoch's shuffle order.
        private.symbolic_build(net, next(iter(val_ds)))
        if not net.optimizer.built:
            net.optimizer.build(net.trainable_variables)

    @tf.function
    def train_step(batch):
        def step(data):
            net.train_step(data)
            return tf.shape(tf.nest.flatten(data)[0])[0]

        return strategy.experimental_local_results(strategy.run(step, args=(batch,)))

    @tf.function
    def test_step(batch):
        strategy.run(net.test_step, args=(batch,))

    @tf.function
    def results():
        # In cross-replica context the metric variables (synchronized on read) are summed
        # over every replica of every worker.
        return net.get_metrics_result()

    def epoch_logs() -> dict:
        return {k: float(v) for k, v in results().items()}

    callback_list = keras.callbacks.CallbackList(
        callbacks,
        model=net,
        add_history=True,
        epochs=epochs,
        steps=math.ceil(n_train / global_batch),
        verbose=0,
    )
    net.stop_training = False
    private.clear_restored_initial_epoch(net)  # the run's backup sets it when it restores
    local_examples = 0
    start = time.perf_counter()
    callback_list.on_train_begin()
    initial_epoch = private.restored_initial_epoch(net)
    epochs_done = initial_epoch
    for epoch in range(initial_epoch, epochs):
        net.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        epoch_start = time.perf_counter()
        counts = []  # read at the end of the epoch: reading each step would wait for it
        for step, batch in enumerate(dist_train):
            callback_list.on_train_batch_begin(step)
            counts.extend(train_step(batch))
            callback_list.on_train_batch_end(step)
        local_examples += sum(int(count) for count in counts)
        logs = epoch_logs()
        net.reset_metrics()
        for batch in dist_val:
            test_step(batch)
        logs |= {f"val_{k}": v for k, v in epoch_logs().items()}
        callback_list.on_epoch_end(epoch, logs)
        epochs_done = epoch + 1
        if verbose:
            shown = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
            seconds = time.perf_counter() - epoch_start
            print(f"Epoch {epochs_done}/{epochs} - {seconds:.1f}s - {shown}", flush=True)
        if net.stop_training:
            break
    callback_list.on_train_end()
    return {
        "initial_epoch": initial_epoch,
        "epochs": epochs_done,
        "steps": _optimizer_steps(net),
        "local_examples": local_examples,
        "seconds": time.perf_counter() - start,
    }


def _optimizer_steps(net) -> int:
    """The optimizer's step count; a GAN's two optimizers (`d_optimizer`, `g_optimizer`)
    step once each per batch, so the larger count is the number of steps."""
    import keras

    optimizers = [net.optimizer, *vars(net).values()]
    return max(
        int(o.iterations.numpy()) for o in optimizers if isinstance(o, keras.optimizers.Optimizer)
    )


def worker_line(cluster: dict, stats: dict, n_train: int, global_batch: int) -> str:
    """One line per worker at the end of its training: what it did and its weights' hash.

    Example: `kerazoo: worker 1 of 2 trained epochs 1-3 of 3: 3,000 of 6,000 training
    examples per epoch here (global batch 128 split across 2 workers), 141 optimizer steps,
    weights fingerprint 3f2a...`
    """
    sessions = stats["epochs"] - stats["initial_epoch"]
    per_epoch = stats["local_examples"] / sessions if sessions else 0
    return (
        f"kerazoo: {worker_name(cluster)} of {cluster['workers']} trained epochs "
        f"{stats['initial_epoch'] + 1}-{stats['epochs']}: {per_epoch:,.0f} of {n_train:,} "
        f"training examples per epoch here (global batch {global_batch} split across "
        f"{cluster['workers']} workers), {stats['steps']:,} optimizer steps, weights "
        f"fingerprint {stats['fingerprint']}"
    )
