# %% [markdown]
# # Convolutional networks: what convolution and pooling do
#
# A convolution slides one small kernel (3x3 weights here) over the whole image and writes
# at every position the weighted sum of the pixels under it: one **feature map** per
# kernel. The same weights are used everywhere (weight sharing), so a layer needs few of
# them and finds a pattern wherever it is. **Max pooling** keeps the largest value of each
# 2x2 window: the map halves in height and width and small shifts matter less.
#
# This lesson
#
# 1. applies two hand-made 3x3 kernels (vertical and horizontal edges) and a 2x2 max pool to
#    a real digit, with the numbers of one output pixel worked out;
# 2. trains the zoo's `mnist_cnn` (conv 32 -> pool -> conv 64 -> pool -> dense 128) on real
#    digits through `kerazoo.train`, then draws its 32 learned first-layer kernels and the
#    feature maps of one test digit layer by layer (28x28 -> 14x14 -> 7x7);
# 3. counts parameters: one conv layer against a dense layer with the same number of
#    outputs on the same input.
#
# Run it: `kerazoo lesson cnn`.

# %%
from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note

# %% [markdown]
# ## 1. Convolution and pooling by hand on one real digit

# %%
KERNELS = {
    "vertical edges": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32),
    "horizontal edges": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float32),
}


def convolve_by_hand(lesson: Lesson, image: np.ndarray, label: int) -> None:
    import keras
    from matplotlib.patches import Rectangle

    x = image[None]  # (1, 28, 28, 1)
    fig, axes = lesson.figure(15, 6.4, nrows=2, ncols=4)
    for row, (name, kernel) in enumerate(KERNELS.items()):
        maps = keras.ops.conv(x, kernel[:, :, None, None], padding="valid")
        pooled = keras.ops.max_pool(maps, pool_size=2, strides=2)
        maps, pooled = (
            keras.ops.convert_to_numpy(maps)[0, :, :, 0],
            keras.ops.convert_to_numpy(pooled)[0, :, :, 0],
        )
        # One output pixel by hand: the weighted sum of the 3x3 patch under the kernel.
        r, c = np.unravel_index(np.argmax(np.abs(maps)), maps.shape)
        patch = image[r : r + 3, c : c + 3, 0]
        by_hand = float((patch * kernel).sum())
        key = name.split()[0]
        lesson.measure(
            f"by_hand_minus_keras_{key}",
            abs(by_hand - float(maps[r, c])),
            f"|sum(patch * kernel) - keras.ops.conv| at the strongest {name} pixel",
        )
        ax_img, ax_k, ax_m, ax_p = axes[row]
        ax_img.imshow(image[:, :, 0], cmap="gray_r", vmin=0, vmax=1)
        ax_img.add_patch(Rectangle((c - 0.5, r - 0.5), 3, 3, fill=False, edgecolor=COLORS[3], lw=2))
        ax_img.set_title(f"real digit '{label}', 28x28 (red: 3x3 patch)", fontsize=9.5)
        ax_k.imshow(kernel, cmap="coolwarm", vmin=-2, vmax=2)
        for (i, j), v in np.ndenumerate(kernel):
            ax_k.text(j, i, f"{v:+.0f}", ha="center", va="center", fontsize=12)
        ax_k.set_title(f"3x3 kernel: {name}", fontsize=9.5)
        lim = np.abs(maps).max()
        im = ax_m.imshow(maps, cmap="coolwarm", vmin=-lim, vmax=lim)
        ax_m.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="k", lw=2))
        ax_m.set_title(
            f"convolution: {maps.shape[0]}x{maps.shape[1]} map\n"
            f"boxed pixel = sum(patch x kernel) = {by_hand:.2f}",
            fontsize=9.5,
        )
        fig.colorbar(im, ax=ax_m, shrink=0.8, label="response")
        ax_p.imshow(pooled, cmap="coolwarm", vmin=-lim, vmax=lim)
        ax_p.set_title(
            f"2x2 max pooling: {pooled.shape[0]}x{pooled.shape[1]}\n(largest of each 2x2 window)",
            fontsize=9.5,
        )
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    lesson.save(
        fig,
        "convolution.png",
        "Two hand-made 3x3 kernels slid over a real digit, and 2x2 max pooling of the result.",
    )


# %% [markdown]
# ## 2. A trained convnet: its kernels and the feature maps of one digit


# %%
def train_cnn(lesson: Lesson):
    epochs = lesson.pick(2, 5)
    result, history = lesson.train(
        "mnist_cnn",
        "mnist_sample",
        tag="mnist_cnn",
        epochs=epochs,
        max_examples=lesson.pick(1200, None),
    )
    lesson.measure(
        "test_accuracy", result.metrics["test_accuracy"], f"mnist_cnn after {epochs} epochs"
    )
    lesson.measure("n_train", result.metrics["n_train"], "training digits")
    return result, epochs


def draw_kernels(lesson: Lesson, model) -> None:
    kernel = model.get_layer("conv_1").get_weights()[0]  # (3, 3, 1, 32)
    fig, axes = lesson.figure(10, 5.6, nrows=4, ncols=8)
    lim = np.abs(kernel).max()
    for k, ax in enumerate(axes.flat):
        ax.imshow(kernel[:, :, 0, k], cmap="coolwarm", vmin=-lim, vmax=lim)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"kernel {k + 1}", fontsize=8)
    fig.suptitle(
        "The 32 learned 3x3 kernels of mnist_cnn's first layer (red +, blue -; "
        f"weights from {-lim:.2f} to {lim:.2f})",
        fontsize=10,
    )
    lesson.save(fig, "kernels.png", "The 32 first-layer kernels mnist_cnn learned on real digits.")


def draw_feature_maps(lesson: Lesson, model, image: np.ndarray, label: int) -> dict:
    import keras

    names = ["conv_1", "activation_1", "pool_1", "activation_2", "pool_2"]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    outputs = [keras.ops.convert_to_numpy(o)[0] for o in probe([image[None]], training=False)]
    titles = {
        "conv_1": "conv 1 (32 kernels)",
        "activation_1": "batch norm + ReLU",
        "pool_1": "max pool 2x2",
        "activation_2": "conv 2 (64) + BN + ReLU",
        "pool_2": "max pool 2x2",
    }
    shown = 6
    fig, axes = lesson.figure(12, 11, nrows=len(names) + 1, ncols=shown)
    axes[0, 0].imshow(image[:, :, 0], cmap="gray_r", vmin=0, vmax=1)
    axes[0, 0].set_title(f"input '{label}' 28x28x1", fontsize=9)
    for ax in axes[0, 1:]:
        ax.axis("off")
    shapes = {}
    for row, (name, out) in enumerate(zip(names, outputs, strict=True), start=1):
        shapes[name] = out.shape
        # The channels that respond most to this digit after each ReLU, followed through
        # the same block (raw convolution, BN + ReLU, pooling).
        ranked = outputs[1] if row <= 3 else outputs[3]
        order = np.argsort(ranked.reshape(-1, ranked.shape[-1]).max(axis=0))[::-1][:shown]
        for col, ch in enumerate(order):
            ax = axes[row, col]
            ax.imshow(out[:, :, ch], cmap="magma")
            ax.set_title(f"channel {ch + 1}", fontsize=8)
        axes[row, 0].set_ylabel(
            f"{titles[name]}\n{out.shape[0]}x{out.shape[1]}x{out.shape[2]}", fontsize=9
        )
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        "Feature maps of one real test digit, layer by layer (the 6 most active channels; "
        "bright = strong response)",
        fontsize=10.5,
    )
    lesson.save(
        fig,
        "feature_maps.png",
        "One real digit through mnist_cnn: feature maps after each convolution and pooling.",
    )
    return shapes


# %% [markdown]
# ## 3. Parameters: a convolution against a dense layer
#
# A Conv2D of 32 3x3 kernels on a 28x28x1 image has `3*3*1*32 + 32 = 320` weights and gives
# 28x28x32 = 25,088 outputs. A Dense layer giving the same 25,088 outputs from the 784
# pixels needs `784*25,088 + 25,088` weights: every output has its own weights for every
# pixel, where the convolution shares nine.


# %%
def count_parameters(lesson: Lesson, shapes: dict) -> None:
    import keras

    conv = keras.layers.Conv2D(32, 3, padding="same")
    conv.build((None, 28, 28, 1))
    outputs = 28 * 28 * 32
    dense = keras.layers.Dense(outputs)
    dense.build((None, 784))
    conv_params, dense_params = conv.count_params(), dense.count_params()
    lesson.measure("conv_params", conv_params, "Conv2D(32, 3x3) on 28x28x1: weights + biases")
    lesson.measure(
        "dense_params_same_outputs",
        dense_params,
        f"Dense layer with the same {outputs:,} outputs from the 784 pixels",
    )
    lesson.measure("dense_over_conv", dense_params / conv_params, "how many times more weights")
    for name, shape in shapes.items():
        lesson.measure(
            f"shape_{name}", "x".join(map(str, shape)), f"feature-map shape after {name}"
        )
    import kerazoo

    cnn_params = kerazoo.model_info("mnist_cnn").params
    mlp_params = kerazoo.model_info("mnist_mlp").params
    lesson.table(
        "Parameters: convolution against dense",
        ["layer or model", "input", "outputs", "parameters"],
        [
            ["Conv2D(32, 3x3)", "28x28x1", f"{outputs:,} (28x28x32)", f"{conv_params:,}"],
            ["Dense(25,088)", "784 pixels", f"{outputs:,}", f"{dense_params:,}"],
            ["mnist_cnn (whole model)", "28x28x1", "10 classes", f"{cnn_params:,}"],
            ["mnist_mlp (whole model)", "784 pixels", "10 classes", f"{mlp_params:,}"],
        ],
    )
    fig, ax = lesson.figure(8, 3.6)
    labels = ["Conv2D(32, 3x3)", "Dense, same 25,088 outputs"]
    values = [conv_params, dense_params]
    bars = ax.barh(labels, values, color=[COLORS[0], COLORS[1]])
    ax.set_xscale("log")
    for bar, v in zip(bars, values, strict=True):
        ax.text(v * 1.3, bar.get_y() + bar.get_height() / 2, f"{v:,}", va="center", fontsize=10)
    ax.set_xlim(100, dense_params * 30)
    ax.set(
        title="Same input (28x28x1), same number of outputs: parameters",
        xlabel="parameters (log scale)",
    )
    ax.grid(axis="x", alpha=0.3, which="both")
    note(ax, f"dense / conv = {dense_params / conv_params:,.0f}x", loc="lower right")
    lesson.save(
        fig,
        "parameters.png",
        "Weight sharing: a 3x3 convolution against a dense layer with as many outputs.",
    )


# %%
def run(lesson: Lesson) -> None:
    from kerazoo.data import load_arrays

    splits, _ = load_arrays("mnist_sample")
    image, label = splits.x_test[0], int(splits.y_test[0])
    convolve_by_hand(lesson, image, label)
    result, epochs = train_cnn(lesson)
    draw_kernels(lesson, result.model)
    shapes = draw_feature_maps(lesson, result.model, image, label)
    count_parameters(lesson, shapes)
    lesson.data(f"the pictured digit: test image 0 of mnist_sample (label {label})")


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("cnn", quick=True)
    print(results["numbers"])
