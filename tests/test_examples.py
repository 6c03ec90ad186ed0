"""The examples run as their docstrings say (in their quick configuration)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_train_evaluate_predict_example(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_evaluate_predict.py"),
         "--max-examples", "400", "--epochs", "1", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300,
        env=os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "evaluated again: test_accuracy" in proc.stdout
    predictions = [ln for ln in proc.stdout.splitlines() if ln.startswith("test") and "%)" in ln]
    assert len(predictions) == 4
    assert (tmp_path / "run" / "metrics.json").is_file()
