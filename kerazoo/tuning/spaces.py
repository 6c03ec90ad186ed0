"""Search spaces: KerasTuner hyperparameters -> factory arguments of the zoo's own models.

One function per family, `<family>_space(hp, name) -> dict`, declares the family's
hyperparameters on a KerasTuner `HyperParameters` object and returns keyword arguments for
`kerazoo.create_model(name, ...)`: there is no second model definition. Every
hyperparameter's default is the registered model's own default, so the default values build
exactly the registered default model (tested by parameter count for every supported name).

Tuple arguments (`hidden_units`, `filters`, `units`) are tuned as a depth (`layers`,
`blocks`) plus one width per layer (`units_1`, `units_2`, ...); a width exists only for
depths that use it (a KerasTuner conditional scope), so searches do not waste trials on
widths that change nothing.

Users narrow a space with `fix` (one value, `hp.Fixed`) and `space` (a list of values, a
`Choice`): `Constrained` applies both while the family function runs unchanged.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
from collections.abc import Callable, Iterable

from kerazoo import registry

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")
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


def _base_factory(name: str) -> tuple[Callable, dict]:
    """The family factory behind a registered name and the preset that name passes to it.

    The presets are the registered wrappers' settings (e.g. `mnist_mlp` is `mlp` with
    512-256 units and dropout 0.2); the parameter-count test fails if they drift apart.
    """
    from kerazoo.models import autoencoder, cnn, mlp, resnet, rnn, transformer

    spec = registry.get_spec(name)
    presets: dict[str, tuple[Callable, dict]] = {
        "mnist_mlp": (mlp.mlp, {"hidden_units": (512, 256), "dropout": 0.2}),
        "binary_mlp": (mlp.mlp, {"hidden_units": (64, 32)}),
        "regression_mlp": (mlp.mlp, {"hidden_units": (32,)}),
        "mnist_cnn": (cnn.cnn, dict(cnn._MNIST_CNN)),
        "fashion_cnn": (cnn.cnn, dict(cnn._MNIST_CNN)),
        "denoising_autoencoder": (autoencoder.conv_autoencoder, {"noise_stddev": 0.3}),
        "lstm_classifier": (rnn.recurrent_classifier, {"cell": "lstm"}),
        "gru_classifier": (rnn.recurrent_classifier, {"cell": "gru"}),
        "lstm_forecaster": (rnn.recurrent_forecaster, {"cell": "lstm"}),
        "gru_forecaster": (rnn.recurrent_forecaster, {"cell": "gru"}),
    }
    if name in presets:
        return presets[name]
    if spec.family == "resnet":
        return resnet.resnet, {}
    if spec.fn.__name__ == name:
        return spec.fn, {}
    del transformer  # imported so that every family module is registered
    raise ValueError(f"{name} has no search space yet. Received: model={name!r}")


def model_defaults(name: str) -> dict:
    """The factory arguments of the registered model `name` in its default configuration."""
    fn, preset = _base_factory(name)
    signature = inspect.signature(fn)
    defaults = {
        p.name: p.default
        for p in signature.parameters.values()
        if p.default is not inspect.Parameter.empty
    }
    return defaults | preset


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


def _training(hp: Constrained, defaults: dict) -> dict:
    """The optimizer and learning rate every factory takes."""
    return {
        "optimizer": hp.Choice("optimizer", OPTIMIZERS, defaults.get("optimizer", "adam")),
        "learning_rate": hp.Choice("learning_rate", LEARNING_RATES, DEFAULT_LEARNING_RATE),
    }


def _activation(hp: Constrained, defaults: dict) -> str:
    return hp.Choice("activation", ACTIVATIONS, defaults["activation"])


# ---------------------------------------------------------------------------------------------
# One space per family


def mlp_space(hp: Constrained, name: str) -> dict:
    """MLPs: depth and widths, activation, dropout, L2, batch norm, optimizer, learning rate."""
    d = model_defaults(name)
    return {
        "hidden_units": _layers(hp, "layers", "units", d["hidden_units"], WIDTHS, 4),
        "activation": _activation(hp, d),
        "dropout": hp.Choice("dropout", DROPOUTS, d["dropout"]),
        "l2": hp.Choice("l2", L2S, d["l2"]),
        "batchnorm": hp.Boolean("batchnorm", d["batchnorm"]),
        **_training(hp, d),
    }


def cnn_space(hp: Constrained, name: str) -> dict:
    """Convnets: blocks and filters, kernel size, dense width, activation, dropout, L2, BN."""
    d = model_defaults(name)
    if name == "lenet5":
        # LeNet-5's layers are the paper's; what remains to tune is how it is trained.
        return {
            "activation": _activation(hp, d),
            "pool": hp.Choice("pool", ("avg", "max"), d["pool"]),
            "dropout": hp.Choice("dropout", DROPOUTS, d["dropout"]),
            "l2": hp.Choice("l2", L2S, d["l2"]),
            **_training(hp, d),
        }
    (dense,) = d["dense_units"]
    return {
        # Three 2x2 poolings still leave a 3x3 map of a 28x28 image.
        "filters": _layers(hp, "blocks", "filters", d["filters"], FILTERS, 3),
        "kernel_size": hp.Choice("kernel_size", (3, 5), d["kernel_size"]),
        "dense_units": (hp.Choice("dense_units", WIDTHS, dense),),
        "activation": _activation(hp, d),
        "dropout": hp.Choice("dropout", DROPOUTS, d["dropout"]),
        "l2": hp.Choice("l2", L2S, d["l2"]),
        "batchnorm": hp.Boolean("batchnorm", d["batchnorm"]),
        **_training(hp, d),
    }


def resnet_space(hp: Constrained, name: str) -> dict:
    """ResNets (depth is the name): width, activation, dropout, L2, optimizer, learning rate."""
    d = model_defaults(name)
    return {
        "base_filters": hp.Choice("base_filters", (4, 8, 16, 32), d["base_filters"]),
        "activation": _activation(hp, d),
        "dropout": hp.Choice("dropout", DROPOUTS, d["dropout"]),
        "l2": hp.Choice("l2", L2S, d["l2"]),
        **_training(hp, d),
    }


def rnn_space(hp: Constrained, name: str) -> dict:
    """Recurrent models: cell (LSTM/GRU), bidirectional, embedding, depth and widths, dropout.

    The cell is part of the registered name (`lstm_classifier`, `gru_classifier`), so a
    trial with the other cell builds the sibling registered model (`model_for`).
    """
    d = model_defaults(name)
    out = {
        "cell": hp.Choice("cell", ("lstm", "gru"), d["cell"]),
        "bidirectional": hp.Boolean("bidirectional", d["bidirectional"]),
    }
    if "embedding_dim" in d:
        out["embedding_dim"] = hp.Choice("embedding_dim", (16, 32, 64, 128), d["embedding_dim"])
    out |= {
        "units": _layers(hp, "layers", "units", d["units"], (16, 32, 64, 128), 2),
        "dropout": hp.Choice("dropout", DROPOUTS, d["dropout"]),
        **_training(hp, d),
    }
    return out


def autoencoder_space(hp: Constrained, name: str) -> dict:
    """Autoencoders: code size, widths or filters, activation (noise for the denoising one)."""
    d = model_defaults(name)
    out = {
        "latent_dim": hp.Choice("latent_dim", (2, 8, 16, 32, 64), d["latent_dim"]),
        "activation": _activation(hp, d),
    }
    if name == "dense_autoencoder":
        out["hidden_units"] = _layers(hp, "layers", "units", d["hidden_units"], WIDTHS, 3)
    elif name == "vae":
        # The VAE keeps its two conv stages; their widths and the dense layer are tuned.
        f1, f2 = d["filters"]
        (hidden,) = d["hidden_units"]
        out["filters"] = (
            hp.Choice("filters_1", _choice_default(FILTERS, f1), f1),
            hp.Choice("filters_2", _choice_default(FILTERS, f2), f2),
        )
        out["hidden_units"] = (hp.Choice("hidden_units", (8, 16, 32, 64), hidden),)
    else:
        # Each block halves the image; 28 is divisible by 4, not by 8: at most 2 blocks.
        out["filters"] = _layers(hp, "blocks", "filters", d["filters"], FILTERS, 2)
        if name == "denoising_autoencoder":
            out["noise_stddev"] = hp.Choice("noise_stddev", (0.1, 0.2, 0.3, 0.5), d["noise_stddev"])
    return out | _training(hp, d)


def transformer_space(hp: Constrained, name: str) -> dict:
    """Transformer encoders: embedding size, heads, feed-forward width, blocks, dropout."""
    d = model_defaults(name)
    return {
        "embedding_dim": hp.Choice("embedding_dim", (32, 64, 128), d["embedding_dim"]),
        "num_heads": hp.Choice("num_heads", (1, 2, 4, 8), d["num_heads"]),
        "ff_dim": hp.Choice("ff_dim", (64, 128, 256), d["ff_dim"]),
        "num_blocks": hp.Choice("num_blocks", (1, 2, 3, 4), d["num_blocks"]),
        "dropout": hp.Choice("dropout", DROPOUTS, d["dropout"]),
        "activation": _activation(hp, d),
        "norm_first": hp.Boolean("norm_first", d["norm_first"]),
        **_training(hp, d),
    }


SPACES: dict[str, Callable[[Constrained, str], dict]] = {
    "mlp": mlp_space,
    "cnn": cnn_space,
    "resnet": resnet_space,
    "rnn": rnn_space,
    "autoencoder": autoencoder_space,
    "transformer": transformer_space,
}


# ---------------------------------------------------------------------------------------------
# Public helpers


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
    """The registered name to build and its overrides (a `cell` choice picks the sibling)."""
    overrides = dict(overrides)
    cell = overrides.get("cell")
    if cell is not None:
        default_cell = model_defaults(name)["cell"]
        if cell != default_cell:
            # lstm_classifier <-> gru_classifier, lstm_forecaster <-> gru_forecaster
            name = name.replace(default_cell, cell, 1)
    return name, overrides


def hyperparameter_names(name: str) -> list[str]:
    """Every hyperparameter of `name`'s space (conditional ones included)."""
    import keras_tuner

    hp = Constrained(keras_tuner.HyperParameters())
    space(hp, name)
    return list(dict.fromkeys(hp.names))


def parse_values(pairs: Iterable[str] | None, *, flag: str, many: bool) -> dict:
    """`["units_1=64"]` (`--fix`) or `["units_1=32,64"]` (`--space`) -> a dict of values.

    Values are read as Python literals where they parse (numbers, True), else kept as text.
    """

    def literal(raw: str):
        try:
            return ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return raw

    out = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.isidentifier() or not raw:
            raise ValueError(
                f"{flag} takes key=value{',value...' if many else ''}. Received: {flag} {pair!r}"
            )
        out[key] = [literal(v) for v in raw.split(",")] if many else literal(raw)
    return out


def check_keys(name: str, fix: dict | None, narrow: dict | None) -> tuple[dict, dict]:
    """Resolves aliases (`lr`) and refuses names that are not in `name`'s space.

    Returns:
        `(fix, narrow)` with canonical names.

    Raises:
        ValueError: naming the unknown key and the accepted ones, or for an empty list of
            values or a key both fixed and narrowed.
    """
    accepted = hyperparameter_names(name)
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
            if arg == "space" and (not isinstance(value, list | tuple) or not value):
                raise ValueError(
                    f"space values must be a non-empty list. Received: space={{{key!r}: {value!r}}}"
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
