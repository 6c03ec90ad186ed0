"""A search killed with SIGKILL during a trial and resumed: every trial once, retries bounded.

Real processes and real kills, through the `kerazoo` command's entry point.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from searchfiles import read_json, trial_rows

WRAPPER = "import sys; from kerazoo.cli import main; sys.exit(main(sys.argv[1:]))"
ENV = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


def _args(out, *extra):
    return ["tune", "mnist_mlp", "--dataset", "mnist_sample", "--max-trials", "3",
            "--epochs", "4", "--max-examples", "2000", "--fix", "layers=1",
            "--fix", "units_1=16", "--space", "activation=relu,tanh,elu",
            "--space", "dropout=0.0,0.1,0.2,0.3", "--out", str(out), *extra]  # fmt: skip


def _tune(*args):
    return subprocess.run(
        [sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True, env=ENV,
        timeout=300,
    )  # fmt: skip


def _kill_during_trial(out, trial_id: str, *extra):
    """Starts the search (or resumes it) and kills it while `trial_id` is running."""
    project = out / "keras_tuner"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, *_args(out, *extra)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        trial = project / f"trial_{trial_id}"
        while time.monotonic() < deadline and proc.poll() is None:
            state = read_json(trial / "trial.json")
            if state.get("status") == "RUNNING" and not (trial / "kerazoo_trial.json").exists():
                time.sleep(0.3)  # well inside the trial's fit
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the search ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (trial / "kerazoo_trial.json").exists(), "the trial ended before the kill"


@pytest.mark.slow
def test_a_killed_search_resumes_to_exactly_the_requested_trials(tmp_path):
    out = tmp_path / "search"
    _kill_during_trial(out, "1")
    first = (out / "keras_tuner" / "trial_0" / "kerazoo_trial.json").read_text()

    again = _tune(*_args(out, "--resume"))
    assert again.returncode == 0, again.stderr[-3000:]
    rows = trial_rows(out)
    assert [r["trial_id"] for r in rows] == ["0", "1", "2"]
    assert [r["status"] for r in rows] == ["COMPLETED"] * 3
    values = {(r["activation"], r["dropout"]) for r in rows}
    assert len(values) == 3  # no configuration ran twice
    # Trial 0 was not run again; trial 1 ran again (its killed run counted) and trial 2 once.
    assert (out / "keras_tuner" / "trial_0" / "kerazoo_trial.json").read_text() == first
    assert "trial 0 (" not in again.stdout and "trial 1 (" in again.stdout
    oracle = json.loads((out / "keras_tuner" / "oracle.json").read_text())
    assert oracle["run_times"] == {"0": 1, "1": 2, "2": 1}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["trials_completed"] == 3 and metrics["test_accuracy"] > 0.5


@pytest.mark.slow
def test_retries_of_a_killed_trial_are_bounded_and_it_is_recorded_as_failed(tmp_path):
    out = tmp_path / "search"
    _kill_during_trial(out, "1", "--max-retries", "0")
    again = _tune(*_args(out, "--resume", "--max-retries", "0"))
    assert again.returncode == 0, again.stderr[-3000:]
    rows = trial_rows(out)
    assert [r["status"] for r in rows] == ["COMPLETED", "FAILED", "COMPLETED"]
    assert rows[1]["error"].startswith("interrupted: the process ended during this trial")
    assert "trial 1 (" not in again.stdout  # not run again
