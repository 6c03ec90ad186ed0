"""`launch(...)` and `kerazoo launch`: N local worker processes for multi-worker runs.

    kerazoo launch --workers 2 -- train mnist_cnn --epochs 3
    kerazoo launch --workers 2 -- tune mnist_cnn --max-trials 6
    kerazoo launch --workers 2 -- python my_script.py      # a script that reads TF_CONFIG

`train` (and every other command): N processes; process i gets
`TF_CONFIG={"cluster": {"worker": [...N localhost ports...]}, "task": {"type": "worker",
"index": i}}`. Worker 0 is the chief (TensorFlow's rule when the cluster has no "chief"
task). `kerazoo train` gets `--strategy multiworker` appended.

`tune`: a chief and N workers of a distributed KerasTuner search: `KERASTUNER_TUNER_ID`
(`chief`, `tuner0`, ...), `KERASTUNER_ORACLE_IP=127.0.0.1` and `KERASTUNER_ORACLE_PORT`;
`kerazoo tune` gets `--distributed` appended.

A command whose first word is a kerazoo command (`train`, `tune`, `evaluate`, ...) runs
as `python -m kerazoo COMMAND ...` with this interpreter; anything else runs as given.
Every line a process prints comes back prefixed (`[worker 0] `, `[chief] `, `[tuner0] `).
The launch fails as a whole: the first process to fail stops the others, and its status is
the launch's. This module starts processes only: it never imports TensorFlow or Keras.

Several machines and cluster managers: see docs/distributed.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TextIO

# The kerazoo commands a launched command may start with (kept equal to the CLI's by a
# test; a static list, because no library module imports the CLI).
KERAZOO_COMMANDS = (
    "list",
    "info",
    "build",
    "train",
    "diagram",
    "export",
    "tune",
    "evaluate",
    "predict",
    "lesson",
    "serve",
)
MODES = ("train", "tune")
ORACLE_IP = "127.0.0.1"
GRACE_SECONDS = 5.0  # between SIGTERM and SIGKILL when stopping the others
TIMEOUT_STATUS = 124  # as coreutils' `timeout`
INTERRUPT_STATUS = 130  # 128 + SIGINT, as a shell reports Ctrl-C
# Variables of the other mode, dropped from what the children inherit: a stale
# KERASTUNER_ORACLE_IP would turn a training process's tuner into a search client, and a
# stale TF_CONFIG would make a search's trials multi-worker.
_MODE_VARIABLES = {
    "train": ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"),
    "tune": ("TF_CONFIG",),
}


class _Terminated(Exception):
    """The launcher itself got SIGTERM (raised by its handler, so the children are stopped)."""


# ---------------------------------------------------------------------------------------------
# Pure helpers: what each process gets


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """Returns `n` distinct TCP ports that are free on `host` right now.

    Each port is found by binding a socket to port 0 (the system picks a free one); all
    sockets stay open until the last port is chosen, so the ports differ. They are closed
    before returning: a small race remains (another program may take a port before the
    worker binds it), which for a local trial run is an acceptable risk.

    Args:
        n: how many ports, >= 1.
        host: the address to bind.

    Returns:
        A list of `n` different port numbers.

    Raises:
        ValueError: if `n` is not a positive integer.

    Example:

    ```python
    free_ports(2)  # e.g. [41237, 39021]
    ```
    """
    _check_workers(n, name="n")
    sockets = []
    try:
        for _ in range(n):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tf_config(hosts: Sequence[str], index: int) -> str:
    """Returns the `TF_CONFIG` JSON of worker `index` in a cluster of `hosts`.

    The cluster has only "worker" tasks, so worker 0 is the chief (it writes checkpoints
    and the run folder), as `tf.distribute.MultiWorkerMirroredStrategy` expects.

    Args:
        hosts: `"host:port"` of every worker, the same list (and order) on every worker.
        index: this worker's position in `hosts`.

    Returns:
        The JSON string to put in the worker's `TF_CONFIG` environment variable.

    Raises:
        ValueError: for an empty `hosts`, an entry without `:port` or an `index` outside it.

    Example:

    ```python
    tf_config(["localhost:12345", "localhost:23456"], 1)
    # '{"cluster": {"worker": ["localhost:12345", "localhost:23456"]},
    #   "task": {"type": "worker", "index": 1}}'
    ```
    """
    hosts = list(hosts)
    if not hosts:
        raise ValueError("hosts must list at least one host:port. Received: hosts=[]")
    for host in hosts:
        name, sep, port = str(host).rpartition(":")
        if not sep or not name or not port.isdigit():
            raise ValueError(f"Each host must be 'host:port'. Received: hosts={hosts!r}")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(hosts):
        raise ValueError(
            f"index must be an integer in [0, {len(hosts) - 1}]. Received: index={index!r}"
        )
    return json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}})


def thread_share(workers: int) -> dict[str, str]:
    """TensorFlow thread counts for `workers` processes sharing this machine's cores.

    Each TensorFlow process sizes its thread pools to all the cores; N of them on one
    machine then run N times as many threads as cores, and a synchronous step waits for
    the slowest. Measured here (2 cores, two mnist_cnn workers): 659 samples/s with the
    default pools, 1,297 with one thread each. Variables already in the environment win.

    Returns:
        `{"TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": n}` with n = cores // workers
        (at least 1).
    """
    share = str(max(1, (os.cpu_count() or 1) // max(1, workers)))
    return {"TF_NUM_INTRAOP_THREADS": share, "TF_NUM_INTEROP_THREADS": share}


def worker_envs(
    workers: int, mode: str = "train", *, ports: Sequence[int] | None = None
) -> list[tuple[str, dict[str, str]]]:
    """The processes to start, in order, as `(label, variables)` pairs.

    - `mode="train"`: `workers` processes labelled `worker 0` ... with a `TF_CONFIG`
      over `workers` localhost ports (`ports`, one per worker).
    - `mode="tune"`: `chief` then `tuner0` ... `tuner{workers-1}`, with
      `KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP=127.0.0.1` and
      `KERASTUNER_ORACLE_PORT` (`ports[0]`, the chief's oracle server).

    Args:
        workers: number of workers, >= 1 (tune starts one more process, the chief).
        mode: `"train"` or `"tune"`.
        ports: the ports to use (`workers` of them for train, one for tune); None picks
            free ones with `free_ports`.

    Returns:
        A list of `(label, variables)`; the variables come on top of the environment.

    Raises:
        ValueError: for `workers` < 1, an unknown `mode` or the wrong number of ports.

    Example:

    ```python
    worker_envs(2, "tune", ports=[5000])[1]
    # ('tuner0', {'KERASTUNER_TUNER_ID': 'tuner0', 'KERASTUNER_ORACLE_IP': '127.0.0.1',
    #             'KERASTUNER_ORACLE_PORT': '5000'})
    ```
    """
    _check_workers(workers)
    _check_mode(mode)
    needed = workers if mode == "train" else 1
    ports = free_ports(needed) if ports is None else list(ports)
    if len(ports) != needed:
        raise ValueError(
            f"{mode} with {workers} workers needs {needed} port(s). Received: ports={ports!r}"
        )
    if mode == "train":
        hosts = [f"localhost:{port}" for port in ports]
        return [(f"worker {i}", {"TF_CONFIG": tf_config(hosts, i)}) for i in range(workers)]
    oracle = {"KERASTUNER_ORACLE_IP": ORACLE_IP, "KERASTUNER_ORACLE_PORT": str(ports[0])}
    ids = ["chief"] + [f"tuner{i}" for i in range(workers)]
    return [(tuner_id, {"KERASTUNER_TUNER_ID": tuner_id, **oracle}) for tuner_id in ids]


def command_mode(command: Sequence[str], mode: str | None = None) -> str:
    """The role layout for `command`: `"tune"` for `kerazoo tune`, else `"train"`.

    Args:
        command: the command to launch.
        mode: an explicit `"train"` or `"tune"` (for a script of your own); None chooses
            from the command's first word.

    Returns:
        `"train"` or `"tune"`.

    Raises:
        ValueError: for an unknown mode, or one that contradicts a kerazoo `train`/`tune`.

    Example:

    ```python
    command_mode(["tune", "mnist_cnn"])                 # 'tune'
    command_mode(["python", "search.py"], mode="tune")  # 'tune'
    ```
    """
    word = command[0] if command else None
    if mode is None:
        return "tune" if word == "tune" else "train"
    _check_mode(mode)
    if word in MODES and word != mode:
        raise ValueError(
            f"`{word}` runs in {word} mode; drop --mode. Received: mode={mode!r}, command={word}"
        )
    return mode


def build_argv(command: Sequence[str], mode: str) -> list[str]:
    """The argv each process runs for `command`.

    A command starting with a kerazoo command word runs as
    `[sys.executable, "-m", "kerazoo", *command]`; `train` gets `--strategy multiworker`
    (unless it has it already) and `tune` gets `--distributed`. Any other command is run as
    given.

    Args:
        command: the command after `--`, e.g. `["train", "mnist_cnn", "--epochs", "3"]`.
        mode: `"train"` or `"tune"` (see `command_mode`).

    Returns:
        The argument list for `subprocess.Popen`.

    Raises:
        ValueError: for an empty command, `train` with a strategy other than
            `multiworker`, or a program that cannot be found.

    Example:

    ```python
    build_argv(["train", "mnist_cnn"], "train")[-4:]
    # ['train', 'mnist_cnn', '--strategy', 'multiworker']
    ```
    """
    command = list(command)
    if not command:
        raise ValueError(
            "Give the command to launch after `--`, e.g. "
            "`kerazoo launch --workers 2 -- train mnist_cnn`. Received: command=[]"
        )
    word = command[0]
    if word not in KERAZOO_COMMANDS:
        _check_program(word)
        return command
    if word == "train":
        strategy = _option_value(command, "--strategy")
        if strategy is None:
            command += ["--strategy", "multiworker"]
        elif strategy != "multiworker":
            raise ValueError(
                "launch runs multi-worker training: drop --strategy or use "
                f"--strategy multiworker. Received: --strategy {strategy}"
            )
    elif word == "tune" and mode == "tune" and "--distributed" not in command:
        command.append("--distributed")
    return [sys.executable, "-m", "kerazoo", *command]


def _option_value(command: list[str], flag: str) -> str | None:
    """The value of `flag` in `command` (`--flag v` or `--flag=v`; the last one wins)."""
    value = None
    for i, arg in enumerate(command):
        if arg == flag:
            value = command[i + 1] if i + 1 < len(command) else ""
        elif arg.startswith(flag + "="):
            value = arg.partition("=")[2]
    return value


def _check_program(word: str) -> None:
    found = os.access(word, os.X_OK) if os.sep in word else shutil.which(word) is not None
    if not found:
        raise ValueError(
            f"No program {word!r} to run, and it is not a kerazoo command "
            f"({', '.join(KERAZOO_COMMANDS)}). Received: command={word}"
        )


def _check_workers(workers, name: str = "workers") -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"{name} must be an integer >= 1. Received: {name}={workers!r}")


def _check_mode(mode) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}. Received: mode={mode!r}")


# ---------------------------------------------------------------------------------------------
# Running the processes


def launch(
    command: Sequence[str],
    workers: int = 2,
    *,
    mode: str | None = None,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Runs `command` as N local worker processes and returns the launch's exit status.

    Each process gets this environment, plus `env`, plus its role's variables (see
    `worker_envs`) and `PYTHONUNBUFFERED=1`. Its stdout and stderr are merged and every
    line is written to `out` whole, prefixed with its label (`[worker 0] `); a carriage
    return (a progress update) ends a line too. Each process runs in its own session, so
    stopping it stops everything it started.

    When one process fails, the others get SIGTERM, then SIGKILL after a few seconds, and
    its status is returned (128 + N when it was killed by signal N, as a shell reports
    it). On success, on failure, at `timeout` and on Ctrl-C the launcher's own line goes to
    `out` (success) or stderr (the rest).

    Args:
        command: the command, e.g. `["train", "mnist_cnn", "--epochs", "3"]` (a kerazoo
            command) or `["python", "my_script.py"]` (anything that reads `TF_CONFIG`).
        workers: number of workers, >= 1.
        mode: `"train"` (N workers with `TF_CONFIG`) or `"tune"` (a chief and N workers
            with `KERASTUNER_*`); None: `"tune"` for `kerazoo tune`, else `"train"`.
        timeout: seconds after which all processes are stopped (None: no limit).
        env: extra environment variables for every process.
        out: where the prefixed lines go (default: sys.stdout).

    Returns:
        0 when every process exited 0; the first failing process's status; 124 at
        `timeout`; 130 on Ctrl-C; 143 when the launcher itself got SIGTERM.

    Raises:
        ValueError: for bad input (workers < 1, an empty or unknown command, `train` with
            another `--strategy`, a bad `timeout` or `mode`). Nothing is started then.

    Example:

    ```python
    status = launch(["python", "-c", "import os; print(os.environ['TF_CONFIG'])"], 2)
    ```
    """
    _check_workers(workers)
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise ValueError(f"timeout must be a number of seconds > 0. Received: timeout={timeout!r}")
    mode = command_mode(command, mode)
    argv = build_argv(command, mode)
    roles = worker_envs(workers, mode)
    out = sys.stdout if out is None else out
    base = dict(os.environ)
    for name in _MODE_VARIABLES[mode]:
        base.pop(name, None)
    base.update(env or {})
    return _Launch(argv, roles, base, out).run(timeout)


class _Launch:
    """The running processes, their reader threads and the rules for stopping them."""

    def __init__(self, argv, roles, base_env, out):
        self.argv, self.roles, self.base_env, self.out = argv, roles, base_env, out
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.readers: list[threading.Thread] = []
        self.lock = threading.Lock()

    def run(self, timeout: float | None) -> int:
        start = time.monotonic()
        with self._sigterm_raises():
            try:
                self._start_all()
                status = self._wait(start, timeout)
            except KeyboardInterrupt:
                self._stop_all()
                self._say(f"interrupted; stopped the {self._count()}", sys.stderr)
                return INTERRUPT_STATUS
            except _Terminated:
                self._stop_all()
                self._say(f"got SIGTERM; stopped the {self._count()}", sys.stderr)
                return 128 + signal.SIGTERM
            except BaseException:
                self._stop_all()
                raise
        if status == 0:
            self._say(f"all {self._count()} finished in {time.monotonic() - start:.1f} s", self.out)
        return status

    def _count(self) -> str:
        n = len(self.roles)
        return f"{n} processes" if self.roles[0][0] == "chief" else f"{n} workers"

    def _start_all(self) -> None:
        # The chief starts first: its oracle server must be up for the workers' requests
        # (KerasTuner's client also waits for it: gRPC wait_for_ready, up to an hour).
        threads = thread_share(sum(label != "chief" for label, _ in self.roles))
        for label, variables in self.roles:
            env = {**threads, **self.base_env, **variables, "PYTHONUNBUFFERED": "1"}
            proc = subprocess.Popen(
                self.argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                # Universal newlines: "\r", "\r\n" and "\n" all end a line, so progress
                # updates come back as lines of their own.
                text=True,
                encoding="utf-8",
                errors="replace",
                start_new_session=True,  # its own process group: stopped as a whole
            )
            self.procs.append((label, proc))
            reader = threading.Thread(target=self._relay, args=(label, proc), daemon=True)
            reader.start()
            self.readers.append(reader)

    def _relay(self, label: str, proc: subprocess.Popen) -> None:
        prefix = f"[{label}] "
        for line in proc.stdout:
            with self.lock:  # whole lines only: never two workers' output in one line
                self.out.write(prefix + line.rstrip("\n") + "\n")
                self.out.flush()
        proc.stdout.close()

    def _wait(self, start: float, timeout: float | None) -> int:
        while True:
            codes = [proc.poll() for _, proc in self.procs]
            for (label, _), code in zip(self.procs, codes, strict=True):
                if code not in (None, 0):
                    self._stop_all()
                    status, how = _status(code)
                    self._say(f"{label} {how}; stopped the others", sys.stderr)
                    return status
            if all(code == 0 for code in codes):
                self._join_readers()
                return 0
            if timeout is not None and time.monotonic() - start > timeout:
                self._stop_all()
                self._say(
                    f"timed out after {timeout:g} s (--timeout); stopped the {self._count()}",
                    sys.stderr,
                )
                return TIMEOUT_STATUS
            time.sleep(0.05)

    def _stop_all(self) -> None:
        """SIGTERM to every process group, SIGKILL to those still there after the grace."""
        _signal_groups(self.procs, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for _, proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(deadline - time.monotonic(), 0))
        # Every group, also of processes that exited: whatever they started goes too.
        _signal_groups(self.procs, signal.SIGKILL)
        for _, proc in self.procs:
            proc.wait()
        self._join_readers()

    def _join_readers(self) -> None:
        # A grandchild that outlives its worker may hold the pipe open: do not wait forever.
        for reader in self.readers:
            reader.join(timeout=2)

    def _say(self, message: str, stream: TextIO) -> None:
        with self.lock:
            print(f"kerazoo launch: {message}", file=stream, flush=True)

    @contextlib.contextmanager
    def _sigterm_raises(self):
        """While running, SIGTERM to the launcher stops the workers instead of orphaning
        them (only possible in the main thread; elsewhere the handler is left alone)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            raise _Terminated

        previous = signal.signal(signal.SIGTERM, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)


def _signal_groups(procs, signum: int) -> None:
    for _, proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signum)


def _status(code: int) -> tuple[int, str]:
    """A child's return code -> (the launch's status, words for the message)."""
    if code < 0:  # killed by a signal: report it as a shell does, 128 + the signal
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return 128 - code, f"was killed by {name}"
    return code, f"exited with status {code}"
