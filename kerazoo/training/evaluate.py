"""`evaluate(run_or_model)`: test metrics of a trained model on a dataset's held-out split.

A run folder (or a `model.keras` inside one) brings its own settings: the dataset, seed,
split and data options from `config.json`, so the test split is exactly the one the run
held out, and the text vocabulary from `vocabulary.txt`. A `.keras` file from elsewhere
needs `dataset=` unless it is a zoo model whose name says which dataset it fits.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from kerazoo import preprocessing, registry
from kerazoo.config import RunConfig
from kerazoo.data.registry import check_model_fits, default_dataset, get_dataset
from kerazoo.tasks import Task, get_task
from kerazoo.training import own, steps


def open_run(path: str | Path) -> tuple[Path, dict | None]:
    """`(model file, run config or None)` for a run folder or a `.keras` file.

    Raises:
        ValueError: if the path is neither a run folder with a model nor a `.keras` file.
    """
    path = Path(path)
    if path.is_dir():
        model_file = path / "model.keras"
        if not model_file.is_file():
            raise ValueError(
                f"{path} is not a finished run folder (no model.keras); pass a run folder "
                f"or a .keras file. Received: path={str(path)!r}"
            )
    elif path.suffix == ".keras":
        model_file = path
    else:
        raise ValueError(
            f"Expected a run folder or a .keras model file. Received: path={str(path)!r}"
        )
    config_file = model_file.parent / "config.json"
    config = None
    if config_file.is_file():
        try:
            config = json.loads(config_file.read_text())
        except ValueError as err:
            raise ValueError(
                f"Cannot read {config_file} ({err}). Received: path={str(path)!r}"
            ) from None
    return model_file, config


def run_model_name(model_file: Path, config: dict | None) -> str | None:
    if config is not None:
        return config.get("model")
    from kerazoo.saving import read_config

    name = read_config(model_file).get("config", {}).get("name")
    return name if name in registry.list_models() else None


def model_task(model, name: str | None, info=None) -> Task:
    """The task of a trained model: its registry entry's, else read from the model.

    A model the registry does not know (a user's, not registered in this process) is a GAN
    if it can `generate`, an autoencoder if its outputs have its inputs' shape, and else of
    its dataset's task (`info`, a `DatasetInfo` or the run's dataset.json).
    """
    if name is not None:
        try:
            return get_task(registry.model_info(name).task)
        except ValueError:  # a user's model whose module is not imported here
            pass
    if callable(getattr(model, "generate", None)) and hasattr(model, "discriminator"):
        return get_task("generation")
    if tuple(model.input_shape[1:]) == tuple(model.output_shape[1:]):
        return get_task("reconstruction")
    dataset_task = info.get("task") if isinstance(info, dict) else getattr(info, "task", None)
    return get_task(dataset_task or "classification")


def evaluate(
    path: str | Path,
    dataset=None,
    *,
    target: str | None = None,
    batch_size: int = 256,
    verbose: int = 0,
) -> dict:
    """Evaluates a trained model on the test split of a dataset.

    The data is prepared by the training path's own step (`steps.prepare_data`, with the
    run's seed, split and data options) and scored by the task's `test_metrics`, so a run's
    own test split gives the run's own test metrics.

    Args:
        path: a run folder, or a `.keras` file (inside a run folder or not).
        dataset: the dataset; default the run's (or, for a zoo model file outside a run
            folder, the model's default dataset). Your own data (arrays, a folder, a CSV
            file: see `kerazoo.data.from_source`) is scored on its held-out test part; a run
            trained on a folder or file reads it again by itself.
        target: with a CSV file, the column holding the labels.
        batch_size: evaluation batch size.
        verbose: Keras's `evaluate` verbosity.

    Returns:
        `{"test_<metric>": value, ..., "dataset": name, "n_test": n, "dataset_source": ...}`.

    Raises:
        ValueError: for a missing or damaged model file, an unknown dataset, or a dataset
            whose inputs do not fit the model.

    Example:

    ```python
    kerazoo.evaluate("runs/mnist_cnn")["test_accuracy"]
    ```
    """
    model_file, config = open_run(path)
    source = dataset if own.is_source(dataset) else None
    recorded = (config or {}).get("data")
    if dataset is None and recorded is not None and not recorded.startswith(own.ARRAYS):
        source, target = recorded, target or config.get("target")
    if dataset is None and recorded is not None and source is None:
        raise ValueError(
            f"{model_file.parent} was trained on data given in Python ({recorded}); pass it "
            "again to score its test part: evaluate(path, (x, y)). Received: dataset=None"
        )
    if source is None:
        return _evaluate(model_file, config, dataset, batch_size, verbose)
    with own.registered("model", source, target=target) as (_, name, _):
        return _evaluate(model_file, config, name, batch_size, verbose)


def _evaluate(model_file: Path, config: dict | None, dataset, batch_size: int, verbose) -> dict:
    name = run_model_name(model_file, config)
    if dataset is None:
        if config is not None:
            dataset = config["dataset"]
        elif name is not None:
            dataset = default_dataset(name)
        else:
            raise ValueError(
                f"{model_file} is not in a run folder and is not a zoo model, so the dataset "
                "is not known; pass one (--dataset). Received: dataset=None"
            )
    dataset_spec = get_dataset(dataset)  # the one "Unknown dataset" error
    if name is not None and name in registry.list_models():
        check_model_fits(name, dataset)

    from kerazoo.saving import load_model

    # A refused file is answered before any data loads. A model saved with its
    # preprocessing is scored through its network, on the data as the run prepared it:
    # the run's own test metrics, whatever the saved model takes.
    model = preprocessing.unwrap(load_model(model_file))
    task = model_task(model, name, {"task": dataset_spec.task})
    data = steps.prepare_data(_data_settings(config, name or model.name, dataset, batch_size), task)
    info = data.info
    _check_vocabulary(model_file.parent / "vocabulary.txt", info)
    expected = tuple(task.data_model(model).input_shape[1:])
    if expected != tuple(info.input_shape):
        raise ValueError(
            f"{model_file} takes inputs of shape {expected}, but {dataset} has inputs of shape "
            f"{tuple(info.input_shape)}. Received: dataset={dataset!r}"
        )
    scores = model.evaluate(data.test, verbose=verbose, return_dict=True)
    return task.test_metrics(scores, info) | {
        "dataset": info.name,
        "n_test": info.n_test,
        "dataset_source": info.source,
    }


def _data_settings(config: dict | None, model: str, dataset: str, batch_size: int) -> RunConfig:
    """The run's own data settings on its own dataset (the split it held out), else the
    defaults; on one device, batched for evaluation."""
    if config is not None and config.get("dataset") == dataset:
        settings = RunConfig.from_json(config)
    else:
        settings = RunConfig(model=model, dataset=dataset)
    return dataclasses.replace(settings, batch_size=batch_size, strategy="default")


def _check_vocabulary(vocabulary_file: Path, info) -> None:
    # The test texts must be read with the vocabulary the model was trained with.
    if info.vocabulary is None or not vocabulary_file.is_file():
        return
    saved = vocabulary_file.read_text().split("\n")[:-1]
    if saved != info.vocabulary:
        raise ValueError(
            f"The vocabulary rebuilt from the data differs from the run's {vocabulary_file}; "
            "the data files changed since the run. Retrain the model. "
            f"Received: {len(saved)} saved words, {len(info.vocabulary)} rebuilt"
        )
