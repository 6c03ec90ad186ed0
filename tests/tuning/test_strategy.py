"""Trials run under the same tf.distribute strategy selection as training.

TensorFlow's logical devices are configured before it initialises them, so the search runs
in a fresh process that splits the CPU into two devices first.
"""

import json
import os
import subprocess
import sys

import pytest

CODE = """
import json, sys
from kerazoo.training.distribute import split_cpu
split_cpu(2)
from kerazoo.tuning.search import tune
r = tune("mnist_mlp", "mnist_sample", strategy="mirrored", max_trials=2, epochs=1,
         max_examples=200, batch_size=32, fix={"layers": 1, "units_1": 16}, out=sys.argv[1],
         verbose=0)
print(json.dumps({k: r.metrics[k] for k in ("strategy", "replicas", "batch_size",
                                           "trials_completed")}))
"""


@pytest.mark.slow
def test_a_search_under_mirrored_strategy_over_two_cpu_devices(tmp_path):
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, "-c", CODE, str(tmp_path / "s")], capture_output=True, text=True,
        env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert facts == {
        "strategy": "MirroredStrategy", "replicas": 2, "batch_size": 32, "trials_completed": 2,
    }  # fmt: skip
