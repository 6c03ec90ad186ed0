"""The model registry: `register_model`, `create_model`, `list_models`, `model_info`.

This module never imports Keras or TensorFlow. The zoo's own models are described by
`kerazoo/catalog.json`, a cache generated from the live registry by
`python -m kerazoo.catalog` (a test fails when it is stale), so listing and describing
models costs milliseconds. Building a model imports `kerazoo.models`, which imports Keras.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import functools
import importlib
import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

TASKS = ("classification", "regression", "reconstruction", "generation")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
CATALOG_PATH = Path(__file__).with_name("catalog.json")

# name -> ModelSpec, filled by @register_model when a models module is imported.
_REGISTRY: dict[str, ModelSpec] = {}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What `@register_model` records about one registered name."""

    name: str
    fn: Callable[..., Any]
    family: str
    task: str
    description: str
    reference: str
    datasets: tuple[str, ...]
    tiny: dict


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """Everything the zoo knows about a registered model in its default configuration.

    Attributes:
        name: registered name.
        family: model family (`mlp`, `cnn`, `resnet`, `rnn`, `autoencoder`, `gan`,
            `transformer`, or a user-defined one).
        task: `classification`, `regression`, `reconstruction` or `generation`.
        description: one line saying what the model is.
        reference: the paper or classic source it follows.
        input_shape: default input shape, without the batch dimension.
        output_shape: output shape of the default model, without the batch dimension.
        num_classes: number of classes for classifiers, else None.
        params: total parameter count of the default model.
        datasets: dataset names the model fits, the first being its default.
    """

    name: str
    family: str
    task: str
    description: str
    reference: str
    input_shape: tuple
    output_shape: tuple
    num_classes: int | None
    params: int
    datasets: tuple[str, ...]

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def register_model(
    fn: Callable | None = None,
    *,
    family: str,
    task: str,
    description: str,
    reference: str = "",
    datasets: tuple[str, ...] | list[str] = (),
    tiny: dict | None = None,
    name: str | None = None,
):
    """Decorator that adds a model factory to the zoo under its function name.

    Args:
        fn: the factory; it takes keyword-only arguments and returns a `keras.Model`.
        family: the family the model belongs to (snake_case).
        task: one of `classification`, `regression`, `reconstruction`, `generation`.
        description: one line saying what the model is.
        reference: the paper or classic source the model follows.
        datasets: dataset names the model fits; the first is its default.
        tiny: overrides giving a small, fast configuration of the same architecture
            (the test suite builds and trains every model with them).
        name: registered name; defaults to the function's name.

    Returns:
        The factory, unchanged.

    Raises:
        ValueError: if the name is not lowercase snake_case, is already registered,
            or the family or task is invalid.

    Example:

    ```python
    @register_model(family="mlp", task="classification", description="My MLP.")
    def my_mlp(**kwargs):
        return kerazoo.models.mlp.mlp(hidden_units=(32,), **kwargs)
    ```
    """

    def decorator(f: Callable) -> Callable:
        reg_name = name or f.__name__
        if not _NAME_RE.match(reg_name):
            raise ValueError(
                "Model names must be lowercase snake_case (letters, digits, underscores). "
                f"Received: name={reg_name!r}"
            )
        if reg_name in _REGISTRY:
            raise ValueError(
                f"A model named {reg_name!r} is already registered "
                f"(by {_REGISTRY[reg_name].fn.__module__}). Choose another name. "
                f"Received: name={reg_name!r}"
            )
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}. Received: task={task!r}")
        if not _NAME_RE.match(family or ""):
            raise ValueError(f"family must be lowercase snake_case. Received: family={family!r}")
        _REGISTRY[reg_name] = ModelSpec(
            name=reg_name,
            fn=f,
            family=family,
            task=task,
            description=description,
            reference=reference,
            datasets=tuple(datasets),
            tiny=dict(tiny or {}),
        )
        return f

    return decorator(fn) if fn is not None else decorator


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@functools.lru_cache(maxsize=1)
def _catalog() -> dict[str, dict]:
    """The zoo's own models as recorded in catalog.json (no Keras import)."""
    if not CATALOG_PATH.exists():
        return {}
    entries = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))["models"]
    return {entry["name"]: entry for entry in entries}


def _load_builtin_models() -> None:
    # Importing the package registers every built-in family (and imports Keras).
    importlib.import_module("kerazoo.models")


def _all_names() -> set[str]:
    if not _catalog():
        # No catalogue yet (a fresh checkout before `python -m kerazoo.catalog`).
        _load_builtin_models()
    return set(_catalog()) | set(_REGISTRY)


def _family_of(name: str) -> str:
    if name in _REGISTRY:
        return _REGISTRY[name].family
    return _catalog()[name]["family"]


def list_models(pattern: str | None = None, family: str | None = None) -> list[str]:
    """Names of the registered models, sorted naturally (`resnet8` before `resnet20`).

    Args:
        pattern: shell wildcard such as `"resnet*"` or `"*_cnn"`; None lists all.
        family: keep only this family (`mlp`, `cnn`, `resnet`, `rnn`, `autoencoder`,
            `gan`, `transformer`).

    Returns:
        A list of model names.

    Raises:
        ValueError: if `family` names no known family.

    Example:

    >>> kerazoo.list_models("resnet*")
    ['resnet8', 'resnet14', 'resnet20', 'resnet32', 'resnet44', 'resnet56']
    """
    names = _all_names()
    if family is not None:
        families = sorted({_family_of(n) for n in names})
        if family not in families:
            raise ValueError(f"Unknown family. Received: family={family!r}. Known: {families}")
        names = {n for n in names if _family_of(n) == family}
    if pattern:
        names = {n for n in names if fnmatch.fnmatchcase(n, pattern)}
    return sorted(names, key=_natural_key)


def _unknown_name_error(name: str) -> ValueError:
    names = sorted(_all_names(), key=_natural_key)
    close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return ValueError(
        f"Unknown model name.{hint} Received: name={name!r}. "
        "Run `kerazoo list` (or kerazoo.list_models()) to see every model."
    )


def get_spec(name: str) -> ModelSpec:
    """The live `ModelSpec` for `name`, importing the built-in models if needed."""
    # Every built-in model is in the catalogue, so an unknown name is reported without
    # importing Keras (the catalogue is only missing in a fresh checkout).
    if name not in _REGISTRY and (name in _catalog() or not _catalog()):
        _load_builtin_models()
    if name not in _REGISTRY:
        raise _unknown_name_error(name)
    return _REGISTRY[name]


def create_model(name: str, /, **overrides):
    """Builds a registered model by name.

    Args:
        name: a registered name (see `list_models()`); positional, so that `name=` among
            the overrides names the built Keras model.
        **overrides: keyword arguments passed on to the model's factory, for example
            `num_classes=5`, `dropout=0.3`, `compile=False`, `name="my_model"`.

    Returns:
        A `keras.Model`, compiled unless `compile=False` was given.

    Raises:
        ValueError: for an unknown name (listing close matches), an argument the factory
            does not take, or an invalid argument value.

    Example:

    ```python
    model = kerazoo.create_model("resnet20", input_shape=(28, 28, 1), num_classes=10)
    ```
    """
    spec = get_spec(name)
    params = inspect.signature(spec.fn).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if not takes_any:
        unknown = sorted(set(overrides) - set(params))
        if unknown:
            arg = unknown[0]
            raise ValueError(
                f"{name} does not take the argument {arg!r}. Received: {arg}={overrides[arg]!r}. "
                f"Accepted: {', '.join(sorted(params))}"
            )
    try:
        return spec.fn(**overrides)
    except TypeError as err:
        # Registered entries pass **kwargs on to their family factory, so an unknown
        # argument surfaces there as a TypeError; report it in the zoo's terms.
        match = re.search(r"unexpected keyword argument '(\w+)'", str(err))
        if not match or match.group(1) not in overrides:
            raise
        arg = match.group(1)
        raise ValueError(
            f"{name} does not take the argument {arg!r}. Received: {arg}={overrides[arg]!r}. "
            f"See help(kerazoo.{name}) for the arguments it takes."
        ) from None


def describe_built_model(spec: ModelSpec, model) -> dict:
    """The catalogue entry for `spec`, read off its built default `model`."""

    def shape(s):
        # Keras gives a tuple (or a list of tuples for several inputs/outputs).
        if isinstance(s, list):
            return [list(x[1:]) for x in s]
        return list(s[1:])

    output_shape = shape(model.output_shape)
    num_classes = None
    if spec.task == "classification" and isinstance(output_shape, list) and output_shape:
        last = output_shape[-1]
        num_classes = 2 if last == 1 else last
    return {
        "name": spec.name,
        "family": spec.family,
        "task": spec.task,
        "description": spec.description,
        "reference": spec.reference,
        "input_shape": shape(model.input_shape),
        "output_shape": output_shape,
        "num_classes": num_classes,
        "params": int(model.count_params()),
        "datasets": list(spec.datasets),
    }


def _info_from_entry(entry: dict) -> ModelInfo:
    def to_tuple(x):
        return tuple(to_tuple(i) for i in x) if isinstance(x, list) else x

    return ModelInfo(
        name=entry["name"],
        family=entry["family"],
        task=entry["task"],
        description=entry["description"],
        reference=entry["reference"],
        input_shape=to_tuple(entry["input_shape"]),
        output_shape=to_tuple(entry["output_shape"]),
        num_classes=entry["num_classes"],
        params=entry["params"],
        datasets=tuple(entry["datasets"]),
    )


def catalog_entry(name: str) -> dict | None:
    """The catalogue entry of a built-in model (including its summary), or None."""
    return _catalog().get(name)


def model_info(name: str) -> ModelInfo:
    """Describes a registered model: family, task, shapes, classes, parameters, reference.

    Built-in models are described from the catalogue without importing Keras; a model
    registered by user code is built once (uncompiled) to count its parameters.

    Args:
        name: a registered name.

    Returns:
        A `ModelInfo`.

    Raises:
        ValueError: for an unknown name, listing close matches.

    Example:

    >>> kerazoo.model_info("resnet20").params
    271098
    """
    entry = _catalog().get(name)
    spec = _REGISTRY.get(name)
    if entry is not None and (spec is None or spec.fn.__module__.startswith("kerazoo.")):
        return _info_from_entry(entry)
    spec = get_spec(name)  # a user's model (or an unknown name: close matches)
    return _info_from_entry(describe_built_model(spec, spec.fn(compile=False)))
