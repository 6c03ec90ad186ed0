"""Pretrained presets: weights shipped inside the package, one card each.

Every preset is a model name plus a weights name (`mnist_cnn` + `"mnist"`), trained by
kerazoo's own `train` on real data (`tools/train_presets.py` retrains them all). Its card in
`presets.json` says what it was trained on and how (dataset, split, epochs, seed, the
arguments the model was built with, the command that reproduces it), what it scores on the
real test split, and the file's size and SHA-256. `docs/presets.md` shows the cards.

```python
model = kerazoo.mnist_cnn(weights="mnist")          # or create_model("mnist_cnn", weights=...)
kerazoo.list_models(pretrained=True)                 # the models that have presets
```

Loading builds the model with the card's arguments, checks the file's SHA-256 and then loads
the weights. Reading the cards imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import functools
import hashlib
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

PRESETS_DIR = Path(__file__).resolve().parent
PRESETS_PATH = PRESETS_DIR / "presets.json"


@functools.lru_cache(maxsize=1)
def _read_cards() -> tuple[dict, ...]:
    if not PRESETS_PATH.is_file():
        return ()
    return tuple(json.loads(PRESETS_PATH.read_text(encoding="utf-8"))["presets"])


def cards() -> list[dict]:
    """Every shipped preset's card (see `presets.json`), in the file's order.

    Returns:
        A list of dicts with `model`, `weights`, `dataset`, `source`, `split`, `epochs`,
        `batch_size`, `seed`, `arguments`, `command`, `metric`, `file`, `bytes`, `sha256`
        (and `vocabulary` for text presets).
    """
    return [dict(card) for card in _read_cards()]


def pretrained_models() -> list[str]:
    """Names of the models that have at least one shipped preset."""
    return sorted({card["model"] for card in _read_cards()})


def weights_names(model: str) -> list[str]:
    """The weights names shipped for `model` (`[]` when it has none)."""
    return [card["weights"] for card in _read_cards() if card["model"] == model]


def get_card(model: str, weights: str) -> dict:
    """The card of one preset.

    Args:
        model: a registered model name.
        weights: a weights name, e.g. `"mnist"`.

    Returns:
        The card (a dict; see `cards()`).

    Raises:
        ValueError: if `model` has no preset of that name, listing the names it has.
    """
    for card in _read_cards():
        if card["model"] == model and card["weights"] == weights:
            return dict(card)
    names = weights_names(model)
    if names:
        have = f"{model} has pretrained weights: {', '.join(repr(n) for n in names)}"
    else:
        with_presets = ", ".join(pretrained_models()) or "none"
        have = (
            f"{model} has no pretrained weights (models with presets: {with_presets}; "
            "see `kerazoo list --pretrained`)"
        )
    raise ValueError(f"Unknown pretrained weights: {have}. Received: weights={weights!r}")


def file_path(card: dict, key: str = "file") -> Path:
    """The shipped file a card names (`file` for the weights, `vocabulary` for text)."""
    return PRESETS_DIR / card[key]


def sha256(path: Path) -> str:
    """The SHA-256 of a file, as lowercase hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_file(card: dict, key: str = "file") -> Path:
    """The card's file after checking that it exists and has the card's SHA-256.

    Raises:
        ValueError: for a missing file, or one whose SHA-256 differs (damaged or replaced),
            naming the file.
    """
    path = file_path(card, key)
    expected = card["sha256" if key == "file" else f"{key}_sha256"]
    if not path.is_file():
        raise ValueError(
            f"The pretrained file {path} is missing; reinstall kerazoo (or run "
            f"`python -m tools.train_presets` in a checkout). Received: path={str(path)!r}"
        )
    actual = sha256(path)
    if actual != expected:
        raise ValueError(
            f"The pretrained file {path} does not match its card: SHA-256 {actual}, expected "
            f"{expected}. The file is damaged or was replaced; reinstall kerazoo. "
            f"Received: path={str(path)!r}"
        )
    return path


def vocabulary(model: str, weights: str) -> list[str] | None:
    """The vocabulary a text preset was trained with (index = token id), else None.

    Raises:
        ValueError: for an unknown preset or a vocabulary file that fails its hash check.
    """
    return card_vocabulary(get_card(model, weights))


def card_vocabulary(card: dict) -> list[str] | None:
    """`vocabulary` for a card in hand."""
    if not card.get("vocabulary"):
        return None
    text = verified_file(card, "vocabulary").read_text(encoding="utf-8")
    return text.split("\n")[:-1]


def _as_argument(value: Any) -> Any:
    # JSON keeps tuples as lists; the factories take shapes and widths as tuples.
    return tuple(_as_argument(v) for v in value) if isinstance(value, list) else value


def card_arguments(card: dict) -> dict:
    """The factory arguments the preset was trained with (shapes as tuples)."""
    return {k: _as_argument(v) for k, v in card["arguments"].items()}


def build(model: str, weights: str, builder: Callable[..., Any], overrides: dict):
    """Builds `model` with its preset's arguments and loads the preset's weights.

    Called by `create_model(name, weights=...)` and by every entry function
    (`kerazoo.mnist_cnn(weights="mnist")`).

    Args:
        model: the registered name.
        weights: the weights name.
        builder: the model's factory, called with the card's arguments and `overrides`.
        overrides: the caller's other arguments (`compile=False`, `dropout=0.3`, ...); none
            may change an argument the preset was trained with.

    Returns:
        The built `keras.Model` with the preset's weights.

    Raises:
        ValueError: for an unknown weights name, an override that changes the weights'
            shapes, or a file that fails its SHA-256 check.
    """
    return build_from_card(get_card(model, weights), builder, overrides)


def build_from_card(card: dict, builder: Callable[..., Any], overrides: dict):
    """`build` for a card in hand (`tools/train_presets.py` measures a card before it
    writes it); same arguments and errors."""
    model, weights = card["model"], card["weights"]
    arguments = card_arguments(card)
    for arg, value in overrides.items():
        # The card's arguments are the dataset's shapes and the preset's own settings: the
        # weights were trained with exactly these values.
        if arg in arguments and _as_argument(value) != arguments[arg]:
            raise ValueError(
                f"{model}'s {weights!r} weights were trained with {arg}={arguments[arg]!r}; "
                f"another {arg} changes the model the weights belong to. "
                f"Drop {arg}, or build without weights= to train your own. "
                f"Received: {arg}={value!r}"
            )
    path = verified_file(card)
    net = builder(**(arguments | overrides))
    target = net if card.get("part", "model") == "model" else getattr(net, card["part"])
    try:
        with warnings.catch_warnings():
            # keras 3.15.1 warns that a compiled model's optimizer has nothing to load: the
            # shipped files hold no optimizer state, on purpose (Adam's moments would triple
            # their size), and a fresh optimizer is what a loaded preset should have.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            target.load_weights(path)
    except (ValueError, KeyError) as err:
        changed = ", ".join(f"{k}={v!r}" for k, v in overrides.items()) or "none"
        raise ValueError(
            f"{model}'s {weights!r} weights do not fit the model built with your overrides "
            f"({changed}): they change the weights' shapes ({str(err).splitlines()[0]}). "
            f"Drop them, or build without weights=. Received: weights={weights!r}"
        ) from None
    return net
