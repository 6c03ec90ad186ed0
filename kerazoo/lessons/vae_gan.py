# %% [markdown]
# # Generative models: a VAE's latent map and a GAN learning to draw digits
#
# Both networks learn to make new images of handwritten digits from a few random numbers,
# in two different ways:
#
# 1. the zoo's `vae` (variational autoencoder) squeezes each digit into a code distribution
#    and rebuilds it. The lesson trains it twice, with its default 16-D code and with a
#    2-D one (the Keras example's size), checks which test digits come back as themselves
#    (the reconstruction's nearest real training digit has the input's class), draws where
#    each class lands in the 2-D code space, and decodes a grid of 2-D codes: the whole
#    "manifold" of digits the decoder has learned, morphing smoothly from one to the next;
# 2. the zoo's `dcgan` (a generator against a discriminator) is trained on the same digits;
#    the same 10 noise vectors are decoded after every epoch, so the picture shows blobs
#    turning into strokes and strokes into digits, measured epoch by epoch by a Fréchet
#    distance (FID's recipe) in a pretrained digit classifier's features.
#
# Both train through `kerazoo.train` on the real 5,000-digit MNIST sample.
#
# What it took to make the VAE rebuild digits as themselves on 3,600 training digits
# (measured with `model.fit`, batch 32, seed 0, on 2 CPU cores):
#
# - the log-variance head starts at -5, not 0: started at the prior's spread, the decoder
#   learned to ignore the noisy code and every digit came out as one of a few blurred
#   prototypes (test loss 182.7 nats, a 1 decoded as a 9);
# - a 128-unit Dense layer before the code, not the Keras example's 16: with a 2-D code,
#   test loss 159.9 -> 154.8 nats and 57% -> 65% of test digits rebuilt as their own
#   class after 40 epochs (a KL warm-up, 256 units, and random shifts did not help);
# - and above all a larger code: two numbers cannot say which digit an image is, and 4/9
#   and 3/5/8 share regions of the 2-D plane. With 16 dimensions, 30 epochs gave a test
#   loss of 99.7 nats and 91.5% of digits rebuilt as their own class, against 93% for the
#   inputs themselves on the same check. So the zoo's `vae` now has a 16-D code, and the
#   lesson keeps a 2-D one for the map. keras.io's 146.95 nats is a 2-D code trained on
#   the full 60,000 digits.
#
# Run it: `kerazoo lesson vae_gan`.

# %%
from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note, percent

# %% [markdown]
# ## 1. The VAE: reconstructions that keep the class, and what the code size does
#
# A VAE's encoder gives a mean and a variance per code dimension; training decodes a code
# drawn from that distribution and minimises the pixels' summed cross-entropy plus the KL
# divergence of the code's distribution from N(0, I). Outside training the mean is
# decoded. Whether a reconstruction "is" the same digit is measured without a trained
# classifier: its nearest real training digit (pixel distance) must have the input's class.
# The same check on the inputs themselves is the ceiling (a 1-nearest-neighbour classifier).


# %%
def nearest_label(images: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The label of each image's nearest reference image (Euclidean pixel distance)."""
    a = images.reshape(len(images), -1).astype(np.float32)
    b = reference.reshape(len(reference), -1).astype(np.float32)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return labels[d.argmin(axis=1)]


CODE_SIZES = (16, 2)  # the zoo's default, then the Keras example's size (the map below)


def train_vae(lesson: Lesson, splits, latent_dim: int) -> dict:
    """Trains the zoo's `vae` with a `latent_dim`-D code; measures its reconstructions."""
    # Full: 30 epochs (about 3,400 updates at batch 32); with the 2-D code the class share
    # still rose slowly after 30 (65% at 40) while the test loss had settled.
    epochs = lesson.pick(6, 30)
    # Quick: the same layers with half the filters, and a larger step (Adam 2e-3) to make up
    # for fewer epochs.
    quick = {"filters": (16, 32)}
    result, _ = lesson.train(
        "vae",
        "mnist_sample",
        tag=f"vae{latent_dim}",
        epochs=epochs,
        patience=10,
        seed=0,
        overrides={"latent_dim": latent_dim, **lesson.pick(quick, {})},
        **lesson.pick({"learning_rate": 2e-3}, {}),
    )
    m = result.metrics
    x, y = splits.x_test, splits.y_test
    reconstructions = result.model.predict(x, verbose=0)
    same_class = nearest_label(reconstructions, splits.x_train, splits.y_train) == y
    return {
        "model": result.model,
        "latent_dim": latent_dim,
        "epochs": m["epochs"],
        "seconds": m["seconds"],
        "test_loss": m["test_loss"],
        "test_kl_loss": m["test_kl_loss"],
        "reconstructions": reconstructions,
        "same_class": same_class,
        "per_class": [float(same_class[y == k].mean()) for k in range(10)],
    }


def compare_code_sizes(lesson: Lesson, splits) -> dict:
    """Both VAEs: numbers, a table and the reconstructions picture; returns them by size."""
    runs = {d: train_vae(lesson, splits, d) for d in CODE_SIZES}
    x, y = splits.x_test, splits.y_test
    ceiling = nearest_label(x, splits.x_train, splits.y_train) == y
    lesson.measure(
        "input_same_class",
        float(ceiling.mean()),
        "the class check on the test digits themselves (1-nearest-neighbour accuracy)",
    )
    for d, r in runs.items():
        suffix = "" if d == CODE_SIZES[0] else f"_{d}d"
        which = f"the {d}-D VAE" + (" (the zoo's default)" if not suffix else "")
        lesson.measure(f"vae_epochs{suffix}", r["epochs"], f"epochs {which} trained")
        lesson.measure(f"vae_train_seconds{suffix}", r["seconds"], f"seconds fitting {which}")
        lesson.measure(
            f"vae_test_loss{suffix}",
            r["test_loss"],
            f"{which}: test loss, summed pixel cross-entropy + KL (nats)",
        )
        lesson.measure(
            f"vae_test_kl_loss{suffix}", r["test_kl_loss"], f"{which}: its KL part (nats)"
        )
        lesson.measure(
            f"reconstruction_same_class{suffix}",
            float(r["same_class"].mean()),
            f"{which}: share of test digits whose reconstruction's nearest training digit "
            "has their class",
        )
        lesson.measure(
            f"worst_class_same_class{suffix}",
            min(r["per_class"]),
            f"{which}: the lowest per-class share of reconstructions that keep their class",
        )
    lesson.table(
        "Reconstructions that keep their class, per digit and code size",
        ["code", "test loss (nats)", *map(str, range(10)), "all"],
        [
            [
                f"{d}-D",
                round(r["test_loss"], 1),
                *(percent(p) for p in r["per_class"]),
                percent(r["same_class"].mean()),
            ]
            for d, r in runs.items()
        ]
        + [
            [
                "inputs",
                "",
                *(percent(ceiling[y == k].mean()) for k in range(10)),
                percent(ceiling.mean()),
            ]
        ],
    )

    # Two test digits of each class, their reconstructions by each VAE below them.
    picks = np.concatenate([np.flatnonzero(y == k)[:2] for k in range(10)])
    rows = [("input", x, None)] + [
        (f"{d}-D code", r["reconstructions"], r["same_class"]) for d, r in runs.items()
    ]
    fig, axes = lesson.figure(14, 0.8 * len(rows) + 0.8, nrows=len(rows), ncols=len(picks))
    for row, (label, images, kept) in enumerate(rows):
        for j, i in enumerate(picks):
            ax = axes[row, j]
            ax.imshow(images[i][:, :, 0], cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if kept is not None and not kept[i]:  # a red frame: rebuilt as another class
                for spine in ax.spines.values():
                    spine.set(color="tab:red", linewidth=2.5)
        axes[row, 0].set_ylabel(label, fontsize=9)
    big, small = (runs[d] for d in CODE_SIZES)
    fig.suptitle(
        f"VAE reconstructions after {big['epochs']} epochs (red frame: rebuilt as another "
        f"class). 16-D code: loss {big['test_loss']:.1f} nats, "
        f"{percent(big['same_class'].mean())} of 1,000 test digits keep their class; 2-D: "
        f"{small['test_loss']:.1f} nats, {percent(small['same_class'].mean())} "
        f"(inputs: {percent(ceiling.mean())})",
        fontsize=9.5,
    )
    lesson.save(
        fig,
        "vae_reconstructions.png",
        "Test digits (top) and their reconstructions through a 16-D and a 2-D code.",
    )
    return runs


# %% [markdown]
# ## 2. The VAE's 2-D code space and the manifold it decodes
#
# Left: the code (`z_mean`) of every test digit, coloured by its class: the KL term keeps
# the codes near N(0, I), the reconstruction term pulls the classes apart. Right: the
# decoder applied to a 15 x 15 grid of codes from -2 to 2 standard deviations: every point of
# the square is a digit, and neighbouring codes give similar digits.


# %%
def draw_latent(lesson: Lesson, model, splits) -> None:
    import keras
    from matplotlib.patches import Rectangle

    z_mean, _ = model.encoder.predict(splits.x_test, verbose=0)
    n, span = 15, 2.0
    grid = np.linspace(-span, span, n)
    codes = np.array([[gx, gy] for gy in grid[::-1] for gx in grid], dtype=np.float32)
    images = keras.ops.convert_to_numpy(model.decoder(codes, training=False))[..., 0]
    canvas = images.reshape(n, n, 28, 28).transpose(0, 2, 1, 3).reshape(n * 28, n * 28)

    centres = np.array([z_mean[splits.y_test == k].mean(axis=0) for k in range(10)])
    spread = float(np.linalg.norm(centres - centres.mean(axis=0), axis=1).mean())
    lesson.measure(
        "latent_class_centre_spread",
        spread,
        "mean distance of the 10 class centres of the 2-D code from their mean",
    )
    lesson.measure(
        "latent_std", float(z_mean.std()), "standard deviation of the test codes (prior: 1)"
    )
    fig, (ax_s, ax_m) = lesson.figure(14, 6.6, ncols=2)
    cmap = [*COLORS, "#7f7f7f", "#bcbd22", "#17becf"]
    for k in range(10):
        pts = z_mean[splits.y_test == k]
        ax_s.scatter(pts[:, 0], pts[:, 1], s=7, color=cmap[k], alpha=0.7, label=str(k))
        ax_s.text(
            *centres[k],
            str(k),
            fontsize=15,
            weight="bold",
            ha="center",
            va="center",
            color=cmap[k],
            bbox={"facecolor": "white", "alpha": 0.7, "lw": 0},
        )
    ax_s.add_patch(Rectangle((-span, -span), 2 * span, 2 * span, fill=False, ls="--", lw=1))
    ax_s.set(
        title="Codes (z_mean) of 1,000 test digits, by class",
        xlabel="code dimension 1",
        ylabel="code dimension 2",
    )
    ax_s.legend(title="digit", fontsize=8, markerscale=2, loc="upper right", ncols=2)
    ax_s.grid(alpha=0.3)
    note(ax_s, "dashed square: the grid\ndecoded on the right", loc="lower left")
    ax_m.imshow(canvas, cmap="gray_r", extent=(-span, span, -span, span))
    ax_m.set(
        title=f"The decoder on a {n}x{n} grid of codes: the learned manifold",
        xlabel="code dimension 1",
        ylabel="code dimension 2",
    )
    lesson.save(
        fig,
        "vae_latent.png",
        "The VAE's 2-D code space: test digits by class (left) and decoded grid (right).",
    )


# %% [markdown]
# ## 3. The DCGAN, epoch by epoch
#
# The generator never sees a real digit: it only learns from the discriminator's verdicts.
# A callback given to `kerazoo.train` decodes the same noise vectors after every epoch (as
# the run folder's `samples/epoch_NNN.png` do). How much they look like real digits is
# measured the way GANs are scored (FID, the Fréchet Inception Distance), with a digit
# classifier in place of Inception: the zoo's pretrained `mnist_cnn:mnist` preset maps each
# image to its 128 features before the last layer, and the Fréchet distance compares the
# mean and covariance of 200 samples' features with those of 800 real test digits (0: the
# same distribution). Two measures that look simpler fail here: the pixel distance to the
# nearest real digit rates the faint grey blobs of epoch 1 closer than bold, well-formed
# digits, and the classifier's confidence is above 0.9 for random pixels too.


# %%
def make_recorder(n_shown: int, n_judged: int, seed: int):
    import keras

    class EpochSamples(keras.callbacks.Callback):
        """Keeps `model.generate(...)` from the same noise after every epoch: `n_shown`
        images to draw and `n_judged` (another seed) to measure."""

        def __init__(self):
            super().__init__()
            self.images: list[np.ndarray] = []
            self.judged: list[np.ndarray] = []

        def on_epoch_end(self, epoch, logs=None):
            self.images.append(self.model.generate(n_shown, seed=seed))
            self.judged.append(self.model.generate(n_judged, seed=seed + 1))

    return EpochSamples()


def train_gan(lesson: Lesson, splits) -> None:
    from kerazoo.pretrained import measure

    epochs = lesson.pick(4, 20)
    overrides = lesson.pick(
        {"latent_dim": 64, "generator_filters": (64, 32), "discriminator_filters": (32, 64)}, {}
    )
    recorder = make_recorder(10, 200, seed=1)
    result, history = lesson.train(
        "dcgan",
        "mnist_sample",
        tag="dcgan",
        epochs=epochs,
        seed=0,
        max_examples=lesson.pick(2000, None),
        overrides=overrides,
        callbacks=[recorder],
    )
    lesson.measure("gan_epochs", result.metrics["epochs"], "epochs the DCGAN trained")
    lesson.measure("gan_train_seconds", result.metrics["seconds"], "seconds spent fitting it")
    lesson.measure("gan_params", result.metrics["params"], "parameters (generator + discriminator)")

    # FID's formula and the judge's features: the same functions the dcgan:mnist preset's
    # card is measured with (kerazoo.pretrained.measure).
    features = measure.feature_extractor(measure.DIGIT_JUDGE, measure.DIGIT_FEATURES)
    frechet_distance = measure.frechet_distance
    # Test digits only (the judge was trained on the training digits), in a seeded random
    # order: the splits are stored by class, and 200 digits of three classes score like a
    # GAN that draws only those.
    order = np.random.default_rng(0).permutation(len(splits.x_test))
    real = features(splits.x_test[order[200:]])
    distances = [frechet_distance(features(images), real) for images in recorder.judged]
    noise = np.random.default_rng(0).uniform(0, 1, size=(200, 28, 28, 1)).astype(np.float32)
    lesson.measure(
        "gan_fd_epoch_1",
        distances[0],
        f"samples after epoch 1: Fréchet distance of 200 samples to 800 real test digits "
        f"in {measure.DIGIT_JUDGE}'s 128 features (0: the same distribution)",
    )
    lesson.measure("gan_fd_last_epoch", distances[-1], "the same after the last epoch")
    lesson.measure("gan_fd_best", min(distances), "the same, best epoch")
    lesson.measure(
        "gan_fd_best_epoch", int(np.argmin(distances)) + 1, "the epoch with the lowest distance"
    )
    lesson.measure(
        "noise_fd",
        frechet_distance(features(noise), real),
        "the same for 200 images of uniform random pixels (a reference, not data)",
    )
    lesson.measure(
        "real_fd",
        frechet_distance(features(splits.x_test[order[:200]]), real),
        "the same for 200 other real test digits (the floor: what 200 real digits score)",
    )
    lesson.measure(
        "gan_final_d_loss", float(history["d_loss"][-1]), "discriminator loss, last epoch"
    )
    lesson.measure("gan_final_g_loss", float(history["g_loss"][-1]), "generator loss, last epoch")

    rows = list(range(len(recorder.images)))
    if len(rows) > 6:  # the first epochs change most
        rows = sorted({0, 1, 2, 4, 9, len(rows) - 1} & set(rows))
    fig = lesson.figure(12.5, 1.3 * len(rows) + 1.9)[0]
    fig.clf()
    sub = fig.subfigures(1, 2, width_ratios=[3, 1.25])
    axes = sub[0].subplots(len(rows), 10, squeeze=False)
    for r, e in enumerate(rows):
        for j in range(10):
            ax = axes[r, j]
            ax.imshow(recorder.images[e][j, :, :, 0], cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(f"epoch {e + 1}\nFD {distances[e]:.0f}", fontsize=8.5)
    sub[0].suptitle(
        "The same 10 noise vectors through the generator after each epoch "
        "(left: epoch, Fréchet distance of 200 samples to real digits)",
        fontsize=9.5,
    )
    ax_d, ax_l = sub[1].subplots(2, 1)
    ep = np.arange(1, len(distances) + 1)
    n = lesson.results["numbers"]
    ax_d.plot(ep, distances, marker="o", color=COLORS[0], label="generated")
    ax_d.axhline(n["real_fd"], color=COLORS[2], ls="--", label="200 real digits")
    ax_d.axhline(n["noise_fd"], color="0.5", ls=":", label="random pixels")
    ax_d.set_yscale("log")
    ax_d.set(
        title="Fréchet distance to real digits",
        xlabel="epoch",
        ylabel=f"FD in {measure.DIGIT_JUDGE} features (log)",
    )
    ax_d.legend(fontsize=7.5)
    ax_l.plot(history["epoch"], history["d_loss"], marker="o", color=COLORS[1], label="d_loss")
    ax_l.plot(history["epoch"], history["g_loss"], marker="o", color=COLORS[3], label="g_loss")
    ax_l.set(title="The two losses", xlabel="epoch", ylabel="cross-entropy (nats)")
    ax_l.legend(fontsize=7.5)
    for ax in (ax_d, ax_l):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    lesson.save(
        fig,
        "gan_epochs.png",
        "DCGAN samples from fixed noise after each epoch, their Fréchet distance to real "
        "digits, and the two losses.",
    )


# %%
def run(lesson: Lesson) -> None:
    from kerazoo.data import load_arrays

    splits, _ = load_arrays("mnist_sample")
    runs = compare_code_sizes(lesson, splits)
    draw_latent(lesson, runs[2]["model"], splits)
    train_gan(lesson, splits)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("vae_gan", quick=True)
    print(results["numbers"])
