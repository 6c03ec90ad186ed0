"""Multi-worker training on localhost: two real worker processes under
MultiWorkerMirroredStrategy (TF_CONFIG), the same results as one worker, a SIGKILLed worker
resumed to the exact step count, a BatchNorm model ending with the same weights on both
workers, a worker whose peer never starts failing in one line, and clear errors for a
missing or bad TF_CONFIG."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from kerazoo import launch
from kerazoo.training import multiworker

KERAZOO = [sys.executable, "-m", "kerazoo"]
ENV = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
# mnist_mlp on 1,000 real digits of the MNIST sample (600 train / 400 val / 1,000 test after
# the capped splits), global batch 32; no dropout and no random shift of the images, so two
# workers and one worker compute the same thing up to float rounding.
TRAIN = [
    "train", "mnist_mlp", "--dataset", "mnist_sample", "--max-examples", "600",
    "--batch-size", "32", "--set", "dropout=0.0", "--set", "shift=0.0", "--no-early-stopping",
    "--optimizer", "sgd",
    "--lr", "0.05",
]  # fmt: skip
FINGERPRINT = re.compile(r"(worker \d) of 2 trained epochs (\d+)-(\d+): ([\d,]+) of ([\d,]+) "
                         r"training examples per epoch here .* ([\d,]+) optimizer steps, "
                         r"weights fingerprint ([0-9a-f]{16})")  # fmt: skip


def _start(args: list[str], n: int = 2) -> list[subprocess.Popen]:
    hosts = [f"localhost:{p}" for p in launch.free_ports(n)]
    procs = []
    for index in range(n):
        procs.append(
            subprocess.Popen(
                [*KERAZOO, *args, "--strategy", "multiworker"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=ENV | {"TF_CONFIG": launch.tf_config(hosts, index)},
                start_new_session=True,
            )
        )
    return procs


def _finish(procs, timeout=420) -> list[str]:
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=timeout)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return outputs


def _history(run_dir: Path) -> list[dict]:
    with open(run_dir / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def _worker_temp_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("kerazoo-worker*")}


def test_two_workers_train_like_one(tmp_path):
    before = _worker_temp_folders()
    out = tmp_path / "two"
    # As a user runs it: `kerazoo launch` starts the two workers with their TF_CONFIG.
    job = subprocess.Popen(
        [*KERAZOO, "launch", "--workers", "2", "--timeout", "400", "--",
         *TRAIN, "--epochs", "2", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV,
    )  # fmt: skip
    one_worker = _start([*TRAIN, "--epochs", "2", "--out", str(tmp_path / "one")], n=1)
    launched, one_output = _finish([job, *one_worker], timeout=450)
    assert job.returncode == 0, launched[-3000:]
    assert one_worker[0].returncode == 0, one_output[-3000:]
    outputs = [
        "\n".join(line for line in launched.splitlines() if line.startswith(f"[worker {i}] "))
        for i in range(2)
    ]
    assert "all 2 workers finished" in launched
    fit = subprocess.run(
        [
            *KERAZOO,
            *TRAIN,
            "--epochs",
            "2",
            "--strategy",
            "default",
            "--out",
            str(tmp_path / "fit"),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=420,
    )
    assert fit.returncode == 0, fit.stderr[-3000:]

    reports = [FINGERPRINT.search(output) for output in outputs[:2]]
    assert all(reports), outputs[1][-2000:]
    (name0, *_, fp0), (name1, *_, fp1) = (r.groups() for r in reports)
    assert (name0, name1) == ("worker 0", "worker 1")
    # Identical final weights on both workers.
    assert fp0 == fp1
    # The global batch is split: each worker saw half of the 600 training examples an epoch.
    metrics = json.loads((out / "metrics.json").read_text())
    n_train = metrics["n_train"]
    for report in reports:
        first, last, here, total, steps = report.groups()[1:6]
        assert (int(first), int(last)) == (1, 2)
        assert int(total.replace(",", "")) == n_train
        assert int(here.replace(",", "")) == n_train // 2
        assert int(steps.replace(",", "")) == 2 * math.ceil(n_train / 32)
    assert metrics["workers"] == 2 and metrics["replicas"] == 2
    assert metrics["steps"] == 2 * math.ceil(n_train / 32)
    assert metrics["weights_fingerprint"] == fp0
    # Only the chief wrote, and it wrote the complete run folder; no worker folder is left.
    for name in ("config.json", "dataset.json", "model.keras", "history.csv", "history.png",
                 "architecture.png", "predictions.png", "confusion_matrix.png"):  # fmt: skip
        assert (out / name).is_file(), name
    assert not (out / "backup").exists()
    assert "wrote" not in outputs[1]
    assert _worker_temp_folders() <= before

    # One worker with the same global batch and seed computes the same, up to float rounding.
    one = json.loads((tmp_path / "one" / "metrics.json").read_text())
    assert one["workers"] == 1 and one["replicas"] == 1
    for two_row, one_row in zip(_history(out), _history(tmp_path / "one"), strict=True):
        for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
            assert float(two_row[key]) == pytest.approx(float(one_row[key]), rel=1e-4), key
    assert metrics["test_accuracy"] == pytest.approx(one["test_accuracy"], abs=0.002)
    # Keras's own fit on one machine: the same first epoch. (From the second epoch on it
    # draws the seeded shuffle orders in another sequence than the loop, so the runs part.)
    first_fit = _history(tmp_path / "fit")[0]
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        assert float(_history(out)[0][key]) == pytest.approx(float(first_fit[key]), rel=1e-4)
    assert metrics["test_accuracy"] > 0.7


def test_killed_worker_resumes_with_the_exact_step_count(tmp_path):
    out = tmp_path / "run"
    args = [*TRAIN, "--epochs", "4", "--out", str(out)]
    procs = _start(args)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # kill worker 1 once an epoch is done
            if (out / "history.csv").is_file() and _history(out):
                break
            assert all(p.poll() is None for p in procs), _finish(procs)[0][-3000:]
            time.sleep(0.2)
        else:
            pytest.fail("no epoch finished in 300 s")
        os.killpg(procs[1].pid, signal.SIGKILL)
        procs[1].wait(timeout=30)
        # Worker 0 cannot go on alone (its all-reduces wait for worker 1): stop it as
        # `kerazoo launch` does when a worker fails.
        time.sleep(1)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert not (out / "metrics.json").exists()
    done = [int(row["epoch"]) for row in _history(out)]
    assert 1 <= len(done) < 4

    outputs = _finish(_start([*args, "--resume"]))
    assert all("error" not in o.lower() for o in outputs), outputs[0][-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    # Every epoch once, and the optimizer made exactly 4 epochs of steps.
    assert [int(row["epoch"]) for row in _history(out)] == [0, 1, 2, 3]
    assert metrics["epochs"] == 4
    assert metrics["steps"] == 4 * math.ceil(metrics["n_train"] / 32)
    reports = [FINGERPRINT.search(o) for o in outputs]
    assert all(reports) and reports[0].group(7) == reports[1].group(7)
    assert int(reports[0].group(2)) == len(done) + 1  # it went on after the last backup
    assert not (out / "backup").exists()


@pytest.mark.parametrize(
    ("tf_config", "message"),
    [
        (None, "TF_CONFIG environment variable, which is not set"),
        ("{not json", "TF_CONFIG must be JSON"),
        (
            '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 3}}',
            "must be a chief or worker listed in the cluster",
        ),  # fmt: skip
    ],
)
def test_bad_tf_config_is_one_line_before_tensorflow(tmp_path, tf_config, message):
    env = {k: v for k, v in ENV.items() if k != "TF_CONFIG"}
    if tf_config is not None:
        env["TF_CONFIG"] = tf_config
    proc = subprocess.run(
        [*KERAZOO, *TRAIN, "--strategy", "multiworker", "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "kerazoo launch" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


def test_read_tf_config_names_the_chief():
    cluster = {"worker": ["a:1", "b:1", "c:1"]}
    for index in range(3):
        env = {
            "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            )
        }
        config = multiworker.read_tf_config(env)
        assert config["workers"] == 3 and config["chief"] == (index == 0)
    with_chief = {"chief": ["a:1"], "worker": ["b:1"]}
    env = {"TF_CONFIG": json.dumps({"cluster": with_chief, "task": {"type": "worker", "index": 0}})}
    assert multiworker.read_tf_config(env) | {} == {
        "workers": 2, "task_type": "worker", "task_id": 0, "chief": False
    }  # fmt: skip
    env["TF_CONFIG"] = json.dumps({"cluster": with_chief, "task": {"type": "chief", "index": 0}})
    assert multiworker.read_tf_config(env)["chief"]


@pytest.mark.parametrize(
    ("model", "picture"), [("vae", "reconstructions.png"), ("dcgan", "samples.png")]
)
def test_custom_train_steps_run_on_two_workers(tmp_path, model, picture):
    # The VAE and the DCGAN train with their own train_step (the DCGAN with two optimizers).
    out = tmp_path / model
    proc = subprocess.run(
        [*KERAZOO, "launch", "--workers", "2", "--timeout", "300", "--", "train", model,
         "--max-examples", "300", "--epochs", "2", "--out", str(out)],
        capture_output=True, text=True, env=ENV, timeout=360,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    reports = FINGERPRINT.findall(proc.stdout)
    assert len(reports) == 2 and reports[0][6] == reports[1][6]  # identical weights
    metrics = json.loads((out / "metrics.json").read_text())
    steps = 2 * math.ceil(metrics["n_train"] / 32)
    assert metrics["steps"] == steps and all(int(r[5]) == steps for r in reports)
    assert (out / picture).is_file() and (out / "model.keras").is_file()


def test_batchnorm_statistics_end_equal_on_two_workers(tmp_path):
    # mnist_cnn has BatchNormalization: each worker updates its moving statistics from its
    # half of every batch, so without the end-of-epoch average the workers end apart
    # (measured: fingerprints 3641615f... and de3c2d74... for this very run).
    out = tmp_path / "bn"
    proc = subprocess.run(
        [*KERAZOO, "launch", "--workers", "2", "--timeout", "300", "--", "train", "mnist_cnn",
         "--dataset", "mnist_sample", "--max-examples", "200", "--epochs", "2",
         "--batch-size", "32", "--set", "filters=(4, 8)", "--set", "dense_units=16",
         "--out", str(out)],
        capture_output=True, text=True, env=ENV, timeout=360,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    reports = FINGERPRINT.findall(proc.stdout)
    assert len(reports) == 2
    assert reports[0][6] == reports[1][6]  # all weights, moving statistics included
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["weights_fingerprint"] == reports[0][6]

    import kerazoo

    net = kerazoo.load_model(out / "model.keras")
    means = [w for w in net.non_trainable_weights if w.name == "moving_mean"]
    assert means, [w.path for w in net.weights]
    # The statistics moved away from their initial zeros: they were trained.
    assert all(float(abs(w.numpy()).max()) > 0 for w in means)


def test_worker_whose_peer_never_starts_fails_in_one_line(tmp_path):
    # `kerazoo launch` starts two workers; worker 1 exits at once without ever starting, so
    # worker 0 waits for it (here 20 s, KERAZOO_PEER_TIMEOUT) and then fails in one line.
    code = (
        "import json, os, sys\n"
        "if json.loads(os.environ['TF_CONFIG'])['task']['index'] == 1: sys.exit(0)\n"
        "from kerazoo.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = tmp_path / "r"
    proc = subprocess.run(
        [*KERAZOO, "launch", "--workers", "2", "--timeout", "120", "--", sys.executable, "-c",
         code, *TRAIN, "--epochs", "1", "--strategy", "multiworker", "--out", str(out)],
        capture_output=True, text=True, env=ENV | {"KERAZOO_PEER_TIMEOUT": "20"}, timeout=200,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-2000:]
    errors = [line for line in proc.stdout.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stdout
    assert errors[0].startswith("[worker 0] kerazoo train: error: worker 0 waited 20 s")
    assert re.search(r"no answer from worker 1 at localhost:\d+", errors[0])
    assert "KERAZOO_PEER_TIMEOUT" in errors[0]
    assert "kerazoo launch: worker 0 exited with status 2" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not out.exists()


def test_wait_for_peers_meets_three_workers_starting_apart():
    hosts = [f"localhost:{p}" for p in launch.free_ports(3)]
    outcome = {}

    def worker(index: int, delay: float) -> None:
        time.sleep(delay)
        env = {"TF_CONFIG": launch.tf_config(hosts, index), "KERAZOO_PEER_TIMEOUT": "120"}
        try:
            multiworker.wait_for_peers(env)
            outcome[index] = "met"
        except ValueError as err:
            outcome[index] = str(err)

    threads = [threading.Thread(target=worker, args=(i, 0.5 * i)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=150)
    assert outcome == {0: "met", 1: "met", 2: "met"}
    # Every port is free again for TensorFlow's server.
    for host in hosts:
        port = int(host.rpartition(":")[2])
        with socket.create_server(("127.0.0.1", port)):
            pass


def test_wait_for_peers_names_the_missing_worker_and_checks_the_timeout():
    hosts = [f"localhost:{p}" for p in launch.free_ports(3)]
    env = {"TF_CONFIG": launch.tf_config(hosts, 1)}
    with pytest.raises(multiworker.PeerTimeout) as err:
        multiworker.wait_for_peers(env, timeout=1)  # nobody else starts: it must fail
    message = str(err.value)
    assert f"worker 0 at {hosts[0]}" in message and f"worker 2 at {hosts[2]}" in message
    assert isinstance(err.value, ValueError)  # one line and status 2 in the CLI
    for bad in ("0", "-5", "soon", "nan"):
        with pytest.raises(ValueError, match=f"Received: KERAZOO_PEER_TIMEOUT='{bad}'"):
            multiworker.read_tf_config(env | {"KERAZOO_PEER_TIMEOUT": bad})
    assert multiworker.peer_timeout({}) == 300
