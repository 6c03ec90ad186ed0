# %% [markdown]
# # One neuron: a weighted sum, a bias and an activation
#
# The smallest network is one neuron: `p = sigmoid(w1 x1 + w2 x2 + b)`. Its weights say
# how much each input counts, its bias shifts the threshold, and the sigmoid turns the sum
# into a probability. The inputs where `w1 x1 + w2 x2 + b = 0` (p = 0.5) form a straight
# line: the neuron's decision boundary. Training moves that line.
#
# This lesson trains the zoo's `perceptron` (one sigmoid unit, 3 parameters) through
# `kerazoo.train` on a real two-feature task: telling malignant from benign breast tumours
# (scikit-learn's Wisconsin table) from two measurements, the mean radius and the mean
# texture of the cell nuclei. It records the weights after every epoch and draws the
# decision line moving over the patients, then checks the neuron's output by hand.
#
# Run it: `kerazoo lesson neuron` (or `python -m kerazoo.lessons neuron --quick`).

# %%
from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note, percent

# %% [markdown]
# ## 1. A real two-feature task
#
# The zoo's `breast_cancer` table has ten "mean" measurements per patient; the neuron gets
# the first two, registered as a dataset of their own so the one training path reads them
# like any other (`kerazoo.register_dataset`). The loader standardizes each feature with
# the training part's mean and standard deviation, so both axes are in standard deviations.

# %%
DATASET = "breast_cancer_2d"
FEATURES = ("mean radius", "mean texture")
CLASSES = ("malignant", "benign")  # label 0, label 1 (scikit-learn's coding)


def _read_two_features(seed, validation_split, options):
    from kerazoo.data import tabular

    x, y, names = tabular.breast_cancer()
    assert tuple(names[:2]) == FEATURES, names[:2]
    return x[:, :2], y


def two_feature_dataset() -> str:
    """Registers `breast_cancer_2d` (mean radius, mean texture -> malignant/benign) once."""
    from kerazoo.data import registry

    if DATASET not in registry.list_datasets():
        registry.register_dataset(
            DATASET,
            kind="table",
            task="classification",
            reader=_read_two_features,
            description="scikit-learn breast_cancer (Wisconsin diagnostic): mean radius and "
            "mean texture only",
        )
    return DATASET


# %% [markdown]
# ## 2. Training, with the weights recorded after every epoch
#
# Plain SGD with a large step (0.1) so the line visibly travels; no early stopping, so every
# epoch is seen. The weights start where Glorot's initializer puts them (seed 0).


# %%
def weight_recorder():
    """A Keras callback keeping `(w1, w2, b)` before training and after every epoch."""
    import keras

    class Weights(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.history: list[np.ndarray] = []

        def _record(self):
            kernel, bias = self.model.get_layer("output").get_weights()
            self.history.append(np.concatenate([kernel[:, 0], bias]).astype(np.float64))

        def on_train_begin(self, logs=None):
            self._record()

        def on_epoch_end(self, epoch, logs=None):
            self._record()

    return Weights()


def train_neuron(lesson: Lesson):
    import time

    dataset = two_feature_dataset()
    epochs = lesson.pick(12, 40)
    recorder = weight_recorder()
    start = time.perf_counter()
    result, history = lesson.train(
        "perceptron",
        dataset,
        tag="neuron",
        epochs=epochs,
        batch_size=32,
        optimizer="sgd",
        learning_rate=0.1,
        early_stopping=False,
        callbacks=[recorder],
    )
    seconds = time.perf_counter() - start
    weights = np.stack(recorder.history)  # (epochs + 1, 3): w1, w2, b
    # train() tests the checkpoint of the best validation loss: the neuron that is kept.
    kernel, bias = result.model.get_layer("output").get_weights()
    kept = np.concatenate([kernel[:, 0], bias]).astype(np.float64)
    best_epoch = int(np.argmin(np.abs(weights - kept).sum(axis=1)))
    w1, w2, b = kept
    print(f"neuron: w1 (mean radius) = {w1:+.4f}, w2 (mean texture) = {w2:+.4f}, b = {b:+.4f}")

    lesson.measure("parameters", int(result.model.count_params()), "weights + bias of the neuron")
    lesson.measure("epochs", epochs, "epochs trained (SGD, learning rate 0.1, batch 32)")
    lesson.measure("train_seconds", seconds, "seconds of the training run")
    lesson.measure(
        "best_epoch", best_epoch, "epoch of the lowest validation loss, whose weights are kept"
    )
    lesson.measure("w1_mean_radius", float(w1), "kept weight of the mean radius (standardized)")
    lesson.measure("w2_mean_texture", float(w2), "kept weight of the mean texture (standardized)")
    lesson.measure("bias", float(b), "kept bias")
    lesson.measure(
        "initial_weights",
        [round(float(v), 4) for v in weights[0]],
        "w1, w2, b before training (Glorot uniform, seed 0; bias starts at 0)",
    )
    lesson.measure(
        "weights_moved",
        float(np.linalg.norm(weights[-1] - weights[0])),
        "distance the (w1, w2, b) point travelled from its start",
    )
    lesson.measure(
        "test_accuracy",
        result.metrics["test_accuracy"],
        f"accuracy on the {result.metrics['n_test']} held-out patients",
    )
    lesson.measure(
        "first_epoch_val_accuracy",
        float(history["val_accuracy"][0]),
        "validation accuracy after the first epoch",
    )
    lesson.measure(
        "final_val_accuracy",
        float(history["val_accuracy"][-1]),
        "validation accuracy after the last epoch",
    )
    return result, history, weights, best_epoch


# %% [markdown]
# ## 3. The neuron by hand
#
# Nothing hides inside the layer: on the test patients, `1 / (1 + exp(-(x @ w + b)))` with
# the learned numbers gives Keras's predictions.


# %%
def check_by_hand(lesson: Lesson, model, splits) -> None:
    kernel, bias = model.get_layer("output").get_weights()
    w, b = kernel[:, 0].astype(np.float64), float(bias[0])
    x = splits.x_test.astype(np.float64)
    by_hand = 1.0 / (1.0 + np.exp(-(x @ w + b)))
    keras_p = model.predict(splits.x_test, verbose=0)[:, 0]
    lesson.measure(
        "max_abs_difference_by_hand",
        float(np.abs(by_hand - keras_p).max()),
        "max |sigmoid(x . w + b) by hand - Keras's output| on the test patients",
    )


# %% [markdown]
# ## 4. The picture: the decision line over the epochs


# %%
def draw(lesson: Lesson, splits, history, weights, best_epoch: int) -> None:
    from matplotlib import cm

    x, y = splits.x_train, splits.y_train
    fig, (ax, ax_w) = lesson.figure(13.5, 5.4, ncols=2, nrows=1)
    lo, hi = np.percentile(x, [0.5, 99.5], axis=0)
    pad = 0.4
    xs = np.linspace(lo[0] - pad, hi[0] + pad, 200)
    ys = np.linspace(lo[1] - pad, hi[1] + pad, 200)
    gx, gy = np.meshgrid(xs, ys)
    w1, w2, b = weights[best_epoch]
    prob = 1.0 / (1.0 + np.exp(-(w1 * gx + w2 * gy + b)))
    shade = ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.25)
    fig.colorbar(shade, ax=ax, label="kept neuron's p(benign)", shrink=0.8)
    for label, (name, marker) in enumerate(zip(CLASSES, ("x", "o"), strict=True)):
        keep = y == label
        ax.scatter(
            x[keep, 0],
            x[keep, 1],
            s=14,
            marker=marker,
            color=COLORS[3] if label == 0 else COLORS[0],
            alpha=0.7,
            label=f"{name} (train, n={keep.sum()})",
            lw=1 if marker == "x" else 0,
        )
    epochs = len(weights) - 1
    shown = sorted({0, 1, 2, 3, 5, epochs // 2, best_epoch, epochs})
    colors = cm.viridis(np.linspace(0, 0.9, len(shown)))
    for color, e in zip(colors, shown, strict=True):
        a1, a2, c0 = weights[e]
        # w1 x1 + w2 x2 + b = 0  ->  x2 = -(w1 x1 + b) / w2
        line = -(a1 * xs + c0) / a2 if abs(a2) > 1e-9 else np.full_like(xs, np.nan)
        kept = " (kept)" if e == best_epoch else ""
        ax.plot(xs, line, color=color, lw=3 if kept else 1.6, label=f"epoch {e}{kept}")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set(
        title="One neuron's decision line (p = 0.5) moving over the epochs",
        xlabel=f"{FEATURES[0]} (standard deviations)",
        ylabel=f"{FEATURES[1]} (standard deviations)",
    )
    ax.legend(fontsize=7.5, loc="upper right", ncol=2)
    n = lesson.results["numbers"]
    note(
        ax,
        f"p = sigmoid({w1:+.2f} x1 {w2:+.2f} x2 {b:+.2f})\n"
        f"test accuracy {percent(n['test_accuracy'])}",
        loc="lower left",
    )

    ep = np.arange(0, epochs + 1)
    for k, label in enumerate(("w1 (mean radius)", "w2 (mean texture)", "b (bias)")):
        ax_w.plot(ep, weights[:, k], marker="o", ms=3, color=COLORS[k], label=label)
    ax_w.axhline(0, color="0.6", lw=0.8)
    ax_w.axvline(best_epoch, color="0.4", ls=":", lw=1.2, label=f"kept (epoch {best_epoch})")
    ax_w.set(title="Weights, bias and accuracy per epoch", xlabel="epoch", ylabel="value")
    ax_w.grid(alpha=0.3)
    ax_acc = ax_w.twinx()
    ax_acc.plot(
        history["epoch"], 100 * history["val_accuracy"], color="k", ls="--", label="val accuracy"
    )
    ax_acc.set_ylabel("validation accuracy (%)")
    ax_acc.set_ylim(50, 100)
    lines = ax_w.get_legend_handles_labels()
    more = ax_acc.get_legend_handles_labels()
    ax_w.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="center right")
    ax_w.xaxis.get_major_locator().set_params(integer=True)
    lesson.save(
        fig,
        "decision_line.png",
        "A single neuron on two real measurements: its decision line after each epoch over the "
        "training patients, and its weights, bias and validation accuracy per epoch.",
    )


# %%
def run(lesson: Lesson) -> None:
    from kerazoo.data import load_arrays

    result, history, weights, best_epoch = train_neuron(lesson)
    splits, _ = load_arrays(DATASET)  # the same seeded split train() used
    check_by_hand(lesson, result.model, splits)
    draw(lesson, splits, history, weights, best_epoch)
    lesson.table(
        "The neuron's numbers",
        ["", "w1 (mean radius)", "w2 (mean texture)", "b", "validation accuracy"],
        [
            ["before training", *[f"{v:+.4f}" for v in weights[0]], "-"],
            [
                f"after {len(weights) - 1} epochs",
                *[f"{v:+.4f}" for v in weights[-1]],
                percent(float(history["val_accuracy"][-1])),
            ],
            [
                f"kept: epoch {best_epoch} (lowest validation loss)",
                *[f"{v:+.4f}" for v in weights[best_epoch]],
                percent(float(history["val_accuracy"][best_epoch - 1])) if best_epoch else "-",
            ],
        ],
    )


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("neuron", quick=True)
    print(results["numbers"])
