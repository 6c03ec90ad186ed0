"""Search overhead: a 3-trial random search against the same 3 configurations through kerazoo.train.

    .venv/bin/python bench/tune_overhead.py                  # mnist_cnn, Fashion-MNIST slice
    .venv/bin/python bench/tune_overhead.py --repeat 3       # 3 rounds, order alternated

Issue target: the search costs at most 1.2x the direct training. Both sides are timed as
whole calls in the same process: `kerazoo.tune(..., tuner="random", max_trials=3,
retrain=False)` on one side; on the other, for every trial the search ran, `kerazoo.train`
with that trial's model arguments, optimizer and learning rate, the same epochs and data
(`plots=False, early_stopping=False`: a trial draws nothing and runs all its epochs). The
search is deterministic for a seed, so every round trains the same 3 configurations. Rounds
alternate which side goes first, so a machine that speeds up or slows down during the
bench does not favour one side.

Prints a JSON line per round and the median ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from _args import add_slice_arguments


def search(args, out: Path):
    from kerazoo.tuning import search as tuning

    start = time.perf_counter()
    result = tuning.tune(
        args.model,
        args.dataset,
        tuner="random",
        max_trials=3,
        epochs=args.epochs,
        max_examples=args.max_examples,
        seed=args.seed,
        out=out,
        overwrite=True,
        retrain=False,
        verbose=0,
    )
    return time.perf_counter() - start, result.trials


def train_each(args, trials, out: Path) -> float:
    import keras_tuner as kt

    import kerazoo
    from kerazoo.tuning import spaces

    names = spaces.hyperparameter_names(args.model)
    seconds = 0.0
    for row in trials:
        fix = {k: v for k, v in row.items() if k in names and v is not None}
        name, arguments = spaces.model_for(
            args.model, spaces.space(kt.HyperParameters(), args.model, fix=fix)
        )
        optimizer, lr = arguments.pop("optimizer"), arguments.pop("learning_rate")
        start = time.perf_counter()
        kerazoo.train(
            name,
            args.dataset,
            epochs=args.epochs,
            max_examples=args.max_examples,
            seed=args.seed,
            optimizer=optimizer,
            learning_rate=lr,
            overrides=arguments,
            plots=False,
            early_stopping=False,
            out=out / f"train-{row['trial_id']}",
            overwrite=True,
            verbose=0,
        )
        seconds += time.perf_counter() - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_slice_arguments(parser, max_examples=6000, epochs=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        trials = None
        for round_ in range(args.repeat):
            if round_ % 2 == 0:
                search_s, trials = search(args, tmp / "search")
                train_s = train_each(args, trials, tmp)
            else:  # the search's configurations are the same every round (seeded)
                train_s = train_each(args, trials, tmp)
                search_s, trials = search(args, tmp / "search")
            ratios.append(search_s / train_s)
            print(
                json.dumps(
                    {
                        "round": round_ + 1,
                        "search_first": round_ % 2 == 0,
                        "search_s": round(search_s, 1),
                        "train_s": round(train_s, 1),
                        "ratio": round(ratios[-1], 3),
                        "trials": [row["status"] for row in trials],
                    }
                ),
                flush=True,
            )
    print(
        f"{args.model} on {args.dataset} ({args.max_examples} examples, {args.epochs} epochs "
        f"a trial): search / direct training, median of {len(ratios)}: "
        f"{statistics.median(ratios):.3f}x (target <= 1.2x)"
    )


if __name__ == "__main__":
    main()
