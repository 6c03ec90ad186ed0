"""The course: every deep-learning-basics idea as one lesson that measures something and
draws it, on real data, through the zoo's models and its one training path.

```python
import kerazoo.lessons

kerazoo.lessons.list_lessons()                       # ['activations', 'forward_backprop', ...]
results = kerazoo.lessons.run("activations", quick=True)
results["numbers"]["test_accuracy_relu"]             # measured, also in results.json
```

From a shell: `kerazoo lesson activations --quick` (or `--list`; `python -m kerazoo.lessons`
works too). Each lesson
writes `results.json` (the numbers it measured, with what each means) and its pictures
into `out` (default `runs/lessons/NAME`). Each lesson module is also a percent-format
notebook (`# %%` cells): open it in Jupyter (jupytext), VS Code or Spyder and run the
cells top to bottom.
"""

from __future__ import annotations

import difflib
import html
import importlib
import os
from pathlib import Path

# The lessons, in the order of the seed courses (neuron -> ... -> mini projects).
# name -> title; the module is kerazoo.lessons.<name>. Listing them imports no Keras.
LESSONS: dict[str, str] = {
    "neuron": "One neuron: a weighted sum, a bias, a sigmoid, and its decision line",
    "activations": "Activation functions: why a network needs non-linearity",
    "forward_backprop": "Forward pass and backpropagation by hand, checked against Keras",
    "losses": "Loss functions: MSE, MAE, Huber and cross-entropy, and what an outlier does",
    "optimizers": "Optimizers: SGD, momentum, RMSprop, Adam and AdamW",
    "learning_rate": "The learning rate: too small, good, too large; range test; schedules",
    "batch_and_epochs": "Batch size and epochs: updates per epoch, seconds per epoch, accuracy",
    "overfitting": "Overfitting, and what dropout, L2, early stopping, batch norm and augmentation do",
    "initializers": "Weight initialization: zeros, uniform, Glorot and He in a deep net",
    "cnn": "Convolutional networks: kernels, feature maps, pooling and weight sharing",
    "architectures": "Classic convnets: LeNet-5, AlexNet, VGG and ResNet on the same digits",
    "rnn": "Recurrent networks: SimpleRNN vs LSTM vs GRU, and the vanishing gradient",
    "attention": "Attention: a transformer's attention weights over a real quotation",
    "autoencoder": "Autoencoders: bottleneck size, a 2-D latent space, denoising",
    "vae_gan": "Generative models: a VAE's code size and 2-D map, a DCGAN epoch by epoch",
    "dl_vs_ml": "Deep learning vs classical ML: accuracy and seconds against training-set size",
    "workflow": "The nine-step workflow on one problem: data to tuning to a deployed TFLite file",
    "mnist_project": "Mini project: a small CNN digit classifier on MNIST, 5 epochs, > 95%?",
    "mlp_project": "Mini project: a multi-layer network without convolutions on MNIST, > 95%?",
}

DEFAULT_ROOT = Path("runs") / "lessons"


def list_lessons() -> list[str]:
    """The lesson names, in course order."""
    return list(LESSONS)


def _unknown(name) -> str:
    close = difflib.get_close_matches(str(name), LESSONS, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"Unknown lesson.{hint} Known lessons: {', '.join(LESSONS)}. Received: name={name!r}"


def get_lesson(name: str):
    """The module of lesson `name` (it defines `run(lesson)`).

    Raises:
        ValueError: for an unknown name.
    """
    if not isinstance(name, str) or name not in LESSONS:
        raise ValueError(_unknown(name))
    return importlib.import_module(f"kerazoo.lessons.{name}")


def run(name: str, *, quick: bool = False, out: str | os.PathLike | None = None) -> dict:
    """Runs lesson `name`: trains, measures and draws; writes results.json and pictures.

    Args:
        name: a lesson from `list_lessons()`.
        quick: the short configuration (well under a minute on 2 CPU cores) instead of the
            full one the docs show.
        out: output folder; default `runs/lessons/NAME`.

    Returns:
        The content of `out/results.json`: `numbers` (measured values), `about` (what each
        means), `tables`, `pictures` (file and caption), `data` (sources), `seconds`.

    Raises:
        ValueError: for an unknown lesson name or a bad `out`.

    Example:

    ```python
    results = kerazoo.lessons.run("forward_backprop", quick=True, out="/tmp/fb")
    results["numbers"]["max_abs_gradient_difference"]    # ~1e-8
    ```
    """
    module = get_lesson(name)
    if not isinstance(quick, bool):
        raise ValueError(f"quick must be True or False. Received: quick={quick!r}")
    if out is not None and not isinstance(out, str | os.PathLike):
        raise ValueError(f"out must be a folder path. Received: out={out!r}")
    folder = Path(out) if out is not None else DEFAULT_ROOT / name
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"out must be a folder, not a file. Received: out={str(out)!r}")

    from kerazoo.lessons._lesson import Lesson

    lesson = Lesson(name, LESSONS[name], quick=quick, out=folder)
    try:
        module.run(lesson)
    except BaseException:
        lesson.abort()
        raise
    return LessonResults(lesson.finish(), folder)


class LessonResults(dict):
    """A lesson's results.json as a dict; a notebook shows its numbers and pictures."""

    def __init__(self, results: dict, folder: Path):
        super().__init__(results)
        self.folder = Path(folder)

    @property
    def pictures(self):
        from kerazoo.viz.picture import Picture, Pictures

        return Pictures(
            Picture(self.folder / p["file"], caption=p["caption"]) for p in self["pictures"]
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
            for k, v in self["numbers"].items()
        )
        title = html.escape(self["title"])
        return f"<h4>{title}</h4><table>{rows}</table>" + (self.pictures._repr_html_() or "")
