"""Datasets already prepared by tensorflow-datasets, read without touching the network.

`tfds.load` downloads when a dataset is missing; the zoo must work offline, so this module
only looks for a prepared copy (`<data_dir>/<name>/<version>/dataset_info.json`) and reads it
with `tfds.builder_from_directory`, which needs neither the network nor the builder's code.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kerazoo.data.errors import DataNotFoundError


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
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[str] | None, Path]:
    """Reads a prepared tfds image-classification dataset into NumPy arrays, offline.

    Args:
        name: tfds dataset name, e.g. `"mnist"`.
        data_dir: tfds data folder; defaults to `$TFDS_DATA_DIR` or `~/tensorflow_datasets`.
        splits: split names to read, in the order returned.
        image_key, label_key: feature names of the image and the label.

    Returns:
        `([(images, labels) per split], class_names or None, dataset folder)`: images as
        stored (uint8 `(n, h, w, c)` for MNIST), labels int64.

    Raises:
        DataNotFoundError: if no prepared copy exists in `data_dir`, or it cannot be read.

    Example:
    ```python
    (train, test), class_names, folder = load_tfds("mnist")
    ```
    """
    folder = prepared_dir(name, data_dir)
    if folder is None:
        root = data_dir if data_dir is not None else default_data_dir()
        raise DataNotFoundError(
            f"No prepared tensorflow-datasets copy of {name!r} in {root}. Prepare it where the "
            f'network is reachable with `python -c "import tensorflow_datasets as tfds; '
            f"tfds.load('{name}')\"` and copy the folder here. Received: name={name!r}"
        )
    import tensorflow_datasets as tfds  # imported only when a prepared copy exists

    try:
        builder = tfds.builder_from_directory(str(folder))
        out = []
        for split in splits:
            arrays = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
            out.append((np.asarray(arrays[image_key]), np.asarray(arrays[label_key], np.int64)))
        label = builder.info.features[label_key]
        class_names = list(label.names) if hasattr(label, "names") else None
    except DataNotFoundError:
        raise
    except Exception as err:  # tfds raises many types for a damaged folder
        raise DataNotFoundError(
            f"The tensorflow-datasets copy of {name!r} in {folder} cannot be read ({err}). "
            f"Delete that folder and prepare it again with `tfds.load('{name}')`."
        ) from None
    return out, class_names, folder
