# %% [markdown]
# # Weight initialization in a deep network
#
# Before the first step, the weights are random numbers, and their scale decides whether a
# signal survives ten layers. Each layer multiplies the spread of its input by about
# `sqrt(fan_in * Var(w) * g)`, where `g` is 1/2 for ReLU (it zeroes half) and about 1 for tanh
# near 0. Keep that factor at 1 and the signal neither vanishes nor explodes:
#
# - **zeros**: every neuron computes the same thing and gets the same gradient: the
#   symmetry is never broken and the hidden layers never learn;
# - **uniform** (Keras's `RandomUniform(-0.05, 0.05)`): too small for 64 inputs: the signal
#   shrinks by ~6x per layer;
# - **Glorot/Xavier** (`Var(w) = 2 / (fan_in + fan_out)`): right for tanh;
# - **He** (`Var(w) = 2 / fan_in`): right for ReLU.
#
# The lesson builds the zoo's `mlp` with ten hidden layers of 64 units, passes 256 real
# digits through it and measures the spread of every layer's activations and gradients, for
# ReLU and tanh, then trains the ReLU net with each initializer through `kerazoo.train`.
#
# Run it: `kerazoo lesson initializers`.

# %%
from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note, percent

INITIALIZERS = {
    "zeros": "zeros",
    "uniform": "random_uniform",
    "glorot": "glorot_uniform",
    "he": "he_normal",
}
DEPTH, WIDTH = 10, 64
NAMES = {"relu": "ReLU", "tanh": "tanh"}

# %% [markdown]
# ## 1. Activation and gradient spread, layer by layer, before training


# %%
def layer_spreads(initializer: str, activation: str, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Std of each hidden layer's output and of each hidden kernel's gradient on (x, y)."""
    import keras
    import tensorflow as tf

    import kerazoo

    keras.utils.set_random_seed(0)
    model = kerazoo.create_model(
        "mlp",
        hidden_units=(WIDTH,) * DEPTH,
        activation=activation,
        kernel_initializer=initializer,
        api="functional",
        compile=False,
    )
    hidden = [model.get_layer(f"dense_{i}") for i in range(1, DEPTH + 1)]
    probe = keras.Model(model.inputs[0], [layer.output for layer in hidden] + [model.outputs[0]])
    with tf.GradientTape() as tape:
        *outputs, probs = probe(x, training=True)
        loss = keras.losses.SparseCategoricalCrossentropy()(y, probs)
    grads = tape.gradient(loss, [layer.kernel for layer in hidden])
    acts = np.array([float(np.std(o.numpy())) for o in outputs])
    grad_std = np.array([float(np.std(g.numpy())) for g in grads])
    return acts, grad_std


def draw_spreads(lesson: Lesson) -> None:
    from kerazoo.data import load_arrays

    splits, info = load_arrays("mnist_sample")
    x, y = splits.x_test[:256], splits.y_test[:256]
    fig, axes = lesson.figure(13, 8, ncols=2, nrows=2)
    layers = np.arange(1, DEPTH + 1)
    floor = 1e-14  # zeros are drawn here on the log scale
    for col, activation in enumerate(("relu", "tanh")):
        for color, (label, init) in zip(COLORS, INITIALIZERS.items(), strict=False):
            acts, grads = layer_spreads(init, activation, x, y)
            key = f"{activation}_{label}"
            lesson.measure(
                f"act_std_layer1_{key}",
                acts[0],
                f"{activation}, {label}: std of layer 1's activations",
            )
            lesson.measure(
                f"act_std_layer{DEPTH}_{key}",
                acts[-1],
                f"{activation}, {label}: std of layer {DEPTH}'s activations",
            )
            lesson.measure(
                f"grad_std_layer1_{key}",
                grads[0],
                f"{activation}, {label}: std of layer 1's kernel gradient",
            )
            axes[0, col].semilogy(
                layers, np.maximum(acts, floor), marker="o", color=color, lw=2, label=label
            )
            axes[1, col].semilogy(
                layers, np.maximum(grads, floor), marker="o", color=color, lw=2, label=label
            )
        axes[0, col].set(
            title=f"{NAMES[activation]}: activation spread per layer",
            xlabel="hidden layer (1 = next to the input)",
            ylabel="std of the layer's outputs",
        )
        axes[1, col].set(
            title=f"{NAMES[activation]}: gradient spread per layer",
            xlabel="hidden layer",
            ylabel="std of dLoss/dW",
        )
    for ax in axes.ravel():
        ax.grid(alpha=0.3, which="both")
        ax.set_xticks(layers)
        ax.legend(fontsize=8.5, title="initializer", loc="lower left")
    n = lesson.results["numbers"]
    note(
        axes[0, 0],
        f"layer 10 / layer 1:\nhe      {n[f'act_std_layer{DEPTH}_relu_he'] / n['act_std_layer1_relu_he']:.2f}\nuniform {n[f'act_std_layer{DEPTH}_relu_uniform'] / n['act_std_layer1_relu_uniform']:.1e}\nzeros: exactly 0 (drawn at 1e-14)",
        loc="lower right",
    )
    lesson.data(f"mnist_sample: {info.source} (256 test digits)")
    lesson.save(
        fig,
        "spreads.png",
        f"Spread of activations and gradients through a {DEPTH}-layer MLP, per initializer, on 256 real digits.",
    )


# %% [markdown]
# ## 2. What it does to training
#
# The same ten-layer ReLU MLP trained on real digits with each initializer (Adam, same seed).


# %%
def train_each(lesson: Lesson) -> None:
    epochs, max_examples = lesson.pick(2, 10), lesson.pick(1200, None)
    fig, ax = lesson.figure(8, 4.6)
    rows = []
    for color, (label, init) in zip(COLORS, INITIALIZERS.items(), strict=False):
        result, history = lesson.train(
            "mlp",
            "mnist_sample",
            tag=label,
            epochs=epochs,
            max_examples=max_examples,
            early_stopping=False,
            overrides={"hidden_units": (WIDTH,) * DEPTH, "kernel_initializer": init},
        )
        acc = result.metrics["test_accuracy"]
        lesson.measure(
            f"test_accuracy_{label}",
            acc,
            f"test accuracy of the 10-layer ReLU MLP initialized with {label}",
        )
        ax.plot(
            history["epoch"],
            100 * history["val_accuracy"],
            marker="o",
            color=color,
            lw=2,
            label=f"{label}: test {percent(acc)}",
        )
        rows.append([label, init, percent(float(history["accuracy"][-1])), percent(acc)])
    ax.set(
        title=f"10-layer ReLU MLP on real digits, {epochs} epochs",
        xlabel="epoch",
        ylabel="validation accuracy (%)",
    )
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, title="initializer")
    lesson.table(
        "Training the 10-layer ReLU MLP with each initializer",
        ["initializer", "Keras name", "train accuracy (last epoch)", "test accuracy"],
        rows,
    )
    lesson.save(
        fig, "training.png", "Validation accuracy of the same deep ReLU MLP with each initializer."
    )


# %%
def run(lesson: Lesson) -> None:
    draw_spreads(lesson)
    train_each(lesson)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("initializers", quick=True)
    print(results["numbers"])
