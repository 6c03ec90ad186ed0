"""Each speed lever of `mnist_cnn`'s training on this CPU, measured alone against a baseline.

    .venv/bin/python bench/levers.py                          # every lever, 2 rounds
    .venv/bin/python bench/levers.py --levers baseline bf16 --rounds 3

What is measured: samples/s of a hand-written `model.fit` of `kerazoo.create_model("mnist_cnn")`
(compiled as the zoo compiles it) on the first `--max-examples` examples of Fashion-MNIST's
training split, over the epochs after the first (the first traces and is reported apart), and
the test accuracy after `--epochs` epochs on the full 10,000-image test set. No validation
runs during `fit`: the epochs time training alone. The baseline is
what a user writes: float32 NumPy arrays in [0, 1], batch 128, float32, TensorFlow's default
threads, oneDNN on, no XLA. Each lever changes ONE thing:

| lever | what changes |
|---|---|
| `batch256` | batch 256 instead of 128 |
| `bf16` | `mixed_bfloat16` policy (bfloat16 compute where the CPU has it, float32 weights) |
| `interop1` | `tf.config.threading.set_inter_op_parallelism_threads(1)` |
| `intraop1` | `tf.config.threading.set_intra_op_parallelism_threads(1)` |
| `no_onednn` | `TF_ENABLE_ONEDNN_OPTS=0` |
| `xla` | `compile(jit_compile=True)` |
| `uint8_pipeline` | kerazoo's tf.data pipeline: uint8 cached, shuffled, scaled per batch, prefetched |
| `small_head` | `dense_units=(32,)` instead of 128: the Flatten->Dense head is 401k of the 421k weights |
| `filters_16_32` | `filters=(16, 32)`: half the channels of both convolutions |

Each lever runs in a fresh process (threads, oneDNN and the policy are per process), the
levers run in a rotated order every round, and the median over rounds is reported with the
ratio to the baseline's median. Every JSON line records the 1-minute load average and
`others_cores_busy` (cores other processes kept busy): compare runs where it is near 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

from _child import run_child

LEVERS = {
    "baseline": {},
    "batch256": {"batch_size": 256},
    "bf16": {"policy": "mixed_bfloat16"},
    "interop1": {"interop": 1},
    "intraop1": {"intraop": 1},
    "no_onednn": {"env": {"TF_ENABLE_ONEDNN_OPTS": "0"}},
    "xla": {"jit_compile": True},
    "uint8_pipeline": {"pipeline": True},
    "small_head": {"overrides": {"dense_units": (32,)}},
    "filters_16_32": {"overrides": {"filters": (16, 32)}},
}


def child(lever: str, args: argparse.Namespace) -> int:
    """One lever in this process: fit, time, test; print one JSON line."""
    spec = LEVERS[lever]
    import tensorflow as tf

    if "interop" in spec:
        tf.config.threading.set_inter_op_parallelism_threads(spec["interop"])
    if "intraop" in spec:
        tf.config.threading.set_intra_op_parallelism_threads(spec["intraop"])
    import keras
    from train_overhead import Contention, epoch_summary, fit_timer, load_1m

    import kerazoo
    from kerazoo.data import load_arrays
    from kerazoo.data.loader import pipelines

    batch = spec.get("batch_size", 128)
    splits, _ = load_arrays("fashion_mnist", seed=0, scale=not spec.get("pipeline", False))
    n = args.max_examples
    keras.utils.set_random_seed(0)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(spec.get("policy", "float32"))
    try:
        model = kerazoo.create_model("mnist_cnn", **spec.get("overrides", {}))
    finally:
        keras.config.set_dtype_policy(previous)
    if spec.get("jit_compile"):
        model.compile(
            optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"], jit_compile=True
        )
    timer = fit_timer()
    load, contention = load_1m(), Contention()
    if spec.get("pipeline"):
        import dataclasses

        head = dataclasses.replace(splits, x_train=splits.x_train[:n], y_train=splits.y_train[:n])
        train, _, test = pipelines(head, batch, seed=0)
        model.fit(train, epochs=args.epochs, verbose=0, callbacks=[timer])
        _, accuracy = model.evaluate(test, verbose=0)
    else:
        model.fit(
            splits.x_train[:n],
            splits.y_train[:n],
            batch_size=batch,
            epochs=args.epochs,
            verbose=0,
            callbacks=[timer],
        )
        _, accuracy = model.evaluate(splits.x_test, splits.y_test, batch_size=256, verbose=0)
    steady = timer.seconds[1:]
    cpu = timer.cpu_seconds[1:]
    record = {
        "lever": lever,
        "samples_per_second": round(n * len(steady) / sum(steady), 1),
        # Work, not waiting: this machine's host stalls the whole VM for seconds at a time
        # (vmstat: a runnable process, both cores 100% idle), which wall time counts.
        "samples_per_cpu_second": round(n * len(cpu) / sum(cpu), 1),
        "test_accuracy": round(float(accuracy), 4),
        "params": model.count_params(),
        **epoch_summary(timer.seconds, timer.cpu_seconds),
        "load_1m": round(load, 2),
        "others_cores_busy": round(contention.others_cores_busy(), 2),
    }
    print(json.dumps(record), flush=True)
    return 0


def run_lever(lever: str, args: argparse.Namespace) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **LEVERS[lever].get("env", {}))
    flags = ["--child", lever, "--max-examples", str(args.max_examples)]
    flags += ["--epochs", str(args.epochs)]
    return run_child(str(Path(__file__).resolve()), flags, env, {"lever": lever})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", choices=list(LEVERS), help=argparse.SUPPRESS)
    parser.add_argument("--levers", nargs="+", choices=list(LEVERS), default=list(LEVERS))
    parser.add_argument("--max-examples", type=int, default=12000)
    parser.add_argument("--epochs", type=int, default=3, help="the first is not timed")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if args.epochs < 2 or args.rounds < 1 or not 256 <= args.max_examples <= 54000:
        print(
            "levers.py: --epochs >= 2, --rounds >= 1, 256 <= --max-examples <= 54000",
            file=sys.stderr,
        )
        return 2
    if args.child:
        return child(args.child, args)

    levers = ["baseline"] + [lever for lever in args.levers if lever != "baseline"]
    records: dict[str, list[dict]] = {lever: [] for lever in levers}
    for i in range(args.rounds):
        shift = i % len(levers)
        for lever in levers[shift:] + levers[:shift]:
            record = run_lever(lever, args) | {"round": i + 1}
            print(json.dumps(record), flush=True)
            records[lever].append(record)

    def median(lever: str, key: str) -> float | None:
        good = [r[key] for r in records[lever] if "error" not in r]
        return statistics.median(good) if good else None

    base = median("baseline", "samples_per_second")
    print(
        f"\nmnist_cnn, plain fit on {args.max_examples:,} Fashion-MNIST training images, "
        f"samples/s over epochs 2-{args.epochs}, median of {args.rounds} round(s); test "
        f"accuracy after {args.epochs} epochs (10,000 test images)\n"
    )
    base_cpu = median("baseline", "samples_per_cpu_second")
    print(
        "| lever | samples/s | vs baseline | samples per CPU-second | vs baseline "
        "| test accuracy | others' cores |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for lever in levers:
        sps = median(lever, "samples_per_second")
        if sps is None:
            print(f"| `{lever}` | fails | | | |")
            continue
        ratio = f"{sps / base:.2f}x" if base else "n/a"
        cps = median(lever, "samples_per_cpu_second")
        cpu_ratio = f"{cps / base_cpu:.2f}x" if base_cpu else "n/a"
        print(
            f"| `{lever}` | {sps:,.0f} | {ratio} | {cps:,.0f} | {cpu_ratio} "
            f"| {median(lever, 'test_accuracy'):.4f} "
            f"| {median(lever, 'others_cores_busy'):.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
