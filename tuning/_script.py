"""What every search script in tuning/ shares: its command-line budget and the summary."""

from __future__ import annotations

import argparse

import kerazoo


def run(doc: str, model: str, dataset: str, **search) -> None:
    """Parses the budget options (defaults from `search`) and runs `kerazoo.tune`."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--max-trials", type=int, default=search.pop("max_trials", 10))
    parser.add_argument("--epochs", type=int, default=search.pop("epochs", 5))
    parser.add_argument("--max-examples", type=int, default=search.pop("max_examples", None))
    parser.add_argument("--out", default=f"runs/tune-{model}-{search['tuner']}")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue an interrupted search")
    group.add_argument("--overwrite", action="store_true", help="start the search again")
    args = parser.parse_args()
    result = kerazoo.tune(
        model,
        dataset,
        max_trials=args.max_trials,
        epochs=args.epochs,
        max_examples=args.max_examples,
        out=args.out,
        resume=args.resume,
        overwrite=args.overwrite,
        **search,
    )
    print(f"best {result.best_score:.4f}: {result.best_hyperparameters}")
    print(f"test metrics of the retrained best model: {result.metrics}")
