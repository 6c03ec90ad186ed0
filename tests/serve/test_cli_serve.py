"""`kerazoo serve`'s command-line errors: one line, exit status 2, before any model loads."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest


def _serve(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "kerazoo", "serve", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_a_port_in_use_is_one_line_and_status_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve("mnist_cnn:mnist", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert f"Port {port} on 127.0.0.1 is in use" in done.stderr and "--port" in done.stderr


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("runs/no-such-run", "Expected a run folder or a .keras model file"),
        ("mnist_cnn:imagenet", "Unknown pretrained weights"),
    ],
)
def test_a_missing_model_is_one_line_and_status_2(source, says, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = _serve(source, "--port", str(port))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert done.stderr.startswith("kerazoo serve: error: ") and says in done.stderr


def test_bad_flags_are_one_line_and_status_2():
    done = _serve("mnist_cnn:mnist", "--max-batch", "0")
    assert done.returncode == 2 and "--max-batch" in done.stderr
