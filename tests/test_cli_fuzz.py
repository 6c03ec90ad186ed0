"""Bad input on every command, as a hostile user types it: each is answered with exactly
one line on stderr, exit status 2, no traceback, and nothing written.

Most are refused before TensorFlow loads, so they run in-process through
`kerazoo.cli.main` (fast); the few checked only once the model is built (a factory's own
argument checks) run as real subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kerazoo.cli import main

KERAZOO = [sys.executable, "-m", "kerazoo.cli"]
ENV = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}
T = ["train", "mnist_mlp", "--out", "OUT"]
S = ["tune", "mnist_mlp", "--out", "OUT"]

# (argv, a piece of the one line); OUT is the output folder, which must not appear.
BEFORE_TENSORFLOW = [
    # numbers out of range, NaN and infinities
    (T + ["--patience", "-1"], "Received: patience=-1"),
    (T + ["--patience", "10**9"], "invalid int value"),
    (T + ["--batch-size", "2**63"], "invalid int value: '2**63'"),
    (T + ["--batch-size", str(2**63)], f"Received: batch_size={2**63}"),
    (T + ["--batch-size", "0"], "Received: batch_size=0"),
    (T + ["--batch-size", "-3"], "Received: batch_size=-3"),
    (T + ["--epochs", str(10**26)], f"Received: epochs={10**26}"),
    (T + ["--epochs", "0"], "Received: epochs=0"),
    (T + ["--epochs", "1.5"], "invalid int value"),
    (T + ["--seed", str(2**32)], f"Received: seed={2**32}"),
    (T + ["--seed", "-1"], "Received: seed=-1"),
    (T + ["--lr", "nan"], "Received: learning_rate=nan"),
    (T + ["--lr", "inf"], "Received: learning_rate=inf"),
    (T + ["--lr", "-0.1"], "Received: learning_rate=-0.1"),
    (T + ["--lr", "0"], "Received: learning_rate=0.0"),
    (T + ["--lr", "fast"], "invalid float value"),
    (T + ["--max-examples", "0"], "Received: max_examples=0"),
    # choices, flags and pairs
    (T + ["--optimizer", "adamax"], "invalid choice: 'adamax'"),
    (T + ["--lr-schedule", "linear"], "invalid choice: 'linear'"),
    (T + ["--strategy", "tpu"], "invalid choice: 'tpu'"),
    (T + ["--resume", "--overwrite"], "not allowed with argument"),
    (T + ["--resume"], "no run to resume"),
    (T + ["--no-such-flag"], "unrecognized arguments"),
    (["train"], "required: name"),
    (["train", "mnist_cnm", "--out", "OUT"], "mnist_cnn"),
    (T + ["--dataset", "cifar100"], "Unknown dataset"),
    (["train", "lstm_classifier", "--dataset", "mnist", "--out", "OUT"], "cannot train on"),
    (T + ["--set", "=3"], "--set takes key=value"),
    (T + ["--set", "dropout"], "--set takes key=value"),
    (T + ["--set", "num_classes=3"], "comes from the dataset"),
    (T + ["--set", "optimizer=sgd"], "--optimizer"),
    (T + ["--set", "learning_rate=0.1"], "--lr"),
    # overrides the training path controls, refused before anything is written
    (T + ["--set", "compile=False"], "Received: compile=False"),
    (T + ["--set", "name=mine"], "Received: name='mine'"),
    (T + ["--set", "l2=1e999"], "Received: l2=inf"),
    (T + ["--set", f"hidden_units=[64, {2**40}]"], f"Received: hidden_units=[64, {2**40}]"),
    (T + ["--set", f"dropout={-(2**64)}"], "Received: dropout="),
    (["train", "vae", "--lr-schedule", "cosine", "--set", "beta=1e400", "--out", "OUT"], "inf"),
    (["train", "dcgan", "--lr-schedule", "cosine", "--out", "OUT"], "steps its own"),
    # tune
    (S + ["--max-trials", "0"], "Received: max_trials=0"),
    (S + ["--max-trials", str(10**20)], "Received: max_trials="),
    (S + ["--epochs", "10**26"], "invalid int value"),
    (S + ["--epochs", str(10**26)], "Received: epochs="),
    (S + ["--seed", str(2**32)], f"Received: seed={2**32}"),
    (S + ["--batch-size", "-5"], "Received: batch_size=-5"),
    (S + ["--max-retries", "-1"], "Received: max_retries=-1"),
    (S + ["--max-failures", "0"], "Received: max_failures=0"),
    (S + ["--tuner", "grid_search"], "invalid choice"),
    (S + ["--objective", "val_nothing"], "Received: objective='val_nothing'"),
    (S + ["--fix", "nosuch=1"], "'nosuch' is not a hyperparameter"),
    (S + ["--fix", "lr=1e999"], "Received: lr=inf"),
    (S + ["--space", "units_1="], "--space takes key=value"),
    (S + ["--space", "units_1=32,abc"], "of one kind"),
    (S + ["--space", f"units_1=32,{2**40}"], "Received: units_1="),
    (S + ["--resume"], "no search to resume"),
    (["tune", "dcgan", "--out", "OUT"], "cannot be tuned"),
    # the other commands
    (["evaluate", "OUT/nothing"], "Expected a run folder or a .keras model file"),
    (["evaluate"], "required: path"),
    (["predict", "OUT/model.keras"], "required: files"),
    (["diagram"], "Give one model"),
    (["diagram", "nosuch_model", "--out", "OUT"], "Unknown model name"),
    (["diagram", "mnist_mlp", "--format", "jpg", "--out", "OUT"], "invalid choice: 'jpg'"),
    (["diagram", "--all", "--set", "dropout=0.1", "--out", "OUT"], "--set applies to one"),
    (["diagram", "OUT/missing.keras", "--out", "OUT"], "Model file not found"),
    (["export", "OUT/missing.keras", "--format", "tflite"], "Model file not found"),
    (["export", "OUT/missing.keras"], "required: --format"),
    (["export", "OUT/m.keras", "--format", "tflite", "--batch-size", "x"], "invalid int"),
    (["lesson", "no_such_lesson", "--out", "OUT"], "Unknown lesson"),
    (["lesson", "--quick"], "Give a lesson name"),
    (["no_such_command"], "invalid choice"),
]


def _args(argv, out):
    return [a.replace("OUT", str(out)) for a in argv]


def _one_line(rc, stderr, message, tmp_path):
    lines = stderr.strip().splitlines()
    assert rc == 2, stderr
    assert len(lines) == 1, stderr
    assert message in lines[0] and "Traceback" not in stderr
    assert lines[0].startswith("kerazoo")
    assert list(tmp_path.iterdir()) == []  # not the output folder, nothing at all


@pytest.mark.parametrize(
    "argv, message", BEFORE_TENSORFLOW, ids=[" ".join(a)[:60] for a, _ in BEFORE_TENSORFLOW]
)
def test_refused_in_one_line_before_anything_is_written(argv, message, tmp_path, capsys):
    os.chdir(tmp_path)  # a default output folder would land here
    try:
        rc = main(_args(argv, tmp_path / "out"))
    except SystemExit as stop:  # argparse
        rc = stop.code
    finally:
        os.chdir(os.path.dirname(__file__))
    _one_line(rc, capsys.readouterr().err, message, tmp_path)


def test_train_refusals_need_no_tensorflow():
    """Run in a fresh process: every `train` case above is answered without TensorFlow."""
    cases = [_args(a, "/nonexistent/out") for a, _ in BEFORE_TENSORFLOW if a[0] == "train"]
    code = (
        "import sys, contextlib, io\n"
        "from kerazoo.cli import main\n"
        f"for argv in {cases!r}:\n"
        "    with contextlib.redirect_stderr(io.StringIO()):\n"
        "        try: main(argv)\n"
        "        except SystemExit: pass\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert proc.stdout.split() == ["False", "False"], proc.stderr[-2000:]


# Checked by the factory once the data is loaded and the model built, still before the
# folder is started (and the data's notices held back so the refusal is the only line).
AFTER_BUILD = [
    (T + ["--dataset", "mnist_sample", "--set", "dropout=nan"], "Received: dropout='nan'"),
    (S + ["--dataset", "mnist_sample", "--fix", "lr=nan"], "Received: learning_rate='nan'"),
]


@pytest.mark.parametrize("argv, message", AFTER_BUILD, ids=["train dropout", "tune lr"])
def test_refused_by_the_model_in_one_line_with_nothing_written(argv, message, tmp_path):
    proc = subprocess.run(
        [*KERAZOO, *_args(argv, tmp_path / "out")],
        capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    _one_line(proc.returncode, proc.stderr, message, tmp_path)
