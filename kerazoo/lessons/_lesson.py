"""What every lesson shares: its output folder, measured numbers, pictures and zoo runs.

A lesson module receives a `Lesson` and uses it to

- `train(...)`: train a zoo model through `kerazoo.train` (the one training path) in a
  scratch run folder, returning the `RunResult` and the per-epoch history;
- `measure(key, value, about)`: record a number it measured, with what it means;
- `table(...)`: record a small table (the docs show it as Markdown);
- `figure(...)` / `save(fig, file, caption)`: draw a picture and write it as a PNG;
- `finish()`: write `results.json` next to the pictures and return it as a dict.

Pictures are drawn on standalone matplotlib `Figure`s with the Agg canvas (no pyplot, no
window), as `kerazoo.viz.plots` does.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

DPI = 100
# One colour per compared variant, the same order in every lesson (matplotlib's tab10).
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


class Lesson:
    """The output folder and the record of one lesson run.

    Args:
        name: the lesson's registered name.
        title: one line, shown on top of its docs page.
        quick: the short configuration (tests, a first look) instead of the full one.
        out: folder for results.json and the pictures (created; existing pictures of the
            same names are replaced).
    """

    def __init__(self, name: str, title: str, *, quick: bool, out: str | os.PathLike):
        self.name = name
        self.quick = bool(quick)
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self._work = Path(tempfile.mkdtemp(prefix=f"kerazoo-lesson-{name}-"))
        self._start = time.perf_counter()
        self.results: dict = {
            "lesson": name,
            "title": title,
            "quick": self.quick,
            "command": f"kerazoo lesson {name}" + (" --quick" if quick else ""),
            "numbers": {},
            "about": {},
            "tables": [],
            "pictures": [],
            "data": [],
        }

    # -- the numbers ------------------------------------------------------------------

    def measure(self, key: str, value, about: str):
        """Records a measured number (or bool/str) under `key`, with a one-line meaning."""
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float):
            value = float(f"{value:.6g}") if math.isfinite(value) else None
        self.results["numbers"][key] = value
        self.results["about"][key] = about
        return value

    def table(self, title: str, columns: list[str], rows: list[list]) -> None:
        """Records a table of results; cells are strings or numbers."""
        clean = [[c.item() if isinstance(c, np.generic) else c for c in row] for row in rows]
        self.results["tables"].append({"title": title, "columns": columns, "rows": clean})

    def data(self, source: str) -> None:
        """Records where a dataset came from (shown on the docs page)."""
        if source not in self.results["data"]:
            self.results["data"].append(source)

    def pick(self, quick, full):
        """`quick` in the quick configuration, else `full`."""
        return quick if self.quick else full

    # -- the pictures -----------------------------------------------------------------

    def figure(self, width: float, height: float, *, ncols: int = 1, nrows: int = 1):
        """A standalone Figure and its axes (`nrows` x `ncols`, squeezed like pyplot's)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=True)
        return fig, axes

    def save(self, fig, filename: str, caption: str) -> Path:
        """Writes `fig` as `out/filename` (PNG) and records it with its caption."""
        path = self.out / filename
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format="png", dpi=DPI)
        os.replace(tmp, path)
        fig.clf()
        self.results["pictures"].append({"file": filename, "caption": caption})
        return path

    # -- training through the zoo -----------------------------------------------------

    def train(self, model: str, dataset: str, *, tag: str, **kwargs):
        """`kerazoo.train(model, dataset, ...)` into a scratch run folder.

        The run folder (model.keras, TensorBoard logs, ...) is deleted when the lesson
        finishes; the lesson keeps what it measured.

        Returns:
            `(result, history)`: the `RunResult` and `history.csv` as a dict of per-epoch
            float arrays (`loss`, `val_loss`, `accuracy`, `learning_rate`, ...).
        """
        import kerazoo

        kwargs.setdefault("plots", False)
        kwargs.setdefault("verbose", 0)
        result = kerazoo.train(model, dataset, out=self._work / tag, **kwargs)
        self.data(f"{result.metrics['dataset']}: {result.metrics['dataset_source']}")
        return result, read_history(result.run_dir / "history.csv")

    def scratch(self, tag: str) -> Path:
        """A scratch folder deleted when the lesson finishes."""
        path = self._work / tag
        path.mkdir(parents=True, exist_ok=True)
        return path

    def finish(self) -> dict:
        """Writes results.json (with the lesson's seconds) and removes the scratch runs."""
        shutil.rmtree(self._work, ignore_errors=True)
        self.results["seconds"] = round(time.perf_counter() - self._start, 1)
        path = self.out / "results.json"
        tmp = path.with_name(".results.json.tmp")
        tmp.write_text(json.dumps(self.results, indent=2) + "\n")
        os.replace(tmp, path)
        return self.results

    def abort(self) -> None:
        shutil.rmtree(self._work, ignore_errors=True)


def read_history(path: Path) -> dict[str, np.ndarray]:
    """A Keras `CSVLogger` file as `{column: float array}` (the epoch column 1-based)."""
    with Path(path).open(newline="") as f:
        rows = list(csv.DictReader(f))
    history = {key: np.array([float(r[key]) for r in rows]) for key in rows[0]}
    history["epoch"] = history["epoch"] + 1
    return history


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def note(ax, text: str, *, loc: str = "upper right", size: float = 8.5) -> None:
    """A boxed text in a corner of `ax`: the measured numbers on the figure itself."""
    x, ha = (0.98, "right") if "right" in loc else (0.02, "left")
    y, va = (0.97, "top") if "upper" in loc else (0.03, "bottom")
    ax.text(
        x,
        y,
        text,
        transform=ax.transAxes,
        ha=ha,
        va=va,
        fontsize=size,
        family="monospace",
        multialignment="left",
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
    )


def batch_loss_recorder(batch_size: int, n_train: int):
    """A Keras callback recording the training loss of every batch, and the learning rate.

    Keras's `logs["loss"]` at a batch's end is the running mean of the epoch so far,
    weighted by batch sizes; the loss of batch k is recovered as
    `(N_k * mean_k - N_(k-1) * mean_(k-1)) / size_k`.
    """
    import keras

    class BatchLosses(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.losses, self.learning_rates = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self._seen, self._total = 0, 0.0

        def on_train_batch_end(self, batch, logs=None):
            seen = min(self._seen + batch_size, n_train)
            total = float(logs["loss"]) * seen
            self.losses.append((total - self._total) / (seen - self._seen))
            self._seen, self._total = seen, total
            self.learning_rates.append(
                float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            )

    return BatchLosses()


def smooth(values, window: int = 10) -> np.ndarray:
    """Trailing moving average (the first points average what exists so far)."""
    values = np.asarray(values, float)
    out = np.cumsum(values)
    out[window:] = out[window:] - out[:-window]
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return out / counts
