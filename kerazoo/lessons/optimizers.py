# %% [markdown]
# # Optimizers: SGD, momentum, RMSprop, Adam and AdamW
#
# Every optimizer takes the same gradient and decides how far to step:
#
# - **SGD**: `w <- w - lr * g`; on a long narrow valley it zig-zags across and crawls along;
# - **SGD + momentum** (0.9): a velocity that averages past gradients, so the zig-zags
#   cancel and the steps along the valley add up;
# - **RMSprop**: divides each coordinate's step by the recent size of its gradients, so
#   steep and flat directions move at similar speeds;
# - **Adam**: momentum and RMSprop together (with bias correction);
# - **AdamW**: Adam plus weight decay applied to the weights directly.
#
# Part 1 runs Keras's own optimizers on a synthetic 2-D loss surface (a narrow valley,
# `f(w1, w2) = 0.05 w1^2 + 2 w2^2`, made up to show the paths) and draws their paths. Part 2
# trains the same zoo MLP on real handwritten digits with each optimizer, same seed, same
# epochs, and compares the loss curves.
#
# Run it: `kerazoo lesson optimizers`.

# %%
from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, batch_loss_recorder, note, percent, smooth

# %% [markdown]
# ## 1. Paths on a synthetic 2-D valley (made up for the picture)

# %%
START = (-9.0, 1.6)
STEPS = 60


def surface(w1, w2):
    return 0.05 * w1**2 + 2.0 * w2**2


def path_optimizers():
    import keras

    return {
        "SGD (lr 0.45)": keras.optimizers.SGD(0.45),
        "SGD + momentum 0.9 (lr 0.05)": keras.optimizers.SGD(0.05, momentum=0.9),
        "RMSprop (lr 0.1)": keras.optimizers.RMSprop(0.1),
        "Adam (lr 0.3)": keras.optimizers.Adam(0.3),
        "AdamW (lr 0.3, decay 0.05)": keras.optimizers.AdamW(0.3, weight_decay=0.05),
    }


def optimizer_path(optimizer, steps: int = STEPS) -> np.ndarray:
    """Positions visited by a Keras optimizer minimizing `surface` from START."""
    import keras
    import tensorflow as tf

    w = keras.Variable(np.array(START, np.float32))
    path = [w.numpy().copy()]
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = surface(w[0], w[1])
        optimizer.apply_gradients([(tape.gradient(loss, w), w)])
        path.append(w.numpy().copy())
    return np.array(path)


def draw_paths(lesson: Lesson) -> None:
    paths = {name: optimizer_path(opt) for name, opt in path_optimizers().items()}
    fig, (ax, ax_loss) = lesson.figure(14, 5, ncols=2)
    g1, g2 = np.meshgrid(np.linspace(-10, 3, 300), np.linspace(-2.2, 2.2, 200))
    ax.contour(
        g1, g2, surface(g1, g2), levels=np.geomspace(0.02, 12, 14), colors="0.75", linewidths=0.8
    )
    rows = []
    for color, (name, path) in zip(COLORS, paths.items(), strict=False):
        ax.plot(path[:, 0], path[:, 1], marker="o", ms=2.5, lw=1.3, color=color, label=name)
        losses = surface(path[:, 0], path[:, 1])
        ax_loss.semilogy(np.arange(len(losses)), losses, color=color, lw=2, label=name)
        key = name.split(" (")[0].lower().replace(" + ", "_").replace(" ", "_")
        lesson.measure(
            f"surface_loss_after_{STEPS}_{key}",
            float(losses[-1]),
            f"{name}: loss on the 2-D valley after {STEPS} steps (start {losses[0]:.2f})",
        )
        rows.append([name, f"{losses[-1]:.2e}"])
    ax.scatter([START[0]], [START[1]], color="k", zorder=3, label="start")
    ax.scatter([0], [0], color="k", marker="*", s=150, zorder=3, label="minimum")
    ax.set(
        title="Paths on f = 0.05 w1^2 + 2 w2^2 (synthetic surface)",
        xlabel="weight w1",
        ylabel="weight w2",
    )
    ax.legend(fontsize=8, loc="lower right")
    ax_loss.set(
        title=f"Loss along each path ({STEPS} steps)", xlabel="step", ylabel="f(w1, w2) (log scale)"
    )
    ax_loss.grid(alpha=0.3, which="both")
    ax_loss.legend(fontsize=8, loc="lower left")
    lesson.table(
        f"Synthetic 2-D valley: loss after {STEPS} steps (start {surface(*START):.2f})",
        ["optimizer", "loss"],
        rows,
    )
    lesson.save(
        fig, "paths.png", "Keras's optimizers on a synthetic 2-D valley: paths and loss per step."
    )


# %% [markdown]
# ## 2. The same network on real digits
#
# The zoo's `mlp` on the MNIST sample through `kerazoo.train`, each optimizer at the zoo's
# default learning rate (SGD 0.01, the others 0.001), same seed and shuffle order. The zoo's
# `"sgd"` is SGD with momentum 0.9; plain SGD is that optimizer with its momentum set to 0
# before the first step.


# %%
def plain_sgd_callback():
    import keras

    class PlainSGD(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.model.optimizer.momentum = 0.0  # read when the first step is traced

    return PlainSGD()


def compare_on_digits(lesson: Lesson) -> None:
    epochs = lesson.pick(2, 10)
    max_examples = lesson.pick(1200, None)
    runs = {
        "SGD": ("sgd", [plain_sgd_callback()]),
        "SGD + momentum": ("sgd", []),
        "RMSprop": ("rmsprop", []),
        "Adam": ("adam", []),
        "AdamW": ("adamw", []),
    }
    curves, rows = {}, []
    for name, (optimizer, extra) in runs.items():
        n_train = 1200 if max_examples else 3600
        recorder = batch_loss_recorder(32, n_train)
        result, history = lesson.train(
            "mlp",
            "mnist_sample",
            tag=name.replace(" + ", "_"),
            epochs=epochs,
            optimizer=optimizer,
            max_examples=max_examples,
            early_stopping=False,
            batch_size=32,
            callbacks=[*extra, recorder],
        )
        assert result.metrics["n_train"] == n_train
        curves[name] = (np.array(recorder.losses), history)
        key = name.lower().replace(" + ", "_")
        lesson.measure(
            f"final_train_loss_{key}",
            float(history["loss"][-1]),
            f"{name}: training loss (cross-entropy) in the last epoch",
        )
        lesson.measure(
            f"test_accuracy_{key}", result.metrics["test_accuracy"], f"{name}: test accuracy"
        )
        rows.append(
            [
                name,
                f"{history['loss'][-1]:.3f}",
                f"{history['val_loss'][-1]:.3f}",
                percent(result.metrics["test_accuracy"]),
            ]
        )
    lesson.table(
        f"The same MLP on real digits, {epochs} epochs, batch 32",
        ["optimizer", "train loss", "validation loss", "test accuracy"],
        rows,
    )

    fig, (ax_b, ax_v) = lesson.figure(13, 4.6, ncols=2)
    steps_per_epoch = len(curves["SGD"][0]) / epochs
    for color, (name, (losses, history)) in zip(COLORS, curves.items(), strict=False):
        ax_b.plot(
            np.arange(1, len(losses) + 1) / steps_per_epoch,
            smooth(losses, 15),
            color=color,
            lw=1.6,
            label=name,
        )
        ax_v.plot(history["epoch"], history["val_loss"], marker="o", color=color, lw=2, label=name)
    ax_b.set(
        title="Training loss per batch (moving average of 15)",
        xlabel="epoch",
        ylabel="cross-entropy loss (nats)",
    )
    ax_b.set_yscale("log")
    ax_v.set(
        title="Validation loss after each epoch", xlabel="epoch", ylabel="cross-entropy loss (nats)"
    )
    ax_v.xaxis.get_major_locator().set_params(integer=True)
    for ax in (ax_b, ax_v):
        ax.grid(alpha=0.3, which="both")
    ax_b.legend(fontsize=8.5, loc="lower left")
    note(
        ax_v,
        "test accuracy:\n" + "\n".join(f"{r[0]:15s} {r[3]}" for r in rows),
        loc="upper right",
        size=8,
    )
    lesson.save(
        fig,
        "digits.png",
        "The same MLP trained on real digits with each optimizer: training and validation loss.",
    )


# %%
def run(lesson: Lesson) -> None:
    draw_paths(lesson)
    compare_on_digits(lesson)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("optimizers", quick=True)
    print(results["numbers"])
