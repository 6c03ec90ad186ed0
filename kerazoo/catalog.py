"""The text summaries of built models that the catalogue records and `kerazoo info` prints.

The catalogue itself, `kerazoo/catalog.json`, ships with the package and is read by
`kerazoo.registry` (no Keras import); it is generated from the live registry by
`make catalog` (`python -m tools.catalog` in the checkout, not installed).
"""

from __future__ import annotations

import io
import os

SUMMARY_WIDTH = 100


# Sub-models that make up the two-part families (autoencoders, VAE, DCGAN).
_PARTS = ("encoder", "decoder", "generator", "discriminator")


def _parts(model) -> list:
    """The named sub-models of `model`: attributes (VAE, DCGAN) or nested layers."""
    import keras

    found = []
    for name in _PARTS:
        part = getattr(model, name, None)
        if part is None:
            try:
                part = model.get_layer(name)
            except ValueError:
                continue
        if isinstance(part, keras.Model):
            found.append(part)
    return found


def model_summary(model) -> str:
    """The Keras summary of `model` as plain text of a fixed width, followed by the
    summaries of its encoder/decoder or generator/discriminator where it has them (the
    discriminator of a DCGAN is not in its inference graph, so Keras alone omits it)."""
    text = _one_summary(model)
    for part in _parts(model):
        text += "\n" + _one_summary(part)
    return text


def _one_summary(model) -> str:
    buffer = io.StringIO()
    # Keras renders the table with rich, whose console is as wide as $COLUMNS (or the
    # terminal); pin it so the text is the same in every shell and in the tests.
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(SUMMARY_WIDTH)
    try:
        model.summary(
            line_length=SUMMARY_WIDTH, print_fn=lambda line, **_: buffer.write(line + "\n")
        )
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return buffer.getvalue().rstrip() + "\n"
