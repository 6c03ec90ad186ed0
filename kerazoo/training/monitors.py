"""Image monitors: pictures of a generative run after every epoch.

A GAN's losses say little about how good its images are, and an autoencoder's loss says
little about what its reconstructions look like; a picture per epoch does. Both monitors
write `<run_dir>/<folder>/epoch_NNN.png` (1-based, as the progress bar counts), so a resumed
run rewrites only the epochs it runs again.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from kerazoo.viz import plots


def _check_n(n, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be a positive integer. Received: {name}={n!r}")
    return n


class SampleGridMonitor(keras.callbacks.Callback):
    """After every epoch, draws a grid of images generated from the same latent vectors.

    Works with any model that has `generate(n, seed=...)` returning images in [0, 1] (the
    zoo's `DCGAN`). The fixed seed gives the same latent vectors every epoch, so the grids
    show one set of images improving.

    Args:
        run_dir: the run folder; pictures go to `run_dir/folder/epoch_NNN.png`.
        n: images per grid.
        seed: seed of the latent vectors.
        folder: subfolder name.

    Example:

    ```python
    gan.fit(images, epochs=20, callbacks=[SampleGridMonitor("runs/dcgan")])
    ```
    """

    def __init__(
        self, run_dir: str | os.PathLike, n: int = 16, seed: int = 0, folder: str = "samples"
    ) -> None:
        super().__init__()
        self.n = _check_n(n)
        self.seed = seed
        self.folder = Path(run_dir) / folder

    def on_train_begin(self, logs=None):
        if not callable(getattr(self.model, "generate", None)):
            raise ValueError(
                "SampleGridMonitor needs a model with a generate(n, seed) method, such as "
                f"kerazoo's DCGAN. Received: a {type(self.model).__name__}"
            )

    def on_epoch_end(self, epoch, logs=None):
        images = self.model.generate(self.n, seed=self.seed)
        plots.plot_image_grid(
            images, self.folder / f"epoch_{epoch + 1:03d}.png", title=f"epoch {epoch + 1}"
        )


class ReconstructionMonitor(keras.callbacks.Callback):
    """After every epoch, draws fixed inputs (top row) above the model's reconstructions.

    Args:
        images: the inputs to reconstruct, e.g. the first 10 test images, `(n, h, w, c)`
            in [0, 1].
        run_dir: the run folder; pictures go to `run_dir/folder/epoch_NNN.png`.
        folder: subfolder name.

    Example:

    ```python
    monitor = ReconstructionMonitor(x_test[:10], "runs/conv_autoencoder")
    autoencoder.fit(x_train, x_train, epochs=10, callbacks=[monitor])
    ```
    """

    def __init__(self, images, run_dir: str | os.PathLike, folder: str = "reconstructions"):
        super().__init__()
        images = np.asarray(images, dtype="float32")
        if images.ndim not in (3, 4) or len(images) == 0:
            raise ValueError(
                "images must be a non-empty batch of images, shape (n, h, w) or (n, h, w, c). "
                f"Received: images with shape {images.shape}"
            )
        self.images = images
        self.folder = Path(run_dir) / folder

    def on_epoch_end(self, epoch, logs=None):
        outputs = self.model.predict(self.images, verbose=0)
        plots.plot_reconstructions(
            self.images,
            outputs,
            self.folder / f"epoch_{epoch + 1:03d}.png",
            n=len(self.images),
        )
