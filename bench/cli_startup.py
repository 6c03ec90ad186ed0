"""How fast do `kerazoo --help`, `list` and `info` answer, and do they import TensorFlow?

    .venv/bin/python bench/cli_startup.py [--repeat 5]

Each command runs as a fresh process; the peer in the same run is a bare Python start-up
(`python -c pass`) and `python -c "import keras"` (what the command would cost if it
loaded Keras/TensorFlow). Prints the median wall time of each and the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass (peer)": [sys.executable, "-c", "pass"],
    "python -c 'import keras' (peer)": [sys.executable, "-c", "import keras"],
    "kerazoo --help": [sys.executable, "-m", "kerazoo.cli", "--help"],
    "kerazoo list": [sys.executable, "-m", "kerazoo.cli", "list"],
    "kerazoo info resnet56": [sys.executable, "-m", "kerazoo.cli", "info", "resnet56"],
}
NO_TF_CHECK = (
    "import sys, kerazoo.cli as c, contextlib, io\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    c.main(['list']); c.main(['info', 'resnet56'])\n"
    "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
)


def median_seconds(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = {label: median_seconds(cmd, args.repeat) for label, cmd in COMMANDS.items()}
    base = results["python -c pass (peer)"]
    keras_time = results["python -c 'import keras' (peer)"]
    print(f"{'command':34} {'median s':>9} {'x python':>9} {'x import keras':>15}")
    for label, seconds in results.items():
        print(f"{label:34} {seconds:9.3f} {seconds / base:9.1f} {seconds / keras_time:15.2f}")
    out = subprocess.run(
        [sys.executable, "-c", NO_TF_CHECK], capture_output=True, text=True, check=True
    )
    print(f"list + info imported (tensorflow, keras): {out.stdout.strip()}")


if __name__ == "__main__":
    main()
