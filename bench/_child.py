"""One measurement in a fresh process: what needs its own process (a Keras backend, thread
counts, oneDNN, a dtype policy) is set before TensorFlow or Keras is imported."""

from __future__ import annotations

import json
import subprocess
import sys
import time


def run_child(script: str, args: list[str], env: dict, key: dict) -> dict:
    """Runs `python SCRIPT ARGS` with `env`; its last JSON line, or `key` with the error.

    The record gets `process_s` (the child's whole life: start-up, data, training); a
    failed child gives `key | {"error": its last stderr line}` so the table shows it.
    """
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, script, *args], env=env, capture_output=True, text=True, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return key | {"error": tail[:300]}
    return json.loads(lines[-1]) | {"process_s": round(time.perf_counter() - start, 1)}
