"""The dataset registry: built-in datasets as registrations, a user's dataset usable by name,
one "unknown dataset" error, and the model/dataset fit check."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kerazoo
from kerazoo.data import loader
from kerazoo.data.registry import (
    DatasetSpec,
    check_model_fits,
    datasets_for,
    default_dataset,
    get_dataset,
    list_datasets,
    register_dataset,
    unregister_dataset,
)

BUILTIN = (
    "mnist",
    "mnist_sample",
    "fashion_mnist",
    "fortunes_lang",
    "sunspots",
    "breast_cancer",
    "diabetes",
)


def _digits(seed, validation_split, options):
    # scikit-learn's real 8x8 handwritten digits (1,797 images, pixel values 0-16).
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x.reshape(-1, 8, 8) * (255 / 16)).astype(np.uint8), y


def _wine(seed, validation_split, options):
    from sklearn.datasets import load_wine

    return load_wine(return_X_y=True)


@pytest.fixture
def user_datasets():
    register_dataset("sk_digits", kind="image", task="classification", reader=_digits)
    register_dataset("wine", kind="table", task="classification", reader=_wine)
    yield
    unregister_dataset("sk_digits")
    unregister_dataset("wine")


def test_builtin_datasets_are_registrations():
    assert tuple(list_datasets()[: len(BUILTIN)]) == BUILTIN
    assert loader.DATASETS[: len(BUILTIN)] == BUILTIN
    assert get_dataset("sunspots") == DatasetSpec(
        "sunspots", "series", "regression", get_dataset("sunspots").reader,
        get_dataset("sunspots").description,
    )  # fmt: skip
    assert loader.KINDS["fortunes_lang"] == "text" and loader.TASKS["diabetes"] == "regression"
    with pytest.raises(ValueError, match="one of the zoo's own datasets"):
        unregister_dataset("mnist")


def test_unknown_dataset_is_one_error_with_close_matches():
    for call in (get_dataset, loader.load_arrays, loader.load):
        with pytest.raises(ValueError) as err:
            call("fashion_mnst")
        message = str(err.value)
        assert message.startswith("Unknown dataset. Did you mean: fashion_mnist")
        assert message.endswith("Received: dataset='fashion_mnst'")
        assert all(name in message for name in BUILTIN)
    with pytest.raises(ValueError, match="Unknown dataset.*Received: dataset='cifar100'"):
        check_model_fits("mnist_cnn", "cifar100")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "My-Data"}, r"snake_case.*Received: name='My-Data'"),
        ({"name": "mnist"}, r"already registered.*Received: name='mnist'"),
        ({"kind": "audio"}, r"kind must be one of.*Received: kind='audio'"),
        ({"task": "generation"}, r"task must be one of.*Received: task='generation'"),
        ({"reader": "not callable"}, r"reader must be a function.*Received: reader="),
    ],
)
def test_bad_registrations(kwargs, message):
    args = {"name": "wine", "kind": "table", "task": "classification", "reader": _wine} | kwargs
    name = args.pop("name")
    with pytest.raises(ValueError, match=message):
        register_dataset(name, **args)
    assert "wine" not in list_datasets()


def test_a_users_dataset_loads_by_name(user_datasets):
    splits, info = loader.load_arrays("sk_digits", seed=3)
    assert info.task == "classification" and info.num_classes == 10
    assert info.input_shape == (8, 8, 1) and splits.x_train.dtype == np.float32
    assert splits.x_train.min() >= 0.0 and splits.x_train.max() <= 1.0
    assert info.n_train + info.n_val + info.n_test == 1797
    # Disjoint parts; the test part does not move with the training seed.
    again, _ = loader.load_arrays("sk_digits", seed=4)
    np.testing.assert_array_equal(splits.x_test, again.x_test)
    assert not np.array_equal(splits.x_val, again.x_val)
    rows = {r.tobytes() for r in splits.x_test}
    assert not any(r.tobytes() in rows for r in splits.x_train[:200] if (r > 0).sum() > 20)

    train, val, test, info = loader.load("wine", batch_size=16, max_examples=100)
    x, y = next(iter(train))
    assert x.shape == (16, 13) and info.num_classes == 3
    # Standardized with the training part's statistics, as the zoo's own tables.
    assert max(info.mean) > 100 and len(info.std) == 13  # proline, in its own units
    assert abs(float(x.numpy().mean())) < 1.5


def test_register_dataset_is_public(user_datasets):
    assert kerazoo.register_dataset is register_dataset
    assert "wine" in kerazoo.data.list_datasets()


def test_a_reader_returning_the_wrong_thing_is_named():
    register_dataset("broken", kind="table", task="regression", reader=lambda *a: [1, 2, 3])
    try:
        with pytest.raises(ValueError, match=r"reader of dataset 'broken' must return \(x, y\)"):
            loader.load_arrays("broken")
    finally:
        unregister_dataset("broken")


def test_model_fits_read_the_registry(user_datasets):
    assert default_dataset("mnist_cnn") == "mnist"
    assert default_dataset("gru_forecaster") == "sunspots"
    check_model_fits("vae", "fashion_mnist")
    check_model_fits("mnist_cnn", "sk_digits")  # a user's image set fits an image model
    assert "sk_digits" in datasets_for("dcgan") and "wine" not in datasets_for("dcgan")
    message = (
        "mnist_cnn (classification, image inputs) cannot train on breast_cancer "
        "(classification, table inputs). Datasets it fits: mnist, mnist_sample, "
        "fashion_mnist, cifar10, sk_digits. Received: dataset='breast_cancer'"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        check_model_fits("mnist_cnn", "breast_cancer")
    with pytest.raises(ValueError, match=r"gru_forecaster \(regression.*Received: dataset='wine'"):
        check_model_fits("gru_forecaster", "wine")


def test_no_data_module_imports_names_from_the_package():
    # `kerazoo.data` (its __init__) imports the loader; a module importing a name defined in
    # the package's __init__ back (as DataNotFoundError once was) makes an import cycle.
    folder = Path(loader.__file__).parent
    submodules = {p.stem for p in folder.glob("*.py")}
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "kerazoo.data":
                names = {alias.name for alias in node.names}
                assert names <= submodules, f"{path.name} imports {names - submodules}"


def test_the_fit_check_imports_no_tensorflow():
    code = (
        "import sys\n"
        "from kerazoo.data.registry import check_model_fits, default_dataset\n"
        "check_model_fits('mnist_cnn', default_dataset('mnist_cnn'))\n"
        "sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
