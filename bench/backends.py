"""Training samples/s of four zoo models per Keras backend and precision, on this machine.

    .venv/bin/python bench/backends.py                              # the README's table
    .venv/bin/python bench/backends.py --models mnist_cnn --repeat 3
    .venv/bin/python bench/backends.py --backends tensorflow jax --precisions float32

What is measured: `kerazoo.train` (the path users run) of `mnist_cnn` (MNIST sample),
`resnet20` (Fashion-MNIST), `lstm_classifier` and `transformer_classifier` (fortunes_lang:
English/German/Spanish/Italian quotations), each on a slice of `--max-examples` training
examples for `--epochs` epochs, under KERAS_BACKEND=tensorflow, jax and torch and under the
`float32` and `mixed_bfloat16` precisions. Samples/s is taken over the epochs after the first
(the first traces/compiles, and is reported apart as `first_epoch_s`), from a callback's epoch
times, so it counts the training loop with its per-epoch validation, as a user sees it. The
run's test accuracy is kept beside it: a fast cell that learns nothing would show.

Each cell runs in a fresh process (a backend is chosen before Keras is imported), the cells of
one model run in a rotated order per repeat, and the median over repeats is reported. The
machine may be shared: every JSON line records the 1-minute load average and
`others_cores_busy` (cores other processes kept busy during the cell); compare runs where it
is near 0.

Output: one JSON line per cell, then a Markdown table (median samples/s, and the ratio to
TensorFlow float32 of the same model).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _child import run_child

MODELS = {
    "mnist_cnn": "mnist_sample",
    "resnet20": "fashion_mnist",
    "lstm_classifier": "fortunes_lang",
    "transformer_classifier": "fortunes_lang",
}
BACKENDS = ("tensorflow", "jax", "torch")
PRECISIONS = ("float32", "mixed_bfloat16")


def child(args: argparse.Namespace) -> int:
    """One cell: train one model under one backend and precision; print one JSON line."""
    import keras
    from train_overhead import Contention, epoch_summary, fit_timer, load_1m

    import kerazoo

    timer = fit_timer()
    load = load_1m()
    contention = Contention()
    with tempfile.TemporaryDirectory() as out:
        result = kerazoo.train(
            args.model,
            MODELS[args.model],
            epochs=args.epochs,
            batch_size=args.batch_size,
            precision=args.precision,
            max_examples=args.max_examples,
            early_stopping=False,
            seed=0,
            out=out,
            overwrite=True,
            plots=False,
            verbose=0,
            callbacks=[timer],
        )
    metrics = result.metrics
    steady = timer.seconds[1:] or timer.seconds
    n = int(metrics["n_train"])
    print(
        json.dumps(
            {
                "model": args.model,
                "backend": keras.backend.backend(),
                "precision": metrics["precision"],
                "n_train": n,
                "batch_size": args.batch_size,
                "samples_per_second": round(n * len(steady) / sum(steady), 1),
                "test_accuracy": round(float(metrics["test_accuracy"]), 4),
                **epoch_summary(timer.seconds),
                "load_1m": round(load, 2),
                "others_cores_busy": round(contention.others_cores_busy(), 2),
            }
        ),
        flush=True,
    )
    return 0


def run_cell(model: str, backend: str, precision: str, args: argparse.Namespace) -> dict:
    """A fresh process for one cell; its JSON line, or the reason it failed."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    flags = ["--child", "--model", model, "--precision", precision, "--epochs", str(args.epochs)]
    flags += ["--max-examples", str(args.max_examples), "--batch-size", str(args.batch_size)]
    key = {"model": model, "backend": backend, "precision": precision}
    return run_child(str(Path(__file__).resolve()), flags, env, key)


def table(records: list[dict], args: argparse.Namespace) -> str:
    """Median samples/s per cell and its ratio to TensorFlow float32 of the same model."""
    cells: dict[tuple, list[dict]] = {}
    for r in records:
        cells.setdefault((r["model"], r["backend"], r["precision"]), []).append(r)
    header = ["model"] + [f"{b} {p}" for b in args.backends for p in args.precisions]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model in args.models:
        base = cells.get((model, "tensorflow", "float32"), [])
        base_sps = statistics.median(
            [r["samples_per_second"] for r in base if "error" not in r] or [0]
        )
        row = [f"`{model}`"]
        for backend in args.backends:
            for precision in args.precisions:
                runs = cells.get((model, backend, precision), [])
                good = [r for r in runs if "error" not in r]
                if not good:
                    row.append("fails" if runs else "-")
                    continue
                sps = statistics.median(r["samples_per_second"] for r in good)
                acc = statistics.median(r["test_accuracy"] for r in good)
                ratio = f" ({sps / base_sps:.2f}x)" if base_sps else ""
                row.append(f"{sps:,.0f}{ratio}, acc {acc:.2f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="float32", help=argparse.SUPPRESS)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--max-examples", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=3, help="per cell; the first is not timed")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    if args.epochs < 2 or args.repeat < 1 or args.max_examples < args.batch_size:
        print(
            "backends.py: --epochs >= 2, --repeat >= 1 and --max-examples >= --batch-size",
            file=sys.stderr,
        )
        return 2
    if args.child:
        return child(args)

    records = []
    for i in range(args.repeat):
        for model in args.models:
            cells = [(b, p) for b in args.backends for p in args.precisions]
            shift = i % len(cells)  # rotate the order: no cell always runs first or last
            for backend, precision in cells[shift:] + cells[:shift]:
                record = run_cell(model, backend, precision, args) | {"repeat": i + 1}
                print(json.dumps(record), flush=True)
                records.append(record)
    print(
        f"\nsamples/s over epochs 2-{args.epochs} of `kerazoo.train`, {args.max_examples} "
        f"training examples, batch {args.batch_size}, median of {args.repeat} "
        f"(ratio to TensorFlow float32; test accuracy after {args.epochs} epochs)\n"
    )
    print(table(records, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
