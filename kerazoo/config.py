"""Run and search settings, each defined once: its default, its check, its flag and its help.

`RunConfig` (`kerazoo.train`, `kerazoo train`, `config.json`) and `SearchConfig`
(`kerazoo.tune`, `kerazoo tune`, `search.json`) are dataclasses whose fields carry an
`Option` in their metadata. From that one table come:

- the checks (`config.check()`), run before TensorFlow loads or anything is written;
- the command line (`add_arguments(parser, RunConfig)`, `settings_from_args(RunConfig, args)`);
- the Python signatures and docs (`signature_with` / `args_doc`);
- what a resumed run or search may not change (`check_unchanged`).

This module imports only the standard library, so the CLI can check a command in
milliseconds.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import math
from collections.abc import Callable
from typing import Any

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")
LR_SCHEDULES = ("constant", "cosine", "step", "plateau")
# One machine (training and search); training also spreads over several machines, a search
# does that with KerasTuner's own chief/worker mode (`kerazoo tune --distributed`).
STRATEGIES = ("auto", "default", "mirrored", "onedevice")
TRAIN_STRATEGIES = (*STRATEGIES, "multiworker")
TUNERS = ("random", "hyperband", "bayesian", "grid")
# Keras dtype policies a run may train under; "auto" is resolved where the model is built
# (`kerazoo.training.steps.resolve_precision`).
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
DEFAULT_EPOCHS = 10
# Upper bounds that catch typos (10**26 epochs) before any work starts, far above real use.
MAX_EPOCHS = 100_000
MAX_BATCH = 1 << 20
MAX_SEED = 2**32 - 1  # NumPy and TensorFlow seeds are 32-bit


# ---------------------------------------------------------------------------------------------
# Checks: each takes (value, name) and returns the value or raises ValueError "Received: ...".


def _received(name: str, value) -> str:
    return f"Received: {name}={value!r}"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_in(low: int, high: int | None = None, *, optional: bool = False) -> Callable:
    """A check for an integer in [low, high] (None allowed when `optional`)."""

    def check(value, name):
        if value is None and optional:
            return value
        if not _is_int(value) or value < low or (high is not None and value > high):
            span = f">= {low}" if high is None else f"from {low} to {high:,}"
            kind = "a positive integer" if low == 1 else f"an integer {span}"
            if low == 1 and high is not None:
                kind += f" (at most {high:,})"
            raise ValueError(f"{name} must be {kind}. {_received(name, value)}")
        return value

    return check


def one_of(choices: tuple, *, optional: bool = False) -> Callable:
    def check(value, name):
        if value is None and optional:
            return value
        if value not in choices:
            raise ValueError(
                f"{name} must be one of {', '.join(choices)}. {_received(name, value)}"
            )
        return value

    return check


def fraction(value, name):
    """A number strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValueError(
            f"{name} must be a fraction strictly between 0 and 1, e.g. 0.1. "
            f"{_received(name, value)}"
        )
    return value


def learning_rate(value, name):
    """None (the model's own) or a finite number > 0.

    No upper bound: a rate that makes training diverge is a lesson (and the NaN guard's
    case), not bad input.
    """
    if value is None:
        return value
    if not (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    ):
        raise ValueError(
            f"{name} must be a finite number > 0, e.g. 0.001. {_received(name, value)}"
        )
    return value


def boolean(value, name):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False. {_received(name, value)}")
    return value


def mapping(value, name):
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(
            f"{name} must be a dict of argument names to values. {_received(name, value)}"
        )
    return value


def optional_text(value, name):
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a string. {_received(name, value)}")
    return value


# ---------------------------------------------------------------------------------------------
# Command-line values


def literal(raw: str):
    """A Python literal where the text parses as one (numbers, tuples, True/None), else text."""
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw


def parse_pairs(pairs: list[str] | None, *, flag: str, many: bool = False) -> dict:
    """`["dropout=0.3"]` (`--set`, `--fix`) or `["units_1=32,64"]` (`--space`) -> a dict.

    Values are read as Python literals where they parse, else kept as text; with `many`,
    a value is a comma-separated list.

    Raises:
        ValueError: for an item that is not `key=value`.
    """
    out = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.isidentifier() or (many and not raw):
            raise ValueError(
                f"{flag} takes key=value{',value...' if many else ''}. Received: {flag} {pair!r}"
            )
        out[key] = [literal(v) for v in raw.split(",")] if many else literal(raw)
    return out


@dataclasses.dataclass(frozen=True)
class Option:
    """What the settings table says about one field.

    Attributes:
        help: one line, used by `--help` and by the Python docstrings.
        check: `check(value, name)`: returns the value or raises ValueError.
        flag: the command-line flag, or None when the field has none.
        parse: turns the flag's text (a list for repeatable flags) into the value.
        repeat: the flag may be given several times (`--set a=1 --set b=2`).
        negate: a `--no-...` flag that stores False.
        switch: a flag without a value that stores True (`--download`).
        choices: the values the flag accepts (shown by `--help`).
        compared: a resumed run or search refuses a different explicit value.
    """

    help: str
    check: Callable[[Any, str], Any]
    flag: str | None = None
    parse: Callable[[Any], Any] | None = None
    repeat: bool = False
    negate: bool = False
    switch: bool = False
    choices: tuple | None = None
    compared: bool = True


def setting(default=dataclasses.MISSING, *, factory=None, **option) -> Any:
    """A dataclass field with its `Option` in the metadata."""
    meta = {"option": Option(**option)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def options(config_class) -> dict[str, Option]:
    """Field name -> `Option`, in declaration order."""
    return {
        f.name: f.metadata["option"]
        for f in dataclasses.fields(config_class)
        if "option" in f.metadata
    }


class Settings:
    """Behaviour shared by the settings dataclasses."""

    model: str
    dataset: str | None

    @classmethod
    def from_json(cls, data: dict):
        """Reads a saved `config.json` / `search.json`; keys of other versions are dropped."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def check(self) -> None:
        """Runs every field's check (cross-field checks belong to the caller's plan step)."""
        for name, option in options(type(self)).items():
            setattr(self, name, option.check(getattr(self, name), name))

    def given(self) -> dict:
        """Fields that differ from the defaults (what the user set explicitly)."""
        defaults = type(self)(model=self.model)
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(defaults, f.name)
        }


# For backward compatibility: `kerazoo.training.run.SavedConfig` was the shared base.
SavedConfig = Settings


# Fields shared by runs and searches (a function each: a dataclass field belongs to one class).


def _dataset_field():
    return setting(
        None,
        check=optional_text,
        flag="--dataset",
        help="dataset the model fits (default: the model's first; see `kerazoo info NAME`)",
    )


def _data_field():
    return setting(
        None,
        check=optional_text,
        flag="--data",
        help="your own data instead of --dataset: a folder of images by class, a CSV file "
        "(with --target), a folder of texts by class or a label<TAB>text file",
    )


def _target_field():
    return setting(
        None,
        check=optional_text,
        flag="--target",
        help="with --data CSV: the column holding the labels",
    )


def _batch_size_field():
    return setting(
        None,
        check=int_in(1, MAX_BATCH, optional=True),
        flag="--batch-size",
        parse=int,
        help="global batch size (default 128 for 20,000+ training examples, else 32)",
    )


def _validation_split_field():
    return setting(0.1, check=fraction, help="share of the training part held out for validation")


def _max_examples_field():
    return setting(
        None,
        check=int_in(1, optional=True),
        flag="--max-examples",
        parse=int,
        help="keep at most this many examples per split (quick runs)",
    )


def _epochs_field(default: int, help: str):
    return setting(default, check=int_in(1, MAX_EPOCHS), flag="--epochs", parse=int, help=help)


def _seed_field(help: str):
    return setting(0, check=int_in(0, MAX_SEED), flag="--seed", parse=int, help=help)


def _download_field():
    return setting(
        False,
        check=boolean,
        flag="--download",
        switch=True,
        help="fetch a dataset missing here (cifar10, imdb, full mnist) with "
        "tensorflow-datasets; needs the network once, later runs read the copy offline",
    )


def _precision_field():
    # float32 by default: bench/README.md ("Precision") measured mixed_bfloat16 at 0.76x to
    # 1.53x float32's samples/s per pair for mnist_cnn on this project's bf16 CPU (medians
    # 0.93x-1.30x): no settled gain.
    return setting(
        "float32",
        check=one_of(PRECISIONS),
        flag="--precision",
        choices=PRECISIONS,
        help="Keras dtype policy of the model: float32 (default), mixed_bfloat16, "
        "mixed_float16 (16-bit compute, float32 weights and outputs), or auto "
        "(mixed_float16 on a GPU, mixed_bfloat16 on a CPU with bf16 instructions, else "
        "float32); metrics.json records the one used",
    )


def _pairs_field(flag: str, help: str, *, many: bool = False):
    """A dict given on the command line as repeatable `KEY=VALUE` flags."""
    return setting(
        factory=dict,
        check=mapping,
        flag=flag,
        repeat=True,
        parse=lambda pairs: parse_pairs(pairs, flag=flag, many=many),
        help=help,
    )


@dataclasses.dataclass
class RunConfig(Settings):
    """Everything needed to repeat a run; written to `config.json`.

    `batch_size` is the global batch (split across replicas); None picks 128 for training
    sets of 20,000 examples or more and 32 below. `optimizer` and `learning_rate` None keep
    the model's own choice.
    """

    model: str
    dataset: str | None = _dataset_field()
    data: str | None = _data_field()
    target: str | None = _target_field()
    epochs: int = _epochs_field(
        DEFAULT_EPOCHS,
        f"epochs to train (default {DEFAULT_EPOCHS}; fewer if early stopping ends the run)",
    )
    batch_size: int | None = _batch_size_field()
    optimizer: str | None = setting(
        None,
        check=one_of(OPTIMIZERS, optional=True),
        flag="--optimizer",
        choices=OPTIMIZERS,
        help="optimizer (default: the model's own)",
    )
    learning_rate: float | None = setting(
        None,
        check=learning_rate,
        flag="--lr",
        parse=float,
        help="initial learning rate (default: the model's own)",
    )
    lr_schedule: str = setting(
        "constant",
        check=one_of(LR_SCHEDULES),
        flag="--lr-schedule",
        choices=LR_SCHEDULES,
        help="learning-rate schedule: constant, cosine, step (x0.1 at 50%% and 75%%) or "
        "plateau (halve after 2 flat epochs)",
    )
    strategy: str = setting(
        "auto",
        check=one_of(TRAIN_STRATEGIES),
        flag="--strategy",
        choices=TRAIN_STRATEGIES,
        help="tf.distribute strategy; multiworker: every worker in TF_CONFIG runs this command",
    )
    precision: str = _precision_field()
    seed: int = _seed_field("seed of the weights, the validation carve and the shuffle order")
    validation_split: float = _validation_split_field()
    max_examples: int | None = _max_examples_field()
    download: bool = _download_field()
    early_stopping: bool = setting(
        True,
        check=boolean,
        flag="--no-early-stopping",
        negate=True,
        help="stop after `patience` epochs without a better validation loss "
        "(--no-early-stopping runs every epoch)",
    )
    patience: int = setting(
        5,
        check=int_in(0, MAX_EPOCHS),
        flag="--patience",
        parse=int,
        help="early-stopping patience in epochs (default 5)",
    )
    overrides: dict = _pairs_field(
        "--set", "model arguments, e.g. {'dropout': 0.3} (--set KEY=VALUE, repeatable)"
    )
    data_options: dict = setting(
        factory=dict,
        check=mapping,
        help="more `kerazoo.data.load` arguments (vocab_size, sequence_length, window, "
        "horizon, fashion_mnist_dir, tfds_data_dir, ...)",
    )
    refit: bool = setting(
        False,
        check=boolean,
        help="train on train+validation for exactly `epochs` epochs and keep the last one "
        "(no validation data is left to stop on or to pick an epoch by): how a search's best "
        "configuration is retrained before it is tested once",
    )


@dataclasses.dataclass
class SearchConfig(Settings):
    """A search's settings; written to `search.json` and compared on resume."""

    model: str
    dataset: str | None = _dataset_field()
    data: str | None = _data_field()
    target: str | None = _target_field()
    tuner: str = setting(
        "random", check=one_of(TUNERS), flag="--tuner", choices=TUNERS, help="the KerasTuner tuner"
    )
    max_trials: int = setting(
        10,
        check=int_in(1, 100_000),
        flag="--max-trials",
        parse=int,
        help="trials, failed ones included (default 10)",
    )
    epochs: int = _epochs_field(5, "epochs per trial, Hyperband's max (default 5)")
    objective: str | None = setting(
        None,
        check=optional_text,
        flag="--objective",
        help="what ranks trials: val_accuracy (classifiers' default), val_loss, ...",
    )
    seed: int = _seed_field("seed of the tuner, the weights and the validation carve")
    fix: dict = _pairs_field("--fix", "fix a hyperparameter, e.g. lr=0.001 (repeatable)")
    space: dict = _pairs_field(
        "--space",
        "narrow a hyperparameter to these values, e.g. units_1=32,64 (repeatable)",
        many=True,
    )
    max_examples: int | None = _max_examples_field()
    download: bool = _download_field()
    batch_size: int | None = _batch_size_field()
    validation_split: float = _validation_split_field()
    max_retries: int = setting(
        1,
        check=int_in(0, 1000),
        flag="--max-retries",
        parse=int,
        compared=False,
        help="reruns of a trial interrupted by the process dying (default 1)",
    )
    max_failures: int = setting(
        3,
        check=int_in(1, 100_000),
        flag="--max-failures",
        parse=int,
        compared=False,
        help="failed trials in a row after which the search stops (default 3)",
    )
    strategy: str = setting(
        "auto",
        check=one_of(STRATEGIES),
        flag="--strategy",
        choices=STRATEGIES,
        compared=False,
        help="tf.distribute strategy of each trial",
    )
    precision: str = _precision_field()


# ---------------------------------------------------------------------------------------------
# Resume


def check_unchanged(saved: Settings, given: Settings, *, noun: str = "run") -> None:
    """A resumed run (or search) keeps its settings: an explicitly different value is refused.

    A field counts as given when it differs from the default (the model always counts; the
    dataset when one was named). Fields whose option says `compared=False` may change.

    Raises:
        ValueError: naming the field, the saved value and the received one.
    """
    table = options(type(given))
    explicit = given.given() | {"model": given.model}
    for name, value in explicit.items():
        option = table.get(name)
        if option is not None and not option.compared:
            continue
        old = getattr(saved, name)
        if _jsonable(value) != _jsonable(old):
            raise ValueError(
                f"--resume continues the {noun} saved with {name}={old!r}; drop the "
                f"option, or start a new {noun} folder (or --overwrite). "
                f"Received: {name}={value!r}"
            )


def _jsonable(value):
    return json.loads(json.dumps(value))


# ---------------------------------------------------------------------------------------------
# Command line and Python signatures from the table


def add_arguments(parser, config_class, *, skip: tuple[str, ...] = ()) -> None:
    """Adds one flag per field of `config_class` that has one (defaults stay None/unset, so
    only what the user typed reaches the config and the dataclass keeps the defaults)."""
    for name, option in options(config_class).items():
        if option.flag is None or name in skip:
            continue
        kwargs: dict[str, Any] = {"dest": name, "help": option.help}
        if option.negate:
            kwargs.update(action="store_false", default=None)
        elif option.switch:
            kwargs.update(action="store_true", default=None)
        elif option.repeat:
            kwargs.update(action="append", metavar="KEY=VALUE")
        else:
            if option.choices:
                kwargs["choices"] = option.choices
            else:  # `--lr LR`, not `--lr LEARNING_RATE`
                kwargs["metavar"] = option.flag.lstrip("-").upper().replace("-", "_")
            if option.parse is not None:
                kwargs["type"] = option.parse
        parser.add_argument(option.flag, **kwargs)


def settings_from_args(config_class, args) -> dict:
    """The fields the user gave on the command line, parsed (repeatable flags included)."""
    out = {}
    for name, option in options(config_class).items():
        value = getattr(args, name, None)
        if option.flag is None or value is None:
            continue
        out[name] = option.parse(value) if option.repeat else value
    return out


def signature_with(fn: Callable, config_class, *, after: str) -> inspect.Signature:
    """`fn`'s signature with `config_class`'s fields inserted as keyword arguments after the
    parameter `after` (for `help()` and IDEs; `fn` takes them as `**settings`)."""
    params = [p for p in inspect.signature(fn).parameters.values() if p.kind is not p.VAR_KEYWORD]
    at = next(i for i, p in enumerate(params) if p.name == after) + 1
    taken = {p.name for p in params}
    fields = []
    for f in dataclasses.fields(config_class):
        if f.name in taken or f.name == "model":
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        fields.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default))
    return inspect.signature(fn).replace(parameters=params[:at] + fields + params[at:])


def args_doc(config_class, *, indent: int = 8, skip: tuple[str, ...] = ()) -> str:
    """The `Args:` lines of `config_class`'s fields, from their help texts."""
    pad = " " * indent
    return "\n".join(
        f"{pad}{name}: {option.help.replace('%%', '%')}."
        for name, option in options(config_class).items()
        if name not in skip
    )


def make(config_class, model: str, settings: dict):
    """`config_class(model=model, **settings)`, refusing unknown names with a ValueError."""
    known = set(options(config_class))
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(
            f"{unknown[0]!r} is not a setting; accepted: {', '.join(sorted(known))}. "
            f"Received: {unknown[0]}={settings[unknown[0]]!r}"
        )
    config = config_class(model=model, **settings)
    config.check()
    return config
