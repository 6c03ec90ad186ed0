"""The search scripts in tuning/ run, in a small budget, through the real interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mlp_random_script_runs_a_small_search(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tuning" / "mlp_random.py"), "--max-trials", "2",
         "--epochs", "1", "--max-examples", "300", "--out", str(tmp_path / "search")],
        capture_output=True, text=True, timeout=300,
        env=os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test metrics of the retrained best model" in proc.stdout
    best = json.loads((tmp_path / "search" / "best_hyperparameters.json").read_text())
    assert best and (tmp_path / "search" / "trials.csv").is_file()


def test_own_tuner_script_runs_keras_tuner_with_the_zoo_space(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tuning" / "own_tuner.py"), "--max-trials", "1",
         "--epochs", "1", "--max-examples", "300", "--out", str(tmp_path / "search")],
        capture_output=True, text=True, timeout=300,
        env=os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    # One line per search: the zoo model's space, then the user's own model's.
    lines = [line for line in proc.stdout.splitlines() if "test_accuracy" in line]
    assert [line.split(":")[0] for line in lines] == ["mnist_cnn", "my_mlp"]
    assert "'filters_1'" in proc.stdout and "'learning_rate'" in proc.stdout
    assert (tmp_path / "search" / "mnist_cnn" / "oracle.json").is_file()
    assert (tmp_path / "search" / "my_mlp" / "oracle.json").is_file()
