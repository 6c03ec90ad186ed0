"""The user's own data and model on the one training path.

`train`, `tune` and `evaluate` take, besides a dataset name and a zoo model name, the user's
own data (arrays, a `tf.data.Dataset`, an image folder, a CSV file, a text folder or file:
`kerazoo.data.sources.from_source`) and the user's own `keras.Model` (or `.keras` file). Both
are registered for the length of the call (`registered`), under names of their own, so every
step after it (the fit check, the settings, the run folder, the pictures, resume) is the
same as for the zoo's: nothing downstream branches on where the data or the model came from.

What is recorded: `config.json` keeps the data's path (`data`) and `target` column, so a
resumed run and `kerazoo evaluate RUN` read the same file again with the same seeded split;
in-memory data is recorded by a fingerprint (`arrays sha256:...`), and a resumed run must be
given the same arrays (checked).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path

from kerazoo import registry
from kerazoo.data import registry as datasets

ARRAYS = "arrays sha256:"  # how in-memory data is recorded in config.json
# Dataset name -> what `registered` recorded for it, while registered: a call made inside
# another (a search retraining its best configuration) passes both and reads nothing again.
ACTIVE: dict[str, str] = {}


def is_source(dataset) -> bool:
    """Whether `dataset` is the user's own data rather than a registered dataset name."""
    if dataset is None:
        return False
    if isinstance(dataset, str):
        return dataset not in datasets.list_datasets() and (
            os.sep in dataset or Path(dataset).expanduser().exists()
        )
    return True


def fingerprint(data) -> str:
    """How in-memory data is recorded: a short digest of `(x, y)` arrays (so a resumed run
    can check it was given the same ones), or the source in words (a `tf.data.Dataset`, a
    DataFrame)."""
    import numpy as np

    from kerazoo.data import sources

    if not (isinstance(data, tuple | list) and len(data) == 2):
        return sources.describe_source(data)
    digest = hashlib.sha256()
    for a in data:
        a = np.ascontiguousarray(np.asarray(a))
        digest.update(str((a.shape, a.dtype.str)).encode())
        digest.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return ARRAYS + digest.hexdigest()[:16]


def saved_source(out) -> dict:
    """`{"data": ..., "target": ...}` recorded in a run or search folder, else `{}`."""
    for marker in ("config.json", "search.json"):
        path = Path(out) / marker
        if path.is_file():
            try:
                saved = json.loads(path.read_text())
            except ValueError:
                return {}
            return {k: saved.get(k) for k in ("data", "target") if saved.get(k) is not None}
    return {}


def _free_name(name: str, taken: list[str], fallback: str) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", str(name).lower()).strip("_")
    name = name if re.match(r"^[a-z][a-z0-9_]*$", name or "") else fallback
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def _register_data(data, *, target, validation_data, test_data, image_size) -> str:
    """Registers the user's data under a free name; its reader splits it with the run's seed
    and validation share (and its text options), reading the source once per setting."""
    from kerazoo.data import sources

    cache: dict = {}

    def reader(seed, validation_split, options):
        key = (seed, validation_split, options.get("vocab_size"), options.get("sequence_length"))
        if key not in cache:
            text_options = {
                k: options[k] for k in ("vocab_size", "sequence_length") if k in options
            }
            cache[key] = sources.from_source(
                data,
                target=target,
                validation_data=validation_data,
                test_data=test_data,
                seed=seed,
                validation_split=validation_split,
                image_size=image_size,
                **text_options,
            )
        return cache[key]

    # Read now: a bad source is answered before any write. Kept: a run with the default
    # seed and split (the key) uses this read instead of reading the files again.
    splits, info = reader(0, 0.1, {})
    name = _free_name(info.name, datasets.list_datasets(), "data")
    datasets.register_dataset(
        name,
        kind=info.kind,
        task=info.task,
        reader=reader,
        description=sources.describe_source(data),
    )
    return name


def _load_model(model):
    """A `keras.Model` from a model object or a `.keras` path; a zoo model saved with its
    preprocessing gives its network (the training path prepares the inputs itself)."""
    import keras

    from kerazoo import preprocessing

    if isinstance(model, str | os.PathLike) and str(model).endswith(".keras"):
        from kerazoo.saving import load_model

        if not Path(model).is_file():
            raise ValueError(f"Model file not found. Received: model={str(model)!r}")
        model = load_model(model)
    if not isinstance(model, keras.Model):
        raise ValueError(
            "model must be a zoo model name (kerazoo.list_models()), a keras.Model or the "
            f"path of a .keras file. Received: model={model!r}"
        )
    return preprocessing.unwrap(model)


def _model_task(model, dataset: str) -> str:
    if model.outputs and tuple(model.input_shape[1:]) == tuple(model.output_shape[1:]):
        return "reconstruction"
    return datasets.get_dataset(dataset).task


def _register_model(model, dataset: str, *, fresh: bool) -> str:
    """Registers the user's model under a free name; its entry returns that model (fresh:
    a clone with new weights, for tuning trials), compiled with the task's defaults when it
    came uncompiled, or with the optimizer a run names."""
    import keras

    from kerazoo.models._common import compile_for_task
    from kerazoo.tasks import get_task

    task = _model_task(model, dataset)

    def build(*, compile: bool = True, optimizer=None, learning_rate=None):
        net = keras.models.clone_model(model) if fresh else model
        if not compile:
            return net
        if optimizer is None and learning_rate is None and model.compiled and not fresh:
            return net
        loss = getattr(model, "loss", None) if model.compiled else None
        return compile_for_task(
            net,
            task,
            compile=True,
            optimizer=optimizer or "adam",
            learning_rate=learning_rate,
            loss=loss,
        )

    name = _free_name(model.name, registry.list_models(), "my_model")
    # A built model keeps the policy its layers were made with (a clone copies it too), so a
    # run's `precision` cannot change it: the run checks this (training.run._check_run).
    build.dtype_policy = model.dtype_policy.name
    build.__name__ = name
    build.__module__ = "__main__"  # the user's code, not one of the zoo's own models
    registry.register_model(
        build,
        name=name,
        family="user",
        task=task,
        description=f"Your own Keras model ({model.count_params():,} parameters).",
        datasets=(dataset,),
        inputs=(),
        metrics=get_task(task).metrics,
    )
    return name


@contextlib.contextmanager
def registered(
    model,
    dataset,
    *,
    target=None,
    validation_data=None,
    test_data=None,
    image_size=None,
    fresh: bool = False,
):
    """Registers the user's own model and data for the length of a call.

    Args:
        model: a zoo name (kept), a `keras.Model` or a `.keras` path.
        dataset: a dataset name (kept), None, or the user's data (see `from_source`).
        target, validation_data, test_data, image_size: as `from_source` takes them.
        fresh: the model's entry gives a new clone each time (tuning trials).

    Yields:
        `(model_name, dataset_name, recorded)`: the names to use, and the settings to
        record (`{"data": path-or-fingerprint, "target": column}` for the user's data).
    """
    names: list[tuple[str, str]] = []
    recorded: dict = {}
    try:
        if is_source(dataset):
            is_path = isinstance(dataset, str | os.PathLike)
            recorded = {
                "data": str(Path(dataset).expanduser().resolve())
                if is_path
                else fingerprint(dataset)
            }
            if target is not None:
                recorded["target"] = target
            dataset = _register_data(
                dataset,
                target=target,
                validation_data=validation_data,
                test_data=test_data,
                image_size=image_size,
            )
            names.append(("dataset", dataset))
            ACTIVE[dataset] = recorded["data"]
        elif validation_data is not None or test_data is not None:
            raise ValueError(
                "validation_data and test_data go with your own data (arrays, a folder, a "
                f"file); a registered dataset has its own splits. Received: dataset={dataset!r}"
            )
        if not isinstance(model, str):
            net = _load_model(model)
            if dataset is None:
                raise ValueError(
                    "Your own model needs data to train on: pass dataset= (a dataset name, "
                    "arrays, a folder or a file). Received: dataset=None"
                )
            model = _register_model(net, dataset, fresh=fresh)
            names.append(("model", model))
        yield model, dataset, recorded
    finally:
        for kind, name in reversed(names):
            if kind == "model":
                registry.unregister_model(name)
            else:
                ACTIVE.pop(name, None)
                datasets.unregister_dataset(name)


def own_source(dataset, settings: dict, *, out, resume: bool):
    """The user's data to read: `data=PATH` (the CLI's --data), a path or arrays given as
    `dataset`, or, for a resumed run given neither, the path its config.json recorded.
    None for a registered dataset (also one registered by an enclosing call)."""
    path = settings.pop("data", None)
    if path is not None:
        if dataset is not None and ACTIVE.get(dataset) == path:
            settings["data"] = path  # registered by the enclosing call: recorded as it is
            return None
        if dataset is not None:
            raise ValueError(
                "Give either dataset (a registered name) or data (your own), not both. "
                f"Received: dataset={dataset!r}, data={path!r}"
            )
        return path
    if is_source(dataset):
        return dataset
    if dataset is None and resume and out is not None:
        saved = saved_source(out)
        recorded = saved.get("data")
        if recorded is not None and recorded.startswith(ARRAYS):
            raise ValueError(
                f"The run in {out} trained on arrays given in Python; pass the same arrays "
                f"to resume it. Received: dataset=None"
            )
        if recorded is not None:
            if settings.get("target") is None:
                settings["target"] = saved.get("target")
            return recorded
    return None


@contextlib.contextmanager
def call(
    model,
    dataset,
    settings: dict,
    *,
    out,
    resume: bool,
    validation_data=None,
    test_data=None,
    fresh: bool = False,
):
    """`registered` for one `train` or `tune` call: finds the user's data among its
    arguments (`own_source`), registers it and the model, and adds what is recorded to
    `settings`.

    Yields:
        `(model_name, dataset_name)`.
    """
    source = own_source(dataset, settings, out=out, resume=resume)
    with registered(
        model,
        source if source is not None else dataset,
        target=settings.get("target"),
        validation_data=validation_data,
        test_data=test_data,
        fresh=fresh,
    ) as (model, dataset, recorded):
        settings |= recorded
        yield model, dataset
