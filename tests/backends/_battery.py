"""The model battery on one Keras backend, run as a script in its own process.

Keras fixes its backend at import (`KERAS_BACKEND`), so test_backends.py runs this once per
backend:

    python _battery.py reference OUT    # on TensorFlow: the weights and numbers to match
    python _battery.py check REF OUT    # on JAX or torch: the battery, and the same numbers

`reference` saves, for every registered model's tiny variant, its freshly built weights
(`.weights.h5`), a few real inputs and the predictions TensorFlow makes with them; and for
the two models with their own training step (the DCGAN's, the VAE's `compute_loss`), the
metrics and predictions after one step on real images with the noise held fixed.

`check` puts every model through the battery of tests/models/test_zoo.py on this backend
(build, one fit step on real examples of its declared dataset, `.keras` save, load,
predict the same) and loads the reference weights to predict the same numbers. It prints
one `RESULT {...}` line of JSON.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: realdata, models

import keras  # noqa: E402
import numpy as np  # noqa: E402
from models.test_zoo import NAMES, model_inputs, real_batch, tiny  # noqa: E402

from kerazoo import load_model, registry  # noqa: E402

# The models whose training step is their own: one step is compared across backends with
# the noise they draw held fixed (each backend's random generator differs).
CUSTOM_STEPS = {"dcgan": {"dropout": 0.0}, "vae": {}}
NOISE = np.random.default_rng(0).normal(size=(64, 64)).astype("float32")


def _fixed_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    # The same "random" draws on every backend: rows of NOISE (batch, latent).
    noise = keras.ops.convert_to_tensor(NOISE)[: shape[0], : shape[1]]
    return keras.ops.cast(noise * stddev + mean, dtype or "float32")


def _step_model(name: str):
    return tiny(name, **CUSTOM_STEPS[name])


def _one_fixed_step(name: str, model, x_step, x_pred) -> tuple[dict, np.ndarray]:
    """One training step with fixed noise: the metrics it reports and the predictions after."""
    draw, keras.random.normal = keras.random.normal, _fixed_normal
    try:
        x, y = x_step
        history = model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    finally:
        keras.random.normal = draw
    metrics = {k: float(v[-1]) for k, v in history.history.items()}
    return metrics, model.predict(x_pred, verbose=0)


def _mixed_gan_step(ref: Path) -> dict:
    """The DCGAN's fixed step (TensorFlow's step weights) under `mixed_float16`: its
    optimizers scale the loss (LossScaleOptimizer) and the logged losses are unscaled."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = _step_model("dcgan")
    finally:
        keras.config.set_dtype_policy(previous)
    model.load_weights(ref / "dcgan.step.weights.h5")
    step, x = _step_inputs("dcgan")
    metrics, after = _one_fixed_step("dcgan", model, step, x)
    return {
        "metrics": metrics,
        "optimizers": sorted({type(model.d_optimizer).__name__, type(model.g_optimizer).__name__}),
        "finite": bool(np.isfinite(after).all()),
    }


def _step_inputs(name: str):
    spec = registry.get_spec(name)
    step = real_batch(name, 16, **spec.tiny)
    return step, model_inputs(name, _step_model(name), 8, **spec.tiny)


def reference(out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        spec = registry.get_spec(name)
        model = tiny(name)
        x = model_inputs(name, model, 8, **spec.tiny)
        model.save_weights(out / f"{name}.weights.h5")
        np.save(out / f"{name}.x.npy", x)
        np.save(out / f"{name}.y.npy", model.predict(x, verbose=0))
    steps = {}
    for name in CUSTOM_STEPS:
        model = _step_model(name)
        model.save_weights(out / f"{name}.step.weights.h5")
        step, x = _step_inputs(name)
        metrics, after = _one_fixed_step(name, model, step, x)
        np.save(out / f"{name}.step.y.npy", after)
        steps[name] = metrics
    steps["dcgan mixed_float16"] = _mixed_gan_step(out)["metrics"]
    (out / "steps.json").write_text(json.dumps(steps))
    return {"backend": keras.backend.backend(), "models": len(NAMES)}


def _max_error(a, b) -> float:
    """Largest difference relative to the reference's scale (1 for small outputs)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


def _battery(name: str, ref: Path, folder: Path) -> dict:
    spec = registry.get_spec(name)
    x = np.load(ref / f"{name}.x.npy")
    model = tiny(name)
    # The same weights as TensorFlow's model: the same predictions.
    model.load_weights(ref / f"{name}.weights.h5")
    same = _max_error(model.predict(x, verbose=0), np.load(ref / f"{name}.y.npy"))
    # One fit step on real examples of the model's declared dataset.
    xs, ys = real_batch(name, 16, **spec.tiny)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(xs, ys, batch_size=16, epochs=1, verbose=0)
    after = model.get_weights()
    logs = {k: float(v[-1]) for k, v in history.history.items()}
    predicted = model.predict(x, verbose=0)
    path = folder / f"{name}.keras"
    model.save(path)
    loaded = load_model(path)  # safe_mode=True, the zoo's classes only
    return {
        "same_as_tensorflow": same,
        "logs": logs,
        "finite": bool(np.isfinite(list(logs.values())).all())
        and all(np.isfinite(w).all() for w in after),
        "trained": any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True)),
        "reloaded": _max_error(loaded.predict(x, verbose=0), predicted),
        "type": type(loaded).__name__ == type(model).__name__,
    }


def check(ref: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    models, failed = {}, {}
    for name in NAMES:
        start = time.perf_counter()
        try:
            models[name] = _battery(name, ref, out)
            models[name]["seconds"] = round(time.perf_counter() - start, 1)
        except Exception:  # reported per model: one failure does not hide the others
            failed[name] = traceback.format_exc()[-2000:]
    expected = json.loads((ref / "steps.json").read_text())
    steps = {}
    for name in CUSTOM_STEPS:
        try:
            model = _step_model(name)
            model.load_weights(ref / f"{name}.step.weights.h5")
            step, x = _step_inputs(name)
            metrics, after = _one_fixed_step(name, model, step, x)
            steps[name] = {
                "metrics": metrics,
                "expected": expected[name],
                "predictions": _max_error(after, np.load(ref / f"{name}.step.y.npy")),
            }
        except Exception:
            failed[f"{name} step"] = traceback.format_exc()[-2000:]
    try:
        steps["dcgan mixed_float16"] = _mixed_gan_step(ref) | {
            "expected": expected["dcgan mixed_float16"]
        }
    except Exception:
        failed["dcgan mixed_float16 step"] = traceback.format_exc()[-2000:]
    return {"backend": keras.backend.backend(), "models": models, "steps": steps, "failed": failed}


if __name__ == "__main__":
    mode = sys.argv[1]
    result = (
        reference(Path(sys.argv[2])) if mode == "reference" else check(*map(Path, sys.argv[2:4]))
    )
    print("RESULT " + json.dumps(result), flush=True)
