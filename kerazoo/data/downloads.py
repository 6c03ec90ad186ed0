"""Full datasets through tensorflow-datasets: CIFAR-10 and IMDB reviews (and full MNIST).

Offline first: a copy that tensorflow-datasets prepared in the tfds data folder
(`tfds_data_dir`, default `$TFDS_DATA_DIR` or `~/tensorflow_datasets`) is read without the
network. Only `download=True` (`kerazoo train ... --download`, or
`data_options={"download": True}`) lets tfds download and prepare a missing copy there,
once; later runs read it offline. Without either, a `DataNotFoundError` names the command
that gets the full set (`full_set_command`).

The official test split is the test part; the validation part is carved from the official
training split with the run's seed, as for Fashion-MNIST. IMDB's unlabelled
`unsupervised` split is not read.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from kerazoo.data import images, loader, tfds_source
from kerazoo.data.errors import DataNotFoundError

# The label order of CIFAR-10's `batches.meta.txt`. tfds sets these names only while it
# prepares the real files (tfds's own mock leaves "0".."9"), so the zoo names them itself.
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
IMDB_CLASSES = ("neg", "pos")  # tfds's imdb_reviews names: 0 negative, 1 positive


@dataclasses.dataclass(frozen=True)
class TfdsDataset:
    """A zoo dataset read through tensorflow-datasets.

    Attributes:
        tfds_name: the tfds name, with its config where it has several.
        title: the dataset's name in messages.
        input_key: the feature holding the inputs (`"image"` or `"text"`).
        model: a model the command in messages trains on it.
        class_names: label names, index = label.
    """

    tfds_name: str
    title: str
    input_key: str
    model: str
    class_names: tuple[str, ...]


TFDS_DATASETS = {
    "cifar10": TfdsDataset("cifar10", "CIFAR-10", "image", "resnet20", CIFAR10_CLASSES),
    "imdb": TfdsDataset(
        "imdb_reviews/plain_text", "IMDB reviews", "text", "lstm_classifier", IMDB_CLASSES
    ),
    "mnist": TfdsDataset("mnist", "MNIST", "image", "mnist_cnn", images.DIGIT_CLASSES),
}


def full_set_command(dataset: str) -> str:
    """The command that downloads `dataset` once where the network is reachable.

    Example:
    ```python
    full_set_command("cifar10")  # 'kerazoo train resnet20 --dataset cifar10 --download'
    ```
    """
    return f"kerazoo train {TFDS_DATASETS[dataset].model} --dataset {dataset} --download"


def fetch(
    dataset: str, tfds_data_dir: str | Path | None = None, *, download: bool = False
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], str]:
    """The official train and test splits of `dataset` (a key of `TFDS_DATASETS`).

    Args:
        dataset: `"cifar10"`, `"imdb"` or `"mnist"`.
        tfds_data_dir: the tfds data folder; default `$TFDS_DATA_DIR` or
            `~/tensorflow_datasets`.
        download: when no prepared copy is there, download and prepare it (network).

    Returns:
        `((x_train, y_train), (x_test, y_test), source)`: inputs as tfds stores them
        (uint8 images; texts as bytes), int64 labels, and where they came from in words.

    Raises:
        DataNotFoundError: no prepared copy and `download` False (the message names the
            command that gets the full set), a failed download, or a damaged copy.
        ValueError: for a `download` that is not True or False.

    Example:
    ```python
    (x_train, y_train), (x_test, y_test), source = fetch("cifar10", download=True)
    x_train.shape  # (50000, 32, 32, 3)
    ```
    """
    if not isinstance(download, bool):
        raise ValueError(
            f"download must be True or False (True fetches {dataset} over the network). "
            f"Received: download={download!r}"
        )
    spec = TFDS_DATASETS[dataset]
    root = Path(tfds_data_dir).expanduser() if tfds_data_dir else tfds_source.default_data_dir()
    folder = tfds_source.prepared_dir(spec.tfds_name, root)
    if folder is None and not download:
        raise DataNotFoundError(
            f"{spec.title} is not on this machine (no prepared tensorflow-datasets copy "
            f"{spec.tfds_name!r} in {root}). Get the full set once where the network is "
            f"reachable: `{full_set_command(dataset)}` (--download works with any model that "
            f"fits {dataset}; in Python download=True); later runs read it offline. "
            f"Received: dataset={dataset!r}"
        )
    (train, test), _, where = tfds_source.load_tfds(
        spec.tfds_name, root, image_key=spec.input_key, download=download
    )
    how = "prepared copy in" if folder is not None else "downloaded to"
    return train, test, f"tensorflow-datasets {spec.tfds_name} ({how} {where})"


# ---------------------------------------------------------------------------------------------
# Readers, registered by name in kerazoo.data.registry:
# reader(seed, validation_split, options) -> (Splits, DatasetInfo), images still uint8.


def _read_cifar10(seed, validation_split, options):
    (x_tr, y_tr), (x_te, y_te), source = fetch(
        "cifar10", options.get("tfds_data_dir"), download=options.get("download", False)
    )
    # The official test split is kept; validation is carved from the training split by seed.
    raw = loader._split_train_val(
        np.asarray(x_tr, np.uint8), y_tr, np.asarray(x_te, np.uint8), y_te, validation_split, seed
    )
    return loader._dataset(
        "cifar10", "image", "classification", raw, class_names=CIFAR10_CLASSES,
        source=source, seed=seed, validation_split=validation_split,
    )  # fmt: skip


def _texts(raw: np.ndarray) -> np.ndarray:
    """tfds's bytes as str; the reviews' HTML line breaks become spaces (TextVectorization
    would otherwise keep "br" as one of the most frequent words)."""
    return np.asarray(
        [t.decode("utf-8", errors="replace").replace("<br />", " ") for t in raw], dtype=object
    )


def _read_imdb(seed, validation_split, options):
    # Checked before a download of 80 MB, not after.
    loader._check_text_args(options.get("vocab_size", 10000), options.get("sequence_length", 64))
    (x_tr, y_tr), (x_te, y_te), source = fetch(
        "imdb", options.get("tfds_data_dir"), download=options.get("download", False)
    )
    raw = loader._split_train_val(_texts(x_tr), y_tr, _texts(x_te), y_te, validation_split, seed)
    # Raw reviews become int32 token ids of a TextVectorization adapted on the training
    # part only, as for fortunes_lang.
    return loader._dataset(
        "imdb", "text", "classification", raw, class_names=IMDB_CLASSES,
        source=f"{source}; movie-review sentiment, the vocabulary from the training part",
        seed=seed, validation_split=validation_split,
        vocab_size=options.get("vocab_size", 10000),
        sequence_length=options.get("sequence_length", 64),
    )  # fmt: skip
