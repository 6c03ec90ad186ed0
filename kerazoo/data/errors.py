"""The data layer's error, in a module of its own so every reader can import it without
importing the package (and so without an import cycle through `kerazoo.data`)."""


class DataNotFoundError(ValueError):
    """A data file or package is missing or corrupt; the message says how to install it."""
