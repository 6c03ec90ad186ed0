"""Latency and throughput of `kerazoo serve`: batching on against off.

Starts `kerazoo serve MODEL` as a subprocess on a free localhost port, once with request
batching (`--max-batch 64`) and once without (`--max-batch 1`), and sends each N requests
of one real held-out MNIST digit, at most C in flight (a bounded client loop, httpx), after
C warm-up requests. Prints the client's p50 / p99 latency and requests/s.

    .venv/bin/python bench/serve.py --requests 200 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(model: str, max_batch: int, log) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    command = [sys.executable, "-m", "kerazoo", "serve", model, "--port", str(port)]
    command += ["--max-batch", str(max_batch)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"kerazoo serve exited with status {process.returncode}")
        try:
            card = httpx.get(f"{url}/api/card", timeout=30).json()
            return process, f"{url}{card['predict']}"
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("kerazoo serve did not start within 600 s")


async def _load(url: str, digits: np.ndarray, n: int, concurrency: int) -> tuple[list, float]:
    import httpx

    limit = asyncio.Semaphore(concurrency)
    latencies = []
    async with httpx.AsyncClient(
        timeout=300, limits=httpx.Limits(max_connections=concurrency)
    ) as client:

        async def one(i: int):
            async with limit:
                body = {"instances": digits[i % len(digits)][None].tolist()}
                start = time.perf_counter()
                response = await client.post(url, json=body)
                latencies.append(time.perf_counter() - start)
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return latencies, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="mnist_cnn:mnist", help="run folder, .keras or preset")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="repeat each setting, keep all")
    args = parser.parse_args()

    from kerazoo.data import loader

    splits, _ = loader.load_arrays("mnist_sample")
    digits = np.round(splits.x_test * 255).astype("uint8")
    print(
        f"kerazoo serve {args.model}: {args.requests} requests of one real test digit, "
        f"at most {args.concurrency} in flight; {os.cpu_count()} cores"
    )
    print(f"{'batching':<22}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}")
    with tempfile.TemporaryFile() as log:
        for _ in range(args.rounds):
            for label, max_batch in (("on (--max-batch 64)", 64), ("off (--max-batch 1)", 1)):
                process, url = _start(args.model, max_batch, log)
                try:
                    asyncio.run(_load(url, digits, args.concurrency, args.concurrency))  # warm up
                    latencies, seconds = asyncio.run(
                        _load(url, digits, args.requests, args.concurrency)
                    )
                finally:
                    process.terminate()
                    process.wait(timeout=60)
                ms = np.asarray(latencies) * 1000
                rate = args.requests / seconds
                print(
                    f"{label:<22}{np.percentile(ms, 50):>9.1f}{np.percentile(ms, 99):>9.1f}"
                    f"{rate:>9.1f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
