"""Shared test set-up: quiet TensorFlow, make `realdata` importable, seed everything."""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state (only once Keras is loaded)."""
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(0)
    yield
