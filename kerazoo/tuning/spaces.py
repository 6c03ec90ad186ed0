"""Search spaces: KerasTuner hyperparameters -> factory arguments of the zoo's own models.

One function per family, `<family>_space(hp, name) -> dict`, declares the family's
hyperparameters on a KerasTuner `HyperParameters` object and returns keyword arguments for
`kerazoo.create_model(name, ...)`: there is no second model definition. Everything comes
from the registry's spec of `name`: a hyperparameter is declared only when the spec's base
builder takes that argument (lenet5's builder takes no `filters`, so it gets no filter
search), and its default is the model's own value (the preset's, else the builder's), so
the default values build exactly the registered default model (tested by parameter count
for every tunable name). A model registered by user code tunes the same way, as long as
its registration names a base (`register_model(name=..., base=..., preset=...)`) or
decorates a builder with keyword arguments.

Tuple arguments (`hidden_units`, `filters`, `units`) are tuned as a depth (`layers`,
`blocks`) plus one width per layer (`units_1`, `units_2`, ...); a width exists only for
depths that use it (a KerasTuner conditional scope), so searches do not waste trials on
widths that change nothing.

Users narrow a space with `fix` (one value, `hp.Fixed`) and `space` (a list of values, a
`Choice`): `Constrained` applies both while the family function runs unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

from kerazoo import config, registry

OPTIMIZERS = config.OPTIMIZERS
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
DEFAULT_LEARNING_RATE = 1e-3  # Keras's default for Adam, the zoo's default optimizer
DROPOUTS = (0.0, 0.1, 0.2, 0.3, 0.5)
L2S = (0.0, 1e-5, 1e-4, 1e-3)
ACTIVATIONS = ("relu", "gelu", "elu", "tanh")
WIDTHS = (16, 32, 64, 128, 256, 512)
FILTERS = (8, 16, 32, 64, 128)
ALIASES = {"lr": "learning_rate"}

# Unsupported families, with the reason given to the user.
REFUSED = {
    "gan": (
        "the DCGAN cannot be tuned: KerasTuner ranks trials by one validation metric, and a "
        "GAN's generator and discriminator losses do not measure sample quality (they trade "
        "off against each other). Train it with `kerazoo train dcgan` and judge samples.png"
    ),
}


# ---------------------------------------------------------------------------------------------
# The registered models' defaults


def model_defaults(name: str) -> dict:
    """The tunable factory arguments of the registered model `name` and their default
    values: the preset's over the base builder's (arguments the preset fixes left out).

    Raises:
        ValueError: for a model registered without a readable base (see `check_tunable`).
    """
    spec = registry.get_spec(name)
    if spec.base is None:
        raise ValueError(
            f"{name} was registered as a (**kwargs) function, so the tuner cannot see its "
            "arguments. To tune it, register it as a preset of its family's builder, e.g. "
            f"register_model(name={name!r}, base=kerazoo.models.cnn.cnn, preset={{...}}, "
            "family=..., task=..., description=...), or decorate a builder that takes "
            f"keyword arguments. Received: model={name!r}"
        )
    arguments = spec.arguments()
    return {arg: value for arg, value in arguments.items() if arg not in spec.fixed}


# ---------------------------------------------------------------------------------------------
# Narrowing: `fix` and `space`


class Constrained:
    """A KerasTuner `HyperParameters` that applies the user's `fix` and `space` first.

    Family functions call `hp.Choice(...)`/`hp.Boolean(...)` as usual; a name in `fix`
    becomes `hp.Fixed(name, value)`, a name in `space` a `Choice` over the given values.

    Args:
        hp: the `keras_tuner.HyperParameters` of the trial.
        fix: hyperparameter name -> the one value to use.
        space: hyperparameter name -> the values to choose from.
    """

    def __init__(self, hp, fix: dict | None = None, space: dict | None = None):
        self.hp = hp
        self.fix = dict(fix or {})
        self.space = dict(space or {})
        self.names: list[str] = []  # every hyperparameter the family declared, in order

    def Choice(self, name: str, values: Iterable, default=None):  # noqa: N802 (Keras Tuner API)
        self.names.append(name)
        if name in self.fix:
            return self.hp.Fixed(name, self.fix[name])
        values = list(values)
        if default is not None and default not in values:
            values.append(default)
        if name in self.space:
            values = self.space[name]
            if len(values) == 1:
                return self.hp.Fixed(name, values[0])
            if default not in values:
                default = values[0]
        if all(isinstance(v, bool) for v in values):
            return self.hp.Boolean(name, default=bool(default))
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            if any(isinstance(v, float) for v in values):
                values, default = [float(v) for v in values], float(default)
            values = sorted(set(values))
        return self.hp.Choice(name, values, default=default)

    def Boolean(self, name: str, default: bool = False):  # noqa: N802 (Keras Tuner API)
        return self.Choice(name, [False, True], default=default)

    def domain(self, name: str, values: Iterable, default) -> list:
        """The values `name` can take after narrowing (for depths that gate widths)."""
        if name in self.fix:
            return [self.fix[name]]
        if name in self.space:
            return list(self.space[name])
        return sorted({*values, default})

    @contextlib.contextmanager
    def only_when(self, parent: str, parent_values: list, domain: list):
        """A KerasTuner conditional scope, skipped when every value of `domain` qualifies."""
        if set(parent_values) >= set(domain):
            yield
        else:
            with self.hp.conditional_scope(parent, parent_values):
                yield


def _choice_default(values: tuple, default) -> tuple:
    return values if default in values else (*values, default)


def _layers(hp: Constrained, depth_name: str, width_name: str, default: tuple, widths, most: int):
    """A tuple argument tuned as a depth plus one width per layer (conditional on depth)."""
    default = tuple(default)
    depths = hp.domain(depth_name, range(1, most + 1), len(default))
    depth = hp.Choice(depth_name, sorted(set(range(1, most + 1)) | {len(default)}), len(default))
    out = []
    for i in range(1, max(depths) + 1):
        width_default = default[i - 1] if i <= len(default) else default[-1]
        with hp.only_when(depth_name, [d for d in depths if d >= i], depths):
            width = hp.Choice(
                f"{width_name}_{i}", _choice_default(widths, width_default), width_default
            )
        if width is not None and i <= depth:
            out.append(width)
    return tuple(out)


def _training(hp: Constrained, d: dict) -> dict:
    """The optimizer and learning rate, for a builder that takes them."""
    out = {}
    if "optimizer" in d:
        out["optimizer"] = hp.Choice("optimizer", OPTIMIZERS, d["optimizer"])
    if "learning_rate" in d:
        default = d["learning_rate"] or DEFAULT_LEARNING_RATE
        out["learning_rate"] = hp.Choice("learning_rate", LEARNING_RATES, default)
    return out


def _choose(hp: Constrained, d: dict, out: dict, arg: str, values: tuple) -> None:
    """`out[arg]` becomes a Choice over `values`, when the builder takes `arg`."""
    if arg in d:
        out[arg] = hp.Choice(arg, values, d[arg])


def _boolean(hp: Constrained, d: dict, out: dict, arg: str) -> None:
    if arg in d:
        out[arg] = hp.Boolean(arg, d[arg])


def _one_width(hp: Constrained, d: dict, out: dict, arg: str, values: tuple) -> None:
    """A one-layer tuple argument (a head's width) tuned as one Choice named `arg`; left
    alone when the model's default has no layer or several."""
    if arg in d and len(d[arg]) == 1:
        (width,) = d[arg]
        out[arg] = (hp.Choice(arg, _choice_default(values, width), width),)


# ---------------------------------------------------------------------------------------------
# One space per family


def mlp_space(hp: Constrained, name: str) -> dict:
    """MLPs: depth and widths, activation, dropout, L2, batch norm, optimizer, learning rate."""
    d = model_defaults(name)
    out = {}
    if d.get("hidden_units"):
        out["hidden_units"] = _layers(hp, "layers", "units", d["hidden_units"], WIDTHS, 4)
    _choose(hp, d, out, "activation", ACTIVATIONS)
    _choose(hp, d, out, "dropout", DROPOUTS)
    _choose(hp, d, out, "l2", L2S)
    _boolean(hp, d, out, "batchnorm")
    return out | _training(hp, d)


def cnn_space(hp: Constrained, name: str) -> dict:
    """Convnets: blocks and filters, kernel size, dense width, activation, pooling, dropout,
    L2, batch norm (each where the builder has it: LeNet-5's layers are the paper's)."""
    d = model_defaults(name)
    out = {}
    if d.get("filters"):
        # Three 2x2 poolings still leave a 3x3 map of a 28x28 image.
        out["filters"] = _layers(hp, "blocks", "filters", d["filters"], FILTERS, 3)
    _choose(hp, d, out, "kernel_size", (3, 5))
    _one_width(hp, d, out, "dense_units", WIDTHS)
    _choose(hp, d, out, "activation", ACTIVATIONS)
    _choose(hp, d, out, "pool", ("avg", "max"))
    _choose(hp, d, out, "dropout", DROPOUTS)
    _choose(hp, d, out, "l2", L2S)
    _boolean(hp, d, out, "batchnorm")
    return out | _training(hp, d)


def resnet_space(hp: Constrained, name: str) -> dict:
    """ResNets (the depth is fixed by the name): width, activation, dropout, L2, training."""
    d = model_defaults(name)
    out = {}
    _choose(hp, d, out, "base_filters", (4, 8, 16, 32))
    _choose(hp, d, out, "activation", ACTIVATIONS)
    _choose(hp, d, out, "dropout", DROPOUTS)
    _choose(hp, d, out, "l2", L2S)
    return out | _training(hp, d)


def rnn_space(hp: Constrained, name: str) -> dict:
    """Recurrent models: cell (LSTM/GRU/SimpleRNN), bidirectional, embedding, depth and widths, dropout.

    The cell is an argument of the recurrent builders like any other; the model's name
    follows it (`lstm_classifier` with `cell="gru"` builds gru_classifier's network).
    """
    d = model_defaults(name)
    out = {}
    _choose(hp, d, out, "cell", ("lstm", "gru", "simple"))
    _boolean(hp, d, out, "bidirectional")
    _choose(hp, d, out, "embedding_dim", (16, 32, 64, 128))
    if d.get("units"):
        out["units"] = _layers(hp, "layers", "units", d["units"], (16, 32, 64, 128), 2)
    _choose(hp, d, out, "dropout", DROPOUTS)
    return out | _training(hp, d)


def autoencoder_space(hp: Constrained, name: str) -> dict:
    """Autoencoders: code size, activation, conv filters or dense widths, noise level."""
    d = model_defaults(name)
    out = {}
    _choose(hp, d, out, "latent_dim", (2, 8, 16, 32, 64))
    _choose(hp, d, out, "activation", ACTIVATIONS)
    if d.get("filters"):
        # Each block halves the image; 28 is divisible by 4, not by 8: at most 2 blocks.
        out["filters"] = _layers(hp, "blocks", "filters", d["filters"], FILTERS, 2)
        # Dense layers between the convs and the code: one width, where there is one.
        _one_width(hp, d, out, "hidden_units", (8, 16, 32, 64))
    elif d.get("hidden_units"):
        # A dense autoencoder: the hidden layers are its body.
        out["hidden_units"] = _layers(hp, "layers", "units", d["hidden_units"], WIDTHS, 3)
    _choose(hp, d, out, "noise_stddev", (0.1, 0.2, 0.3, 0.5))
    return out | _training(hp, d)


def transformer_space(hp: Constrained, name: str) -> dict:
    """Transformer encoders: embedding size, heads, feed-forward width, blocks, dropout."""
    d = model_defaults(name)
    out = {}
    _choose(hp, d, out, "embedding_dim", (32, 64, 128))
    _choose(hp, d, out, "num_heads", (1, 2, 4, 8))
    _choose(hp, d, out, "ff_dim", (64, 128, 256))
    _choose(hp, d, out, "num_blocks", (1, 2, 3, 4))
    _choose(hp, d, out, "dropout", DROPOUTS)
    _choose(hp, d, out, "activation", ACTIVATIONS)
    _boolean(hp, d, out, "norm_first")
    return out | _training(hp, d)


def user_space(hp: Constrained, name: str) -> dict:
    """Your own model (`kerazoo.tune(my_model, ...)`): its layers are yours, so only the
    optimizer and the learning rate are searched."""
    d = model_defaults(name)
    return _training(hp, {"optimizer": d.get("optimizer") or "adam", "learning_rate": None})


SPACES: dict[str, Callable[[Constrained, str], dict]] = {
    "mlp": mlp_space,
    "cnn": cnn_space,
    "resnet": resnet_space,
    "rnn": rnn_space,
    "autoencoder": autoencoder_space,
    "transformer": transformer_space,
    "user": user_space,
}


# ---------------------------------------------------------------------------------------------
# Public helpers


TRAINING = ("optimizer", "learning_rate")  # the hyperparameters of `training_space`


def training_space(
    hp,
    fix: dict | None = None,
    narrow: dict | None = None,
    *,
    optimizer: str = "adam",
    learning_rate: float | None = None,
) -> dict:
    """Declares only the zoo's optimizer and learning-rate hyperparameters on `hp`.

    The space every family adds to its own (`OPTIMIZERS`, `LEARNING_RATES`), for a model
    whose layers are not the zoo's (`kerazoo.hypermodel` with a user's own model).

    Args:
        hp: a `keras_tuner.HyperParameters`.
        fix, narrow: as in `space`.
        optimizer: the default optimizer name (one of `OPTIMIZERS`).
        learning_rate: the default learning rate; None: `DEFAULT_LEARNING_RATE`.

    Returns:
        `{"optimizer": name, "learning_rate": value}` for `hp`'s values.

    Example:

    ```python
    import keras_tuner
    training_space(keras_tuner.HyperParameters())  # {'optimizer': 'adam', 'learning_rate': 0.001}
    ```
    """
    hp = hp if isinstance(hp, Constrained) else Constrained(hp, fix, narrow)
    return _training(hp, {"optimizer": optimizer, "learning_rate": learning_rate})


def check_tunable(name: str) -> None:
    """Raises ValueError unless `name` is a registered model with a search space."""
    spec = registry.get_spec(name)
    if spec.family in REFUSED:
        raise ValueError(f"{REFUSED[spec.family]}. Received: model={name!r}")
    if spec.family not in SPACES:
        raise ValueError(
            f"{name} belongs to the {spec.family} family, which has no search space; tunable "
            f"families: {', '.join(SPACES)}. Received: model={name!r}"
        )
    model_defaults(name)  # a model without a readable base: how to register it to tune it


def space(hp, name: str, fix: dict | None = None, narrow: dict | None = None) -> dict:
    """Declares `name`'s hyperparameters on `hp` and returns its factory overrides.

    Args:
        hp: a `keras_tuner.HyperParameters` (a trial's, or a fresh one to list the space).
        name: a registered model name of a tunable family.
        fix: hyperparameter name -> one value (`hp.Fixed`).
        narrow: hyperparameter name -> values to choose from.

    Returns:
        Keyword arguments for `model_for(name, overrides)` / `kerazoo.create_model`.

    Raises:
        ValueError: for a model without a search space.

    Example:

    ```python
    import keras_tuner
    space(keras_tuner.HyperParameters(), "mnist_cnn")   # the default mnist_cnn's arguments
    ```
    """
    check_tunable(name)
    hp = hp if isinstance(hp, Constrained) else Constrained(hp, fix, narrow)
    return SPACES[registry.get_spec(name).family](hp, name)


def model_for(name: str, overrides: dict) -> tuple[str, dict]:
    """The registered name to build and its overrides: `name` itself, since every
    hyperparameter (the recurrent `cell` included) is an argument of its builder."""
    return name, dict(overrides)


def hyperparameter_names(name: str) -> list[str]:
    """Every hyperparameter of `name`'s space (conditional ones included)."""
    import keras_tuner

    hp = Constrained(keras_tuner.HyperParameters())
    space(hp, name)
    return list(dict.fromkeys(hp.names))


def check_keys(
    name: str, fix: dict | None, narrow: dict | None, *, accepted: list[str] | None = None
) -> tuple[dict, dict]:
    """Resolves aliases (`lr`) and refuses names that are not in `name`'s space.

    Args:
        name: a registered model name, or (with `accepted`) the name shown in messages.
        fix, narrow: the user's fixed and narrowed hyperparameters.
        accepted: the hyperparameter names to accept; None: `name`'s whole space.

    Returns:
        `(fix, narrow)` with canonical names.

    Raises:
        ValueError: naming the unknown key and the accepted ones, or for an empty list of
            values, values of several kinds, or a key both fixed and narrowed.
    """
    accepted = hyperparameter_names(name) if accepted is None else list(accepted)
    out = []
    for arg, given in (("fix", fix), ("space", narrow)):
        resolved = {}
        for key, value in (given or {}).items():
            key_ = ALIASES.get(key, key)
            if key_ not in accepted:
                raise ValueError(
                    f"{key!r} is not a hyperparameter of {name}; accepted: "
                    f"{', '.join(accepted)} (and lr for learning_rate). Received: {arg}={given!r}"
                )
            # KerasTuner's Choice takes values of one type (a TypeError deep inside otherwise).
            if arg == "space" and (
                not isinstance(value, list | tuple)
                or not value
                or len({type(v) for v in value}) > 1
            ):
                raise ValueError(
                    "space values must be a non-empty list of one kind (all integers, all "
                    "numbers with a point, or all names). "
                    f"Received: space={{{key!r}: {value!r}}}"
                )
            resolved[key_] = list(value) if arg == "space" else value
        out.append(resolved)
    both = set(out[0]) & set(out[1])
    if both:
        key = sorted(both)[0]
        raise ValueError(f"{key} is both fixed and narrowed; give one. Received: {key}")
    return out[0], out[1]


def describe(name: str, fix: dict | None = None, narrow: dict | None = None) -> list[dict]:
    """Rows describing `name`'s space: name, type, values, default, condition."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    space(hp, name, fix, narrow)
    rows = []
    for h in hp.space:
        config = h.get_config()
        kind = type(h).__name__
        if kind == "Fixed":
            values = [config["value"]]
        elif kind == "Boolean":
            values = [False, True]
        else:
            values = config.get("values") or [config.get("min_value"), config.get("max_value")]
        condition = " or ".join(
            f"{c.name} in {list(c.values)}" for c in getattr(h, "conditions", []) or []
        )
        rows.append(
            {
                "name": h.name,
                "type": kind,
                "values": values,
                "default": h.default if kind != "Fixed" else config["value"],
                "when": condition,
            }
        )
    return rows


def format_space(name: str, rows: list[dict]) -> str:
    """The table `kerazoo tune NAME --show-space` prints."""
    lines = [f"search space of {name} ({len(rows)} hyperparameters)"]
    header = ("name", "type", "values", "default", "when")
    table = [header] + [
        (r["name"], r["type"], ", ".join(map(str, r["values"])), str(r["default"]), r["when"])
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
