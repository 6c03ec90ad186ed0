"""Resume is exact at every kill point: real `kerazoo train` processes killed with SIGKILL
at each write a run makes (`KERAZOO_KILL_AT`, kerazoo.training.folder.kill_point), then
resumed; and a damaged backup, which falls back to the previous state or stops in one line.

Every kill point is reached in a chain of processes on one run folder (killed, resumed and
killed again at the next point), two chains side by side, so the matrix costs 12 short
processes. After each kill the committed state must hold whole epochs; at the end
`history.csv` must hold every epoch once, the optimizer's step count must be exactly
epochs x steps, and metrics.json must agree.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest
import realdata

import kerazoo
from kerazoo.training.backup import DamagedBackup, RunBackup
from kerazoo.training.callbacks import default_callbacks

TRAIN = [
    *(sys.executable, "-m", "kerazoo.cli", "train", "mnist_cnn"),
    *("--max-examples", "200", "--epochs", "3", "--batch-size", "32"),
    *("--set", "filters=(4, 8)", "--set", "dense_units=16"),
]
STEPS = math.ceil(200 / 32)  # optimizer steps per epoch: 200 training digits, batch 32
# Each chain: the kill point of each process in turn (POINT:EPOCH, 1-based); then a last
# `--resume` runs to the end. Together they reach every named point once.
CHAINS = {
    "weights,state,before-commit,trained,metrics": [
        "weights:1",
        "state:2",
        "before-commit:3",
        "trained",
        "metrics",
    ],
    "checkpoint,after-commit,history,trained,pictures": [
        "checkpoint:1",
        "after-commit:2",
        "history:3",
        "trained",
        "pictures",
    ],
}


def _run(out, kill_at=None, resume=False, extra=()):
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("KERAZOO_KILL_AT", None)
    if kill_at:
        env["KERAZOO_KILL_AT"] = kill_at
    args = [*TRAIN, "--out", str(out), *(["--resume"] if resume else []), *extra]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)


def _history_epochs(out) -> list[int]:
    with open(out / "history.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def _committed(out) -> dict | None:
    try:
        pointer = json.loads((out / "backup" / "latest.json").read_text())
    except FileNotFoundError:
        return None
    return json.loads((out / "backup" / pointer["state"] / "state.json").read_text())


def _chain(out, points: list[str]) -> list[str]:
    """Runs the chain; returns what went wrong (empty when all held)."""
    problems = []
    for i, point in enumerate(points):
        proc = _run(out, kill_at=point, resume=i > 0)
        if proc.returncode != -signal.SIGKILL:
            problems.append(f"{point}: not killed (exit {proc.returncode}): {proc.stderr[-800:]}")
            return problems
        state = _committed(out)
        if state is not None:
            epochs = [row["epoch"] for row in state["history"]]
            if epochs != list(range(state["epoch"])):
                problems.append(f"{point}: committed history {epochs}, epoch {state['epoch']}")
            # The optimizer's step count is exact at every committed epoch.
            if state["optimizer_steps"] != state["epoch"] * STEPS:
                problems.append(f"{point}: {state['optimizer_steps']} steps at {state['epoch']}")
        if point == "trained" and (state is None or state["epoch"] != 3):
            problems.append(f"trained: the backup holds {state and state['epoch']} epochs, not 3")
    proc = _run(out, resume=True)
    if proc.returncode != 0:
        problems.append(f"final resume: exit {proc.returncode}: {proc.stderr[-800:]}")
    return problems


@pytest.mark.slow
def test_a_run_killed_at_every_write_resumes_exactly(tmp_path):
    outs = {name: tmp_path / f"chain{i}" for i, name in enumerate(CHAINS)}
    with ThreadPoolExecutor(len(CHAINS)) as pool:
        found = dict(zip(CHAINS, pool.map(_chain, outs.values(), CHAINS.values()), strict=True))
    assert found == dict.fromkeys(CHAINS, [])
    for out in outs.values():
        assert _history_epochs(out) == [0, 1, 2]  # every epoch exactly once
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["epochs"] == 3 and 1 <= metrics["best_epoch"] <= 3
        assert all(math.isfinite(v) for k, v in metrics.items() if k.startswith("test_"))
        # Nothing half-written or temporary is left, and the backup is gone.
        assert not (out / "backup").exists()
        leftovers = [p.name for p in out.rglob(".*") if p.name != ".kerazoo-run.json"]
        assert leftovers == []
        assert kerazoo.load_model(out / "model.keras") is not None


@pytest.mark.slow
def test_nan_in_the_first_epoch_keeps_nothing_and_resume_refuses_in_one_line(tmp_path):
    out = tmp_path / "nan"
    proc = _run(out, extra=["--lr", "1e30"])  # a real divergence on real digits
    assert proc.returncode == 1, proc.stderr[-2000:]
    said = proc.stdout + proc.stderr
    assert "before any epoch finished: no state is kept" in proc.stderr
    assert "--overwrite" in proc.stderr and "kept in" not in said  # no claim of a backup
    assert not (out / "metrics.json").exists() and not (out / "history.csv").exists()

    again = _run(out, resume=True)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "Traceback" not in again.stderr
    assert "nothing to resume" in again.stderr and "--overwrite" in again.stderr
    assert not (out / "metrics.json").exists()


# --- a full disk and a read-only folder (a real 3 MB tmpfs) ---------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs, where this machine lets the tests mount one (root, no container
    policy against it); else the tests skip, saying why."""
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a 3 MB tmpfs here ({proc.stderr.strip() or 'not root'})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk, leave_kb: int):
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize // 1024
    (disk / "filler").write_bytes(b"\0" * max(0, free - leave_kb) * 1024)


def _first_epoch_then_killed(out):
    proc = _run(out, kill_at="after-commit:1")
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    return (out / "backup" / "latest.json").read_bytes()


def _leftovers(out) -> list[str]:
    return [p.name for p in out.rglob(".*") if p.name not in (".kerazoo-run.json", ".staging")]


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_keeps_the_last_epoch(small_disk):
    out = small_disk / "run"
    pointer = _first_epoch_then_killed(out)
    _fill(small_disk, leave_kb=100)  # less than an epoch's state (~280 KB)
    proc = _run(out, resume=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("kerazoo train: error: Cannot write") and "No space left" in line
    assert "last finished epoch (1) is kept" in line and "--resume" in line
    # The committed state is untouched and no temporary file is left behind.
    assert (out / "backup" / "latest.json").read_bytes() == pointer
    assert _leftovers(out) == [] and not (out / "backup" / ".staging").exists()

    (small_disk / "filler").unlink()  # space again: the run goes on from epoch 2
    proc = _run(out, resume=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _history_epochs(out) == [0, 1, 2] and "Epoch 1/3" not in proc.stdout


@pytest.mark.slow
def test_a_read_only_folder_is_one_line_and_changes_nothing(small_disk):
    out = small_disk / "run"
    pointer = _first_epoch_then_killed(out)
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        proc = _run(out, resume=True)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("kerazoo train: error: Cannot write") and "Read-only" in line
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert (out / "backup" / "latest.json").read_bytes() == pointer


# --- a damaged backup (in process, a tiny MLP on real digits) ------------------------------


@pytest.fixture(scope="module")
def digits():
    return realdata.mnist_digits(256), realdata.mnist_digits(128, offset=256)


def _model():
    keras.utils.set_random_seed(0)
    model = kerazoo.create_model("mlp", hidden_units=(16,))
    model.compile(
        keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


class _Stop(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise RuntimeError("stopped")


def _fit(run_dir, digits, epochs, extra=()):
    (x, y), val = digits
    callbacks = default_callbacks(run_dir, tensorboard=False, extra=list(extra))
    model = _model()
    history = model.fit(
        x, y, validation_data=val, epochs=epochs, batch_size=64, callbacks=callbacks, verbose=0
    )
    return model, history


def _interrupted(run_dir, digits):
    with pytest.raises(RuntimeError, match="stopped"):
        _fit(run_dir, digits, 4, extra=[_Stop()])
    return sorted((run_dir / "backup").glob("state-*"))


def test_a_damaged_state_falls_back_to_the_previous_one(tmp_path, digits, capsys):
    states = _interrupted(tmp_path, digits)
    assert [p.name for p in states] == ["state-00001", "state-00002"]
    weights = states[1] / "weights.weights.h5"
    weights.write_bytes(weights.read_bytes()[:1000])  # torn, as a kill during a write would
    model, history = _fit(tmp_path, digits, 4)
    assert "does not match its checksum" in capsys.readouterr().out
    assert len(history.history["loss"]) == 3  # epochs 1, 2, 3 again from the end of epoch 0
    assert _history_epochs(tmp_path) == [0, 1, 2, 3]
    assert int(model.optimizer.iterations.numpy()) == 4 * math.ceil(256 / 64)


def test_no_intact_state_is_one_line_naming_the_file(tmp_path, digits):
    states = _interrupted(tmp_path, digits)
    for state in states:
        (state / "weights.weights.h5").write_bytes(b"")
    with pytest.raises(DamagedBackup, match="weights.weights.h5 does not match") as caught:
        _fit(tmp_path, digits, 4)
    message = str(caught.value)
    assert "\n" not in message and "--overwrite" in message
    assert message.endswith(f"Received: backup_dir={str(tmp_path / 'backup')!r}")


def test_a_state_never_pointed_at_is_not_used(tmp_path, digits):
    # A kill between the state's rename and the pointer's: the new state is not committed.
    _interrupted(tmp_path, digits)
    backup = RunBackup(tmp_path / "backup")
    assert backup.committed_epochs == 2
    pointer = json.loads((tmp_path / "backup" / "latest.json").read_text())
    pointer |= {"state": "state-00001", "epoch": 1}
    pointer["sha256"] = {
        "state.json": __import__("hashlib")
        .sha256((tmp_path / "backup" / "state-00001" / "state.json").read_bytes())
        .hexdigest()
    }
    (tmp_path / "backup" / "latest.json").write_text(json.dumps(pointer))
    model, history = _fit(tmp_path, digits, 3)
    assert len(history.history["loss"]) == 2 and _history_epochs(tmp_path) == [0, 1, 2]
    assert int(model.optimizer.iterations.numpy()) == 3 * math.ceil(256 / 64)
    assert np.all(np.isfinite(model.get_weights()[0]))
