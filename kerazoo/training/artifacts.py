"""The pictures of a finished run, by task.

Every run: `history.png` (loss and metric curves, train vs validation) and
`architecture.png`. Then the pictures of the model's task (`kerazoo.tasks`), drawn from
the held-out test split:

- classifiers: `confusion_matrix.png`, and `predictions.png` (a grid of test images with
  predicted and true labels, or the first test texts for text classifiers);
- regressors: `predictions.png` (predicted vs actual); forecasters: `forecast.png` (the
  series and the forecast of its test years);
- autoencoders: `reconstructions.png` (inputs above outputs), plus `samples.png` (decoded
  random latent vectors) for the VAE;
- GANs: `samples.png` (a 4x4 grid from fixed latent vectors).
"""

from __future__ import annotations

from pathlib import Path

from kerazoo.tasks import get_task, spread
from kerazoo.viz import diagrams, plots

__all__ = ["draw", "spread"]


def draw(model, spec, info, splits, run_dir: Path, *, seed: int = 0) -> list[Path]:
    """Draws the run's pictures into `run_dir`; returns the files written.

    `history.png` and `architecture.png` for every run, then the pictures of the model's
    task (`kerazoo.tasks.Task.draw`).

    Args:
        model: the trained model (best weights).
        spec: its registry `ModelSpec` (its task decides the pictures).
        info: the dataset's `DatasetInfo`.
        splits: the dataset's `Splits` (images may still be uint8).
        run_dir: the run folder.
        seed: seed of the random latent vectors drawn.
    """
    run_dir = Path(run_dir)
    before = {p.name for p in run_dir.iterdir()}
    title = f"{spec.name} on {info.name}"
    plots.plot_history(run_dir / "history.csv", run_dir / "history.png", title=title)
    diagrams.plot(model, run_dir / "architecture.png")
    get_task(spec.task).draw(model, spec, info, splits, run_dir, seed=seed)
    return sorted(p for p in run_dir.iterdir() if p.name not in before or p.suffix == ".png")
