"""Architecture diagrams through `keras.utils.plot_model`, with the checks it lacks.

`plot_model` needs both the `pydot` package and Graphviz's `dot` program; when either is
missing it fails late (or, in notebooks, only prints). `check_graphviz` runs first and
raises one ImportError that says exactly what to install.
"""

from __future__ import annotations

import shutil
from pathlib import Path

FORMATS = ("png", "svg", "pdf", "dot")


def check_graphviz() -> None:
    """Raises ImportError naming what to install if pydot or Graphviz's `dot` is missing."""
    missing = []
    try:
        import pydot  # noqa: F401
    except ImportError:
        missing.append("the pydot package (`pip install pydot`)")
    if shutil.which("dot") is None:
        missing.append("Graphviz's `dot` program (`apt-get install graphviz`)")
    if missing:
        raise ImportError(
            "Drawing a model diagram needs "
            + " and ".join(missing)
            + "; `make setup` installs both."
        )


def plot(
    model,
    to_file: str | Path,
    *,
    show_shapes: bool = True,
    show_layer_activations: bool = True,
    expand_nested: bool = True,
    rankdir: str = "TB",
    dpi: int = 96,
) -> Path:
    """Draws `model` (a keras.Model) to `to_file`; the format follows the extension.

    Raises:
        ImportError: if pydot or Graphviz is missing.
        ValueError: for an unsupported extension or rankdir.
    """
    to_file = Path(to_file)
    fmt = to_file.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(
            f"Diagram format must be one of {FORMATS}. Received: to_file={str(to_file)!r}"
        )
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be 'TB' or 'LR'. Received: rankdir={rankdir!r}")
    check_graphviz()
    import keras

    to_file.parent.mkdir(parents=True, exist_ok=True)
    keras.utils.plot_model(
        model,
        to_file=str(to_file),
        show_shapes=show_shapes,
        show_layer_names=True,
        show_layer_activations=show_layer_activations,
        expand_nested=expand_nested,
        rankdir=rankdir,
        dpi=dpi,
    )
    return to_file
