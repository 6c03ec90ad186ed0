"""`predict(model, files)`: labels and probabilities for new images or lines of text.

Only classifiers predict (their task object, `kerazoo.tasks`, gives the labels); any other
model is refused with one line saying what it takes. Image classifiers read PNG/JPEG files: converted to the model's channels, resized to its
input size (a model saved with its preprocessing takes them as uint8 0..255; an older one
gets them scaled to [0, 1]). MNIST-style digits are light on a dark background; a
picture whose border is lighter than its centre (a dark digit on white paper) is inverted
first. Text classifiers read text files and classify each non-empty line: a model saved
with its preprocessing takes the raw strings; an older one needs the vocabulary of its run
(`vocabulary.txt` beside the model). Class names come from the
run's `dataset.json`; without a run folder the class index is shown. A pretrained preset
(`"mnist_cnn:mnist"`, see `kerazoo list --pretrained`) brings its card's class names and
its shipped vocabulary.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np

from kerazoo import preprocessing
from kerazoo.training.evaluate import model_task, open_run, run_model_name

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_PRESET_RE = re.compile(r"^([a-z][a-z0-9_]*):([A-Za-z0-9_.-]+)$")


@dataclasses.dataclass
class Prediction:
    """One classified input: where it came from, the label and its probability."""

    source: str
    label: str
    probability: float
    text: str | None = None


def _read_image(path: Path, shape: tuple, model_name: str) -> np.ndarray:
    import keras

    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(
            f"{model_name} classifies images; it takes PNG or JPEG files "
            f"({', '.join(IMAGE_SUFFIXES)}). Received: {path}"
        )
    height, width, channels = shape
    try:
        image = keras.utils.load_img(
            path,
            color_mode="grayscale" if channels == 1 else "rgb",
            target_size=(height, width),
            interpolation="bilinear",
        )
    except (OSError, ValueError) as err:
        raise ValueError(f"Cannot read the image {path} ({err}). Received: {path}") from None
    x = np.asarray(image, dtype="uint8").reshape(height, width, channels)
    border = np.concatenate([x[0].ravel(), x[-1].ravel(), x[:, 0].ravel(), x[:, -1].ravel()])
    if border.mean() > x.mean():  # dark figure on a light background: make it like MNIST
        x = 255 - x
    return x


def _read_lines(path: Path, model_name: str) -> list[tuple[int, str]]:
    """`(line number, text)` of the non-empty lines of a text file."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"Cannot read the text file {path} ({err}). Received: {path}") from None
    # Every PNG and JPEG holds NUL bytes, text never does: refuse pictures and other binary
    # files instead of classifying their bytes "line by line".
    if path.suffix.lower() in IMAGE_SUFFIXES or b"\0" in data:
        what = "an image" if path.suffix.lower() in IMAGE_SUFFIXES else "a binary file"
        raise ValueError(
            f"{model_name} classifies text; it takes text files (one text per line), not "
            f"{what}. Received: {path}"
        )
    text = data.decode("utf-8", errors="replace")
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1) if line.strip()]


def _lines_of(files: list[Path], model_name: str) -> tuple[list[str], list[str]]:
    """`(sources, texts)`: every non-empty line of the text files, with `file:line`."""
    sources, texts = [], []
    for f in files:
        for i, line in _read_lines(f, model_name):
            sources.append(f"{f}:{i}")
            texts.append(line)
    if not texts:
        raise ValueError(f"The text files hold no non-empty line. Received: {files}")
    return sources, texts


def _open_preset(path) -> tuple | None:
    """`(model, name, info, vocabulary)` of a pretrained preset named `"NAME:WEIGHTS"`, or
    None when `path` is not such a name (an existing file or folder never is)."""
    match = _PRESET_RE.match(path) if isinstance(path, str) else None
    if match is None or Path(path).exists():
        return None
    from kerazoo import pretrained, registry

    name, weights = match.groups()
    registry.model_info(name)  # an unknown model: close matches
    model = registry.create_model(name, weights=weights, compile=False)
    card = pretrained.get_card(name, weights)
    return model, name, card["dataset_info"], pretrained.card_vocabulary(card)


def predict(path: str | Path, files) -> list[Prediction]:
    """Classifies image files or the lines of text files with a trained classifier.

    Args:
        path: a run folder, a `.keras` file, or a pretrained preset `"NAME:WEIGHTS"`
            (`"mnist_cnn:mnist"`; see `kerazoo list --pretrained`).
        files: paths of PNG/JPEG images (image classifiers) or text files (text
            classifiers: one text per line).

    Returns:
        A list of `Prediction(source, label, probability, text)`, one per image or line.

    Raises:
        ValueError: for a missing/damaged model, a model that is not a classifier (saying
            what it takes), a file that cannot be read or is not what the model takes, or
            a text model without its vocabulary.

    Example:

    ```python
    for p in kerazoo.predict("runs/mnist_cnn", ["seven.png"]):
        print(p.source, p.label, p.probability)
    ```
    """
    preset = _open_preset(path)
    model_file, config = (Path(str(path)), None) if preset else open_run(path)
    files = [Path(f) for f in files]
    if not files:
        raise ValueError("predict needs at least one input file. Received: files=[]")
    for f in files:
        if not f.is_file():
            raise ValueError(f"Input file not found. Received: {f}")
    run_dir = model_file.parent
    info, vocabulary = {}, None
    if preset:
        model, name, info, vocabulary = preset
    else:
        if (run_dir / "dataset.json").is_file():
            info = json.loads((run_dir / "dataset.json").read_text())

        from kerazoo.saving import load_model

        model = load_model(model_file, compile=False)
        name = run_model_name(model_file, config)
    label = name or model.name
    # The model's task decides, not the dataset's: a VAE trained on digits has digit
    # labels in its dataset.json, yet gives back images.
    task = model_task(model, name, info)
    task.check_predicts(label, received=f"path={str(path)!r}")
    # A model saved with its preprocessing takes the raw images and strings itself.
    raw = preprocessing.is_wrapped(model)
    input_shape = tuple(preprocessing.unwrap(model).input_shape[1:])
    text_model = info.get("input_dtype") == "int32" or len(input_shape) == 1
    if text_model and raw:
        sources, texts = _lines_of(files, label)
        x = np.asarray(texts, dtype=object)
    elif text_model:
        vocabulary_file = run_dir / "vocabulary.txt"
        if vocabulary is None and not vocabulary_file.is_file():
            raise ValueError(
                f"A text model needs the vocabulary it was trained with ({vocabulary_file}); "
                f"pass a run folder that has it. Received: {model_file}"
            )
        import keras

        if vocabulary is None:
            vocabulary = vocabulary_file.read_text(encoding="utf-8").split("\n")[:-1]
        vectorizer = keras.layers.TextVectorization(
            vocabulary=vocabulary, output_sequence_length=input_shape[0]
        )
        sources, texts = _lines_of(files, label)
        x = keras.ops.convert_to_numpy(vectorizer(texts)).astype("int32")
    else:
        if len(input_shape) != 3:
            raise ValueError(
                f"predict reads images or text; {label} takes inputs of shape "
                f"{input_shape}. Received: {model_file}"
            )
        sources, texts = [str(f) for f in files], [None] * len(files)
        x = np.stack([_read_image(f, input_shape, label) for f in files])
        x = x if raw else x.astype("float32") / 255.0
    rows = task.predictions(model, x, info, received=f"path={str(path)!r}")
    return [
        Prediction(source=s, label=k, probability=p, text=t)
        for s, (k, p), t in zip(sources, rows, texts, strict=True)
    ]
