"""What the drawing functions return: the written file, which Jupyter shows inline.

`kerazoo.plot`, the `kerazoo.viz.plots` functions and the run and lesson pictures write a
file from any script. In a notebook the same call should also show the picture, as
`keras.utils.plot_model` does by returning an `IPython.display.Image`. A `Picture` does
both without importing IPython: it is the written path (`os.PathLike`, `str()`, and every
`pathlib.Path` attribute, so `picture.read_text()` or `Path(picture)` keep working), and it
has the `_repr_*_` methods IPython calls to display an object:

- `.png`: `_repr_png_` gives the file's bytes;
- `.svg`: `_repr_svg_` gives the file's `<svg>` element;
- `.dot`, and a `.pdf` diagram: `_repr_svg_` gives the graph rendered by Graphviz's `dot`;
- `.pdf`: `_repr_pdf_` gives the file's bytes (JupyterLab and nbconvert show PDF).

Each is read from the file when displayed, so a picture redrawn later shows as it is now;
a missing file shows as its path. `Pictures` is a list of them that a notebook shows side
by side, each under its file name or caption.
"""

from __future__ import annotations

import base64
import html
import os
import shutil
import subprocess
from pathlib import Path, PurePath


def _svg_element(text: str) -> str:
    # The <svg> element without the XML prolog and DOCTYPE that Graphviz and matplotlib
    # write first: the classic notebook inserts SVG into the page, where a prolog breaks
    # it (IPython.display.SVG strips it for the same reason).
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def _render_dot(source: str) -> str | None:
    """SVG of Graphviz `source`, or None when `dot` is missing or fails."""
    program = shutil.which("dot")
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, "-Tsvg"], input=source, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 and "<svg" in done.stdout else None


class Picture(os.PathLike):
    """A picture written to `path`, which IPython and Jupyter display inline.

    Use it as the path it is: `str(picture)`, `os.fspath(picture)`, `Path(picture)`,
    `open(picture, "rb")`, and any `pathlib.Path` attribute (`picture.read_bytes()`,
    `picture.suffix`, `picture.parent`, ...); it compares and hashes equal to its `Path`.

    Args:
        path: the written file; its extension gives the format.
        caption: a line shown under the picture in a `Pictures` grid (default: the file
            name).
        graph: the Graphviz source the picture was drawn from; a `.pdf` diagram is then
            also shown as SVG, which every notebook front end displays.

    Example:

    ```python
    picture = kerazoo.plot("lenet5", "lenet5.svg")  # the last line of a cell: drawn
    picture.read_text()                             # still the file
    ```
    """

    def __init__(
        self, path: str | os.PathLike, *, caption: str | None = None, graph: str | None = None
    ):
        self._path = Path(path)
        self.caption = caption
        self._graph = graph

    @property
    def path(self) -> Path:
        """The written file as a plain `Path`."""
        return self._path

    @property
    def format(self) -> str:
        """The file's format, from its extension: `"png"`, `"svg"`, `"pdf"`, `"dot"`, ..."""
        return self._path.suffix.lstrip(".").lower()

    # -- the path ------------------------------------------------------------------------

    def __fspath__(self) -> str:
        return os.fspath(self._path)

    def __str__(self) -> str:
        return str(self._path)

    def __repr__(self) -> str:
        return f"Picture({str(self._path)!r})"

    def __getattr__(self, name: str):
        # Path's public attributes (read_text, suffix, exists, ...). Private names are not
        # forwarded: IPython probes for `_repr_*_` and `_ipython_*` methods, and a copy or
        # unpickling asks for attributes before `_path` exists.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._path, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | {n for n in dir(self._path) if n[0] != "_"})

    def _other(self, other) -> Path | None:
        if isinstance(other, Picture):
            return other._path
        return other if isinstance(other, PurePath) else None

    def __eq__(self, other) -> bool:
        other = self._other(other)
        return NotImplemented if other is None else self._path == other

    def __hash__(self) -> int:
        return hash(self._path)

    def __lt__(self, other) -> bool:
        other = self._other(other)
        return NotImplemented if other is None else self._path < other

    def __le__(self, other) -> bool:
        other = self._other(other)
        return NotImplemented if other is None else self._path <= other

    def __gt__(self, other) -> bool:
        other = self._other(other)
        return NotImplemented if other is None else self._path > other

    def __ge__(self, other) -> bool:
        other = self._other(other)
        return NotImplemented if other is None else self._path >= other

    # -- the display (IPython's rich display protocol) -----------------------------------

    def _read(self, mode: str = "rb"):
        try:
            return self._path.read_bytes() if mode == "rb" else self._path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def _repr_png_(self) -> bytes | None:
        """The PNG file's bytes (None for other formats or a missing file)."""
        return self._read() if self.format == "png" else None

    def _repr_svg_(self) -> str | None:
        """The SVG file's `<svg>` element; for a `.dot` file or a picture with a `graph`,
        that graph rendered by Graphviz. None otherwise."""
        if self.format == "svg":
            text = self._read("r")
        elif self.format == "dot":
            source = self._read("r")
            text = _render_dot(source) if source else None
        elif self._graph is not None and self._path.is_file():
            text = _render_dot(self._graph)
        else:
            text = None
        return _svg_element(text) if text else None

    def _repr_pdf_(self) -> bytes | None:
        """The PDF file's bytes (None for other formats or a missing file)."""
        return self._read() if self.format == "pdf" else None

    def _data_uri(self) -> str | None:
        """The picture as a `data:` URI for an `<img>`: PNG or SVG, else None."""
        png = self._repr_png_()
        if png is not None:
            return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        svg = self._repr_svg_()
        if svg is not None:
            return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
        return None


class Pictures(list):
    """A list of `Picture`s that a notebook shows side by side, each with its caption.

    A plain list otherwise: `plot_parts` returns one, and a run or lesson result can show
    its pictures with `Pictures(paths)._repr_html_()`.

    Args:
        pictures: `Picture`s or paths (made `Picture`s).
    """

    def __init__(self, pictures=()):
        super().__init__(p if isinstance(p, Picture) else Picture(p) for p in pictures)

    def _repr_html_(self) -> str | None:
        if not self:
            return None
        cells = []
        for picture in self:
            caption = html.escape(picture.caption or picture.path.name)
            uri = picture._data_uri()
            body = (
                f'<img src="{uri}" alt="{caption}" style="max-width:100%;height:auto">'
                if uri
                else f"<code>{html.escape(str(picture))}</code>"
            )
            cells.append(
                '<figure style="margin:0 12px 12px 0;max-width:100%">'
                f"{body}<figcaption>{caption}</figcaption></figure>"
            )
        grid = '<div style="display:flex;flex-wrap:wrap;align-items:flex-start">'
        return grid + "".join(cells) + "</div>"
