"""Training speed of `mnist_cnn` under float32 against a mixed precision policy, same process.

    .venv/bin/python bench/precision.py                       # 3 pairs, mixed_bfloat16, batch 32
    .venv/bin/python bench/precision.py --pairs 5 --batch-size 128
    .venv/bin/python bench/precision.py --policy mixed_float16

What is measured: training samples per second of Keras's `fit` of `kerazoo.create_model
("mnist_cnn")` (compiled as the zoo compiles it) on the real MNIST sample's training split
(`kerazoo.data.load_arrays("mnist_sample")`, 3,600 digits, float32 in [0, 1]), built once
under float32 and once under `--policy` (the global dtype policy set around the model's
creation, as `kerazoo.train(precision=...)` does). Each run builds a fresh model and fits
`--epochs` epochs; the first epoch (graph tracing, kernel creation) is reported apart and
samples/s is taken over the later epochs (steady state). Test accuracy after the run is
reported beside it, so a faster policy that learns worse would show.

Fairness: the two policies run in interleaved pairs (a b a b ...) in one process after one
uncounted warm-up of each; the ratio (policy / float32) is taken per pair and the median over
pairs reported. The 1-minute load average before each run and `others_cores_busy` (cores other
processes kept busy during it, from /proc/stat) are recorded: the machine may be shared, and a
ratio measured while others were busy is weak evidence.

Output: one JSON line per run, then a Markdown table of the pairs and the median ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from train_overhead import Contention, load_1m

MODEL = "mnist_cnn"
POLICIES = ("mixed_bfloat16", "mixed_float16")


def epoch_timer():
    """A callback recording each epoch's wall time (only epoch hooks: no per-batch sync)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def run(policy: str, splits, *, epochs: int, batch_size: int, seed: int) -> dict:
    """One fresh model built under `policy`, fitted and tested; its speed and accuracy."""
    import keras

    import kerazoo

    keras.utils.set_random_seed(seed)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = kerazoo.create_model(MODEL)
    finally:
        keras.config.set_dtype_policy(previous)
    timer = epoch_timer()
    load = load_1m()
    contention = Contention()
    model.fit(
        splits.x_train,
        splits.y_train,
        batch_size=batch_size,
        epochs=epochs,
        verbose=0,
        callbacks=[timer],
    )
    others = contention.others_cores_busy()
    _, accuracy = model.evaluate(splits.x_test, splits.y_test, batch_size=256, verbose=0)
    n = len(splits.x_train)
    steady = timer.seconds[1:] or timer.seconds
    return {
        "policy": policy,
        "samples_per_second": round(n * len(steady) / sum(steady), 1),
        "first_epoch_s": round(timer.seconds[0], 2),
        "epoch_s": round(statistics.median(steady), 2),
        "test_accuracy": round(float(accuracy), 4),
        "load_1m": round(load, 2),
        "others_cores_busy": round(others, 2),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", choices=POLICIES, default="mixed_bfloat16")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="per run; the first is not timed")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.epochs < 2 or args.batch_size < 1:
        print("precision.py: --pairs >= 1, --epochs >= 2 and --batch-size >= 1", file=sys.stderr)
        return 2

    from kerazoo.data import load_arrays
    from kerazoo.training.steps import cpu_has_bf16

    splits, _ = load_arrays("mnist_sample", seed=args.seed)
    warm = dict(epochs=2, batch_size=args.batch_size, seed=args.seed)
    for policy in ("float32", args.policy):  # once-per-process costs, not counted
        run(policy, _head(splits, 4 * args.batch_size), **warm)

    pairs = []
    for i in range(args.pairs):
        pair = {}
        for policy in ("float32", args.policy):
            result = run(
                policy, splits, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed
            )
            print(json.dumps({"pair": i + 1, **result}), flush=True)
            pair[policy] = result
        pairs.append(pair)

    ratios = [
        p[args.policy]["samples_per_second"] / p["float32"]["samples_per_second"] for p in pairs
    ]
    print(
        f"\n{MODEL} on mnist_sample ({len(splits.x_train)} train), batch {args.batch_size}, "
        f"{args.epochs} epochs per run (first untimed); CPU bf16 flags: {cpu_has_bf16()}\n"
    )
    print(
        f"| pair | float32 samples/s | {args.policy} samples/s | ratio | test acc f32 / mixed | load 1m |"
    )
    print("|---|---|---|---|---|---|")
    for i, (pair, ratio) in enumerate(zip(pairs, ratios, strict=True), start=1):
        a, b = pair["float32"], pair[args.policy]
        print(
            f"| {i} | {a['samples_per_second']:.0f} | {b['samples_per_second']:.0f} | "
            f"{ratio:.2f}x | {a['test_accuracy']:.3f} / {b['test_accuracy']:.3f} | "
            f"{a['load_1m']:.1f}, {b['load_1m']:.1f} |"
        )
    print(f"\nmedian ratio {args.policy} / float32: {statistics.median(ratios):.2f}x")
    return 0


def _head(splits, n: int):
    """The first `n` training and test examples (the warm-up's small slice)."""
    import dataclasses

    return dataclasses.replace(
        splits,
        x_train=splits.x_train[:n],
        y_train=splits.y_train[:n],
        x_test=splits.x_test[:n],
        y_test=splits.y_test[:n],
    )


if __name__ == "__main__":
    sys.exit(main())
