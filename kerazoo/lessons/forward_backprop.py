# %% [markdown]
# # Forward pass and backpropagation, by hand
#
# Training is two passes. **Forward**: each layer computes `activation(x W + b)` and the loss
# compares the output with the target. **Backward**: the chain rule sends `dLoss/dOutput`
# back through every layer, giving `dLoss/dW` for each weight; gradient descent then moves
# each weight a little against its gradient: `w <- w - lr * dLoss/dw`.
#
# This lesson
#
# 1. builds the zoo's two-layer `binary_mlp` (10 -> 8 ReLU -> 1 sigmoid) and, on a real batch
#    of 64 breast-cancer patients, computes the forward pass and every gradient by hand with
#    NumPy (chain rule) and compares them with Keras's automatic gradients;
# 2. trains the seeds' tiny network `1 -> 5 ReLU -> 1` on `y = 2x` with plain gradient
#    descent written out in NumPy, and draws its loss curve.
#
# Run it: `kerazoo lesson forward_backprop`.

# %%
from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note

# %% [markdown]
# ## 1. The chain rule on a real batch
#
# For `h = relu(x W1 + b1)`, `p = sigmoid(h W2 + b2)` and the mean binary cross-entropy
# `L = -mean(y log p + (1 - y) log(1 - p))` over N examples:
#
# - `dL/dz2 = (p - y) / N` (sigmoid and cross-entropy together: the neat form),
# - `dL/dW2 = h^T dL/dz2`, `dL/db2 = sum(dL/dz2)`,
# - `dL/dh = dL/dz2 W2^T`, `dL/dz1 = dL/dh * [z1 > 0]` (ReLU's slope),
# - `dL/dW1 = x^T dL/dz1`, `dL/db1 = sum(dL/dz1)`.


# %%
def forward(x, w1, b1, w2, b2):
    """The two-layer network's forward pass, keeping what backprop needs."""
    z1 = x @ w1 + b1
    h = np.maximum(z1, 0.0)
    z2 = h @ w2 + b2
    p = 1.0 / (1.0 + np.exp(-z2))
    return z1, h, p


def bce(p, y):
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def backward(x, y, w2, z1, h, p):
    """Gradients of the mean binary cross-entropy by the chain rule (see above)."""
    dz2 = (p - y) / len(x)
    dw2, db2 = h.T @ dz2, dz2.sum(axis=0)
    dh = dz2 @ w2.T
    dz1 = dh * (z1 > 0)
    dw1, db1 = x.T @ dz1, dz1.sum(axis=0)
    return dw1, db1, dw2, db2


def check_gradients(lesson: Lesson) -> None:
    import keras
    import tensorflow as tf

    import kerazoo
    from kerazoo.data import load_arrays

    splits, info = load_arrays("breast_cancer")
    lesson.data(f"breast_cancer: {info.source}")
    x = splits.x_train[:64].astype(np.float32)
    y = splits.y_train[:64].astype(np.float32).reshape(-1, 1)

    keras.utils.set_random_seed(0)
    model = kerazoo.create_model("binary_mlp", hidden_units=(8,))
    dense_1, output = model.get_layer("dense_1"), model.get_layer("output")
    weights = [v.numpy() for v in (dense_1.kernel, dense_1.bias, output.kernel, output.bias)]

    # Keras: automatic differentiation of the same loss.
    with tf.GradientTape() as tape:
        p_keras = model(x, training=True)
        loss_keras = keras.losses.BinaryCrossentropy()(y, p_keras)
    variables = [dense_1.kernel, dense_1.bias, output.kernel, output.bias]
    grads_keras = [g.numpy() for g in tape.gradient(loss_keras, variables)]

    # By hand, in float64.
    w1, b1, w2, b2 = (w.astype(np.float64) for w in weights)
    z1, h, p = forward(x.astype(np.float64), w1, b1, w2, b2)
    grads_hand = backward(x.astype(np.float64), y.astype(np.float64), w2, z1, h, p)

    names = ("W1 (10x8)", "b1 (8)", "W2 (8x1)", "b2 (1)")
    diffs = [float(np.abs(gh - gk).max()) for gh, gk in zip(grads_hand, grads_keras, strict=True)]
    lesson.measure(
        "batch_size", len(x), "real examples in the batch (breast-cancer training split)"
    )
    lesson.measure(
        "parameters", int(model.count_params()), "weights and biases of the two-layer net"
    )
    lesson.measure("loss_hand", bce(p, y), "binary cross-entropy computed by hand")
    lesson.measure("loss_keras", float(loss_keras), "the same loss computed by Keras")
    lesson.measure(
        "max_abs_output_difference",
        float(np.abs(p - p_keras.numpy()).max()),
        "max |difference| of the forward pass's probabilities, hand vs Keras",
    )
    lesson.measure(
        "max_abs_gradient_difference",
        max(diffs),
        "max |difference| over all gradients, chain rule by hand vs Keras autodiff",
    )
    lesson.measure(
        "largest_gradient",
        float(max(np.abs(g).max() for g in grads_hand)),
        "largest |gradient| entry (for scale)",
    )
    lesson.table(
        "Hand gradients vs Keras's automatic gradients (64 real patients)",
        ["tensor", "entries", "max |hand - Keras|", "max |gradient|"],
        [
            [n, int(g.size), f"{d:.1e}", f"{np.abs(g).max():.4f}"]
            for n, g, d in zip(names, grads_hand, diffs, strict=True)
        ],
    )

    fig, (ax, ax_text) = lesson.figure(11, 4.8, ncols=2)
    for color, n, gh, gk in zip(COLORS[:4], names, grads_hand, grads_keras, strict=True):
        ax.scatter(gk.ravel(), gh.ravel(), s=22, color=color, label=f"dL/d{n}", alpha=0.8)
    every = np.concatenate([g.ravel() for g in grads_hand])
    pad = 0.08 * (every.max() - every.min())
    lim = (every.min() - pad, every.max() + pad)
    ax.plot(lim, lim, color="0.5", lw=1, ls="--", label="hand = Keras")
    ax.set(
        title=f"Every gradient of the {int(model.count_params())}-parameter net, 64 real patients",
        xlabel="Keras automatic gradient (loss units per weight unit)",
        ylabel="chain rule by hand, NumPy",
        xlim=lim,
        ylim=lim,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    note(
        ax,
        f"max |hand - Keras| = {max(diffs):.1e}\nloss: {bce(p, y):.6f} (hand)\n      {float(loss_keras):.6f} (Keras)",
        loc="lower right",
    )
    ax_text.axis("off")
    ax_text.set_title("The backward pass, layer by layer")
    ax_text.text(
        0.0,
        0.95,
        "forward:\n"
        "  z1 = x W1 + b1,   h = relu(z1)\n"
        "  z2 = h W2 + b2,   p = sigmoid(z2)\n"
        "  L  = -mean(y log p + (1-y) log(1-p))\n\n"
        "backward (chain rule):\n"
        "  dL/dz2 = (p - y) / N\n"
        "  dL/dW2 = h^T dL/dz2      dL/db2 = sum dL/dz2\n"
        "  dL/dh  = dL/dz2 W2^T\n"
        "  dL/dz1 = dL/dh * [z1 > 0]\n"
        "  dL/dW1 = x^T dL/dz1      dL/db1 = sum dL/dz1\n\n"
        "update (gradient descent):\n"
        "  w <- w - lr * dL/dw",
        family="monospace",
        fontsize=10.5,
        va="top",
        transform=ax_text.transAxes,
    )
    lesson.save(
        fig,
        "gradients.png",
        "Gradients by the chain rule (NumPy) against Keras's automatic gradients.",
    )


# %% [markdown]
# ## 2. The seeds' y = 2x network, trained by plain gradient descent
#
# Four points `x = 0, 1, 2, 3` with `y = 2x`, a `1 -> 5 ReLU -> 1` network and the mean
# squared error. Each epoch is one forward pass, one backward pass (the same chain rule with
# `dL/dout = 2 (out - y) / N`) and one update of every weight.


# %%
def train_y_equals_2x(lesson: Lesson, epochs: int, lr: float = 0.02, seed: int = 0):
    """Full-batch gradient descent on y = 2x; returns the weights and the loss per epoch."""
    rng = np.random.default_rng(seed)
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = 2 * x
    # He initialization for the ReLU layer; small output weights.
    w1, b1 = rng.normal(0, np.sqrt(2.0), (1, 5)), np.full(5, 0.1)
    w2, b2 = rng.normal(0, np.sqrt(1 / 5), (5, 1)), np.zeros(1)
    losses = []
    for _ in range(epochs):
        z1 = x @ w1 + b1  # forward
        h = np.maximum(z1, 0)
        out = h @ w2 + b2
        losses.append(float(np.mean((out - y) ** 2)))
        dout = 2 * (out - y) / len(x)  # backward
        dw2, db2 = h.T @ dout, dout.sum(axis=0)
        dz1 = (dout @ w2.T) * (z1 > 0)
        dw1, db1 = x.T @ dz1, dz1.sum(axis=0)
        w1, b1, w2, b2 = w1 - lr * dw1, b1 - lr * db1, w2 - lr * dw2, b2 - lr * db2  # update

    def predict(v):
        return np.maximum(np.asarray(v, float).reshape(-1, 1) @ w1 + b1, 0) @ w2 + b2

    return predict, np.array(losses)


def draw_y_equals_2x(lesson: Lesson) -> None:
    epochs = lesson.pick(500, 2000)
    lr = 0.02
    predict, losses = train_y_equals_2x(lesson, epochs, lr)
    x = np.array([0.0, 1.0, 2.0, 3.0])
    pred = predict(x).ravel()
    lesson.measure("y2x_epochs", epochs, "full-batch gradient-descent epochs on y = 2x")
    lesson.measure("y2x_learning_rate", lr, "learning rate of the hand-written gradient descent")
    lesson.measure("y2x_first_loss", losses[0], "mean squared error before training")
    lesson.measure("y2x_final_loss", losses[-1], "mean squared error after training")
    lesson.measure(
        "y2x_predictions",
        [round(float(v), 4) for v in pred],
        "predictions for x = 0, 1, 2, 3 (targets 0, 2, 4, 6)",
    )
    lesson.measure(
        "y2x_prediction_at_5",
        float(predict([5.0])[0, 0]),
        "prediction at x = 5, outside the data (target 10)",
    )

    fig, (ax_loss, ax_fit) = lesson.figure(12, 4.4, ncols=2)
    ax_loss.semilogy(np.arange(1, epochs + 1), losses, color=COLORS[0], lw=2)
    ax_loss.set(
        title=f"y = 2x: 1-5-1 ReLU net, plain gradient descent (lr {lr})",
        xlabel="epoch (one full-batch update)",
        ylabel="mean squared error (log scale)",
    )
    ax_loss.grid(alpha=0.3, which="both")
    note(ax_loss, f"MSE {losses[0]:.2f} -> {losses[-1]:.2e}")
    grid = np.linspace(-0.5, 5, 200)
    ax_fit.plot(grid, 2 * grid, color="0.6", ls="--", label="y = 2x")
    ax_fit.plot(grid, predict(grid).ravel(), color=COLORS[1], lw=2, label="network after training")
    ax_fit.scatter(x, 2 * x, color="k", zorder=3, label="the 4 training points")
    ax_fit.set(title="What the network learned", xlabel="x", ylabel="y")
    ax_fit.grid(alpha=0.3)
    ax_fit.legend(fontsize=9, loc="upper left")
    note(
        ax_fit,
        "predictions:\n" + "\n".join(f"x={int(a)}: {b:.3f}" for a, b in zip(x, pred, strict=True)),
        loc="lower right",
    )
    lesson.save(
        fig,
        "y_equals_2x.png",
        "The seeds' y = 2x network trained by hand-written gradient descent.",
    )


# %%
def run(lesson: Lesson) -> None:
    check_gradients(lesson)
    draw_y_equals_2x(lesson)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("forward_backprop", quick=True)
    print(results["numbers"])
