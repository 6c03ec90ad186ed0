"""What reaches the terminal: the commands' own lines and `notice:` lines, no TensorFlow
start-up block, no C++ error lines, no raw Python warnings (issue 11's noise defect).

Real processes on real data, in a user's environment (no TF_CPP_MIN_LOG_LEVEL set).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

KERAZOO = [sys.executable, "-m", "kerazoo"]
# As a user runs it: no log level of their own; no GPU probing differences between machines.
ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
NOISE = (
    "E0000",  # TensorFlow's C++ ERROR lines (oneDNN DT_BOOL, remapper, ...)
    "I0000",  # its INFO lines (oneDNN custom operations, CUDA drivers)
    "W0000",
    "cuInit",
    "absl::InitializeLog",
    "UserWarning",
    "Traceback",
)


def kerazoo(*args, timeout=600):
    return subprocess.run(
        [*KERAZOO, *args], capture_output=True, text=True, env=ENV, timeout=timeout
    )


def assert_quiet(stderr: str) -> None:
    noisy = [line for line in stderr.splitlines() if any(word in line for word in NOISE)]
    assert not noisy, stderr[-3000:]
    # Whatever else is there is the zoo's own: notices (and Keras's progress, on stdout).
    assert all(line.startswith("notice: ") for line in stderr.splitlines()), stderr[-3000:]


def test_tune_show_space_prints_the_space_only():
    proc = kerazoo("tune", "mnist_mlp", "--show-space")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("search space of mnist_mlp")
    assert proc.stderr == ""


def test_training_a_text_model_prints_no_tensorflow_errors(tmp_path):
    # The LSTM's masks are boolean tensors: oneDNN logs "supports DT_BOOL only on
    # platforms with AVX-512" as an error line while it falls back.
    out = tmp_path / "run"
    proc = kerazoo(
        "train", "lstm_classifier", "--max-examples", "200", "--epochs", "1", "--out", str(out)
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "metrics.json").is_file()
    assert_quiet(proc.stderr)


def test_a_search_shows_the_dataset_fallback_as_one_notice(tmp_path):
    proc = kerazoo(
        "tune", "mnist_mlp", "--max-trials", "1", "--epochs", "1", "--max-examples", "200",
        "--fix", "layers=1", "--fix", "units_1=8", "--no-retrain", "--quiet",
        "--out", str(tmp_path / "search"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_quiet(proc.stderr)
    fallback = [line for line in proc.stderr.splitlines() if "Full MNIST" in line]
    # Offline, the real 5,000-digit sample stands in for MNIST and says so, once.
    assert len(fallback) <= 1
    if fallback:
        assert fallback[0].startswith("notice: Full MNIST is not available offline")


def test_bad_input_is_still_one_line_and_status_2():
    proc = kerazoo("tune", "mnist_mlp", "--show-space", "--fix", "nope=1")
    assert proc.returncode == 2
    assert proc.stderr.startswith("kerazoo tune: error: ") and proc.stderr.count("\n") == 1


def test_a_distributed_search_prints_no_stray_hyperparameter_values(capsys):
    # keras-tuner 1.4.8's `Parent.to_proto` prints its first value: the chief serialises
    # every conditional hyperparameter for its workers, so a search printed "[chief] 2"
    # dozens of times. Importing kerazoo's engine must silence it.
    pytest.importorskip("keras_tuner")
    from keras_tuner.src.engine import conditions

    import kerazoo.tuning.engine  # noqa: F401

    conditions.Parent("layers", [2, 3, 4]).to_proto()
    conditions.Parent("activation", ["relu"]).to_proto()
    assert capsys.readouterr().out == ""
