"""Multi-worker overhead on one machine: samples/s with 1 and 2 workers, and the all-reduce cost.

    .venv/bin/python bench/multiworker.py                       # mnist_cnn, Fashion-MNIST slice
    .venv/bin/python bench/multiworker.py --max-examples 20000 --epochs 3

Every configuration runs in the same invocation, one after the other, through the same path a
user takes (`kerazoo launch --workers N -- train ... --strategy multiworker`), plus plain
`kerazoo train --strategy default` (Keras's fit) as the peer. Two workers on one 2-core
machine share the cores, so the ratio measures the distribution overhead (gradient
all-reduce over gRPC on localhost, per-step synchronisation), not a speed-up.

The all-reduce cost: two workers (and one, as the floor) build the model under
MultiWorkerMirroredStrategy and time `all_reduce(SUM)` of tensors shaped like its trainable
weights, which is what every training step sends.

Prints a JSON line per measurement and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _args import add_slice_arguments


def allreduce_worker(model: str, repeat: int) -> None:
    """Runs inside a launched worker: times all-reduces of the model's gradient shapes."""
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    import kerazoo

    with strategy.scope():
        net = kerazoo.create_model(model)
    shapes = [tuple(v.shape) for v in net.trainable_variables]
    values = [tf.ones(shape) for shape in shapes]

    @tf.function
    def reduce_once():
        def step():
            ctx = tf.distribute.get_replica_context()
            return ctx.all_reduce(tf.distribute.ReduceOp.SUM, values)

        return strategy.run(step)

    for _ in range(5):  # warm-up: tracing and the first collective set-up
        reduce_once()
    start = time.perf_counter()
    for _ in range(repeat):
        result = reduce_once()
    tf.nest.flatten(result)[0].numpy()
    seconds = (time.perf_counter() - start) / repeat
    params = sum(int(tf.size(v)) for v in values)
    print(
        "ALLREDUCE "
        + json.dumps(
            {
                "workers": strategy.num_replicas_in_sync,
                "tensors": len(values),
                "params": params,
                "ms": round(seconds * 1000, 3),
            }
        ),
        flush=True,
    )


def _train(args, workers: int | None, out: Path) -> dict:
    """One training run: `workers` None is plain fit (--strategy default)."""
    from kerazoo import launch

    command = [
        "train", args.model, "--dataset", args.dataset, "--epochs", str(args.epochs),
        "--batch-size", str(args.batch_size), "--no-early-stopping", "--out", str(out),
        "--overwrite",
    ]  # fmt: skip
    if args.max_examples:
        command += ["--max-examples", str(args.max_examples)]
    with open(os.devnull, "w") as quiet:
        if workers is None:
            import subprocess

            status = subprocess.call(
                [sys.executable, "-m", "kerazoo", *command, "--strategy", "default"],
                stdout=quiet,
                stderr=quiet,
            )
        else:
            status = launch.launch(command, workers, out=quiet)
    if status != 0:
        raise SystemExit(f"bench/multiworker.py: the run with workers={workers} failed ({status})")
    metrics = json.loads((out / "metrics.json").read_text())
    steps = metrics.get("steps") or metrics["epochs"] * -(-metrics["n_train"] // args.batch_size)
    return {
        "run": "fit (1 process)" if workers is None else f"{workers} worker(s)",
        "samples_per_second": metrics["samples_per_second"],
        "seconds": metrics["seconds"],
        "ms_per_step": round(1000 * metrics["seconds"] / steps, 1),
        "test_accuracy": round(metrics["test_accuracy"], 4),
    }


def _allreduce(args, workers: int) -> dict:
    from kerazoo import launch

    lines = []

    class Collect:
        def write(self, text):
            lines.append(text)

        def flush(self):
            pass

    command = [sys.executable, __file__, "--allreduce-worker", "--model", args.model]
    status = launch.launch(command, workers, mode="train", out=Collect())
    found = [line for line in "".join(lines).splitlines() if "ALLREDUCE " in line]
    if status != 0 or not found:
        raise SystemExit(
            f"bench/multiworker.py: the all-reduce run failed: {''.join(lines)[-2000:]}"
        )
    return json.loads(found[0].split("ALLREDUCE ", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_slice_arguments(parser, max_examples=6000, epochs=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=50, help="all-reduces timed")
    parser.add_argument("--allreduce-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.allreduce_worker:
        allreduce_worker(args.model, args.repeat)
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (None, 1, 2):
            row = _train(args, workers, Path(tmp) / f"run-{workers}")
            print(json.dumps(row), flush=True)
            rows.append(row)
    reduces = [_allreduce(args, n) for n in (1, 2)]
    for r in reduces:
        print(json.dumps(r), flush=True)
    base = rows[1]["samples_per_second"]
    print(
        f"\n{args.model} on {args.dataset}, {args.max_examples} examples, batch {args.batch_size}"
    )
    print("| run | samples/s | vs 1 worker | ms/step | test accuracy |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        ratio = row["samples_per_second"] / base
        print(
            f"| {row['run']} | {row['samples_per_second']:,.0f} | {ratio:.2f}x | "
            f"{row['ms_per_step']} | {row['test_accuracy']} |"
        )
    print("\n| all-reduce of the gradients | workers | tensors | parameters | ms |")
    print("|---|---:|---:|---:|---:|")
    for r in reduces:
        print(f"| {args.model} | {r['workers']} | {r['tensors']} | {r['params']:,} | {r['ms']} |")


if __name__ == "__main__":
    main()
