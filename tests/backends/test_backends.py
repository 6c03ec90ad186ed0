"""Every model and `kerazoo train` on JAX and torch, with TensorFlow's numbers.

Keras fixes its backend when it is imported, so each backend runs in its own processes:

- TensorFlow writes the reference: every registered model's tiny variant's weights, real
  inputs and its predictions, and one training step of the DCGAN and the VAE (their own
  steps) with the noise held fixed (`_battery.py reference`).
- On JAX and on torch, at the same time: `kerazoo train mnist_cnn --backend B` is killed
  after its first epoch and finished with `--resume` (on JAX over two CPU devices with
  `--strategy mirrored`: keras.distribution's DataParallel), `kerazoo evaluate` scores
  the saved model in a fresh process, `kerazoo predict` classifies real digit PNGs with it
  and `kerazoo tune` runs a two-trial search; then the model battery
  (`_battery.py check`): build, one fit step on real examples of the model's dataset,
  `.keras` save and load predicting the same, and TensorFlow's weights giving
  TensorFlow's predictions and custom-step metrics.

A backend whose package is missing is skipped with the way to install it;
`make test` installs both (the `backends` extra).
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pytest
import realdata

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BATTERY = HERE / "_battery.py"
BACKENDS = ("jax", "torch")
INSTALLED = [b for b in BACKENDS if importlib.util.find_spec(b) is not None]
# Relative to the reference's scale: float32 kernels differ by a few ulps between backends
# (measured: at most 3e-7 over all models).
SAME = 1e-4
TIMEOUT = 1200  # a bound against a hang, not a speed check: the cores may be busy
# JAX: two CPU devices for its DataParallel, and XLA's quick compile (each model takes a
# step or two here: compiling at full optimisation took 3x longer than running).
JAX_FLAGS = "--xla_force_host_platform_device_count=2 --xla_backend_optimization_level=0"


def _env(backend: str | None = None, **extra) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    env.pop("KERAS_BACKEND", None)
    env.pop("KERAZOO_KILL_AT", None)
    if backend is not None:
        env["KERAS_BACKEND"] = backend
    return env | extra


def _run(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, env=env
    )


def _result(done: subprocess.CompletedProcess) -> dict:
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


def _train_and_resume(backend: str, folder: Path) -> dict:
    """`kerazoo train --backend B`, killed after epoch 1, then `--resume` to the end."""
    flags = {"XLA_FLAGS": JAX_FLAGS} if backend == "jax" else {}
    command = [
        "-m", "kerazoo", "train", "mnist_cnn", "--max-examples", "300", "--epochs", "2",
        "--no-early-stopping", "--out", str(folder), "--backend", backend, "--verbose", "0",
    ]  # fmt: skip
    if backend == "jax":
        command += ["--strategy", "mirrored"]
    killed = _run(command, _env(**flags, KERAZOO_KILL_AT="after-commit:1"), folder.parent)
    resumed = _run([*command, "--resume"], _env(**flags), folder.parent)
    # A fresh process reads the saved model back (the checked loader) and scores it.
    scored = _run(
        ["-m", "kerazoo", "evaluate", str(folder), "--backend", backend],
        _env(**flags),
        folder.parent,
    )
    # Real held-out digits as PNG files, classified by the run's model on this backend.
    x, y = realdata.mnist_digits(6, offset=4000)
    pngs = []
    for i in range(len(x)):
        pngs.append(str(folder.parent / f"{backend}-digit{i}.png"))
        mpimg.imsave(pngs[-1], x[i, :, :, 0], cmap="gray", vmin=0, vmax=1)
    predicted = _run(
        ["-m", "kerazoo", "predict", str(folder), *pngs, "--backend", backend],
        _env(**flags),
        folder.parent,
    )
    # A two-trial search, its best trial retrained and tested, on the same backend.
    search = folder.parent / f"search-{backend}"
    tuned = _run(
        ["-m", "kerazoo", "tune", "mlp", "--dataset", "mnist_sample", "--max-trials", "2",
         "--epochs", "1", "--max-examples", "300", "--out", str(search), "--backend", backend],
        _env(**flags),
        folder.parent,
    )  # fmt: skip
    return {
        "killed": killed.returncode,
        "resumed": resumed.returncode,
        "stderr": resumed.stderr + scored.stderr + predicted.stderr + tuned.stderr,
        "evaluated": scored.returncode,
        "evaluate_out": scored.stdout,
        "predicted": predicted.returncode,
        "predict_out": predicted.stdout,
        "labels": [int(v) for v in y],
        "tuned": tuned.returncode,
        "search": search,
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Per installed backend: its run folder, the runs' exit codes and its battery's report."""
    base = tmp_path_factory.mktemp("backends")
    reference = base / "reference"

    def battery(backend: str, reference_done) -> dict:
        reference_done.result()
        flags = {"XLA_FLAGS": JAX_FLAGS} if backend == "jax" else {}
        args = [str(BATTERY), "check", str(reference), str(base / backend)]
        return _result(_run(args, _env(backend, **flags), ROOT))

    # Two at a time (the reference machine's two cores), the longest first; a battery waits
    # for the reference, which is handed out first.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        args = [str(BATTERY), "reference", str(reference)]
        reference_done = pool.submit(lambda: _result(_run(args, _env("tensorflow"), ROOT)))
        runs, batteries = {}, {}
        for backend in INSTALLED:
            runs[backend] = pool.submit(_train_and_resume, backend, base / f"run-{backend}")
            batteries[backend] = pool.submit(battery, backend, reference_done)
        reference_done.result()
        return {
            b: {
                "run": runs[b].result(),
                "run_dir": base / f"run-{b}",
                "battery": batteries[b].result(),
            }
            for b in INSTALLED
        }


def _installed(backend: str) -> None:
    if backend not in INSTALLED:
        pytest.skip(f"{backend} is not installed (pip install 'kerazoo[backends]')")


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_model_builds_trains_saves_and_loads(backend, results):
    _installed(backend)
    from kerazoo import registry

    battery = results[backend]["battery"]
    assert battery["backend"] == backend
    assert battery["failed"] == {}, "\n".join(battery["failed"].values())
    models = battery["models"]
    assert set(models) == {n for n in registry.list_models() if registry.get_spec(n).builtin}
    for name, report in models.items():
        assert report["finite"] and report["trained"], (name, report)
        assert report["type"] and report["reloaded"] < 1e-5, (name, report)


@pytest.mark.parametrize("backend", BACKENDS)
def test_tensorflow_weights_give_the_same_predictions(backend, results):
    _installed(backend)
    models = results[backend]["battery"]["models"]
    worst = max(models, key=lambda name: models[name]["same_as_tensorflow"])
    assert models[worst]["same_as_tensorflow"] < SAME, (worst, models[worst])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", ["dcgan", "vae"])
def test_custom_steps_report_tensorflow_metrics(backend, model, results):
    """The DCGAN's own train_step and the VAE's compute_loss: one step from the same
    weights on the same real images and noise gives TensorFlow's metrics (the VAE's
    kl_loss read 0 on JAX before) and weights."""
    _installed(backend)
    step = results[backend]["battery"]["steps"][model]
    assert set(step["metrics"]) == set(step["expected"])
    for name, value in step["expected"].items():
        assert step["metrics"][name] == pytest.approx(value, rel=1e-4, abs=1e-5), name
    assert min(step["expected"].values()) > 0  # a loss or metric stuck at 0 is no loss
    assert step["predictions"] < SAME


@pytest.mark.parametrize("backend", BACKENDS)
def test_dcgan_step_under_mixed_float16_scales_its_loss_on_every_backend(backend, results):
    """Under mixed_float16 the DCGAN's two optimizers are LossScaleOptimizers (float16
    gradients underflow without a loss scale), on JAX applied through their stateless
    form; the step logs the unscaled losses, TensorFlow's within float16's precision."""
    _installed(backend)
    step = results[backend]["battery"]["steps"]["dcgan mixed_float16"]
    assert step["optimizers"] == ["LossScaleOptimizer"] and step["finite"]
    for name, value in step["expected"].items():
        # ln 2 per term at the start: a scaled loss would read about 32768 times more.
        assert 0.3 < value < 3, (name, value)
        assert step["metrics"][name] == pytest.approx(value, rel=1e-2), name


@pytest.mark.parametrize("backend", BACKENDS)
def test_train_run_on_backend_is_complete_and_resumes(backend, results):
    _installed(backend)
    run, run_dir = results[backend]["run"], results[backend]["run_dir"]
    assert run["killed"] == -9  # SIGKILL after the first epoch's backup
    assert run["resumed"] == 0, run["stderr"][-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["backend"] == backend
    assert metrics["epochs"] == 2 and metrics["test_accuracy"] > 0.3
    history = (run_dir / "history.csv").read_text().splitlines()
    assert len(history) == 3  # a header and one row per epoch: epoch 1 was not redone
    for name in ("config.json", "model.keras", "history.png", "architecture.png"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "backup").exists()
    assert run["evaluated"] == 0, run["stderr"][-3000:]
    assert f"test_accuracy  {metrics['test_accuracy']:.4f}" in run["evaluate_out"]
    # kerazoo predict and kerazoo tune on the same backend.
    assert run["predicted"] == 0, run["stderr"][-3000:]
    lines = run["predict_out"].strip().splitlines()
    assert len(lines) == len(run["labels"])
    labels = [int(line.split(": ")[1].split()[0]) for line in lines]
    assert sum(a == b for a, b in zip(labels, run["labels"], strict=True)) >= 3  # 2 epochs
    assert run["tuned"] == 0, run["stderr"][-3000:]
    best = json.loads((run["search"] / "best" / "metrics.json").read_text())
    assert best["backend"] == backend and best["test_accuracy"] > 0.1
    if backend == "jax":
        assert metrics["strategy"] == "DataParallel" and metrics["replicas"] == 2
    else:
        assert metrics["strategy"] == "SingleDevice" and metrics["replicas"] == 1


def test_a_strategy_the_backend_cannot_run_is_one_line(tmp_path):
    _installed("torch")
    done = _run(
        ["-m", "kerazoo", "train", "mnist_cnn", "--backend", "torch", "--strategy", "mirrored",
         "--out", str(tmp_path / "run")],
        _env(),
        tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Received: strategy='mirrored'" in lines[0], done.stderr
    assert "--backend tensorflow or --backend jax" in lines[0]
    assert not (tmp_path / "run").exists()


def test_strategies_each_backend_refuses():
    from kerazoo.training import distribute

    assert distribute.check_strategy("mirrored", "jax") == "mirrored"
    assert distribute.check_strategy("multiworker", "tensorflow") == "multiworker"
    for backend, name in (("torch", "mirrored"), ("torch", "multiworker"), ("jax", "multiworker")):
        with pytest.raises(
            ValueError, match=f"on the {backend} backend.*Received: strategy='{name}'"
        ):
            distribute.check_strategy(name, backend)


def test_backend_flag_after_keras_is_imported_is_refused():
    import keras

    from kerazoo.cli import backend

    other = "torch" if keras.backend.backend() == "jax" else "jax"
    with pytest.raises(ValueError, match=f"already running on .*Received: --backend {other}"):
        backend.select(other)
    backend.select(keras.backend.backend())  # the one it runs on: nothing to change
