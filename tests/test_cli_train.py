"""`kerazoo train / evaluate / predict` as a user runs them: real subprocesses, real data,
one-line errors with exit status 2, and a run killed with SIGKILL that `--resume` finishes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import realdata
from matplotlib import image as mpimg

KERAZOO = [sys.executable, "-m", "kerazoo.cli"]
ENV = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}


def kerazoo(*args, timeout=600):
    return subprocess.run(
        [*KERAZOO, *args], capture_output=True, text=True, env=ENV, timeout=timeout
    )


def _epochs(run_dir) -> list[int]:
    with open(run_dir / "history.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_help_lists_train_evaluate_predict():
    proc = kerazoo("--help")
    for command in ("train", "evaluate", "predict"):
        assert command in proc.stdout
    proc = kerazoo("train", "--help")
    for option in ("--dataset", "--epochs", "--batch-size", "--optimizer", "--lr",
                   "--lr-schedule", "--strategy", "--seed", "--out", "--resume",
                   "--overwrite", "--set"):  # fmt: skip
        assert option in proc.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "mnist_cnn", "--dataset", "cifar100"], "Unknown dataset"),
        (["train", "lstm_classifier", "--dataset", "mnist"], "cannot train on mnist"),
        (["train", "mnist_cnn", "--epochs", "0"], "Received: epochs=0"),
        (["train", "mnist_cnn", "--batch-size", "0"], "Received: batch_size=0"),
        (["train", "mnist_cnn", "--set", "num_classes=3"], "comes from the dataset"),
        (["train", "mnist_cnm"], "mnist_cnn"),
        (["evaluate", "no/such/run"], "Expected a run folder or a .keras model file"),
        (["predict", "no/such/model.keras", "x.png"], "not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_without_tensorflow(tmp_path, args, message):
    started = time.perf_counter()
    proc = subprocess.run(
        [*KERAZOO, *args, *(["--out", str(tmp_path / "run")] if args[0] == "train" else [])],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()
    if args[0] == "train":  # answered before TensorFlow is imported
        assert time.perf_counter() - started < 4


@pytest.fixture(scope="module")
def digit_run(tmp_path_factory):
    """A short real mnist_cnn run through the CLI (its console output and folder)."""
    out = tmp_path_factory.mktemp("cli") / "run"
    proc = kerazoo(
        "train", "mnist_cnn", "--dataset", "mnist_sample", "--epochs", "2",
        "--max-examples", "1000", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, proc


def test_train_prints_progress_and_a_summary(digit_run):
    out, proc = digit_run
    # Not a terminal: one line per epoch, then the summary and the files written.
    assert "Epoch 1/2" in proc.stdout and "Epoch 2/2" in proc.stdout
    assert "val_accuracy" in proc.stdout
    summary = [line for line in proc.stdout.splitlines() if "test_accuracy" in line]
    assert summary and str(out) in summary[-1]
    assert f"wrote {out}" in proc.stdout and "metrics.json" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 1000 and metrics["epochs"] == 2
    assert metrics["test_accuracy"] > 0.8


def test_evaluate_reproduces_the_runs_test_metrics(digit_run):
    out, _ = digit_run
    metrics = json.loads((out / "metrics.json").read_text())
    for target in (out, out / "model.keras"):
        proc = kerazoo("evaluate", str(target))
        assert proc.returncode == 0, proc.stderr
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("test_accuracy"))
        assert float(line.split()[1]) == pytest.approx(metrics["test_accuracy"], abs=1e-4)


def test_predict_reads_real_digit_images(digit_run, tmp_path):
    out, _ = digit_run
    x, y = realdata.mnist_digits(40, offset=4000)
    files = []
    for i in range(8):
        png = tmp_path / f"digit{i}.png"
        mpimg.imsave(png, x[i, :, :, 0], cmap="gray", vmin=0, vmax=1)
        files.append(png)
    # The same digit drawn dark on white paper, as a JPEG: inverted back before predicting.
    jpeg = tmp_path / "paper.jpg"
    mpimg.imsave(jpeg, 1.0 - x[0, :, :, 0], cmap="gray", vmin=0, vmax=1)
    proc = kerazoo("predict", str(out), *map(str, files), str(jpeg))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 9
    labels = [int(line.split(": ")[1].split()[0]) for line in lines]
    assert np.mean(np.asarray(labels[:8]) == y[:8]) >= 0.75
    assert labels[8] == labels[0]
    assert all(line.rstrip().endswith("%)") for line in lines)


def test_predict_refuses_files_it_cannot_read(digit_run, tmp_path):
    out, _ = digit_run
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    proc = kerazoo("predict", str(out), str(notes))
    assert proc.returncode == 2 and "PNG or JPEG" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_predict_classifies_lines_of_text(tmp_path):
    out = tmp_path / "text"
    proc = kerazoo(
        "train", "lstm_classifier", "--epochs", "1", "--max-examples", "300",
        "--set", "units=(16,)", "--set", "embedding_dim=16", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    texts, _ = realdata.fortunes(2, ("en", "de"))
    lines = tmp_path / "quotes.txt"
    lines.write_text("\n".join(" ".join(t.split()) for t in texts) + "\n\n")
    proc = kerazoo("predict", str(out), str(lines))
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.strip().splitlines()
    assert len(rows) == len(texts)  # the empty line is skipped
    assert all(row.split(": ")[1].split()[0] in ("en", "de", "es", "it") for row in rows)
    assert rows[0].startswith(f"{lines}:1: ")


def test_a_run_killed_with_sigkill_finishes_with_resume(tmp_path):
    out = tmp_path / "run"
    args = ["train", "mnist_cnn", "--dataset", "mnist_sample", "--epochs", "4",
            "--max-examples", "1500", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(
        [*KERAZOO, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "history.csv").is_file() and _epochs(out):
                break  # the first epoch is finished and backed up
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "metrics.json").exists()
    assert (out / "backup").is_dir()
    done = _epochs(out)
    assert 1 <= len(done) < 4

    again = kerazoo(*args, "--resume")
    assert again.returncode == 0, again.stderr[-2000:]
    # It went on from the last finished epoch: every epoch once, none run twice.
    assert _epochs(out) == [0, 1, 2, 3]
    assert f"Epoch {len(done) + 1}/4" in again.stdout
    assert "Epoch 1/4" not in again.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 4 and metrics["test_accuracy"] > 0.8
    for name in ("model.keras", "history.png", "architecture.png", "predictions.png",
                 "confusion_matrix.png", "config.json"):  # fmt: skip
        assert (out / name).is_file(), name
    assert not (out / "backup").exists()
    # No temporary, clock or lock file left behind: only the manifest of the run's files.
    assert [p.name for p in out.glob(".*")] == [".kerazoo-run.json"]


def test_evaluate_lines_keep_a_gap_after_long_metric_names():
    from kerazoo.cli.training import score_lines

    scores = {"dataset": "mnist", "test_kl_loss": 0.5, "test_reconstruction_loss": 200.8247}
    assert score_lines(scores) == [
        "test_kl_loss              0.5000",
        "test_reconstruction_loss  200.8247",
    ]


def test_evaluate_of_a_vae_prints_name_and_value_apart(tmp_path):
    out = tmp_path / "vae"
    proc = kerazoo(
        "train", "vae", "--dataset", "mnist_sample", "--epochs", "1", "--max-examples", "200",
        "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = kerazoo("evaluate", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith("test_")]
    assert "test_reconstruction_loss" in [row[0] for row in rows]
    assert all(len(row) == 2 and float(row[1]) >= 0 for row in rows), proc.stdout
