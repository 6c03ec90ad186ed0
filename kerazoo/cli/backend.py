"""`--backend tensorflow|jax|torch`: which Keras backend a command runs on.

Keras reads its backend once, when it is first imported (`KERAS_BACKEND`), so the flag
sets that variable before any command imports Keras; the CLI imports Keras only after it
has checked a command's input. In Python, set `KERAS_BACKEND` before importing Keras.
The backend a run used is recorded in its metrics.json (`backend`).
"""

from __future__ import annotations

import importlib.util
import os
import sys

BACKENDS = ("tensorflow", "jax", "torch")
# The CPU packages `pip install 'kerazoo[backends]'` installs (see setup.cfg and the
# Makefile for the exact versions tested).
_INSTALL = {
    "jax": "pip install 'kerazoo[backends]' (or pip install jax)",
    "torch": "pip install 'kerazoo[backends]' (torch 2.13.0; choose its CPU build where no "
    "GPU is used: a plain `pip install torch` may fetch a CUDA build of several GB)",
    "tensorflow": "pip install kerazoo (TensorFlow is one of its dependencies)",
}


def add_flag(parser) -> None:
    """Adds `--backend` to a command that runs Keras (train, evaluate, predict, tune)."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="Keras backend to run on (default: KERAS_BACKEND, else tensorflow); "
        "recorded in metrics.json",
    )


def select(name: str | None) -> None:
    """Makes Keras run on `name` in this process (None: leave KERAS_BACKEND as it is).

    Raises:
        ValueError: if Keras is already imported on another backend.
        ImportError: if the backend's package is not installed, saying how to install it.
    """
    if name is None:
        return
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != name:
        raise ValueError(
            f"Keras is already running on {keras.backend.backend()} in this process; the "
            f"backend is chosen before Keras is imported. Received: --backend {name}"
        )
    if importlib.util.find_spec(name) is None:
        raise ImportError(
            f"--backend {name} needs the {name} package, which is not installed; "
            f"{_INSTALL[name]}. Received: --backend {name}"
        )
    os.environ["KERAS_BACKEND"] = name
