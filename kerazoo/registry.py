"""The model registry: `register_model`, `create_model`, `list_models`, `model_info`.

Each registration records the model's facts as data on a `ModelSpec`: its builder
(`base`) and the arguments it passes to it (`preset`), its task, the inputs a dataset
decides, its metrics, datasets and tiny configuration. The tuner, the catalogue, the
gallery and the tests read the spec instead of keeping copies.

This module never imports Keras, TensorFlow or a model module. The zoo's own models are
described by `kerazoo/catalog.json` (shipped in the wheel), generated from the live registry
by `make catalog` (a test fails when it is stale), so listing and describing models costs
milliseconds. Building a model imports the built-in model modules, which the top-level
package names (`add_builtin_modules`), and with them Keras.
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
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

TASKS = ("classification", "regression", "reconstruction", "generation")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
CATALOG_PATH = Path(__file__).with_name("catalog.json")

# What a model takes from its dataset when its registration does not say (a user's model):
# the usual factory arguments of each task. The zoo's own models all declare `inputs`.
DEFAULT_INPUTS = {
    "classification": ("input_shape", "num_classes"),
    "regression": ("input_shape",),
    "reconstruction": ("input_shape",),
    "generation": ("image_shape",),
}
# Every factory argument a dataset can decide (see `ModelSpec.inputs`).
DATASET_INPUTS = (
    "input_shape",
    "image_shape",
    "num_classes",
    "vocab_size",
    "sequence_length",
    "horizon",
)

# name -> ModelSpec, filled by `register_model` when a models module is imported.
_REGISTRY: dict[str, ModelSpec] = {}
# Modules whose import registers the zoo's own models. The registry never names them: the
# top-level package supplies them (`add_builtin_modules`), so the registry imports no model
# module and the models import the registry without a cycle.
_BUILTIN_MODULES: list[str] = []


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What `register_model` records about one registered name: the model's facts as data.

    Attributes:
        name: the registered name.
        fn: the entry function (`kerazoo.<name>`), returning a `keras.Model`.
        family: the family the model belongs to.
        task: `classification`, `regression`, `reconstruction` or `generation`.
        description: one line saying what the model is.
        reference: the paper or classic source it follows.
        datasets: dataset names the model fits; the first is its default.
        tiny: overrides giving a small, fast configuration of the same architecture.
        base: the builder the entry calls (`kerazoo.models.cnn.cnn` for `mnist_cnn`; the
            entry itself for a registered builder), or None for a `(**kwargs)` function
            whose arguments cannot be read.
        preset: the arguments the entry passes to `base` (e.g. mnist_cnn's filters,
            batchnorm, dense_units, dropout and name); `{}` for a registered builder.
        fixed: preset arguments a caller cannot change (resnet20's `depth`).
        inputs: the factory arguments a dataset decides, e.g. `("input_shape",
            "num_classes")`, `("vocab_size", "sequence_length", "num_classes")`.
        metrics: the metric names, besides the loss, the compiled model reports.
        recipe: training settings `kerazoo.train(name)` uses where the caller gives none
            (e.g. fashion_cnn's `{"epochs": 6, "lr_schedule": "cosine"}`); `{}` for the
            run defaults.
    """

    name: str
    fn: Callable[..., Any]
    family: str
    task: str
    description: str
    reference: str
    datasets: tuple[str, ...]
    tiny: dict
    base: Callable[..., Any] | None = None
    preset: dict = dataclasses.field(default_factory=dict)
    fixed: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    recipe: dict = dataclasses.field(default_factory=dict)

    @property
    def builtin(self) -> bool:
        """True for the zoo's own models (registered by a `kerazoo.` module)."""
        return self.fn.__module__.startswith("kerazoo.")

    def arguments(self) -> dict:
        """The entry's keyword arguments and their default values (the preset's values for
        a preset, fixed ones included); `{}` when the entry takes only `**kwargs`."""
        if self.base is None:
            return {}
        params = inspect.signature(self.fn).parameters.values()
        defaults = {
            p.name: p.default
            for p in params
            if p.default is not inspect.Parameter.empty and p.name != "weights"
        }
        return defaults | {arg: self.preset[arg] for arg in self.fixed}


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
        inputs: the factory arguments a dataset decides (see `ModelSpec.inputs`).
        metrics: metric names, besides the loss, the compiled model reports.
        recipe: training settings a run of the model uses unless given (`ModelSpec.recipe`).
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
    inputs: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    recipe: dict = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def register_model(
    fn: Callable | None = None,
    *,
    family: str | None = None,
    task: str | None = None,
    description: str,
    reference: str = "",
    datasets: tuple[str, ...] | list[str] = (),
    tiny: dict | None = None,
    name: str | None = None,
    base: Callable | None = None,
    preset: dict | None = None,
    fixed: tuple[str, ...] | list[str] = (),
    inputs: tuple[str, ...] | list[str] | None = None,
    metrics: tuple[str, ...] | list[str] | None = None,
    recipe: dict | None = None,
):
    """Adds a model to the zoo: a builder function, or a preset of arguments for one.

    Two forms. As a decorator on a builder (keyword-only arguments, returns a
    `keras.Model`), registered under the function's name:

    ```python
    @register_model(family="cnn", task="classification", description="...")
    def cnn(*, input_shape=(28, 28, 1), num_classes=10, filters=(32, 64), ...): ...
    ```

    As a preset: a dict of arguments for an existing builder. It returns the generated
    entry function, whose signature is the builder's keyword arguments with the preset's
    values as defaults and whose docstring is the description plus the builder's Args:

    ```python
    mnist_cnn = register_model(
        name="mnist_cnn", base=cnn, preset={"filters": (32, 64), "batchnorm": True},
        family="cnn", task="classification", description="MNIST convnet preset.",
    )
    ```

    A preset's family, task, inputs and metrics default to those of its base when the
    base is itself registered. Only models with a readable base (a builder, or a preset)
    can be tuned: the tuner reads the base's arguments and the preset's values.

    Args:
        fn: the builder (decorator form); omit it with `base`.
        family: the family the model belongs to (snake_case).
        task: one of `classification`, `regression`, `reconstruction`, `generation`.
        description: one line saying what the model is.
        reference: the paper or classic source the model follows.
        datasets: dataset names the model fits; the first is its default.
        tiny: overrides giving a small, fast configuration of the same architecture
            (the test suite builds and trains every model with them).
        name: registered name; the function's name in the decorator form, required with
            `base`.
        base: the builder a preset passes its arguments to.
        preset: the arguments passed to `base`; a caller's arguments override them.
        fixed: preset arguments a caller may not override (resnet20's `depth`).
        inputs: the factory arguments a dataset decides (`input_shape`, `num_classes`,
            `vocab_size`, `sequence_length`, `horizon`, `image_shape`); by default the
            base's, else the task's usual ones (`DEFAULT_INPUTS`).
        metrics: metric names, besides the loss, the compiled model reports (offered as
            tuning objectives); by default the base's, else none.
        recipe: training settings a run of this model uses unless the caller gives them:
            any of `RECIPE_SETTINGS` (`epochs`, `batch_size`, `optimizer`,
            `learning_rate`, `lr_schedule`, `patience`), e.g. `{"epochs": 6,
            "lr_schedule": "cosine"}`. Checked as the run's settings are.

    Returns:
        The entry function: in the decorator form the builder itself, wrapped so that an
        argument it does not take is the same ValueError as in `create_model` (a
        `(**kwargs)` function is returned unchanged); in the preset form the generated one.

    Raises:
        ValueError: if the name is not lowercase snake_case or is already registered, the
            family or task is invalid, or the preset names an argument the base lacks.

    Example:

    ```python
    from kerazoo.models.cnn import cnn

    my_cnn = kerazoo.register_model(
        name="my_cnn", base=cnn, preset={"filters": (16, 32), "name": "my_cnn"},
        description="A narrower convnet.", datasets=("mnist_sample",),
    )
    ```
    """
    module = sys._getframe(1).f_globals.get("__name__", "__main__")
    facts = {
        "family": family,
        "task": task,
        "description": description,
        "reference": reference,
        "datasets": tuple(datasets),
        "tiny": dict(tiny or {}),
        "inputs": inputs,
        "metrics": metrics,
        "recipe": _check_recipe(recipe),
    }
    if base is not None:
        if fn is not None:
            raise ValueError(
                "Give either a builder to decorate or base= and preset=, not both. "
                f"Received: fn={getattr(fn, '__name__', fn)!r}"
            )
        if name is None:
            raise ValueError("A preset needs a name. Received: name=None")
        entry = _preset_entry(name, base, dict(preset or {}), tuple(fixed), module, description)
        _add(name, entry, base=base, preset=dict(preset or {}), fixed=tuple(fixed), **facts)
        return entry
    if preset or fixed:
        raise ValueError(f"preset and fixed need base=. Received: preset={preset!r}")

    def decorator(f: Callable) -> Callable:
        reg_name = name or f.__name__
        signature = _with_weights_parameter(inspect.signature(f))
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()):
            # A `(**kwargs)` function: its arguments cannot be read (nor tuned).
            _add(reg_name, f, base=None, preset={}, fixed=(), **facts)
            return f

        # A user's builder may take a `weights` argument of its own: it gets it.
        own_weights = "weights" in inspect.signature(f).parameters

        @functools.wraps(f)
        def entry(**overrides):
            weights = None if own_weights else overrides.pop("weights", None)
            # The same ValueError as create_model for an argument the builder lacks.
            _check_overrides(reg_name, signature, overrides, fixed={})
            if weights is not None:
                return _pretrained(reg_name, weights, f, overrides)
            return f(**overrides)

        entry.__signature__ = signature
        if own_weights:
            entry._own_weights = True  # create_model passes weights= on to the builder
        else:
            entry.__doc__ = _with_weights_doc(f.__doc__)
        _add(reg_name, entry, base=entry, preset={}, fixed=(), **facts)
        return entry

    return decorator(fn) if fn is not None else decorator


# The run settings a model's recipe may set (kerazoo.config.RunConfig fields): how long and
# how it trains, never what data or where the run goes.
RECIPE_SETTINGS = ("epochs", "batch_size", "optimizer", "learning_rate", "lr_schedule", "patience")


def _check_recipe(recipe) -> dict:
    if recipe is None:
        return {}
    if not isinstance(recipe, dict):
        raise ValueError(f"recipe must be a dict of run settings. Received: recipe={recipe!r}")
    unknown = sorted(set(recipe) - set(RECIPE_SETTINGS))
    if unknown:
        raise ValueError(
            f"recipe settings must be among {RECIPE_SETTINGS}. Received: "
            f"recipe={{{unknown[0]!r}: {recipe[unknown[0]]!r}}}"
        )
    return dict(recipe)


def _add(name: str, entry: Callable, *, family, task, inputs, metrics, **facts) -> None:
    """Validates a registration and records its `ModelSpec`."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            "Model names must be lowercase snake_case (letters, digits, underscores). "
            f"Received: name={name!r}"
        )
    if name in _REGISTRY:
        raise ValueError(
            f"A model named {name!r} is already registered "
            f"(by {_REGISTRY[name].fn.__module__}). Choose another name. Received: name={name!r}"
        )
    parent = next((s for s in _REGISTRY.values() if s.fn is facts["base"]), None)
    if parent is not None and parent.name != name:
        family = parent.family if family is None else family
        task = parent.task if task is None else task
        inputs = parent.inputs if inputs is None else inputs
        metrics = parent.metrics if metrics is None else metrics
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}. Received: task={task!r}")
    if not isinstance(family, str) or not _NAME_RE.match(family):
        raise ValueError(f"family must be lowercase snake_case. Received: family={family!r}")
    inputs = DEFAULT_INPUTS[task] if inputs is None else tuple(inputs)
    unknown = [arg for arg in inputs if arg not in DATASET_INPUTS]
    if unknown:
        raise ValueError(
            f"inputs must be among {DATASET_INPUTS}. Received: inputs={tuple(inputs)!r}"
        )
    _REGISTRY[name] = ModelSpec(
        name=name,
        fn=entry,
        family=family,
        task=task,
        inputs=inputs,
        metrics=tuple(metrics or ()),
        **facts,
    )


def unregister_model(name: str) -> None:
    """Removes a model registered by user code (tests and notebooks re-registering).

    Raises:
        ValueError: for a name that is not registered, or one of the zoo's own models.
    """
    spec = _REGISTRY.get(name)
    if spec is None or spec.builtin:
        raise ValueError(
            f"Only a model registered by user code can be unregistered. Received: name={name!r}"
        )
    del _REGISTRY[name]


# --- pretrained weights: the `weights=` argument of every entry ---------------------------

_WEIGHTS_DOC = [
    '    weights: name of pretrained weights shipped with kerazoo (`"mnist"`, ...; see',
    "        `kerazoo list --pretrained`), or None (default) for fresh weights. The model",
    "        is then built with the arguments the weights were trained with.",
]


def _with_weights_parameter(signature: inspect.Signature) -> inspect.Signature:
    """`signature` plus a keyword-only `weights=None` (before any `**kwargs`)."""
    params = list(signature.parameters.values())
    if "weights" in signature.parameters:
        return signature  # a builder with its own `weights` (the zoo's entries never have one)
    at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
    weights = inspect.Parameter(
        "weights", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | None"
    )
    return signature.replace(parameters=[*params[:at], weights, *params[at:]])


def _with_weights_doc(doc: str | None) -> str | None:
    """A builder's docstring with the `weights` argument at the end of its Args."""
    if not doc or "Args:" not in doc:
        return doc
    lines = inspect.cleandoc(doc).splitlines()
    start = lines.index("Args:")
    end = next((i for i in range(start + 1, len(lines)) if _SECTION_RE.match(lines[i])), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return "\n".join([*lines[:end], *_WEIGHTS_DOC, *lines[end:]]) + "\n"


def _pretrained(name: str, weights, builder: Callable, overrides: dict):
    """`builder` built with the preset's arguments and loaded with its checked weights."""
    from kerazoo import pretrained  # no Keras import: it reads the cards

    return pretrained.build(name, weights, builder, overrides)


# --- the entry function generated for a preset ---------------------------------------------

_SECTION_RE = re.compile(r"^(Args|Returns|Raises|Example|Examples):\s*$")


def _doc_sections(doc: str | None) -> dict[str, list[str]]:
    """A Keras-style docstring split into its summary ("") and its named sections."""
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in inspect.cleandoc(doc or "").splitlines():
        match = _SECTION_RE.match(line)
        if match:
            current = match.group(1)
            sections[current] = []
        else:
            sections[current].append(line)
    return {key: lines for key, lines in sections.items()}


def _without_args(lines: list[str], drop: set[str]) -> list[str]:
    """An Args section without the entries of the arguments in `drop`."""
    out, skipping = [], False
    for line in lines:
        entry = re.match(r"^    (\w+):", line)
        if entry:
            skipping = entry.group(1) in drop
        if not skipping:
            out.append(line)
    return out


def _preset_doc(name: str, base: Callable, preset: dict, fixed: tuple, description: str) -> str:
    sections = _doc_sections(base.__doc__)
    path = f"{base.__module__}.{base.__qualname__}"
    settings = ", ".join(f"{k}={v!r}" for k, v in preset.items() if k not in fixed)
    lines = [description, "", f"A preset of `{path}` with {settings or 'its defaults'}."]
    for arg in fixed:
        lines.append(
            f"Its `{arg}` is fixed at {preset[arg]!r}; call `{base.__name__}({arg}=...)` for "
            "another one."
        )
    lines += ["Every argument below can be overridden; the defaults are the preset's.", ""]
    for section in ("Args", "Returns", "Raises"):
        body = sections.get(section)
        if body is None:
            continue
        if section == "Args":
            body = _without_args(body, {*fixed, "weights"})  # a registered base's own
            while body and not body[-1].strip():
                body = body[:-1]
            body = [*body, *_WEIGHTS_DOC, ""]
        lines += [f"{section}:", *body]
        if lines[-1].strip():
            lines.append("")
    lines += [
        "Example:",
        "",
        "```python",
        f"model = kerazoo.{name}()   # the same as kerazoo.create_model({name!r})",
        "```",
    ]
    return "\n".join(lines) + "\n"


def _preset_entry(
    name: str, base: Callable, preset: dict, fixed: tuple, module: str, description: str
) -> Callable:
    """The entry function of a preset: `base(**(preset | overrides))` with a real
    signature (the base's keyword arguments, the preset's values as defaults) and doc."""
    # A base that is itself a registered entry takes `weights`: that one is the base's own.
    params = {k: p for k, p in inspect.signature(base).parameters.items() if k != "weights"}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = sorted(set(preset) - set(params))
    if unknown and not takes_any:
        raise ValueError(
            f"The preset of {name} sets {unknown[0]!r}, which {base.__name__} does not take. "
            f"Received: preset={preset!r}"
        )
    if set(fixed) - set(preset):
        raise ValueError(f"Every fixed argument needs a preset value. Received: fixed={fixed!r}")
    signature = inspect.Signature(
        [
            p.replace(default=preset.get(p.name, p.default))
            for p in params.values()
            if p.name not in fixed
        ],
        return_annotation=inspect.signature(base).return_annotation,
    )
    signature = _with_weights_parameter(signature)

    def build(**overrides):
        return base(**(preset | overrides))

    def entry(*, weights: str | None = None, **overrides):
        _check_overrides(name, signature, overrides, fixed={k: preset[k] for k in fixed}, base=base)
        if weights is not None:
            return _pretrained(name, weights, build, overrides)
        return build(**overrides)

    entry.__name__ = entry.__qualname__ = name
    entry.__module__ = module
    entry.__signature__ = signature
    entry.__doc__ = _preset_doc(name, base, preset, fixed, description)
    return entry


def _check_overrides(
    name: str, signature: inspect.Signature, overrides: dict, *, fixed: dict, base=None
) -> None:
    """One ValueError for an argument a model does not take or may not change."""
    for arg in overrides:
        if arg in fixed:
            raise ValueError(
                f"{name} has a fixed {arg}={fixed[arg]!r}; call {base.__name__}({arg}=...) for "
                f"another one. Received: {arg}={overrides[arg]!r}"
            )
    params = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = [arg for arg in overrides if arg not in params]
    if unknown:
        arg = unknown[0]
        close = difflib.get_close_matches(arg, list(params), n=1, cutoff=0.7)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"{name} does not take the argument {arg!r}.{hint} It takes: "
            f"{', '.join(params)} (see help(kerazoo.{name})). Received: {arg}={overrides[arg]!r}"
        )


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@functools.lru_cache(maxsize=1)
def _catalog() -> dict[str, dict]:
    """The zoo's own models as recorded in catalog.json (no Keras import)."""
    if not CATALOG_PATH.exists():
        return {}
    entries = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))["models"]
    return {entry["name"]: entry for entry in entries}


def add_builtin_modules(*modules: str) -> None:
    """Names modules whose import registers the zoo's own models (`kerazoo/__init__.py`
    names `kerazoo.models`); they are imported the first time a model is needed."""
    _BUILTIN_MODULES.extend(m for m in modules if m not in _BUILTIN_MODULES)


def _load_builtin_models() -> None:
    # Importing them registers every built-in family (and imports Keras).
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def _all_names() -> set[str]:
    if not _catalog():
        # No catalogue yet (a checkout before its first `make catalog`).
        _load_builtin_models()
    return set(_catalog()) | set(_REGISTRY)


def _family_of(name: str) -> str:
    if name in _REGISTRY:
        return _REGISTRY[name].family
    return _catalog()[name]["family"]


def list_models(
    pattern: str | None = None, family: str | None = None, *, pretrained: bool = False
) -> list[str]:
    """Names of the registered models, sorted naturally (`resnet8` before `resnet20`).

    Args:
        pattern: shell wildcard such as `"resnet*"` or `"*_cnn"`; None lists all.
        family: keep only this family (`mlp`, `cnn`, `resnet`, `rnn`, `autoencoder`,
            `gan`, `transformer`).
        pretrained: keep only the models with pretrained weights shipped in the package
            (`create_model(name, weights=...)`; `kerazoo list --pretrained` shows them).

    Returns:
        A list of model names.

    Raises:
        ValueError: if `family` names no known family.

    Example:

    >>> kerazoo.list_models("resnet*")
    ['resnet8', 'resnet14', 'resnet20', 'resnet32', 'resnet44', 'resnet56']
    """
    if not isinstance(pretrained, bool):
        raise ValueError(f"pretrained must be True or False. Received: pretrained={pretrained!r}")
    names = _all_names()
    if pretrained:
        from kerazoo.pretrained import pretrained_models

        names &= set(pretrained_models())
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


def create_model(name: str, /, *, weights: str | None = None, **overrides):
    """Builds a registered model by name, with fresh or pretrained weights.

    Args:
        name: a registered name (see `list_models()`); positional, so that `name=` among
            the overrides names the built Keras model.
        weights: name of pretrained weights shipped with kerazoo (`"mnist"`, ...; see
            `list_models(pretrained=True)` and `kerazoo list --pretrained`), or None for
            fresh weights. The model is built with the arguments the weights were trained
            with, and the file's SHA-256 is checked before it is loaded.
        **overrides: keyword arguments passed on to the model's factory, for example
            `num_classes=5`, `dropout=0.3`, `compile=False`, `name="my_model"`.

    Returns:
        A `keras.Model`, compiled unless `compile=False` was given.

    Raises:
        ValueError: for an unknown name (listing close matches), an argument the factory
            does not take, an invalid argument value, unknown weights (listing the model's),
            an override that changes the pretrained weights' shapes, or a weights file that
            fails its SHA-256 check.

    Example:

    ```python
    model = kerazoo.create_model("resnet20", input_shape=(28, 28, 1), num_classes=10)
    digits = kerazoo.create_model("mnist_cnn", weights="mnist")  # trained, ready to predict
    ```
    """
    spec = get_spec(name)
    fixed = {arg: spec.preset[arg] for arg in spec.fixed}
    _check_overrides(name, inspect.signature(spec.fn), overrides, fixed=fixed, base=spec.base)
    if weights is not None and getattr(spec.fn, "_own_weights", False):
        overrides["weights"] = weights  # a user's builder with a `weights` argument of its own
    elif weights is not None:
        # The entry (without weights) is the builder: a user's (**kwargs) entry too.
        return _pretrained(name, weights, spec.fn, overrides)
    try:
        return spec.fn(**overrides)
    except TypeError as err:
        # A user's `(**kwargs)` entry passes its arguments on to a factory, so an unknown
        # one surfaces there as a TypeError; report it in the zoo's terms.
        match = re.search(r"unexpected keyword argument '(\w+)'", str(err))
        if not match or match.group(1) not in overrides:
            raise
        arg = match.group(1)
        raise ValueError(
            f"{name} does not take the argument {arg!r} (see help(kerazoo.{name})). "
            f"Received: {arg}={overrides[arg]!r}"
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
        "inputs": list(spec.inputs),
        "metrics": list(spec.metrics),
        "recipe": dict(spec.recipe),
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
        inputs=tuple(entry.get("inputs", ())),
        metrics=tuple(entry.get("metrics", ())),
        recipe=dict(entry.get("recipe", {})),
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
    if entry is not None and (spec is None or spec.builtin):
        return _info_from_entry(entry)
    spec = get_spec(name)  # a user's model (or an unknown name: close matches)
    return _info_from_entry(describe_built_model(spec, spec.fn(compile=False)))
