"""Loading `.keras` files safely.

A `.keras` file carries a config that Keras turns into objects when loading, so a file from
somewhere else is code. `load_model` checks the config before Keras sees it: only Keras's
own classes and the zoo's registered classes are allowed, Lambda and TFSMLayer (which run
arbitrary code) are refused, and Keras's `safe_mode=True` stays on.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

# Layers that execute code stored in (or pointed at by) the file.
_REFUSED = {"Lambda", "TFSMLayer"}


def _walk_classes(node):
    """Yields every (class_name, module, registered_name) in a Keras config tree."""
    if isinstance(node, dict):
        if "class_name" in node:
            yield node.get("class_name"), node.get("module"), node.get("registered_name")
        for value in node.values():
            yield from _walk_classes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_classes(value)


def read_config(path: str | Path) -> dict:
    """The model config stored in a `.keras` file, without building anything.

    Raises:
        ValueError: if the file is missing, not a `.keras` archive, or has no valid config.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"Model file not found. Received: path={str(path)!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(
            "Not a Keras model file (a .keras file is a zip archive; this one is corrupt, "
            f"truncated or another format). Received: path={str(path)!r}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    except (KeyError, zipfile.BadZipFile, json.JSONDecodeError, OSError) as err:
        raise ValueError(
            f"The .keras file has no readable model config ({err}); it is corrupt or not a "
            f"Keras model. Received: path={str(path)!r}"
        ) from None


def check_config(config: dict, *, source: str = "the model file") -> None:
    """Refuses configs with code-running layers or classes from outside Keras and kerazoo."""
    for class_name, module, registered_name in _walk_classes(config):
        if class_name in _REFUSED:
            raise ValueError(
                f"{source} contains a {class_name} layer, which runs code stored outside the "
                f"model's weights; kerazoo refuses to load it. Received: class_name={class_name!r}"
            )
        if module is None or not isinstance(module, str):
            continue
        if module.split(".")[0] in ("keras", "kerazoo", "builtins"):
            continue
        if isinstance(registered_name, str) and registered_name.startswith("kerazoo>"):
            continue
        raise ValueError(
            f"{source} uses the class {class_name!r} from module {module!r}, which is neither "
            f"Keras's nor kerazoo's; only those are loaded. Received: module={module!r}"
        )


def load_model(path: str | Path, *, compile: bool = True):
    """Loads a `.keras` model saved from a kerazoo (or plain Keras) model.

    Args:
        path: the `.keras` file.
        compile: restore the optimizer, loss and metrics as saved.

    Returns:
        The `keras.Model`, with the same predictions as the saved one.

    Raises:
        ValueError: if the file is missing, corrupt, not a Keras model, or contains layers
            that would run foreign code.

    Example:

    ```python
    model = kerazoo.load_model("runs/mnist_cnn/model.keras")
    ```
    """
    config = read_config(path)
    check_config(config, source=f"{path}")
    import keras

    import kerazoo.models  # noqa: F401  (registers the zoo's serializable classes)

    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except (OSError, zipfile.BadZipFile, KeyError) as err:
        raise ValueError(
            f"Could not load the model: the file is damaged ({type(err).__name__}: {err}). "
            f"Received: path={str(path)!r}"
        ) from None
