"""Command-line options the bench scripts share: which model trains on which data slice."""

from __future__ import annotations

import argparse


def add_slice_arguments(parser: argparse.ArgumentParser, *, max_examples: int, epochs: int):
    """`--model` (mnist_cnn), `--dataset` (fashion_mnist), `--max-examples`, `--epochs`."""
    parser.add_argument("--model", default="mnist_cnn")
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--max-examples", type=int, default=max_examples)
    parser.add_argument("--epochs", type=int, default=epochs)
    return parser
