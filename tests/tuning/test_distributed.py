"""`kerazoo tune --distributed`: a chief and two workers as real processes on localhost.

KerasTuner's chief/worker mode over gRPC on 127.0.0.1, with the variables `kerazoo launch`
sets; real digits (the MNIST sample, 300 per split) and a one-layer MLP. No GPU.
"""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest
from searchfiles import read_json, trial_rows

from kerazoo.tuning import search
from kerazoo.tuning.report import TRIAL_COLUMNS

# The `kerazoo` command's own entry point; it also says whether TensorFlow was imported.
CLI = (
    "import sys; from kerazoo.cli import main; rc = main(sys.argv[1:]); "
    "print('tensorflow loaded:', 'tensorflow' in sys.modules); sys.exit(rc)"
)
ENV = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")} | {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "CUDA_VISIBLE_DEVICES": "",
}
TIMEOUT = 240  # seconds for the whole search; it takes about a minute on 2 busy cores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _args(out, *extra):
    return ["tune", "mnist_mlp", "--dataset", "mnist_sample", "--max-examples", "300",
            "--tuner", "random", "--max-trials", "4", "--epochs", "1", "--batch-size", "32",
            "--fix", "layers=1", "--space", "units_1=8,16,32,64", "--out", str(out),
            "--distributed", *extra]  # fmt: skip


def _run_all(out, tmp_path, *extra, tag="", kill_when=None):
    """Starts the chief and workers tuner0, tuner1; returns {id: (status, stdout, stderr)}.

    With `kill_when`, all three are killed with SIGKILL once it returns True. All are
    killed if the search is not over within TIMEOUT (no orphans either way).
    """
    port = _free_port()
    procs = {}
    with contextlib.ExitStack() as files:
        try:
            for tuner_id in ("chief", "tuner0", "tuner1"):
                env = ENV | {
                    "KERASTUNER_TUNER_ID": tuner_id,
                    "KERASTUNER_ORACLE_IP": "127.0.0.1",
                    "KERASTUNER_ORACLE_PORT": str(port),
                }
                logs = [
                    files.enter_context(open(tmp_path / f"{tuner_id}{tag}.{n}", "w+"))
                    for n in ("out", "err")
                ]
                proc = subprocess.Popen(
                    [sys.executable, "-c", CLI, *_args(out, *extra)],
                    stdout=logs[0], stderr=logs[1], env=env,
                )  # fmt: skip
                procs[tuner_id] = (proc, logs)
            deadline = time.monotonic() + TIMEOUT
            while any(proc.poll() is None for proc, _ in procs.values()):
                assert time.monotonic() < deadline, f"the search took over {TIMEOUT} s"
                if kill_when is not None and kill_when():
                    break
                time.sleep(0.05)
        finally:
            for proc, _ in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=30)
        results = {}
        for tuner_id, (proc, logs) in procs.items():
            for log in logs:
                log.seek(0)
            results[tuner_id] = (proc.returncode, *(log.read() for log in logs))
    return results


@pytest.mark.slow
def test_a_chief_and_two_workers_run_every_trial_once(tmp_path):
    out = tmp_path / "search"
    start = time.monotonic()
    runs = _run_all(out, tmp_path)
    seconds = time.monotonic() - start
    for tuner_id, (status, stdout, stderr) in runs.items():
        assert status == 0, f"{tuner_id} exited {status}:\n{stdout[-2000:]}\n{stderr[-3000:]}"

    # The chief wrote the results of a single-machine search.
    for name in ("search.json", "trials.csv", "search.png", "best_hyperparameters.json",
                 "best_model.keras", "metrics.json"):  # fmt: skip
        assert (out / name).is_file(), name
    rows = trial_rows(out)
    assert sorted(r["trial_id"] for r in rows) == ["0", "1", "2", "3"]
    assert {r["status"] for r in rows} == {"COMPLETED"}
    assert all(float(r["seconds"]) > 0 and r["epochs"] == "1" for r in rows)  # workers' records
    values = {tuple(r[k] for k in r if k not in TRIAL_COLUMNS) for r in rows}
    assert len(values) == 4  # four different configurations
    project = out / "keras_tuner"
    assert sorted(p.parent.name for p in project.glob("trial_*/kerazoo_trial.json")) == [
        "trial_0",
        "trial_1",
        "trial_2",
        "trial_3",
    ]
    oracle = json.loads((project / "oracle.json").read_text())
    assert oracle["run_times"] == {"0": 1, "1": 1, "2": 1, "3": 1}  # each run once
    assert oracle["ongoing_trials"] == {}  # a resume will not take any as interrupted
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["trials_completed"] == 4 and metrics["test_accuracy"] > 0.2
    best = json.loads((out / "best_hyperparameters.json").read_text())
    assert best["score"] == max(float(r["score"]) for r in rows)

    # Each trial was run by one worker, both took part, the chief ran none.
    ran = {}
    for tuner_id in ("tuner0", "tuner1"):
        stdout = runs[tuner_id][1]
        ran[tuner_id] = re.findall(r"^trial (\d) \(\d/4\) val_accuracy", stdout, re.M)
        assert ran[tuner_id], f"{tuner_id} ran no trial:\n{stdout}"
    assert sorted(ran["tuner0"] + ran["tuner1"]) == ["0", "1", "2", "3"]
    chief = runs["chief"][1]
    assert not re.search(r"^trial \d", chief, re.M)
    assert "chief: serving the oracle at 127.0.0.1:" in chief
    assert "status" in chief and "retrained" in chief  # the summary table and the retrain
    print(f"distributed search: {seconds:.1f} s")

    # Started again with --resume, a finished search is left as it is, by all three.
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    start = time.monotonic()
    again = _run_all(out, tmp_path, "--resume", tag="-resume")
    print(f"resume: {time.monotonic() - start:.1f} s")
    assert {k: v[0] for k, v in again.items()} == {"chief": 0, "tuner0": 0, "tuner1": 0}
    assert all("finished search; nothing to resume" in v[1] for v in again.values())
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_a_distributed_search_killed_during_trials_resumes_each_trial_once(tmp_path):
    out = tmp_path / "search"
    longer = ("--epochs", "4", "--max-examples", "2000")  # trials long enough to kill inside
    trial = out / "keras_tuner" / "trial_1"

    def trial_1_running():
        running = read_json(trial / "trial.json").get("status") == "RUNNING"
        if running and not (trial / "kerazoo_trial.json").exists():
            time.sleep(0.3)  # inside the trial's fit
            return True
        return False

    killed = _run_all(out, tmp_path, *longer, tag="-killed", kill_when=trial_1_running)
    assert {k: v[0] for k, v in killed.items()} == {"chief": -9, "tuner0": -9, "tuner1": -9}
    assert not (trial / "kerazoo_trial.json").exists(), "trial 1 ended before the kill"
    oracle = read_json(out / "keras_tuner" / "oracle.json")
    interrupted = sorted(oracle["ongoing_trials"].values())
    assert "1" in interrupted and not (out / "trials.csv").exists()

    again = _run_all(out, tmp_path, *longer, "--resume", tag="-resumed")
    for tuner_id, (status, stdout, stderr) in again.items():
        assert status == 0, f"{tuner_id} exited {status}:\n{stdout[-2000:]}\n{stderr[-3000:]}"
    rows = trial_rows(out)
    assert sorted(r["trial_id"] for r in rows) == ["0", "1", "2", "3"]
    assert {r["status"] for r in rows} == {"COMPLETED"}
    oracle = json.loads((out / "keras_tuner" / "oracle.json").read_text())
    # The killed attempts count (at most --max-retries 1 more run each); no trial is repeated.
    assert oracle["run_times"] == {t: 2 if t in interrupted else 1 for t in "0123"}
    assert oracle["ongoing_trials"] == {}
    assert (out / "metrics.json").is_file()


def test_distributed_without_the_variables_is_one_line_before_tensorflow(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", CLI, *_args(tmp_path / "s")],
        capture_output=True, text=True, env=ENV, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kerazoo tune: error: --distributed")
    assert "KERASTUNER_ORACLE_IP" in lines[0] and "kerazoo launch --workers N" in lines[0]
    assert "tensorflow loaded: False" in done.stdout
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "env, distributed, match",
    [
        ({"KERASTUNER_ORACLE_IP": "127.0.0.1"}, False, "would make KerasTuner run a distrib"),
        ({"KERASTUNER_TUNER_ID": "chief", "KERASTUNER_ORACLE_IP": "127.0.0.1"}, True,
         "KERASTUNER_ORACLE_PORT is not set"),
        ({"KERASTUNER_TUNER_ID": "chief", "KERASTUNER_ORACLE_IP": "127.0.0.1",
          "KERASTUNER_ORACLE_PORT": "port"}, True, "KERASTUNER_ORACLE_PORT='port'"),
        ({"KERASTUNER_TUNER_ID": "chief2", "KERASTUNER_ORACLE_IP": "127.0.0.1",
          "KERASTUNER_ORACLE_PORT": "8000"}, True, "KERASTUNER_TUNER_ID='chief2'"),
    ],
)  # fmt: skip
def test_bad_distributed_variables_are_refused(monkeypatch, env, distributed, match):
    for name in search.DISTRIBUTED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=match):
        search.distributed_role(distributed)


def test_the_roles_come_from_the_variables(monkeypatch):
    for name in search.DISTRIBUTED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert search.distributed_role(False) is None
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert search.distributed_role(True) == "chief"
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner1")
    assert search.distributed_role(True) == "worker"


def test_a_chief_refuses_a_busy_port_before_writing(tmp_path, monkeypatch):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
        monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
        monkeypatch.setenv("KERASTUNER_ORACLE_PORT", str(busy.getsockname()[1]))
        with pytest.raises(ValueError, match="cannot serve its oracle at 127.0.0.1"):
            search.tune(
                "mnist_mlp", "mnist_sample", out=tmp_path / "s", max_examples=100,
                distributed=True, verbose=0,
            )  # fmt: skip
    assert not (tmp_path / "s").exists()
