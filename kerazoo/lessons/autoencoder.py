# %% [markdown]
# # Autoencoders: compress, rebuild, denoise
#
# An autoencoder learns to copy its input through a narrow **bottleneck**: an encoder
# squeezes a 784-pixel digit into a code of `latent_dim` numbers, a decoder rebuilds the
# image from the code alone, and the loss is the reconstruction error. Nobody gives it
# labels; what survives the bottleneck is what the data has in common. This lesson
#
# 1. trains the zoo's `dense_autoencoder` (784 -> 128 -> code -> 128 -> 784) on real digits
#    with bottlenecks from 2 to 32 (64 in full mode) and measures the test reconstruction
#    error of each (picture: error against code size, and the rebuilt digits);
# 2. draws the 2-number codes of the test digits, coloured by their class, which the
#    autoencoder never saw;
# 3. trains the zoo's `denoising_autoencoder` (a conv autoencoder that adds Gaussian noise,
#    std 0.3, to its inputs while training) and cleans noisy test digits with it: the
#    stray ink on the blank background goes; a short training leaves the strokes blurred,
#    so the per-pixel error falls less than the background noise does.
#
# Run it: `kerazoo lesson autoencoder`.

# %%
from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note

NOISE = 0.3  # the denoising_autoencoder preset's training noise

# %% [markdown]
# ## 1. The bottleneck: code size against reconstruction error


# %%
def mse(a, b) -> float:
    """Mean squared error per pixel (pixels in [0, 1])."""
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


def first_of_each_class(y, classes=8) -> np.ndarray:
    """Indices of the first test digit of classes 0 .. classes-1 (the split is sorted)."""
    return np.array([int(np.flatnonzero(y == k)[0]) for k in range(classes)])


def bottlenecks(lesson: Lesson, splits) -> dict:
    sizes = lesson.pick((2, 8, 32), (2, 4, 8, 16, 32, 64))
    epochs = lesson.pick(5, 20)
    x_test = splits.x_test
    shown = first_of_each_class(splits.y_test)
    errors, rebuilt, models = {}, {}, {}
    for size in sizes:
        result, _ = lesson.train(
            "dense_autoencoder",
            "mnist_sample",
            tag=f"code{size}",
            epochs=epochs,
            max_examples=lesson.pick(2000, None),
            overrides={"latent_dim": size},
        )
        out = result.model.predict(x_test, verbose=0)
        errors[size] = mse(out, x_test)
        rebuilt[size] = out[shown]
        models[size] = result.model
        lesson.measure(
            f"test_mse_code{size}",
            errors[size],
            f"mean squared error per pixel on the 1,000 test digits, code of {size} numbers",
        )
    lesson.measure(
        "mse_code2_over_largest",
        errors[sizes[0]] / errors[sizes[-1]],
        f"how many times the error of a 2-number code is that of a {sizes[-1]}-number one",
    )
    lesson.table(
        f"dense_autoencoder on real digits, {epochs} epochs: code size against error",
        ["code size", "compression (784 / code)", "test MSE per pixel"],
        [[s, f"{784 / s:.1f}x", f"{errors[s]:.4f}"] for s in sizes],
    )

    fig = lesson.figure(14, 6.2)[0]
    fig.clf()  # a grid of its own: the curve on the left, the digits on the right
    grid = fig.add_gridspec(len(sizes) + 1, 11)
    ax = fig.add_subplot(grid[:, :3])
    ax.plot(sizes, [errors[s] for s in sizes], marker="o", lw=2, color=COLORS[0])
    for s in sizes:
        ax.annotate(f"{errors[s]:.4f}", (s, errors[s]), textcoords="offset points", xytext=(5, 5))
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set(
        title="Test reconstruction error by code size",
        xlabel="code size: latent_dim (numbers per digit, log scale)",
        ylabel="mean squared error per pixel",
    )
    ax.grid(alpha=0.3, which="both")
    rows = [("original", x_test[shown])] + [(f"code {s}", rebuilt[s]) for s in sizes]
    for r, (label, images) in enumerate(rows):
        for c in range(8):
            a = fig.add_subplot(grid[r, 3 + c])
            a.imshow(images[c].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
            a.set_xticks([])
            a.set_yticks([])
            if c == 0:
                a.set_ylabel(label, fontsize=9)
    fig.suptitle(
        "Autoencoders with narrower bottlenecks rebuild blurrier digits (right: test digits "
        "and their reconstructions)",
        fontsize=10.5,
    )
    lesson.save(fig, "bottleneck.png", "Reconstruction error and rebuilt test digits by code size.")
    return dict(models=models, sizes=sizes)


# %% [markdown]
# ## 2. The 2-number codes, coloured by class
#
# The encoder of the 2-number autoencoder maps each test digit to a point. It never saw a
# label, yet digits of one class land near each other.


# %%
def latent_space(lesson: Lesson, model, splits) -> None:
    from kerazoo.models.autoencoder import get_encoder

    codes = get_encoder(model).predict(splits.x_test, verbose=0)
    y = splits.y_test
    centres = np.array([codes[y == k].mean(axis=0) for k in range(10)])
    # How well the classes separate without labels: nearest class centre in code space.
    nearest = np.argmin(((codes[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    lesson.measure(
        "code2_nearest_centre_accuracy",
        float((nearest == y).mean()),
        "share of test digits whose 2-number code is nearest its own class's centre",
    )
    fig, ax = lesson.figure(8, 6.8)
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    for k in range(10):
        ax.scatter(*codes[y == k].T, s=9, color=cmap(k), alpha=0.7, label=str(k))
        ax.text(
            *centres[k],
            str(k),
            fontsize=15,
            weight="bold",
            ha="center",
            va="center",
            color=cmap(k),
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": cmap(k)},
        )
    ax.set(
        title="The 2-number codes of 1,000 real test digits (colour = true class, unseen)",
        xlabel="code dimension 1",
        ylabel="code dimension 2",
    )
    ax.legend(title="digit", fontsize=8, markerscale=2, loc="upper right", ncols=2)
    ax.grid(alpha=0.3)
    note(
        ax,
        f"nearest class centre = true class\nfor {100 * float((nearest == y).mean()):.1f}% "
        "of the digits",
        loc="lower left",
    )
    lesson.save(fig, "latent_2d.png", "The 2-D latent space of real test digits, by class.")


# %% [markdown]
# ## 3. Denoising
#
# Noise of the same strength as in training (Gaussian, std 0.3, clipped to [0, 1]) is added
# to test digits; the denoising autoencoder gets the noisy digit and rebuilds a clean one.


# %%
def denoise(lesson: Lesson, splits) -> None:
    epochs = lesson.pick(4, 15)
    result, _ = lesson.train(
        "denoising_autoencoder",
        "mnist_sample",
        tag="denoising",
        epochs=epochs,
        max_examples=lesson.pick(2000, None),
    )
    x = splits.x_test
    noisy = np.clip(x + np.random.default_rng(0).normal(0, NOISE, x.shape), 0, 1).astype("float32")
    cleaned = result.model.predict(noisy, verbose=0)
    before, after = mse(noisy, x), mse(cleaned, x)
    # Stray ink: the mean value of pixels that are blank in the clean digit.
    blank = x == 0
    stray_before, stray_after = float(noisy[blank].mean()), float(cleaned[blank].mean())
    lesson.measure("denoise_mse_noisy", before, "MSE per pixel: noisy test digits vs clean")
    lesson.measure("denoise_mse_cleaned", after, "MSE per pixel: denoised test digits vs clean")
    lesson.measure(
        "denoise_stray_ink_noisy",
        stray_before,
        "mean value of the pixels that are blank (0) in the clean digit, noisy input",
    )
    lesson.measure("denoise_stray_ink_cleaned", stray_after, "the same pixels after denoising")

    shown = first_of_each_class(splits.y_test)
    fig, axes = lesson.figure(12, 5.4, nrows=3, ncols=8)
    for c, i in enumerate(shown):
        for r, (label, images) in enumerate(
            (("clean", x), (f"noisy (std {NOISE})", noisy), ("denoised", cleaned))
        ):
            axes[r, c].imshow(images[i].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if c == 0:
                axes[r, c].set_ylabel(label, fontsize=9.5)
    fig.suptitle(
        f"denoising_autoencoder ({epochs} epochs) on real test digits: stray ink on the blank "
        f"background {stray_before:.3f} -> {stray_after:.3f}; error per pixel {before:.4f} -> "
        f"{after:.4f}",
        fontsize=10,
    )
    lesson.save(fig, "denoising.png", "Noisy real test digits before and after denoising.")


# %%
def run(lesson: Lesson) -> None:
    from kerazoo.data import load_arrays

    splits, _ = load_arrays("mnist_sample")
    measured = bottlenecks(lesson, splits)
    latent_space(lesson, measured["models"][2], splits)
    denoise(lesson, splits)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("autoencoder", quick=True)
    print(results["numbers"])
