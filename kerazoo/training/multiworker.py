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

What is kept equal: the trainable weights by the all-reduced gradients of every step;
the model's other float weights (BatchNormalization's moving mean and variance: each worker
updates them from its own part of every batch) by an all-reduce (mean) at the end of every
epoch, before validation, checkpoint and backup read them (`sync_statistics`). So every
worker ends with the same weights, and `fingerprint` hashes them all.

Start-up: before TensorFlow's server starts, the workers meet on their `TF_CONFIG` ports
(`wait_for_peers`) for at most `KERAZOO_PEER_TIMEOUT` seconds (default 300); a worker whose
peer never comes fails in one line naming the missing worker's address, instead of waiting
forever inside TensorFlow (whose wait holds the interpreter: no Python timer can end it).

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
import socket
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
    peer_timeout(environ)  # a bad value answered now, before TensorFlow loads
    return {"workers": len(hosts), "task_type": task_type, "task_id": task_id, "chief": chief}


def worker_name(tf_config: dict) -> str:
    """`"worker 1"` / `"chief"`: how messages name this process."""
    if tf_config["task_type"] == "chief":
        return "chief"
    return f"worker {tf_config['task_id']}"


# ---------------------------------------------------------------------------------------------
# Meeting the peers before TensorFlow's server starts

PEER_TIMEOUT_VARIABLE = "KERAZOO_PEER_TIMEOUT"
DEFAULT_PEER_TIMEOUT = 300.0  # seconds: machines of a cluster may start minutes apart
_HELLO = "kerazoo-peer"


class PeerTimeout(TimeoutError, ValueError):
    """A worker of the cluster did not come within `KERAZOO_PEER_TIMEOUT` seconds.

    A `ValueError` too: like a bad `TF_CONFIG`, it stops the run before it trains, and the
    CLI answers it in one line with status 2.
    """


def peer_timeout(environ=None) -> float:
    """Seconds a worker waits for its peers at start-up: `KERAZOO_PEER_TIMEOUT`, default 300.

    Raises:
        ValueError: when the variable is not a number of seconds > 0.
    """
    environ = os.environ if environ is None else environ
    raw = environ.get(PEER_TIMEOUT_VARIABLE)
    if raw is None or raw == "":
        return DEFAULT_PEER_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(
            f"{PEER_TIMEOUT_VARIABLE} must be a number of seconds > 0 (how long a worker waits "
            f"for the others at start-up; default {DEFAULT_PEER_TIMEOUT:g}). "
            f"Received: {PEER_TIMEOUT_VARIABLE}={raw!r}"
        )
    return seconds


def _cluster_tasks(config: dict) -> list[tuple[str, str]]:
    """`[(name, "host:port"), ...]` for every chief and worker of a parsed `TF_CONFIG`."""
    tasks = []
    for kind in ("chief", "worker"):
        for index, address in enumerate(config["cluster"].get(kind, [])):
            tasks.append(("chief" if kind == "chief" else f"worker {index}", address))
    return tasks


def wait_for_peers(environ=None, *, timeout: float | None = None, poll: float = 0.2) -> None:
    """Waits until every worker of `TF_CONFIG`'s cluster is up, or fails in one line.

    TensorFlow's `MultiWorkerMirroredStrategy()` waits for its peers without a limit, in C++
    code that holds the interpreter, so no Python timer can interrupt it. Called just before
    it, this meets the peers first: each worker listens on its own `TF_CONFIG` port (the one
    TensorFlow's server takes next), sends a greeting to every peer's port and waits until
    it has reached every peer and heard from every peer. A worker closes its port only then,
    so no peer can miss it, and every port is free again for TensorFlow.

    Args:
        environ: the environment to read `TF_CONFIG` and `KERAZOO_PEER_TIMEOUT` from
            (default `os.environ`).
        timeout: seconds to wait; None reads `KERAZOO_PEER_TIMEOUT` (default 300).
        poll: seconds between attempts to reach a missing peer.

    Raises:
        PeerTimeout: (a `ValueError`) when a peer did not come in time; the message names
            it, its address and what to do.
        ValueError: for a bad `TF_CONFIG` or timeout, or when this worker's port is taken.

    Example:

    ```python
    wait_for_peers()  # on every worker, before tf.distribute.MultiWorkerMirroredStrategy()
    ```
    """
    environ = os.environ if environ is None else environ
    me = read_tf_config(environ)
    seconds = peer_timeout(environ) if timeout is None else timeout
    config = json.loads(environ["TF_CONFIG"])
    tasks = _cluster_tasks(config)
    if len(tasks) < 2:
        return
    own_name = worker_name(me)
    own_address = config["cluster"][me["task_type"]][me["task_id"]]
    peers = {name: address for name, address in tasks if name != own_name}
    # Only greetings from this very cluster count (not a stray connection, nor another job).
    cluster_id = hashlib.sha256(json.dumps(tasks).encode()).hexdigest()[:16]
    greeting = f"{_HELLO} {cluster_id} {own_name}\n".encode()

    server = _listen(own_address, own_name)
    reached: set[str] = set()
    heard: set[str] = set()
    start = time.monotonic()
    announced = False
    try:
        while reached != set(peers) or heard != set(peers):
            waited = time.monotonic() - start
            if not announced and waited > 10:  # machines may start minutes apart: say so
                missing = ", ".join(f"{n} at {peers[n]}" for n in peers if n not in heard)
                print(
                    f"kerazoo: {own_name} is waiting for {missing or 'the others'} "
                    f"(up to {seconds:g} s, {PEER_TIMEOUT_VARIABLE})",
                    flush=True,
                )
                announced = True
            if waited > seconds:
                missing = [n for n in peers if n not in reached or n not in heard]
                raise PeerTimeout(_missing_message(own_name, missing, peers, seconds))
            for name in set(peers) - reached:
                if _greet(peers[name], greeting):
                    reached.add(name)
            server.settimeout(poll)  # the pause between rounds, spent listening
            heard |= _accept_greetings(server, cluster_id, set(peers))
    finally:
        server.close()


def _listen(address: str, own_name: str) -> socket.socket:
    port = int(address.rpartition(":")[2])
    try:
        if socket.has_dualstack_ipv6():  # peers may reach "localhost" as ::1 or 127.0.0.1
            return socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True)
        return socket.create_server(("", port))
    except OSError as err:
        raise ValueError(
            f"{own_name} cannot listen on its TF_CONFIG address {address} ({err.strerror}): "
            "another program uses that port; choose a free one in TF_CONFIG on every worker. "
            f"Received: address={address!r}"
        ) from None


def _greet(address: str, greeting: bytes) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0) as conn:
            conn.sendall(greeting)
        return True
    except OSError:  # not up yet (refused), unreachable, or a name not resolving yet
        return False


def _accept_greetings(server: socket.socket, cluster_id: str, names: set[str]) -> set[str]:
    heard = set()
    while True:
        try:
            conn, _ = server.accept()
        except (TimeoutError, BlockingIOError):
            return heard
        with conn:
            conn.settimeout(2.0)
            try:
                line = conn.makefile("rb").readline(200).decode(errors="replace").split(" ", 2)
            except OSError:
                continue
        if len(line) == 3 and line[:2] == [_HELLO, cluster_id] and line[2].strip() in names:
            heard.add(line[2].strip())
        server.settimeout(0)  # take what else is waiting, then go back to greeting


def _missing_message(own_name: str, missing: list, peers: dict, seconds: float) -> str:
    who = ", ".join(f"{name} at {peers[name]}" for name in missing)
    return (
        f"{own_name} waited {seconds:g} s for the other workers and got no answer from {who}: "
        "start it with the same command and its own TF_CONFIG index (`kerazoo launch` starts "
        "them all), check that the address is right and its port reachable through the "
        f"firewall, or wait longer with {PEER_TIMEOUT_VARIABLE}=SECONDS. "
        f"Received: {PEER_TIMEOUT_VARIABLE}={seconds:g}"
    )


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
    """A short SHA-256 of all the model's weights, moving statistics included: equal on
    every worker after a correct run (see `sync_statistics`)."""
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

    sync = sync_statistics(net, strategy)

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
        sync()  # before validation, checkpoint and backup read the moving statistics
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


def sync_statistics(net, strategy):
    """Returns a function that averages the model's non-trainable float weights across all
    replicas of all workers.

    The trainable weights stay equal through the all-reduced gradients; the others do not:
    BatchNormalization updates its moving mean and variance in each replica from that
    replica's part of the batch (a variable Keras creates with aggregation "none", which
    tf.distribute then updates on the local copy only). Averaging them once an epoch gives
    every worker the same statistics: the mean of the workers' moving averages, which is the
    moving average of the mean over the whole global batch (for the variance, the mean of
    the workers' variances, without the small spread between their batch means). Training
    itself uses each batch's own statistics, so it is not changed; only what inference,
    validation and the saved model read is. `BatchNormalization(synchronized=True)` would
    instead all-reduce the statistics of every batch, at every step.

    Args:
        net: the model, built in `strategy.scope()`.
        strategy: its `tf.distribute` strategy.

    Returns:
        A function of no arguments; it does nothing when the model has no such weights.
    """
    import keras
    import tensorflow as tf

    statistics = [
        w
        for w in net.weights
        if not w.trainable and "float" in keras.backend.standardize_dtype(w.dtype)
    ]
    if not statistics:
        return lambda: None

    def average():
        context = tf.distribute.get_replica_context()
        means = context.all_reduce(
            tf.distribute.ReduceOp.MEAN, [tf.identity(w.value) for w in statistics]
        )
        for weight, mean in zip(statistics, means, strict=True):
            weight.assign(mean)  # aggregation "none": this replica's copy, as every replica

    @tf.function
    def sync():
        strategy.run(average)

    return sync


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
