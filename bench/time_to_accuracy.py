"""Time to accuracy of the Fashion-MNIST preset: `kerazoo train fashion_cnn` per variant and
seed, each in a fresh process (issue target: >= 92.0% test accuracy in <= 120 s of training
on 2 cores, for 3 seeds).

    .venv/bin/python bench/time_to_accuracy.py                       # the preset, seeds 0-2
    .venv/bin/python bench/time_to_accuracy.py --variant recipe --variant bf16 --seeds 0

Variants (each is the preset's own recipe, 6 epochs with a cosine schedule, plus):
- `recipe`: nothing else (what `kerazoo train fashion_cnn` does);
- `bf16`: `--precision mixed_bfloat16`;
- `narrow`: `--set filters=(24,48)` (0.56x the second conv's multiply-adds);
- `narrow_bf16`: both.

Each row gives the test accuracy and `seconds` from the run's metrics.json (wall seconds in
`fit`), and the process's CPU seconds (user + system, from the kernel's accounting of the
child): on this VM the host stalls the guest for seconds at a time (bench/README.md), which
adds wall seconds but no CPU seconds, so CPU seconds / 2 cores bounds what a machine that
does not stall would take (for the whole process: start-up, data, fit, test).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "recipe": [],
    "bf16": ["--precision", "mixed_bfloat16"],
    "narrow": ["--set", "filters=(24,48)"],
    "narrow_bf16": ["--set", "filters=(24,48)", "--precision", "mixed_bfloat16"],
}


def run_one(variant: str, seed: int, folder: Path) -> dict:
    out = folder / f"{variant}-{seed}"
    command = [
        sys.executable, "-m", "kerazoo", "train", "fashion_cnn", "--seed", str(seed),
        "--out", str(out), "--verbose", "0", *VARIANTS[variant],
    ]  # fmt: skip
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    stderr = proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        return {"variant": variant, "seed": seed, "error": stderr.strip().splitlines()[-1]}
    m = json.loads((out / "metrics.json").read_text())
    return {
        "variant": variant,
        "seed": seed,
        "test_accuracy": m["test_accuracy"],
        "epochs": m["epochs"],
        "fit_seconds": round(m["seconds"], 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "precision": m.get("precision"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    rows = []
    print("| variant | seed | test accuracy | fit seconds | CPU seconds (process) |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:  # seeds outermost: a slow stretch hits every variant alike
            for variant in args.variant or ["recipe"]:
                row = run_one(variant, seed, Path(tmp))
                rows.append(row)
                if "error" in row:
                    print(f"| {variant} | {seed} | error: {row['error']} | | |", flush=True)
                    continue
                print(
                    f"| {variant} | {seed} | {100 * row['test_accuracy']:.2f}% | "
                    f"{row['fit_seconds']:.0f} | {row['cpu_seconds']:.0f} |",
                    flush=True,
                )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
