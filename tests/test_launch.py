"""`kerazoo launch`: real worker processes (tiny scripts reading their environment), real
failures, timeouts and signals; no training, so no dataset is involved.

The launcher runs as `python -m kerazoo launch`, as the `kerazoo` command does.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kerazoo import launch as launch_module
from kerazoo.launch import (
    KERAZOO_COMMANDS,
    build_argv,
    command_mode,
    free_ports,
    launch,
    tf_config,
    worker_envs,
)

ROOT = Path(__file__).resolve().parents[1]

# Prints the variables the launcher sets, as one JSON line.
SHOW_ENV = """
import json, os
names = ("TF_CONFIG", "KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT",
         "PYTHONUNBUFFERED", "EXTRA", "TF_NUM_INTRAOP_THREADS")
print("ENV " + json.dumps({n: os.environ.get(n) for n in names}))
"""

# Worker `index` (from TF_CONFIG) exits with the status in argv[2] once every other worker
# has written its pid and its child's pid to the folder argv[1]; the others sleep (and one
# of them ignores SIGTERM when argv[3] says so: only SIGKILL stops it).
FAIL_ONE = """
import json, os, signal, subprocess, sys, time
from pathlib import Path
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
n = len(json.loads(os.environ["TF_CONFIG"])["cluster"]["worker"])
folder, status, stubborn = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "stubborn"
if index == 1 and status:
    deadline = time.monotonic() + 30
    while len(list(folder.glob("*.pids"))) < n - 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    print("failing now", flush=True)
    sys.exit(status)
if stubborn and index == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
(folder / f"{index}.tmp").write_text(f"{os.getpid()} {child.pid}")
(folder / f"{index}.tmp").rename(folder / f"{index}.pids")
time.sleep(120)
"""


def _launch(*args, env=None, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "kerazoo", "launch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=os.environ | (env or {}),
    )


def _script(tmp_path, text, name="worker.py"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _envs(stdout):
    """`[label] ENV {...}` lines -> {label: variables}."""
    found = {}
    for line in stdout.splitlines():
        match = re.fullmatch(r"\[(.+?)\] ENV (.*)", line)
        if match:
            found[match[1]] = json.loads(match[2])
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped by its new parent, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _pids(folder):
    return [int(p) for f in folder.glob("*.pids") for p in f.read_text().split()]


def _wait_gone(pids, seconds=5.0):
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


# ---------------------------------------------------------------------------------------------
# What each worker gets


def test_train_workers_share_one_cluster_with_distinct_indexes_and_ports(tmp_path):
    stale = {"KERASTUNER_ORACLE_IP": "10.0.0.1", "KERASTUNER_TUNER_ID": "x"}  # must not leak
    result = _launch("--workers", "3", "--", sys.executable, _script(tmp_path, SHOW_ENV), env=stale)
    assert result.returncode == 0, result.stderr
    envs = _envs(result.stdout)
    assert sorted(envs) == ["worker 0", "worker 1", "worker 2"]
    configs = {label: json.loads(e["TF_CONFIG"]) for label, e in envs.items()}
    clusters = {json.dumps(c["cluster"]) for c in configs.values()}
    assert len(clusters) == 1, "every worker must see the same cluster"
    hosts = configs["worker 0"]["cluster"]["worker"]
    assert len(hosts) == 3 and all(h.startswith("localhost:") for h in hosts)
    assert len({h.rpartition(":")[2] for h in hosts}) == 3, "ports must differ"
    for label, config in configs.items():
        assert config["task"] == {"type": "worker", "index": int(label.split()[1])}
    for e in envs.values():
        assert e["PYTHONUNBUFFERED"] == "1"
        assert e["KERASTUNER_ORACLE_IP"] is None and e["KERASTUNER_TUNER_ID"] is None
        # Three TensorFlow processes share the cores instead of each sizing its pools to all.
        assert e["TF_NUM_INTRAOP_THREADS"] == str(max(1, (os.cpu_count() or 1) // 3))
    assert result.stdout.splitlines()[-1].startswith("kerazoo launch: all 3 workers finished in ")


def test_tune_mode_starts_a_chief_and_n_workers_with_the_oracle_address(tmp_path):
    stale = {"TF_CONFIG": '{"cluster": {}}'}  # a search's processes must not get TF_CONFIG
    result = _launch(
        "--workers", "2", "--mode", "tune", "--", sys.executable, _script(tmp_path, SHOW_ENV),
        env=stale,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    envs = _envs(result.stdout)
    assert sorted(envs) == ["chief", "tuner0", "tuner1"]
    ports = {e["KERASTUNER_ORACLE_PORT"] for e in envs.values()}
    assert len(ports) == 1 and ports.pop().isdigit()
    for label, e in envs.items():
        assert e["KERASTUNER_TUNER_ID"] == label
        assert e["KERASTUNER_ORACLE_IP"] == "127.0.0.1"
        assert e["TF_CONFIG"] is None


def test_python_api_adds_env_and_writes_prefixed_lines_to_out(tmp_path):
    import io

    out = io.StringIO()
    status = launch([sys.executable, _script(tmp_path, SHOW_ENV)], 2, env={"EXTRA": "yes"}, out=out)
    assert status == 0
    envs = _envs(out.getvalue())
    assert sorted(envs) == ["worker 0", "worker 1"]
    assert all(e["EXTRA"] == "yes" for e in envs.values())


def test_a_kerazoo_command_runs_through_the_kerazoo_cli():
    result = _launch("--workers", "2", "--", "list", "mnist_*")
    assert result.returncode == 0, result.stderr
    for label in ("worker 0", "worker 1"):
        assert re.search(rf"^\[{label}\] mnist_cnn +cnn ", result.stdout, re.M), result.stdout


# ---------------------------------------------------------------------------------------------
# Output


def test_lines_come_back_whole_prefixed_and_progress_updates_split(tmp_path):
    chatty = """
import json, os, sys
i = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
for k in range(1000):
    print(f"line {i} {k} " + str(i) * 4000)
sys.stderr.write(f"progress {i} 1/3\\rprogress {i} 2/3\\rprogress {i} 3/3\\n")
"""
    result = _launch("--workers", "3", "--", sys.executable, _script(tmp_path, chatty))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()[:-1]  # the last is the launcher's own
    assert len(lines) == 3 * 1003
    seen = {0: [], 1: []}
    for line in lines:
        match = re.fullmatch(
            r"\[worker (\d)\] (line (\d) (\d+) (\d{4000})|progress (\d) (\d)/3)", line
        )
        assert match, f"a mixed or cut line: {line[:120]}..."
        i = int(match[1])
        if match[3] is not None:
            assert match[3] == str(i) and match[5] == str(i) * 4000
            seen[0].append((i, int(match[4])))
        else:
            assert match[6] == str(i)
            seen[1].append((i, int(match[7])))
    for i in range(3):
        assert [k for w, k in seen[0] if w == i] == list(range(1000)), "lines lost or reordered"
        assert [k for w, k in seen[1] if w == i] == [1, 2, 3], "\\r updates not split"


# ---------------------------------------------------------------------------------------------
# Failing as a whole, timeouts, signals: no process left behind


def test_one_failing_worker_fails_the_launch_and_stops_the_others(tmp_path):
    start = time.monotonic()
    script = _script(tmp_path, FAIL_ONE)
    result = _launch("--workers", "3", "--", sys.executable, script, str(tmp_path), "3", "-")
    seconds = time.monotonic() - start
    assert result.returncode == 3
    assert result.stderr.strip().splitlines()[-1] == (
        "kerazoo launch: worker 1 exited with status 3; stopped the others"
    )
    assert "[worker 1] failing now" in result.stdout
    pids = _pids(tmp_path)
    assert len(pids) == 4, "workers 0 and 2 and a child each"
    assert not _wait_gone(pids), "a sibling (or its child) outlived the launch"
    assert seconds < 15, f"stopping the others took {seconds:.1f} s"


def test_timeout_stops_all_with_124_even_a_worker_ignoring_sigterm(tmp_path):
    script = _script(tmp_path, FAIL_ONE)
    start = time.monotonic()
    result = _launch(
        "--workers", "2", "--timeout", "2", "--", sys.executable, script, str(tmp_path), "0",
        "stubborn",
    )  # fmt: skip
    seconds = time.monotonic() - start
    assert result.returncode == 124
    assert result.stderr.strip().splitlines()[-1] == (
        "kerazoo launch: timed out after 2 s (--timeout); stopped the 2 workers"
    )
    pids = _pids(tmp_path)
    assert len(pids) == 4
    assert not _wait_gone(pids)
    # 2 s, then SIGTERM, then SIGKILL for the stubborn one after the grace period
    assert 2 + launch_module.GRACE_SECONDS - 1 < seconds < 2 + launch_module.GRACE_SECONDS + 8


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_to_the_launcher_stops_the_workers(tmp_path, signum, status):
    script = _script(tmp_path, FAIL_ONE)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kerazoo", "launch", "--workers", "2", "--", sys.executable,
         script, str(tmp_path), "0", "-"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        # A pytest-xdist worker ignores SIGINT, and an ignored signal is inherited: give the
        # launcher a terminal's default Ctrl-C, as a user's shell does.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        # Generous bounds against a hang, not speed checks: the cores may be busy.
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("*.pids"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == status, stderr
    assert "stopped the 2 workers" in stderr.splitlines()[-1]
    assert not _wait_gone(_pids(tmp_path))


# ---------------------------------------------------------------------------------------------
# Bad input: one line, status 2, nothing started


@pytest.mark.parametrize(
    "args, words",
    [
        (["--workers", "0", "--", "train", "mnist_cnn"], "workers must be an integer >= 1"),
        (["--workers", "2", "--"], "Give the command to launch after `--`"),
        (["--workers", "2"], "Give the command to launch after `--`"),
        (["--", "train", "mnist_cnn", "--strategy", "default"], "drop --strategy"),
        (["--", "train", "mnist_cnn", "--strategy=mirrored"], "drop --strategy"),
        (["--", "no-such-program-here"], "No program 'no-such-program-here'"),
        (["--mode", "train", "--", "tune", "mnist_cnn"], "drop --mode"),
        (["--timeout", "0", "--", "train", "mnist_cnn"], "timeout must be a number"),
    ],
)
def test_bad_input_is_one_line_and_status_2(args, words):
    result = _launch(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kerazoo launch: error: "), result.stderr
    assert words in lines[0]


# ---------------------------------------------------------------------------------------------
# The pure helpers


def test_build_argv_runs_kerazoo_commands_and_fixes_their_options():
    prefix = [sys.executable, "-m", "kerazoo"]
    assert build_argv(["train", "mnist_cnn"], "train") == [
        *prefix, "train", "mnist_cnn", "--strategy", "multiworker"
    ]  # fmt: skip
    kept = ["train", "mnist_cnn", "--strategy", "multiworker", "--epochs", "2"]
    assert build_argv(kept, "train") == [*prefix, *kept]
    assert build_argv(["tune", "mnist_cnn"], "tune") == [
        *prefix,
        "tune",
        "mnist_cnn",
        "--distributed",
    ]
    assert build_argv(["tune", "x", "--distributed"], "tune").count("--distributed") == 1
    assert build_argv(["evaluate", "runs/x"], "train") == [*prefix, "evaluate", "runs/x"]
    own = [sys.executable, "my_script.py", "--strategy", "default"]  # not ours to check
    assert build_argv(own, "train") == own
    with pytest.raises(ValueError, match=r"Received: --strategy default"):
        build_argv(["train", "mnist_cnn", "--strategy", "default"], "train")


def test_command_mode_defaults_from_the_command_word():
    assert command_mode(["tune", "mnist_cnn"]) == "tune"
    assert command_mode(["train", "mnist_cnn"]) == "train"
    assert command_mode(["python", "search.py"]) == "train"
    assert command_mode(["python", "search.py"], "tune") == "tune"
    with pytest.raises(ValueError, match="mode must be one of train, tune. Received: mode='x'"):
        command_mode(["python"], "x")


def test_free_ports_are_distinct_and_bindable():
    ports = free_ports(8)
    assert len(set(ports)) == 8
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
    with pytest.raises(ValueError, match="Received: n=0"):
        free_ports(0)


def test_tf_config_and_worker_envs():
    config = json.loads(tf_config(["a:1", "b:2"], 1))
    assert config == {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    with pytest.raises(ValueError, match=r"Received: index=2"):
        tf_config(["a:1", "b:2"], 2)
    with pytest.raises(ValueError, match="host:port"):
        tf_config(["a"], 0)
    train = worker_envs(2, "train", ports=[1001, 1002])
    assert [label for label, _ in train] == ["worker 0", "worker 1"]
    assert json.loads(train[1][1]["TF_CONFIG"])["cluster"]["worker"] == [
        "localhost:1001", "localhost:1002"
    ]  # fmt: skip
    tune = worker_envs(2, "tune", ports=[5000])
    assert [label for label, _ in tune] == ["chief", "tuner0", "tuner1"]
    assert tune[2][1] == {
        "KERASTUNER_TUNER_ID": "tuner1",
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": "5000",
    }
    with pytest.raises(ValueError, match="needs 1 port"):
        worker_envs(2, "tune", ports=[1, 2])
    with pytest.raises(ValueError, match="Received: workers=0"):
        worker_envs(0)


def test_kerazoo_commands_match_the_cli_and_launch_imports_no_tensorflow():
    from kerazoo.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a.choices, dict))
    assert set(KERAZOO_COMMANDS) == set(sub.choices) - {"launch"}
    probe = "import sys, kerazoo.launch; print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"
