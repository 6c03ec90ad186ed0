"""`kerazoo serve` started as a real subprocess on a free localhost port, and its inputs.

One server per model and test session; readiness is waited for generously (the machine is
shared and TensorFlow's import alone takes seconds on it).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

READY_SECONDS = 600  # TensorFlow loading on a busy 2-core machine; only a bound, not a target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A `kerazoo serve SOURCE` process: its base URL, model name and log."""

    def __init__(self, source: str, name: str, log_dir: Path, *extra: str):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"serve-{name}-{self.port}.log"
        command = [sys.executable, "-m", "kerazoo", "serve", source, "--port", str(self.port)]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [*command, *extra], stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()
            )

    def wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"kerazoo serve exited ({self.process.returncode}):\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/v1/models/{self.name}", timeout=30).status_code == 200:
                    return
            time.sleep(0.5)
        pytest.fail(f"kerazoo serve was not ready after {READY_SECONDS} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def running(source: str, name: str, log_dir: Path, *extra: str):
    server = Server(source, name, log_dir, *extra)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def digit_server(tmp_path_factory):
    """The pretrained `mnist_cnn:mnist` preset, served."""
    with running("mnist_cnn:mnist", "mnist_cnn", tmp_path_factory.mktemp("serve")) as server:
        yield server


@pytest.fixture(scope="session")
def test_digits():
    """Real held-out MNIST digits (the preset's own test part) as the uint8 pixels a client
    sends, their labels, and the preset model's probabilities on them (loaded here)."""
    from kerazoo import registry
    from kerazoo.data import loader
    from kerazoo.tasks import spread

    splits, _ = loader.load_arrays("mnist_sample")
    picked = spread(len(splits.x_test), 40)  # the test part is sorted by class
    x = splits.x_test[picked]
    pixels = np.round(x * 255).astype("uint8")  # the raw digits the scaled ones came from
    model = registry.create_model("mnist_cnn", weights="mnist", compile=False)
    probabilities = model.predict(pixels.astype("float32") / 255.0, verbose=0)
    return pixels, splits.y_test[picked], probabilities
