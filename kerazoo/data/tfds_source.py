"""Datasets prepared by tensorflow-datasets: read offline, downloaded only when asked.

`tfds.load` downloads whenever a dataset is missing; the zoo must work offline, so this
module first looks for a prepared copy (`<data_dir>/<name>/<version>/dataset_info.json`) and
reads it with `tfds.builder_from_directory`, which needs neither the network nor the
builder's code. Only `download=True` lets `tfds.load` download and prepare a missing copy in
`data_dir`, once: later reads find it there, offline. tfds writes into `incomplete.*` folders
and renames them when done, so an interrupted download is never read as a copy.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kerazoo.data.errors import DataNotFoundError

_CHUNK = 4096  # examples per read


def default_data_dir() -> Path:
    """The tfds data folder: `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`.

    Read at call time (tfds itself reads the variable once at import), so tests and users can
    point it elsewhere while the process runs.
    """
    return Path(os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")).expanduser()


def _version_key(path: Path) -> tuple:
    try:
        return tuple(int(part) for part in path.name.split("."))
    except ValueError:
        return (-1,)


def prepared_dir(name: str, data_dir: str | Path | None = None) -> Path | None:
    """The folder of the newest prepared version of tfds dataset `name`, or None.

    Args:
        name: tfds dataset name, e.g. `"mnist"`.
        data_dir: tfds data folder; defaults to `default_data_dir()`.

    Returns:
        e.g. `~/tensorflow_datasets/mnist/3.0.1`, or None when no prepared copy exists
        (half-written `incomplete.*` folders do not count).
    """
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    folder = root / name
    if not folder.is_dir():
        return None
    versions = [d for d in folder.iterdir() if d.is_dir() and (d / "dataset_info.json").is_file()]
    versions = [d for d in versions if _version_key(d) != (-1,)]
    return max(versions, key=_version_key) if versions else None


def load_tfds(
    name: str,
    data_dir: str | Path | None = None,
    *,
    splits: tuple[str, ...] = ("train", "test"),
    image_key: str = "image",
    label_key: str = "label",
    download: bool = False,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[str] | None, Path]:
    """Reads a tfds classification dataset into NumPy arrays, offline unless `download`.

    Args:
        name: tfds dataset name, with its config where it has several, e.g. `"mnist"` or
            `"imdb_reviews/plain_text"`.
        data_dir: tfds data folder; defaults to `$TFDS_DATA_DIR` or `~/tensorflow_datasets`.
        splits: split names to read, in the order returned.
        image_key, label_key: feature names of the inputs (an image, or a text) and the label.
        download: when no prepared copy exists, let tfds download and prepare it in
            `data_dir` (needs the network once).

    Returns:
        `([(inputs, labels) per split], class_names or None, dataset folder)`: inputs as
        stored (uint8 `(n, h, w, c)` images, texts as bytes objects), labels int64.

    Raises:
        DataNotFoundError: if no prepared copy exists in `data_dir` (and `download` is
            False), the download fails, or the copy cannot be read.

    Example:
    ```python
    (train, test), class_names, folder = load_tfds("mnist")
    ```
    """
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    folder = prepared_dir(name, root)
    if folder is None and not download:
        raise DataNotFoundError(
            f"No prepared tensorflow-datasets copy of {name!r} in {root}. Prepare it once where "
            f"the network is reachable with `load_tfds({name!r}, download=True)` (or "
            f"`tfds.load({name!r}, data_dir=...)`), or copy a prepared folder here. "
            f"Received: name={name!r}"
        )
    import tensorflow_datasets as tfds  # imported only when there is something to read

    if folder is None:
        return _download(tfds, name, root, splits, image_key, label_key)
    try:
        builder = tfds.builder_from_directory(str(folder))
        data = [builder.as_dataset(split=split) for split in splits]
        out = _arrays(tfds, data, image_key, label_key)
        class_names = _class_names(builder.info, label_key)
    except Exception as err:  # tfds raises many types for a damaged folder
        raise DataNotFoundError(
            f"The tensorflow-datasets copy of {name!r} in {folder} cannot be read ({err}). "
            f"Delete that folder and prepare it again with `tfds.load('{name}')`."
        ) from None
    return out, class_names, folder


def _download(tfds, name, root: Path, splits, image_key, label_key):
    """`tfds.load` with download on: fetches and prepares `name` in `root`, then reads it."""
    try:
        data, info = tfds.load(
            name,
            split=list(splits),
            data_dir=str(root),
            download=True,
            with_info=True,
        )
        out = _arrays(tfds, data, image_key, label_key)
    except Exception as err:  # offline: DNS/HTTP/URL/checksum errors of many kinds
        raise DataNotFoundError(
            f"Downloading {name!r} with tensorflow-datasets into {root} failed "
            f"({' '.join(str(err).split())[:300]}). It needs the network once; a half-finished "
            f"copy is never read, so run the same command again to retry. Received: download=True"
        ) from None
    return out, _class_names(info, label_key), Path(str(info.data_dir))


def _arrays(tfds, data, image_key: str, label_key: str) -> list[tuple[np.ndarray, np.ndarray]]:
    # Read in chunks rather than with `batch_size=-1`, which batches by the split size
    # recorded in the metadata (unknown under tfds's own mock, where it aborts the process).
    out = []
    for split in data:
        chunks = list(tfds.as_numpy(split.batch(_CHUNK)))
        out.append(
            (
                np.concatenate([c[image_key] for c in chunks]),
                np.concatenate([c[label_key] for c in chunks]).astype(np.int64),
            )
        )
    return out


def _class_names(info, label_key: str) -> list[str] | None:
    label = info.features[label_key]
    return list(label.names) if hasattr(label, "names") else None
