"""What the drawing functions return: the written path, which IPython displays inline.

The display is checked through IPython's own `DisplayFormatter` (what a Jupyter kernel
calls on a cell's result), on pictures drawn from real digits and a real zoo model.
"""

from __future__ import annotations

import base64
import copy
import os
import pickle
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import realdata
from IPython.core.formatters import DisplayFormatter
from matplotlib.image import imread

import kerazoo
from kerazoo.viz import plots
from kerazoo.viz.picture import Picture, Pictures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def shown(obj) -> dict:
    """The MIME bundle a Jupyter kernel sends for `obj` as a cell's result."""
    data, _ = DisplayFormatter().format(obj)
    return data


@pytest.fixture(scope="module")
def digits():
    x, _ = realdata.mnist_digits(16)
    return x


def _svg_root(text: str):
    root = ET.fromstring(text)
    assert root.tag.endswith("svg")
    return root


# --- it is the path ------------------------------------------------------------------


def test_a_picture_is_the_path_it_wrote(digits, tmp_path):
    target = tmp_path / "digits.png"
    picture = plots.plot_image_grid(digits, target, title="16 real digits")
    assert isinstance(picture, Picture) and isinstance(picture, os.PathLike)
    assert str(picture) == os.fspath(picture) == str(target)
    assert picture == target and target == picture and Path(picture) == target
    assert hash(picture) == hash(target) and {picture, target} == {target}
    assert sorted([tmp_path / "z", picture, tmp_path / "a"]) == [
        tmp_path / "a",
        target,
        tmp_path / "z",
    ]
    # Path's attributes, as callers used the returned Path before.
    assert picture.name == "digits.png" and picture.suffix == ".png"
    assert picture.parent == tmp_path and type(picture.parent) is type(tmp_path)
    assert picture.read_bytes()[:8] == PNG_SIGNATURE and picture.is_file()
    with open(picture, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    assert imread(picture).shape[:2] == (440, 400)
    assert repr(picture) == f"Picture({str(target)!r})"
    for twin in (copy.copy(picture), pickle.loads(pickle.dumps(picture))):
        assert twin == picture and twin._repr_png_() == picture._repr_png_()
    assert "read_text" in dir(picture)


# --- it shows itself -----------------------------------------------------------------


def test_a_png_shows_as_the_file_bytes(digits, tmp_path):
    picture = plots.plot_image_grid(digits, tmp_path / "digits.png")
    assert picture._repr_png_() == picture.read_bytes()
    assert picture._repr_png_()[:8] == PNG_SIGNATURE
    assert picture._repr_svg_() is None and picture._repr_pdf_() is None
    bundle = shown(picture)
    assert bundle["image/png"] == picture.read_bytes()
    # No HTML beside it: front ends prefer HTML to an image and would hide the picture.
    assert set(bundle) == {"text/plain", "image/png"}


def test_an_svg_shows_as_the_file_svg_element(digits, tmp_path):
    picture = plots.plot_image_grid(digits, tmp_path / "digits.svg")
    text = picture.read_text()
    assert text.startswith("<?xml")  # matplotlib writes a prolog ...
    svg = picture._repr_svg_()
    assert svg.startswith("<svg") and text.endswith(svg)  # ... which the display drops
    _svg_root(svg)
    assert set(shown(picture)) == {"text/plain", "image/svg+xml"}


def test_a_pdf_plot_shows_as_pdf(digits, tmp_path):
    picture = plots.plot_image_grid(digits, tmp_path / "digits.pdf")
    assert picture._repr_pdf_() == picture.read_bytes() and picture.read_bytes()[:4] == b"%PDF"
    assert set(shown(picture)) == {"text/plain", "application/pdf"}


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf", "dot"])
def test_a_zoo_diagram_shows_inline_in_every_format(tmp_path, fmt):
    picture = kerazoo.plot("lenet5", tmp_path / f"lenet5.{fmt}")
    bundle = shown(picture)
    if fmt == "png":
        assert bundle["image/png"] == picture.read_bytes()
        assert picture.read_bytes()[:8] == PNG_SIGNATURE
        return
    # SVG: the file; DOT and PDF: the same graph rendered by Graphviz, since notebook
    # front ends do not show DOT, and not all show PDF.
    svg = bundle["image/svg+xml"]
    if fmt == "svg":
        assert picture.read_text().endswith(svg)
    texts = " ".join(t.text or "" for t in _svg_root(svg).iter() if t.tag.endswith("text"))
    assert "conv2d" in texts.lower() and "Output shape" in texts
    if fmt == "pdf":
        assert bundle["application/pdf"] == picture.read_bytes()


def test_a_missing_file_shows_as_its_path(tmp_path):
    for name in ("gone.png", "gone.svg", "gone.pdf", "gone.dot"):
        picture = Picture(tmp_path / name, graph="digraph { a -> b }")
        assert shown(picture) == {"text/plain": f"Picture({str(tmp_path / name)!r})"}


def test_pictures_show_side_by_side_with_captions(digits, tmp_path):
    png = plots.plot_image_grid(digits, tmp_path / "digits.png")
    svg = plots.plot_image_grid(digits[:4], tmp_path / "four.svg")
    pictures = Pictures([png, Picture(svg, caption="four <digits>"), tmp_path / "gone.pdf"])
    assert pictures == [png, svg, tmp_path / "gone.pdf"]  # a list of the paths
    assert all(isinstance(p, Picture) for p in pictures)
    html = shown(pictures)["text/html"]
    uris = re.findall(r'src="data:(image/[a-z+]+);base64,([^"]+)"', html)
    assert [mime for mime, _ in uris] == ["image/png", "image/svg+xml"]
    assert base64.b64decode(uris[0][1]) == png.read_bytes()
    assert svg.read_text().endswith(base64.b64decode(uris[1][1]).decode())
    assert "<figcaption>digits.png</figcaption>" in html
    assert "four &lt;digits&gt;" in html and "four <digits>" not in html  # escaped
    assert f"<code>{tmp_path / 'gone.pdf'}</code>" in html
    assert Pictures()._repr_html_() is None


def test_every_plot_function_returns_a_picture(digits, tmp_path):
    y = np.arange(16) % 10
    written = [
        plots.plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}, tmp_path / "h.png"),
        plots.plot_predictions(digits, y, y, None, None, tmp_path / "p.png", n=4),
        plots.plot_confusion_matrix(y, y, [str(d) for d in range(10)], tmp_path / "c.png"),
        plots.plot_reconstructions(digits, digits, tmp_path / "r.png", n=4),
    ]
    for picture in written:
        assert isinstance(picture, Picture)
        assert picture._repr_png_() == picture.read_bytes()
