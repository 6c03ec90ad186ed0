"""Architecture diagrams drawn by Keras's own `keras.utils.model_to_dot`, with the checks
`keras.utils.plot_model` lacks.

Drawing needs both the `pydot` package and Graphviz's `dot` program; when either is missing
`plot_model` fails late (or, in notebooks, only prints). `check_graphviz` runs first and
raises one ImportError that says exactly what to install.

The file is written by `model_to_dot(...).write(...)`, the two steps `plot_model` takes,
without its last one: wherever IPython is importable (every Jupyter kernel), keras 3.15.1's
`plot_model` returns `IPython.display.Image(filename=to_file)`, which raises "Cannot embed
the 'svg' image format" for an SVG (and 'dot' for a DOT file) after the file is written.
`plot` returns a `Picture` instead: the written path, which a notebook shows inline in
every format.

Models made of parts are drawn so the parts show: nested models (an autoencoder's or the
VAE's encoder and decoder) are expanded into labelled boxes, and the DCGAN, whose own graph
is only its generator, is drawn as `z -> generator -> discriminator`. `plot_parts` draws
each part on its own as well (for the transformer: one encoder block, layer by layer).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from kerazoo.viz.picture import Picture, Pictures

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


def _format_of(to_file: Path) -> str:
    fmt = to_file.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(
            f"Diagram format must be one of {', '.join(FORMATS)} (taken from the file "
            f"extension). Received: to_file={str(to_file)!r}"
        )
    return fmt


def resolve_model(model_or_name, **overrides):
    """A `keras.Model` from a model, a registered name (built uncompiled) or a `.keras` file.

    Raises:
        ValueError: for an unknown name, a bad override, or a missing/corrupt model file.
    """
    if isinstance(model_or_name, str | os.PathLike) and (
        str(model_or_name).endswith(".keras") or os.sep in str(model_or_name)
    ):
        if overrides:
            raise ValueError(
                "Overrides build a model from its name; a saved model file is drawn as it is. "
                f"Received: overrides {sorted(overrides)} with {str(model_or_name)!r}"
            )
        from kerazoo.saving import load_model

        return load_model(model_or_name, compile=False)
    if isinstance(model_or_name, str):
        from kerazoo.registry import create_model

        return create_model(model_or_name, **({"compile": False} | overrides))
    import keras

    if not isinstance(model_or_name, keras.Model):
        raise ValueError(
            "Expected a keras.Model, a registered model name or a .keras file. "
            f"Received: {type(model_or_name).__name__}"
        )
    return model_or_name


def _drawable(model):
    """The graph to draw: the DCGAN as generator -> discriminator, other models as they are."""
    generator = getattr(model, "generator", None)
    discriminator = getattr(model, "discriminator", None)
    if generator is None or discriminator is None:
        return model
    import keras

    z = keras.Input(shape=tuple(generator.input_shape[1:]), name="z")
    return keras.Model(z, discriminator(generator(z)), name=model.name)


def plot(
    model,
    to_file: str | Path,
    *,
    show_shapes: bool = True,
    show_layer_activations: bool = True,
    expand_nested: bool = True,
    rankdir: str = "TB",
    dpi: int = 96,
    **overrides,
) -> Picture:
    """Draws a model to `to_file`; the format follows the extension (png, svg, pdf, dot).

    Args:
        model: a `keras.Model`, a registered name (built with `overrides`, uncompiled) or
            the path of a `.keras` file.
        to_file: the picture to write; its folder is created. Written atomically.
        show_shapes: show each layer's input and output shapes.
        show_layer_activations: show the activation of layers that have one.
        expand_nested: draw nested models (encoder, decoder, generator, ...) as labelled
            boxes of their layers rather than one node each.
        rankdir: `"TB"` (top to bottom) or `"LR"` (left to right).
        dpi: resolution of png output.
        **overrides: factory arguments when `model` is a name, e.g. `num_classes=5`.

    Returns:
        The written file as a `Picture`: a path (`os.PathLike`, `str()`, `Path`'s
        attributes) that Jupyter shows inline, in every format.

    Raises:
        ImportError: if pydot or Graphviz's `dot` is missing (checked before any work).
        ValueError: for an unsupported extension or rankdir, an unknown model name, a bad
            override, a model not built yet, or a missing/corrupt model file.

    Example:

    ```python
    kerazoo.plot("dcgan", "dcgan.svg")            # z -> generator -> discriminator
    kerazoo.plot(model, "model.png", rankdir="LR")
    ```
    """
    to_file = Path(to_file)
    fmt = _format_of(to_file)
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be 'TB' or 'LR'. Received: rankdir={rankdir!r}")
    check_graphviz()
    model = resolve_model(model, **overrides)
    if not model.built:
        raise ValueError(
            "The model has no graph to draw until it is built: call it on a batch or "
            f"`model.build(input_shape)` first. Received: an unbuilt model {model.name!r}"
        )
    import keras

    # The graph, as plot_model builds it (same arguments, same defaults).
    graph = keras.utils.model_to_dot(
        _drawable(model),
        show_shapes=show_shapes,
        show_layer_names=True,
        show_layer_activations=show_layer_activations,
        expand_nested=expand_nested,
        rankdir=rankdir,
        dpi=dpi,
    )
    try:
        to_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{to_file.stem}.", suffix=f".{fmt}", dir=to_file.parent)
        os.close(fd)
    except OSError as err:
        raise ValueError(
            f"Cannot write into {to_file.parent} ({err.strerror}); choose a writable folder. "
            f"Received: to_file={str(to_file)!r}"
        ) from None
    try:
        # plot_model's own writer call: Graphviz renders `fmt` ("dot": the laid-out graph).
        graph.write(tmp, format=fmt)
        os.chmod(tmp, 0o644)
        os.replace(tmp, to_file)
    finally:
        Path(tmp).unlink(missing_ok=True)
    # A PDF is not shown by every notebook front end; keep the graph to show it as SVG.
    return Picture(to_file, graph=graph.to_string() if fmt == "pdf" else None)


def _transformer_block(block):
    """One built `TransformerEncoder` as a functional graph of its own sub-layers (and
    weights), wired the way its `call` is, so the inside of the block can be drawn.

    Raises:
        RuntimeError: if the re-wired block does not compute what the block computes (its
            `call` changed and this function must follow).
    """
    import keras
    import numpy as np

    seen = block.input  # a list when the block was also called with a mask
    seen = seen[0] if isinstance(seen, list | tuple) else seen
    shape = tuple(seen.shape[1:])
    inputs = keras.Input(shape=shape, name="block_input")
    x = inputs
    y = block.attention_norm(x) if block.norm_first else x
    y = block.attention_dropout(block.attention(y, y))
    x = keras.layers.Add(name="attention_residual")([x, y])
    if not block.norm_first:
        x = block.attention_norm(x)
    y = block.ffn_norm(x) if block.norm_first else x
    y = block.ffn_dropout(block.ffn_output(block.ffn_hidden(y)))
    x = keras.layers.Add(name="ffn_residual")([x, y])
    if not block.norm_first:
        x = block.ffn_norm(x)
    rewired = keras.Model(inputs, x, name=block.name)

    sample = np.random.default_rng(0).normal(size=(1, *shape)).astype("float32")
    expected = keras.ops.convert_to_numpy(block(sample, training=False))
    got = keras.ops.convert_to_numpy(rewired(sample, training=False))
    if not np.allclose(expected, got, atol=1e-5):
        raise RuntimeError(
            f"The diagram of {block.name} no longer matches TransformerEncoder.call; update "
            "kerazoo.viz.diagrams._transformer_block."
        )
    return rewired


def parts(model) -> dict:
    """The parts of a model worth a diagram of their own, by name.

    DCGAN: `generator`, `discriminator`; autoencoders and the VAE: `encoder`, `decoder`;
    transformer classifiers: the first encoder block by its layer name (e.g. `encoder_1`),
    drawn layer by layer (the others have the same layers).
    Other models: `{}`.
    """
    found = {}
    for name in ("generator", "discriminator"):
        if getattr(model, name, None) is not None:
            found[name] = getattr(model, name)
    for name in ("encoder", "decoder"):
        with contextlib.suppress(ValueError):  # get_layer's answer for "no such layer"
            found[name] = model.get_layer(name)
    from kerazoo.models.layers import TransformerEncoder

    blocks = [
        layer for layer in getattr(model, "layers", []) if isinstance(layer, TransformerEncoder)
    ]
    if blocks:
        found[blocks[0].name] = _transformer_block(blocks[0])
    return found


def plot_parts(
    model, out_dir: str | Path, *, fmt: str = "png", prefix: str | None = None, **kwargs
) -> Pictures:
    """Draws each of `parts(model)` to `out_dir/<prefix>-<part>.<fmt>`.

    Args:
        model: a `keras.Model`, a registered name or a `.keras` file.
        out_dir: the folder.
        fmt: `"png"`, `"svg"`, `"pdf"` or `"dot"`.
        prefix: file name prefix (default: the model's name).
        **kwargs: passed on to `plot` (`show_shapes`, `rankdir`, ...).

    Returns:
        The written files, a list of `Picture`s (`Pictures`) that Jupyter shows side by
        side, each captioned with its part; empty for a model without parts.
    """
    if fmt not in FORMATS:
        raise ValueError(
            f"Diagram format must be one of {', '.join(FORMATS)}. Received: fmt={fmt!r}"
        )
    check_graphviz()
    model = resolve_model(model)
    prefix = prefix or model.name
    written = Pictures()
    for name, part in parts(model).items():
        picture = plot(part, Path(out_dir) / f"{prefix}-{name}.{fmt}", **kwargs)
        picture.caption = f"{prefix}: {name}"
        written.append(picture)
    return written
