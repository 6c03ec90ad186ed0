# %% [markdown]
# # Activation functions: why a network needs non-linearity
#
# A neuron computes `activation(w . x + b)`. Without the activation (or with a linear one),
# a stack of layers is still one linear map: `W3 (W2 (W1 x))` is `(W3 W2 W1) x`. This lesson
#
# 1. draws ReLU, leaky ReLU, GELU, sigmoid, tanh and softmax with their derivatives
#    (computed by automatic differentiation, as backpropagation uses them);
# 2. trains the same zoo MLP (`mlp`, two hidden layers) on real handwritten digits with a
#    linear, sigmoid, tanh, ReLU and GELU activation, and shows that the linear one scores
#    lowest: it is exactly a linear classifier, which the lesson checks by collapsing its
#    layers into one matrix.
#
# Run it: `kerazoo lesson activations` (or `python -m kerazoo.lessons activations --quick`).

# %%
from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note, percent

# %% [markdown]
# ## 1. The functions and their slopes
#
# Backpropagation multiplies the slopes of every layer's activation. Sigmoid's slope is at
# most 0.25 and tanh's at most 1, and both fall to ~0 for large inputs (saturation): a deep
# stack of them passes back a vanishing gradient. ReLU's slope is exactly 1 for positive
# inputs and 0 for negative ones; leaky ReLU keeps a small slope (0.2 in Keras) there.

# %%
CURVES = ("relu", "leaky_relu", "gelu", "sigmoid", "tanh")


def activation_slopes(x: np.ndarray) -> tuple[dict, dict]:
    """Values and derivatives of Keras's activations at `x`, by automatic differentiation."""
    import keras
    import tensorflow as tf

    values, slopes = {}, {}
    for name in CURVES:
        z = tf.Variable(x.astype(np.float32))
        with tf.GradientTape() as tape:
            y = keras.activations.get(name)(z)
        values[name] = keras.ops.convert_to_numpy(y)
        slopes[name] = tape.gradient(y, z).numpy()
    return values, slopes


def softmax_curves(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """softmax([z, 1, 0]) for each z, and d p0 / d z (autodiff)."""
    import keras
    import tensorflow as tf

    logits = np.stack([z, np.ones_like(z), np.zeros_like(z)], axis=1).astype(np.float32)
    var = tf.Variable(logits)
    with tf.GradientTape() as tape:
        probs = keras.activations.softmax(var, axis=-1)
        p0 = probs[:, 0]
    slope = tape.gradient(p0, var).numpy()[:, 0]
    return keras.ops.convert_to_numpy(probs), slope


def draw_functions(lesson: Lesson) -> None:
    x = np.linspace(-5, 5, 1001)
    values, slopes = activation_slopes(x)
    probs, p_slope = softmax_curves(x)

    lesson.measure(
        "max_slope_sigmoid", float(slopes["sigmoid"].max()), "largest derivative of sigmoid (at 0)"
    )
    lesson.measure(
        "max_slope_tanh", float(slopes["tanh"].max()), "largest derivative of tanh (at 0)"
    )
    lesson.measure(
        "slope_relu_positive", float(slopes["relu"][x > 0].mean()), "ReLU's derivative for x > 0"
    )
    lesson.measure(
        "slope_relu_negative", float(slopes["relu"][x < 0].mean()), "ReLU's derivative for x < 0"
    )
    lesson.measure(
        "slope_sigmoid_at_5",
        float(slopes["sigmoid"][-1]),
        "sigmoid's derivative at x = 5 (saturated)",
    )
    lesson.measure(
        "sigmoid_chain_10_layers",
        float(slopes["sigmoid"].max() ** 10),
        "upper bound of the gradient factor through 10 sigmoid layers (0.25^10)",
    )

    fig, (ax_f, ax_d, ax_s) = lesson.figure(15, 4.6, ncols=3)
    for color, name in zip(COLORS, CURVES, strict=False):
        ax_f.plot(x, values[name], color=color, label=name, lw=2)
        ax_d.plot(x, slopes[name], color=color, label=f"d {name} / dx", lw=2)
    ax_f.set(title="Activation functions", xlabel="input x (pre-activation)", ylabel="output f(x)")
    ax_f.set_ylim(-1.5, 5)
    ax_d.set(
        title="Their derivatives (automatic differentiation)",
        xlabel="input x",
        ylabel="slope f'(x)",
    )
    ax_d.set_ylim(-0.2, 1.25)
    note(
        ax_d,
        f"max sigmoid' = {lesson.results['numbers']['max_slope_sigmoid']:.3f}\n"
        f"max tanh'    = {lesson.results['numbers']['max_slope_tanh']:.3f}\n"
        f"ReLU' = 1 (x>0), 0 (x<0)\n"
        f"0.25^10 = {0.25**10:.1e}",
        loc="upper left",
    )
    for k, label in enumerate(
        ("p(class 0), logit z", "p(class 1), logit 1", "p(class 2), logit 0")
    ):
        ax_s.plot(x, probs[:, k], color=COLORS[k], lw=2, label=label)
    ax_s.plot(x, p_slope, color="k", ls="--", lw=1.5, label="d p0 / d z = p0 (1 - p0)")
    ax_s.set(
        title="Softmax over logits [z, 1, 0]: probabilities sum to 1",
        xlabel="logit z of class 0",
        ylabel="probability",
    )
    for ax in (ax_f, ax_d, ax_s):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="center left" if ax is ax_s else "lower right")
    ax_f.legend(fontsize=8, loc="upper left")
    ax_d.legend(fontsize=8, loc="center right")
    lesson.save(fig, "functions.png", "Activation functions, their derivatives, and softmax.")


# %% [markdown]
# ## 2. The same network with different activations, on real digits
#
# The zoo's `mlp` (784 -> 256 -> 128 -> 10) is trained through `kerazoo.train` on the
# 5,000-digit MNIST sample with each activation, same seed, same epochs. The linear one is a
# linear classifier in disguise: its three weight matrices multiply into one.


# %%
def compare_activations(lesson: Lesson) -> None:
    import keras

    names = lesson.pick(("linear", "relu"), ("linear", "sigmoid", "tanh", "relu", "gelu"))
    epochs = lesson.pick(3, 15)
    curves, scores, linear_model = {}, {}, None
    for name in names:
        result, history = lesson.train(
            "mlp",
            "mnist_sample",
            tag=name,
            epochs=epochs,
            overrides={"activation": name, "hidden_units": (256, 128)},
        )
        curves[name] = history["val_accuracy"]
        scores[name] = result.metrics["test_accuracy"]
        lesson.measure(
            f"test_accuracy_{name}",
            scores[name],
            f"test accuracy of the MLP with {name} hidden layers (1,000 digits)",
        )
        if name == "linear":
            linear_model = result.model
    n_test = result.metrics["n_test"]

    # The linear MLP collapses into one affine map: W = W1 W2 W3, b = (b1 W2 + b2) W3 + b3.
    dense = [layer for layer in linear_model.layers if isinstance(layer, keras.layers.Dense)]
    w, b = dense[0].get_weights()
    for layer in dense[1:]:
        w2, b2 = layer.get_weights()
        w, b = w @ w2, b @ w2 + b2
    from kerazoo.data import load_arrays

    splits, _ = load_arrays("mnist_sample")
    x = splits.x_test.reshape(len(splits.x_test), -1)
    logits = x @ w + b
    collapsed = np.exp(logits - logits.max(axis=1, keepdims=True))
    collapsed /= collapsed.sum(axis=1, keepdims=True)
    network = linear_model.predict(splits.x_test, verbose=0)
    lesson.measure(
        "linear_collapse_max_difference",
        float(np.abs(collapsed - network).max()),
        "max |difference| between the linear MLP's probabilities and one softmax(x W + b) layer",
    )
    lesson.measure(
        "linear_weight_matrix_shape",
        f"{w.shape[0]}x{w.shape[1]}",
        "shape of the single collapsed weight matrix",
    )
    lesson.measure(
        "relu_minus_linear",
        scores["relu"] - scores["linear"],
        "test-accuracy gain of ReLU over the linear activation (fraction)",
    )

    fig, (ax_bar, ax_curve) = lesson.figure(12, 4.6, ncols=2)
    order = list(names)
    bars = ax_bar.bar(
        order, [100 * scores[n] for n in order], color=[COLORS[i] for i in range(len(order))]
    )
    for bar, n in zip(bars, order, strict=True):
        ax_bar.text(
            bar.get_x() + bar.get_width() / 2,
            bar.get_height() + 0.3,
            percent(scores[n]),
            ha="center",
            fontsize=9,
        )
    low = min(scores.values())
    ax_bar.set_ylim(max(0, 100 * low - 10), 100)
    ax_bar.set(
        title=f"Same MLP, {epochs} epochs: test accuracy ({n_test:,} digits)",
        xlabel="hidden-layer activation",
        ylabel="test accuracy (%)",
    )
    ax_bar.grid(axis="y", alpha=0.3)
    for i, n in enumerate(order):
        ep = np.arange(1, len(curves[n]) + 1)
        ax_curve.plot(ep, 100 * curves[n], marker="o", ms=3, color=COLORS[i], label=n)
    ax_curve.set(
        title="Validation accuracy per epoch", xlabel="epoch", ylabel="validation accuracy (%)"
    )
    ax_curve.grid(alpha=0.3)
    ax_curve.legend(title="activation", fontsize=8)
    ax_curve.xaxis.get_major_locator().set_params(integer=True)
    note(
        ax_bar,
        "linear MLP == one softmax layer:\n"
        f"max |p_net - p_collapsed| = {lesson.results['numbers']['linear_collapse_max_difference']:.1e}",
        loc="upper left",
    )
    lesson.save(
        fig,
        "accuracy.png",
        "The same MLP with each activation on real digits: test accuracy and validation curves.",
    )
    lesson.table(
        "Test accuracy of the same MLP by activation",
        ["activation", "test accuracy", "best validation accuracy"],
        [[n, percent(scores[n]), percent(float(curves[n].max()))] for n in order],
    )


# %%
def run(lesson: Lesson) -> None:
    draw_functions(lesson)
    compare_activations(lesson)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("activations", quick=True)
    print(results["numbers"])
