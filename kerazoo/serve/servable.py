"""`load_servable(source)`: a trained model ready to serve, with what the page shows of it.

A source is a run folder, a `.keras` file or a pretrained preset `"NAME:WEIGHTS"`, read the
way `kerazoo predict` reads them (the safe loader for files, the checked weights for
presets). The served model takes raw inputs (uint8 images of any size, strings, raw series
values): a run's `model.keras` already does; a preset or a run written before the
preprocessing wrapper gets the same wrapper here (`kerazoo.preprocessing`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kerazoo import preprocessing
from kerazoo.training.evaluate import model_task, open_run, run_model_name

# The card's "test metric": the first of these a run or preset reports.
_CARD_METRICS = (
    "test_accuracy",
    "test_mae_unscaled",
    "test_mae",
    "test_frechet_distance",
    "test_loss",
)
MAX_SAMPLES = 64  # images one "generate" call may ask for


@dataclasses.dataclass
class Servable:
    """A loaded model and what the server and its page need to know about it.

    Attributes:
        model: the Keras model `:predict` calls (it takes raw inputs where it can).
        name: the model's name in the API's URLs (`/v1/models/NAME`).
        page: the page's panel: `"image"` (draw or upload), `"text"`, `"generate"`,
            `"forecast"` or `"api"` (the JSON API only).
        input: `{"dtype", "shape"}` of one instance (`None` for any size) and, for images,
            `"size"`: the `[height, width]` the network sees.
        class_names: the labels of a classifier's outputs, else None.
        card: name, dataset, source, task, test metric and what the model takes.
        diagram: the architecture picture (PNG bytes), or None.
        generate: `generate(n, seed) -> images in [0, 1]` of a VAE or GAN, else None.
        forecast: `{"years", "actual", "predicted"}` over the test part of a series
            model's dataset, else None.
    """

    model: Any
    name: str
    page: str
    input: dict
    class_names: list[str] | None
    card: dict
    diagram: bytes | None = None
    generate: Callable[[int, int | None], np.ndarray] | None = None
    forecast: dict | None = None


def _dataset_info(info: dict, vocabulary: list[str] | None):
    """A `DatasetInfo` from a dataset.json or a preset card's `dataset_info` (what
    `with_preprocessing` reads)."""
    from kerazoo.data.loader import DatasetInfo

    fields = {f.name for f in dataclasses.fields(DatasetInfo)}
    known = {k: v for k, v in info.items() if k in fields}
    required = dict(
        name="", task="", num_classes=None, class_names=None, n_train=0, n_val=0, n_test=0
    )
    known = {**required, "source": "", **known}
    known["input_shape"] = tuple(known.get("input_shape") or ())
    known["vocabulary"] = vocabulary
    return DatasetInfo(**known)


def _vocabulary(run_dir: Path) -> list[str] | None:
    path = run_dir / "vocabulary.txt"
    return path.read_text(encoding="utf-8").split("\n")[:-1] if path.is_file() else None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except ValueError:  # a damaged side file: the card shows less, the model still serves
        return {}


def _open(source) -> tuple:
    """`(model, name, info, vocabulary, metrics, diagram file, is_preset)` of a source."""
    # kerazoo predict's reading of a preset name (private to it: one rule for both commands)
    from kerazoo.training.predict import _PRESET_RE, _open_preset

    match = _PRESET_RE.match(source) if isinstance(source, str) else None
    if match is not None and not Path(source).exists():
        from kerazoo import pretrained, registry

        registry.model_info(match[1])  # an unknown model: close matches
        card = pretrained.get_card(*match.groups())  # unknown weights: before TensorFlow
        model, name, info, vocabulary = _open_preset(source)
        metric = card.get("metric", {})
        metrics = {metric.get("name"): metric.get("value")} if metric.get("name") else {}
        return model, name, dict(info), vocabulary, metrics, None, True
    model_file, config = open_run(source)
    from kerazoo.saving import load_model

    model = load_model(model_file, compile=False)
    run_dir = model_file.parent
    name = run_model_name(model_file, config) or model.name
    info = _read_json(run_dir / "dataset.json")
    metrics = _read_json(run_dir / "metrics.json")
    diagram = run_dir / "architecture.png"
    return model, name, info, _vocabulary(run_dir), metrics, diagram, False


def _input_spec(model, info: dict) -> dict:
    tensor = model.inputs[0]
    shape = [None if d is None else int(d) for d in tuple(tensor.shape)[1:]]
    spec = {"dtype": str(tensor.dtype), "shape": shape}
    network = tuple(preprocessing.unwrap(model).input_shape[1:])
    if spec["dtype"] == "uint8" and len(network) == 3:
        spec["size"] = [int(network[0]), int(network[1])]
    return spec


def _page(model, task: str, spec: dict) -> str:
    net = preprocessing.unwrap(model)
    if task == "generation" and callable(getattr(net, "generate", None)):
        return "generate"
    if hasattr(net, "sampler") and hasattr(net, "decoder"):  # a VAE samples new images
        return "generate"
    if task == "classification" and "size" in spec:
        return "image"
    if task == "classification" and spec["dtype"] == "string":
        return "text"
    if task == "regression" and len(spec["shape"]) == 2 and spec["shape"][-1] == 1:
        return "forecast"
    return "api"


def _generator(model) -> Callable[[int, int | None], np.ndarray]:
    net = preprocessing.unwrap(model)
    if callable(getattr(net, "generate", None)):
        return lambda n, seed: np.asarray(net.generate(n, seed=seed))
    decoder = net.decoder
    latent = int(decoder.input_shape[-1])

    def sample(n: int, seed: int | None) -> np.ndarray:
        # A VAE's prior is N(0, I): decoding draws from it gives new images.
        z = np.random.default_rng(seed).normal(size=(n, latent)).astype("float32")
        return np.clip(np.asarray(decoder.predict(z, verbose=0)), 0.0, 1.0)

    return sample


def _forecast(model, info: dict) -> dict | None:
    """The model's one-step forecasts over its dataset's test years, in the data's units
    (None when the dataset cannot be read again here, e.g. a user's own series)."""
    from kerazoo.data import load_arrays

    try:
        splits, data_info = load_arrays(
            info["name"],
            seed=info.get("seed", 0),
            validation_split=info.get("validation_split", 0.1),
            window=info.get("window", 24),
            horizon=info.get("horizon", 1),
        )
    except (ValueError, KeyError, OSError):
        return None
    mean, std = float(data_info.mean), float(data_info.std)
    x = splits.x_test * std + mean  # the served model takes the series' own units
    if not preprocessing.is_wrapped(model):
        x = splits.x_test
    predicted = np.asarray(model.predict(x, verbose=0))[:, 0]
    if not preprocessing.is_wrapped(model):
        predicted = predicted * std + mean
    actual = np.asarray(splits.y_test).reshape(len(predicted), -1)[:, 0] * std + mean
    years = data_info.test_years or list(range(len(actual)))
    return {
        "years": [int(y) for y in years[: len(actual)]],
        "actual": [round(float(v), 3) for v in actual],
        "predicted": [round(float(v), 3) for v in predicted],
    }


def _card(name: str, info: dict, metrics: dict, task: str, spec: dict, preset: bool) -> dict:
    metric = next(
        ({"name": k, "value": float(metrics[k])} for k in _CARD_METRICS if k in metrics), None
    )
    if metric is None:
        metric = next(
            (
                {"name": k, "value": float(v)}
                for k, v in metrics.items()
                if k and k.startswith("test_") and isinstance(v, int | float)
            ),
            None,
        )
    return {
        "name": name,
        "dataset": info.get("name") or metrics.get("dataset"),
        "source": info.get("source") or metrics.get("dataset_source"),
        "task": task,
        "metric": metric,
        "takes": (info.get("raw_input") or {}).get("takes"),
        "input": spec,
        "preset": preset,
    }


def _draw_diagram(model) -> bytes | None:
    """The architecture as PNG bytes, drawn now (presets and runs without one)."""
    import tempfile

    from kerazoo.viz import diagrams

    try:
        with tempfile.TemporaryDirectory(prefix="kerazoo-serve-") as tmp:
            path = Path(tmp) / "architecture.png"
            diagrams.plot(preprocessing.unwrap(model), path, dpi=72)
            return path.read_bytes()
    except Exception:  # no graphviz, an undrawable model: the page shows no diagram
        return None


def load_servable(source: str | Path, *, diagram: bool = True) -> Servable:
    """Loads a model to serve: a run folder, a `.keras` file or a preset `"NAME:WEIGHTS"`.

    Args:
        source: a run folder (`runs/demo`), a `.keras` file, or a pretrained preset
            (`"mnist_cnn:mnist"`, see `kerazoo list --pretrained`).
        diagram: draw the architecture when the run folder has no `architecture.png`.

    Returns:
        A `Servable`: the model taking raw inputs, its name, page, card and helpers.

    Raises:
        ValueError: for a missing, damaged or refused model file, an unknown preset, or a
            source that is neither (the message names it).

    Example:

    ```python
    servable = load_servable("mnist_cnn:mnist")
    servable.model.predict(digits_uint8)
    ```
    """
    model, name, info, vocabulary, metrics, diagram_file, preset = _open(source)
    if not preprocessing.is_wrapped(model) and info.get("input_shape"):
        # A preset or an older run: put the data's preparation in front, as train does now.
        data_info = _dataset_info(info, vocabulary)
        model = preprocessing.with_preprocessing(model, data_info)
        if preprocessing.is_wrapped(model):
            info = {**info, "raw_input": preprocessing.describe(data_info)}
    task = model_task(model, None if preset and not name else name, info).name
    spec = _input_spec(model, info)
    page = _page(model, task, spec)
    names = list(info.get("class_names") or [])
    picture = None
    if diagram_file is not None and diagram_file.is_file():
        picture = diagram_file.read_bytes()
    elif diagram:
        picture = _draw_diagram(model)
    return Servable(
        model=model,
        name=name,
        page=page,
        input=spec,
        class_names=names if task == "classification" and names else None,
        card=_card(name, info, metrics, task, spec, preset),
        diagram=picture,
        generate=_generator(model) if page == "generate" else None,
        forecast=_forecast(model, info) if page == "forecast" else None,
    )
