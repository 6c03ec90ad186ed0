"""Small slices of real data for the tests (no random arrays posing as a dataset).

Every helper reads a real source installed on the machine through `kerazoo.data`, takes a
fixed, seeded slice and caches it for the session.
"""

from __future__ import annotations

import functools

import numpy as np

from kerazoo.data import images, series, text


@functools.cache
def _digits_shuffled():
    x, y = images.mnist_sample()
    order = np.random.default_rng(0).permutation(len(x))  # the sample is sorted by label
    return x[order], y[order]


def mnist_digits(n: int = 256, offset: int = 0):
    """n real MNIST digits: x float32 (n, 28, 28, 1) in [0, 1], y int64, all classes mixed."""
    x, y = _digits_shuffled()
    x = x[offset : offset + n].astype(np.float32)[..., None] / 255.0
    return x, y[offset : offset + n].copy()


def fashion_images(n: int = 256):
    """n real Fashion-MNIST test images: x float32 (n, 28, 28, 1) in [0, 1], y int64."""
    _, (x, y) = images.fashion_mnist()
    return x[:n].astype(np.float32)[..., None] / 255.0, y[:n].copy()


def as_images(x: np.ndarray, shape) -> np.ndarray:
    """Real digits (n, 28, 28, 1) brought to (h, w, c): centre-padded or resized, channels repeated."""
    h, w, c = shape
    if (h, w) != x.shape[1:3]:
        if h >= x.shape[1] and w >= x.shape[2]:
            top, left = (h - x.shape[1]) // 2, (w - x.shape[2]) // 2
            out = np.zeros((len(x), h, w, x.shape[3]), np.float32)
            out[:, top : top + x.shape[1], left : left + x.shape[2]] = x
            x = out
        else:
            import keras

            x = keras.ops.convert_to_numpy(keras.ops.image.resize(x, (h, w)))
    return np.repeat(x, c, axis=-1) if c != x.shape[-1] else x


@functools.cache
def _fortunes_by_language(languages: tuple):
    texts, labels = text.fortunes(languages)
    return texts, np.asarray(labels, np.int64)


def fortunes(n_per_lang: int = 100, languages=("en", "de")):
    """Real quotations, n per language, interleaved in a seeded order: (texts, labels)."""
    texts, labels = _fortunes_by_language(tuple(languages))
    rng = np.random.default_rng(0)
    picked = []
    for label in range(len(languages)):
        idx = np.flatnonzero(labels == label)
        picked.extend(rng.choice(idx, size=min(n_per_lang, len(idx)), replace=False))
    picked = rng.permutation(np.asarray(picked))
    return [texts[i] for i in picked], labels[picked]


def token_ids(texts, vocab_size: int, sequence_length: int) -> np.ndarray:
    """Word ids by frequency in `texts` (0 = padding, 1 = out of vocabulary), padded/truncated."""
    import re
    from collections import Counter

    words = [re.findall(r"\w+", t.lower()) for t in texts]
    counts = Counter(w for ws in words for w in ws)
    vocab = {w: i + 2 for i, (w, _) in enumerate(counts.most_common(max(vocab_size - 2, 0)))}
    out = np.zeros((len(texts), sequence_length), np.int32)
    for row, ws in enumerate(words):
        ids = [vocab.get(w, 1) for w in ws][:sequence_length]
        out[row, : len(ids)] = ids
    return out


def sunspots() -> np.ndarray:
    """The yearly sunspot series (309 values), standardized: float32 (309,)."""
    _, values = series.sunspots()
    return ((values - values.mean()) / values.std()).astype(np.float32)


def windows(values: np.ndarray, window: int, horizon: int = 1):
    """(x (n, window, 1), y (n, horizon)) sliding windows over a real series."""
    return series.windows(values, window, horizon)


# --- the user's own data, as files on disk (for `kerazoo.data.from_source` and the CLI) -----

CSV_TARGET = "diagnosis"  # the label column of `csv_table`


@functools.cache
def _fashion_test():
    _, (x, y) = images.fashion_mnist()
    return x, y


def fashion_folder_names(classes: int = 3) -> list[str]:
    """The class folder names `image_folder` writes: Fashion-MNIST's names in snake_case."""
    import re

    names = images.FASHION_MNIST_CLASSES[:classes]
    return [re.sub(r"[^0-9a-z]+", "_", n.lower()).strip("_") for n in names]


def image_folder(tmp_path, classes: int = 3, per_class: int = 40):
    """Real Fashion-MNIST test images as grayscale PNGs, one folder per class.

    `tmp_path/fashion/<class>/<i>.png` for the first `classes` classes (`fashion_folder_names`),
    the first `per_class` test images of each, 28x28.

    Returns:
        The root folder (a `pathlib.Path`).
    """
    from pathlib import Path

    from PIL import Image

    x, y = _fashion_test()
    root = Path(tmp_path) / "fashion"
    for label, folder in enumerate(fashion_folder_names(classes)):
        (root / folder).mkdir(parents=True)
        for i, index in enumerate(np.flatnonzero(y == label)[:per_class]):
            Image.fromarray(x[index], mode="L").save(root / folder / f"{i:04d}.png")
    return root


def csv_table(tmp_path):
    """scikit-learn's real breast cancer table (569 rows) as a CSV file.

    30 numeric feature columns by their names ("mean radius", ...) and the string target
    column `CSV_TARGET` ("malignant" / "benign").

    Returns:
        The path of `tmp_path/breast_cancer.csv`.
    """
    from pathlib import Path

    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.drop(columns=["target"])
    frame[CSV_TARGET] = np.asarray(data.target_names)[data.target.to_numpy()]
    path = Path(tmp_path) / "breast_cancer.csv"
    frame.to_csv(path, index=False)
    return path


def text_folder(tmp_path, per_class: int = 40, languages=("en", "de")):
    """Real fortunes quotations, one `.txt` file per quotation, one folder per language.

    Returns:
        The root folder `tmp_path/fortunes` (`<language>/<i>.txt` inside).
    """
    from pathlib import Path

    texts, labels = fortunes(per_class, languages)
    root = Path(tmp_path) / "fortunes"
    for lang in languages:
        (root / lang).mkdir(parents=True)
    for i, (quote, label) in enumerate(zip(texts, labels, strict=True)):
        (root / languages[label] / f"{i:04d}.txt").write_text(quote, encoding="utf-8")
    return root


def text_lines(tmp_path, per_class: int = 40, languages=("en", "de")):
    """Real fortunes quotations as one `label<TAB>text` line each, in a `.txt` file.

    Returns:
        The path of `tmp_path/fortunes_lines.txt`.
    """
    from pathlib import Path

    texts, labels = fortunes(per_class, languages)
    path = Path(tmp_path) / "fortunes_lines.txt"
    lines = [f"{languages[k]}\t{t}" for t, k in zip(texts, labels, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
