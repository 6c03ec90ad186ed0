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
