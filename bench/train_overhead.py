"""Training speed of `kerazoo.train` against a plain `model.fit` and PyTorch, same data, same run.

    .venv/bin/python bench/train_overhead.py                      # fashion_mnist, 2 epochs, batch 128
    .venv/bin/python bench/train_overhead.py --repeat 3
    .venv/bin/python bench/train_overhead.py --dataset mnist_sample --batch-size 32 --epochs 2
    .venv/bin/python bench/train_overhead.py --max-examples 5000 --no-torch   # a quick run

What is measured: training samples per second (n_train * epochs / seconds) of `mnist_cnn`, in
one process, on the same splits of the same real dataset (`kerazoo.data.load_arrays`, seed
`--seed`), each epoch followed by a pass over the validation split, for three peers:

1. `kerazoo.train(...)`: the shared training path (tf.data pipeline, default callbacks, run
   folder). Its own `metrics.json` figures are used: `seconds` runs from just before its
   callbacks are built to after the best weights are reloaded and the test split evaluated
   (data loading and pipelines are outside it). `inner_seconds` is its fit loop alone
   (`on_train_begin` to `on_train_end`, from a timing callback passed in with `callbacks=`);
   `call_seconds` the whole call.
2. `model.fit` written by hand: a fresh `kerazoo.create_model("mnist_cnn")` fitted on the NumPy
   arrays with `validation_data`, timed with `time.perf_counter` around `fit` only (so it
   includes `fit`'s conversion of the arrays; `inner_seconds` as for kerazoo.train).
3. PyTorch: the same convnet layer for layer (parameter count asserted equal to the Keras
   model's), Adam with Keras's defaults, the same arrays as NCHW tensors, the same batch size,
   reshuffled every epoch, the same per-epoch validation pass, `torch.set_num_threads` set to the
   cores TensorFlow uses. Timed around the whole loop, tensor conversion included (as `fit`
   includes its own conversion of the arrays).

Test accuracy after the last epoch is reported for each (kerazoo.train's is its
`metrics.json` `test_accuracy`, measured on the weights it keeps).

Warm-up and tracing: before any timed run, each peer runs once on a small slice and that run
is not counted; it pays the once-per-process costs (imports, TensorFlow runtime start-up,
oneDNN kernel creation for these shapes, reading the data files). Graph tracing is INCLUDED in
both Keras peers: every timed run builds a fresh model, as `kerazoo.train` must, and Keras
traces the train and validation functions of each new model on its first batch. PyTorch runs
eagerly and has no tracing step. `first_epoch_s` / `epoch_s` (median of the later epochs) show
how much more the first epoch costs.

Fairness: with `--repeat R` the order of the peers is rotated on every repeat (each peer takes
each position) and the median of the R runs is reported. The 1-minute load average before each
run is recorded, and `others_cores_busy`: how many cores other processes kept busy during the
run (from /proc/stat), since the machine may be shared. PyTorch's OpenMP threads suffer most from
a busy machine (measured here while a test suite ran: 0.25 s epochs of a 640-example slice took
5-9 s); compare runs with this column near 0. It only sees this machine's processes: when
`epochs_own_cores` (cores this process kept busy per epoch; Keras peers) falls well below the
core count while `others_cores_busy` is near 0, the cores were taken from outside (measured
here: the same epoch took 7 s at 1.8 cores and 10-12 s at 1.2-1.35, whatever the callbacks).

Output: one JSON line per measurement, then a Markdown table (peer, samples/s, ratio to the
plain fit, test accuracy). Exit status 2 when PyTorch is missing (unless `--no-torch`).
PyTorch is not a kerazoo dependency; install it into the venv with
`.venv/bin/pip install torch==2.13.0`.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

MODEL = "mnist_cnn"
TORCH_INSTALL = ".venv/bin/pip install torch==2.13.0"
PEER_KERAZOO = "kerazoo.train"
PEER_FIT = "model.fit (plain)"
PEER_TORCH = "PyTorch (eager)"
# Warm-up size in batches: enough to create every kernel (train, validation, a partial last
# batch) without costing a noticeable share of the run.
WARMUP_TRAIN_BATCHES = 4
WARMUP_VAL_BATCHES = 2


@dataclasses.dataclass
class Arrays:
    """The float32 NHWC arrays every peer trains on (kerazoo.train reads the same split itself)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def head(self, n_train: int, n_val: int, n_test: int | None = None) -> Arrays:
        """The first examples of each split (the warm-up's small slice)."""
        n_test = len(self.x_test) if n_test is None else n_test
        return Arrays(
            self.x_train[:n_train],
            self.y_train[:n_train],
            self.x_val[:n_val],
            self.y_val[:n_val],
            self.x_test[:n_test],
            self.y_test[:n_test],
        )


@dataclasses.dataclass
class Config:
    dataset: str
    epochs: int
    batch_size: int
    seed: int
    max_examples: int | None
    out: Path
    precision: str = "float32"


def load_1m() -> float:
    return os.getloadavg()[0]


def busy_cpu_seconds() -> float:
    """CPU seconds all processes on the machine have spent busy since boot (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return math.nan
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
    busy = sum(fields[:3]) + sum(fields[5:8])
    return busy / os.sysconf("SC_CLK_TCK")


class Contention:
    """How many cores other processes kept busy while a measurement ran.

    The machine may be shared; this process's own CPU time is not a clean signal (PyTorch's
    OpenMP threads spin while they wait), so the rest of the machine's busy time is used.
    """

    def __init__(self) -> None:
        self.wall, self.own, self.busy = (
            time.perf_counter(),
            time.process_time(),
            busy_cpu_seconds(),
        )

    def others_cores_busy(self) -> float:
        wall = time.perf_counter() - self.wall
        own = time.process_time() - self.own
        return max(0.0, (busy_cpu_seconds() - self.busy - own) / wall)


# ---------------------------------------------------------------------------------------------
# Peer 1: kerazoo.train


def run_kerazoo(cfg: Config, epochs: int, max_examples: int | None, tag: str) -> dict[str, Any]:
    import kerazoo

    out = cfg.out / tag
    # The same timer as in the plain fit, passed in as a user callback, times kerazoo's own
    # fit loop from the inside (its `seconds` starts earlier and ends later: module docstring).
    timer = fit_timer()
    start = time.perf_counter()
    result = kerazoo.train(
        MODEL,
        cfg.dataset,
        epochs=epochs,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        out=str(out),
        overwrite=True,
        verbose=0,
        plots=False,
        max_examples=max_examples,
        precision=cfg.precision,
        callbacks=[timer],
    )
    call_seconds = time.perf_counter() - start
    metrics = result.metrics if hasattr(result, "metrics") else dict(result)
    seconds = float(metrics["seconds"])
    n_train = int(metrics["n_train"])
    epochs = int(metrics.get("epochs", epochs))  # early stopping may end a run sooner
    return {
        "n_train": n_train,
        "n_val": int(metrics["n_val"]),
        "epochs": epochs,
        "seconds": seconds,
        # Recomputed the same way as the other peers; kerazoo's own figure is kept beside it
        # so a different definition would show.
        "samples_per_second": n_train * epochs / seconds,
        "reported_samples_per_second": float(metrics["samples_per_second"]),
        "test_accuracy": float(metrics["test_accuracy"]),
        "inner_seconds": timer.inner_seconds,
        "call_seconds": call_seconds,
        **epoch_summary(timer.seconds, timer.cpu_seconds),
    }


# ---------------------------------------------------------------------------------------------
# Peer 2: hand-written model.fit


def run_plain_fit(cfg: Config, data: Arrays, epochs: int) -> dict[str, Any]:
    import keras

    import kerazoo

    keras.utils.set_random_seed(cfg.seed)
    # The policy around the model's creation only, as kerazoo.train(precision=...) sets it.
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(cfg.precision)
    try:
        model = kerazoo.create_model(MODEL)
    finally:
        keras.config.set_dtype_policy(previous)
    timer = fit_timer()
    start = time.perf_counter()
    model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        batch_size=cfg.batch_size,
        epochs=epochs,
        verbose=0,
        callbacks=[timer],
    )
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(data.x_test, data.y_test, batch_size=cfg.batch_size, verbose=0)
    return {
        "n_train": len(data.x_train),
        "n_val": len(data.x_val),
        "epochs": epochs,
        "seconds": seconds,
        "samples_per_second": len(data.x_train) * epochs / seconds,
        "test_accuracy": float(accuracy),
        "inner_seconds": timer.inner_seconds,
        **epoch_summary(timer.seconds, timer.cpu_seconds),
    }


def fit_timer():
    """A Keras callback recording wall times of `fit`'s training loop and of each epoch.

    `inner_seconds` runs from `on_train_begin` to `on_train_end`, so it can be read the same way
    inside `kerazoo.train` and a plain `fit`. Only train/epoch hooks are overridden: a callback
    overriding `on_train_batch_end` would make Keras dispatch every batch's logs synchronously.
    """
    import keras

    class FitTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self.cpu_seconds: list[float] = []
            self.inner_seconds = 0.0
            self._train_start = self._epoch_start = self._epoch_cpu = 0.0

        def on_train_begin(self, logs=None) -> None:
            self._train_start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self._epoch_start, self._epoch_cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None) -> None:
            self.seconds.append(time.perf_counter() - self._epoch_start)
            self.cpu_seconds.append(time.process_time() - self._epoch_cpu)

        def on_train_end(self, logs=None) -> None:
            self.inner_seconds = time.perf_counter() - self._train_start

    return FitTimer()


def epoch_summary(seconds: list[float], cpu_seconds: list[float] | None = None) -> dict[str, Any]:
    """First epoch vs the median of the others; with CPU times, the cores this process kept
    busy in each epoch (well below the core count while nobody else runs: it was waiting)."""
    later = seconds[1:]
    out = {
        "first_epoch_s": round(seconds[0], 2) if seconds else None,
        "epoch_s": round(statistics.median(later), 2) if later else None,
        "epochs_s": [round(v, 2) for v in seconds],
    }
    if cpu_seconds is not None:
        out["epochs_own_cores"] = [
            round(c / w, 2) if w > 0 else None for c, w in zip(cpu_seconds, seconds, strict=True)
        ]
    return out


# ---------------------------------------------------------------------------------------------
# Peer 3: PyTorch


def keras_param_counts() -> tuple[int, int]:
    """(all weights incl. BN moving statistics, trainable weights) of the Keras model."""
    import kerazoo

    model = kerazoo.create_model(MODEL, compile=False)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return model.count_params(), trainable


def build_torch_cnn():
    """mnist_cnn in PyTorch, layer for layer (kerazoo/models/cnn.py `_MNIST_CNN` with `cnn`).

    conv 32 3x3 same (no bias) -> BN -> ReLU -> maxpool 2 -> conv 64 3x3 same (no bias) -> BN
    -> ReLU -> maxpool 2 -> flatten -> dense 128 (no bias) -> BN -> ReLU -> dropout 0.5 ->
    dense 10. With batchnorm=True kerazoo drops the conv/dense biases (BN's beta replaces them)
    and puts BN before the activation; the softmax is folded into the loss here.
    Keras BN momentum 0.9 (moving = 0.9 * moving + 0.1 * batch) is PyTorch momentum 0.1, and
    Keras's epsilon 1e-3 is set explicitly (PyTorch's default is 1e-5). Kernels start as in
    Keras: he_normal (truncated normal, std sqrt(2 / fan_in) / 0.8796) and glorot_uniform for
    the output layer, biases zero.
    """
    import torch
    from torch import nn

    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32, eps=1e-3, momentum=0.1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False),
        nn.BatchNorm2d(64, eps=1e-3, momentum=0.1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128, bias=False),
        nn.BatchNorm1d(128, eps=1e-3, momentum=0.1),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(128, 10),
    )
    with torch.no_grad():
        output = model[-1]
        for layer in model:
            if isinstance(layer, nn.Conv2d) or (
                isinstance(layer, nn.Linear) and layer is not output
            ):
                fan_in = layer.weight[0].numel()
                # Keras's truncated he_normal: the 0.8796 undoes the variance lost by cutting
                # the normal at two standard deviations.
                std = math.sqrt(2.0 / fan_in) / 0.87962566103423978
                nn.init.trunc_normal_(layer.weight, std=std, a=-2 * std, b=2 * std)
        nn.init.xavier_uniform_(output.weight)
        nn.init.zeros_(output.bias)
    return model


def torch_param_counts(model) -> tuple[int, int]:
    """(parameters + BN running mean/var, trainable parameters): Keras counts the moving
    statistics among its weights, PyTorch keeps them as buffers."""
    trainable = sum(p.numel() for p in model.parameters())
    stats = sum(
        b.numel()
        for name, b in model.named_buffers()
        if name.endswith(("running_mean", "running_var"))
    )
    return trainable + stats, trainable


def run_torch(cfg: Config, data: Arrays, epochs: int) -> dict[str, Any]:
    import torch
    from torch import nn

    torch.manual_seed(cfg.seed)
    model = build_torch_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(cfg.seed)
    batch = cfg.batch_size
    epoch_seconds: list[float] = []

    def evaluate(x, y) -> tuple[float, float]:
        model.eval()
        loss_sum, correct = 0.0, 0
        with torch.inference_mode():
            for i in range(0, len(x), batch):
                logits = model(x[i : i + batch])
                loss_sum += float(loss_fn(logits, y[i : i + batch])) * len(logits)
                correct += int((logits.argmax(1) == y[i : i + batch]).sum())
        return loss_sum / len(x), correct / len(x)

    start = time.perf_counter()
    # NHWC -> NCHW once, inside the timed region (fit converts its arrays inside too).
    x_train = torch.from_numpy(data.x_train).permute(0, 3, 1, 2).contiguous()
    y_train = torch.from_numpy(data.y_train.astype(np.int64))
    x_val = torch.from_numpy(data.x_val).permute(0, 3, 1, 2).contiguous()
    y_val = torch.from_numpy(data.y_val.astype(np.int64))
    n = len(x_train)
    loop_start = time.perf_counter()
    for _ in range(epochs):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator)
        loss_sum, correct = 0.0, 0
        for i in range(0, n, batch):  # the last, partial batch is kept, as in fit
            idx = order[i : i + batch]
            xb, yb = x_train[idx], y_train[idx]
            optimizer.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            # Running loss/accuracy as fit's progress metrics do.
            loss_sum += loss.item() * len(yb)
            correct += int((logits.argmax(1) == yb).sum())
        evaluate(x_val, y_val)
        epoch_seconds.append(time.perf_counter() - epoch_start)
    end = time.perf_counter()
    seconds, inner_seconds = end - start, end - loop_start
    x_test = torch.from_numpy(data.x_test).permute(0, 3, 1, 2).contiguous()
    _, accuracy = evaluate(x_test, torch.from_numpy(data.y_test.astype(np.int64)))
    return {
        "n_train": n,
        "n_val": len(x_val),
        "epochs": epochs,
        "seconds": seconds,
        "samples_per_second": n * epochs / seconds,
        "test_accuracy": accuracy,
        "inner_seconds": inner_seconds,
        **epoch_summary(epoch_seconds),
    }


# ---------------------------------------------------------------------------------------------
# Where kerazoo.train's time goes: plain fit with kerazoo's callbacks, one at a time

# default_callbacks switches, each tried alone on top of a plain fit.
CALLBACK_SWITCHES = ("nan_guard", "backup", "early_stopping", "checkpoint", "csv", "tensorboard")


def run_fit_variant(
    cfg: Config, data: Arrays, variant: str, run_dir: Path, epochs: int
) -> dict[str, Any]:
    """A plain fit of a fresh model with kerazoo's callbacks as named by `variant`.

    `none`: no callbacks (the plain fit); `all`: `default_callbacks` as kerazoo.train sets
    them up for this model (val_loss, constant learning rate); a switch name: only that one;
    `pipeline`: no callbacks, but kerazoo's tf.data pipelines (uint8 batches scaled per batch)
    instead of the float32 arrays.
    """
    import keras

    import kerazoo
    from kerazoo.training.callbacks import default_callbacks

    keras.utils.set_random_seed(cfg.seed)
    model = kerazoo.create_model(MODEL)
    callbacks = []
    if variant not in ("none", "pipeline"):
        on = CALLBACK_SWITCHES if variant == "all" else (variant,)
        switches = {name: name in on for name in CALLBACK_SWITCHES}
        callbacks = default_callbacks(
            run_dir / variant, monitor="val_loss", lr_schedule=None, epochs=epochs, **switches
        )
    timer = fit_timer()
    if variant == "pipeline":
        from kerazoo.data.loader import load_arrays, pipelines

        splits, _ = load_arrays(
            cfg.dataset, seed=cfg.seed, max_examples=cfg.max_examples, scale=False
        )
        train_ds, val_ds, _ = pipelines(splits, cfg.batch_size, seed=cfg.seed)
        fit_args = dict(x=train_ds, validation_data=val_ds, shuffle=False)
    else:
        fit_args = dict(
            x=data.x_train,
            y=data.y_train,
            validation_data=(data.x_val, data.y_val),
            batch_size=cfg.batch_size,
        )
    start = time.perf_counter()
    model.fit(**fit_args, epochs=epochs, verbose=0, callbacks=[*callbacks, timer])
    seconds = time.perf_counter() - start
    return {
        "variant": variant,
        "n_train": len(data.x_train),
        "epochs": epochs,
        "seconds": seconds,
        "samples_per_second": len(data.x_train) * epochs / seconds,
        "inner_seconds": timer.inner_seconds,
        **epoch_summary(timer.seconds, timer.cpu_seconds),
    }


def callbacks_breakdown(cfg: Config, data: Arrays, repeat: int) -> None:
    """Prints one JSON line per variant run, then a Markdown table of medians."""
    variants = ["none", "pipeline", "all", *CALLBACK_SWITCHES]
    b = cfg.batch_size
    small = data.head(WARMUP_TRAIN_BATCHES * b + b // 2, WARMUP_VAL_BATCHES * b, 2 * b)
    run_fit_variant(cfg, small, "all", cfg.out / "warmup", 1)
    rows: dict[str, list[dict]] = {v: [] for v in variants}
    for r in range(repeat):
        order = variants[r % len(variants) :] + variants[: r % len(variants)]
        for variant in order:
            load = load_1m()
            contention = Contention()
            record = run_fit_variant(cfg, data, variant, cfg.out / f"r{r}", cfg.epochs)
            record |= {
                "repeat": r,
                "load_1m_before": load,
                "others_cores_busy": contention.others_cores_busy(),
            }
            record = rounded(record)
            rows[variant].append(record)
            print(json.dumps(record), flush=True)
    base = statistics.median(r["samples_per_second"] for r in rows["none"])
    print()
    print("| plain fit + | samples/s | ratio to plain fit | epoch s (after the first) |")
    print("|---|---:|---:|---:|")
    for variant, runs in rows.items():
        sps = statistics.median(r["samples_per_second"] for r in runs)
        epochs_s = [r["epoch_s"] for r in runs if r["epoch_s"] is not None]
        epoch_s = f"{statistics.median(epochs_s):.2f}" if epochs_s else "n/a"
        print(f"| {variant} | {sps:,.0f} | {sps / base:.3f} | {epoch_s} |")


def rounded(record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: round(v, 4 if k == "test_accuracy" else 2) if isinstance(v, float) else v
        for k, v in record.items()
    }


# ---------------------------------------------------------------------------------------------
# Driver


def load_data(cfg: Config) -> Arrays:
    """The arrays kerazoo.train trains on: `load_arrays` with the same seed and cap."""
    from kerazoo.data import load_arrays

    # kerazoo.train passes max_examples on to load_arrays (a seeded subset of each split:
    # the first N would hold only a few classes of the class-sorted MNIST sample).
    splits, _ = load_arrays(cfg.dataset, seed=cfg.seed, max_examples=cfg.max_examples)
    return Arrays(
        splits.x_train, splits.y_train, splits.x_val, splits.y_val, splits.x_test, splits.y_test
    )


def make_peers(cfg: Config, data: Arrays, peers: list[str]) -> dict[str, Callable[[], dict]]:
    runs: dict[str, Callable[[], dict]] = {}
    counter = iter(range(1, 10**6))
    if PEER_KERAZOO in peers:
        runs[PEER_KERAZOO] = lambda: run_kerazoo(
            cfg, cfg.epochs, cfg.max_examples, f"run{next(counter)}"
        )
    if PEER_FIT in peers:
        runs[PEER_FIT] = lambda: run_plain_fit(cfg, data, cfg.epochs)
    if PEER_TORCH in peers:
        runs[PEER_TORCH] = lambda: run_torch(cfg, data, cfg.epochs)
    return runs


def warm_up(cfg: Config, data: Arrays, peers: list[str]) -> None:
    """One short, uncounted run of each peer on a small slice (see the module docstring)."""
    b = cfg.batch_size
    small = data.head(WARMUP_TRAIN_BATCHES * b + b // 2, WARMUP_VAL_BATCHES * b, 2 * b)
    if PEER_KERAZOO in peers:
        run_kerazoo(cfg, 1, WARMUP_TRAIN_BATCHES * b + b // 2, "warmup")
    if PEER_FIT in peers:
        run_plain_fit(cfg, small, 1)
    if PEER_TORCH in peers:
        run_torch(cfg, small, 1)


def check_kerazoo_train() -> str | None:
    """Why kerazoo.train cannot be measured, or None when it can."""
    import kerazoo

    try:
        train = kerazoo.train
    except AttributeError:
        return "kerazoo.train does not exist yet in this checkout"
    return None if callable(train) else "kerazoo.train is not callable"


def markdown_table(rows: dict[str, list[dict]], cfg: Config) -> str:
    """Medians per peer. Ratios are taken within each repeat (the peers of one repeat ran
    back to back, under the same load), then their median."""

    def loop_sps(r: dict) -> float:
        return r["n_train"] * r["epochs"] / r["inner_seconds"]

    def ratio(peer: str, value: Callable[[dict], float]) -> str:
        if PEER_FIT not in rows:
            return "n/a"
        pairs = zip(rows[peer], rows[PEER_FIT], strict=True)
        return f"{statistics.median(value(a) / value(b) for a, b in pairs):.3f}"

    lines = [
        "| peer | samples/s | ratio to plain fit | fit-loop samples/s | fit-loop ratio "
        "| test accuracy | seconds | others' cores |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for peer, runs in rows.items():
        med = {
            k: statistics.median(r[k] for r in runs)
            for k in ("samples_per_second", "seconds", "test_accuracy", "others_cores_busy")
        }
        lines.append(
            f"| {peer} | {med['samples_per_second']:,.0f} "
            f"| {ratio(peer, lambda r: r['samples_per_second'])} "
            f"| {statistics.median(loop_sps(r) for r in runs):,.0f} | {ratio(peer, loop_sps)} "
            f"| {med['test_accuracy']:.4f} | {med['seconds']:.1f} "
            f"| {med['others_cores_busy']:.2f} |"
        )
    n_runs = len(next(iter(rows.values())))
    first = next(iter(rows.values()))[0]
    lines.append("")
    lines.append(
        f"{MODEL} on {cfg.dataset} ({first['n_train']:,} train / {first['n_val']:,} validation), "
        f"{cfg.epochs} epochs, batch {cfg.batch_size}, seed {cfg.seed}, Keras precision "
        f"{cfg.precision}; median of {n_runs} "
        f"run(s), order rotated per repeat; {versions()}; {os.cpu_count()} CPU cores. "
        "samples/s: n_train * epochs / seconds (kerazoo.train: its metrics.json `seconds`; "
        "plain fit: around `fit`; PyTorch: around the loop); fit-loop: on_train_begin to "
        "on_train_end (PyTorch: the epoch loop); others' cores: busy cores of other processes."
    )
    return "\n".join(lines)


def versions() -> str:
    import keras
    import tensorflow as tf

    parts = [f"TensorFlow {tf.__version__}", f"Keras {keras.__version__}"]
    if "torch" in sys.modules:
        parts.append(f"PyTorch {sys.modules['torch'].__version__}")
    return ", ".join(parts)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dataset", choices=("fashion_mnist", "mnist_sample"), default="fashion_mnist"
    )
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each peer; median reported")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--precision",
        choices=("float32", "mixed_bfloat16", "mixed_float16"),
        default="float32",
        help="dtype policy of both Keras peers (PyTorch stays float32)",
    )
    parser.add_argument(
        "--max-examples", type=int, default=None, help="use only the first N of each split"
    )
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    parser.add_argument("--no-kerazoo", action="store_true", help="skip the kerazoo.train peer")
    parser.add_argument(
        "--callbacks-breakdown",
        action="store_true",
        help="instead of the peers: plain fit with each of kerazoo's callbacks alone",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for kerazoo.train's run folders (temp)"
    )
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.max_examples is not None and args.max_examples < 1:
        parser.error("--max-examples must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    use_torch = not (args.no_torch or args.callbacks_breakdown)
    # Checked before anything slow, so a missing PyTorch costs no TensorFlow start-up.
    if use_torch and importlib.util.find_spec("torch") is None:
        print(
            f"PyTorch is not installed: install it with {TORCH_INSTALL} (or pass --no-torch).",
            file=sys.stderr,
        )
        return 2

    import kerazoo  # noqa: F401  (sets TF_CPP_MIN_LOG_LEVEL before TensorFlow loads)

    with tempfile.TemporaryDirectory(prefix="train_overhead_") as tmp:
        cfg = Config(
            dataset=args.dataset,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            max_examples=args.max_examples,
            out=args.out or Path(tmp),
            precision=args.precision,
        )
        data = load_data(cfg)
        if args.callbacks_breakdown:
            callbacks_breakdown(cfg, data, args.repeat)
            return 0
        peers = [PEER_FIT]
        if not args.no_kerazoo:
            why = check_kerazoo_train()
            if why:
                print(f"Skipping {PEER_KERAZOO}: {why}.", file=sys.stderr)
            else:
                peers.insert(0, PEER_KERAZOO)
        if use_torch:
            import torch

            # TensorFlow's intra-op pool uses every schedulable core; give PyTorch the same.
            torch.set_num_threads(len(os.sched_getaffinity(0)) or os.cpu_count() or 1)
            keras_counts = keras_param_counts()
            torch_counts = torch_param_counts(build_torch_cnn())
            assert keras_counts == torch_counts, (
                f"parameter counts differ (all, trainable): Keras {keras_counts}, "
                f"PyTorch {torch_counts}"
            )
            peers.append(PEER_TORCH)
        warm_up(cfg, data, peers)
        runs = make_peers(cfg, data, peers)
        rows: dict[str, list[dict]] = {peer: [] for peer in peers}
        for r in range(args.repeat):
            order = peers[r % len(peers) :] + peers[: r % len(peers)]
            for position, peer in enumerate(order):
                load = load_1m()
                contention = Contention()
                result = runs[peer]()
                record = {
                    "peer": peer,
                    "repeat": r,
                    "position": position,
                    "dataset": cfg.dataset,
                    "batch_size": cfg.batch_size,
                    **result,
                    "load_1m_before": load,
                    "others_cores_busy": contention.others_cores_busy(),
                }
                record = rounded(record)
                rows[peer].append(record)
                print(json.dumps(record), flush=True)
        print()
        print(markdown_table(rows, cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
