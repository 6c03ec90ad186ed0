# %% [markdown]
# # Classic convnets side by side: LeNet-5, AlexNet, VGG and ResNet
#
# Twenty years of image classifiers, each adding one idea to the convolution + pooling
# recipe of the `cnn` lesson:
#
# - **LeNet-5** (1998): two 5x5 conv layers with average pooling and tanh, 61,706 weights.
# - **AlexNet** (2012): a large, strided first kernel, many more filters, ReLU, max
#   pooling, and a wide dense head regularized by dropout.
# - **VGG** (2014): only 3x3 kernels, two stacked per block (they see a 5x5 patch with
#   fewer weights), filters doubling block after block.
# - **ResNet** (2015): shortcut connections `y = x + F(x)` and batch norm, so that very
#   deep stacks still train; global average pooling instead of a big dense head.
#
# This lesson trains the zoo's `lenet5`, `alexnet_small`, `vgg_small` and `resnet20` on the
# same real digits, same seed, same epochs, through `kerazoo.train`, and measures their
# parameters, seconds and test accuracy. The quick mode uses the same
# layers with about a quarter of the filters, on a slice of the digits.
#
# Run it: `kerazoo lesson architectures` (or `python -m kerazoo.lessons architectures --quick`).

# %%
from __future__ import annotations

import time

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note, percent

# %% [markdown]
# ## 1. The four networks on the same data

# %%
MODELS = {
    "lenet5": ("LeNet-5", 1998),
    "alexnet_small": ("AlexNet-style", 2012),
    "vgg_small": ("VGG-style", 2014),
    "resnet20": ("ResNet-20", 2015),
}
# Quick mode: the same layers with a quarter of the filters (ResNet-20's 19 conv layers at
# full resolution dominate a CPU run, so it keeps 4 filters in its first stage).
QUICK = {
    "lenet5": {},
    "alexnet_small": {"filters": (16, 32, 64), "dense_units": (64, 64)},
    "vgg_small": {"filters": (8, 16, 32), "dense_units": (64, 64)},
    "resnet20": {"base_filters": 4},
}


def train_all(lesson: Lesson) -> dict:
    epochs = lesson.pick(3, 8)
    max_examples = lesson.pick(1500, None)
    runs = {}
    for name in MODELS:
        overrides = QUICK[name]
        start = time.perf_counter()
        result, history = lesson.train(
            name,
            "mnist_sample",
            tag=name,
            epochs=epochs,
            batch_size=32,
            max_examples=max_examples,
            early_stopping=False,
            overrides=lesson.pick(overrides, {}),
        )
        seconds = time.perf_counter() - start
        runs[name] = {
            "params": int(result.model.count_params()),
            "seconds": seconds,
            "test_accuracy": float(result.metrics["test_accuracy"]),
            "val_accuracy": history["val_accuracy"],
            "n_train": result.metrics.get("n_train"),
            "n_test": result.metrics.get("n_test"),
            "settings": lesson.pick(overrides, {}),
        }
        lesson.measure(f"params_{name}", runs[name]["params"], f"parameters of {name} as trained")
        lesson.measure(
            f"seconds_{name}", seconds, f"seconds of {name}'s training run (2 CPU cores)"
        )
        lesson.measure(
            f"test_accuracy_{name}",
            runs[name]["test_accuracy"],
            f"test accuracy of {name} after {epochs} epochs",
        )
    lesson.measure("epochs", epochs, "epochs each network trained (no early stopping)")
    return runs


# %% [markdown]
# ## 2. Table and picture: accuracy against size and time


# %%
def report(lesson: Lesson, runs: dict) -> None:
    names = list(MODELS)
    lesson.table(
        "The same digits, the same epochs: four classic architectures",
        ["model", "year", "parameters", "seconds", "test accuracy", "quick-mode settings"],
        [
            [
                f"{MODELS[n][0]} (`{n}`)",
                MODELS[n][1],
                f"{runs[n]['params']:,}",
                f"{runs[n]['seconds']:.1f}",
                percent(runs[n]["test_accuracy"]),
                ", ".join(f"{k}={v}" for k, v in runs[n]["settings"].items()) or "registered",
            ]
            for n in names
        ],
    )
    best = max(names, key=lambda n: runs[n]["test_accuracy"])
    lesson.measure("most_accurate", best, "the network with the highest test accuracy")

    fig, (ax_p, ax_s, ax_c) = lesson.figure(16, 4.8, ncols=3)
    for i, n in enumerate(names):
        r = runs[n]
        label = f"{MODELS[n][0]} ({MODELS[n][1]})"
        ax_p.scatter(r["params"], 100 * r["test_accuracy"], s=90, color=COLORS[i], label=label)
        ax_p.annotate(
            percent(r["test_accuracy"]),
            (r["params"], 100 * r["test_accuracy"]),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize=8,
        )
        ax_s.barh(MODELS[n][0], r["seconds"], color=COLORS[i])
        ax_s.text(r["seconds"], i, f" {r['seconds']:.1f} s", va="center", fontsize=8)
        ep = np.arange(1, len(r["val_accuracy"]) + 1)
        ax_c.plot(ep, 100 * r["val_accuracy"], marker="o", ms=3, color=COLORS[i], label=label)
    ax_p.set_xscale("log")
    ax_p.set(
        title="Test accuracy against parameters",
        xlabel="parameters (log scale)",
        ylabel="test accuracy (%)",
    )
    ax_p.grid(alpha=0.3)
    # Room under the points for the legend, beside them for their labels.
    accuracies = [100 * runs[n]["test_accuracy"] for n in names]
    low, high = min(accuracies), max(accuracies)
    span = max(high - low, 2.0)
    ax_p.set_ylim(low - 0.75 * span, high + 0.15 * span)
    ax_p.margins(x=0.2)
    ax_p.legend(fontsize=8, loc="lower right")
    # A free row under the bars holds the note.
    ax_s.set_ylim(len(names) + 0.3, -0.6)
    ax_s.set(title="Seconds to train (2 CPU cores)", xlabel="seconds of the run")
    ax_s.set_xlim(0, 1.25 * max(runs[n]["seconds"] for n in names))
    ax_s.grid(axis="x", alpha=0.3)
    ax_c.set(
        title="Validation accuracy per epoch", xlabel="epoch", ylabel="validation accuracy (%)"
    )
    ax_c.grid(alpha=0.3)
    # Beside the panel: the curves may run anywhere from 10% to 100%.
    ax_c.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax_c.xaxis.get_major_locator().set_params(integer=True)
    r0 = runs[names[0]]
    note(
        ax_s,
        f"{r0['n_train']:,} training digits\n{lesson.results['numbers']['epochs']} epochs each"
        + ("\nquick: narrower layers" if lesson.quick else ""),
        loc="lower right",
    )
    lesson.save(
        fig,
        "architectures.png",
        "LeNet-5, a small AlexNet, a small VGG and ResNet-20 trained on the same real digits: "
        "test accuracy against parameters, training seconds, and validation curves.",
    )


# %%
def run(lesson: Lesson) -> None:
    runs = train_all(lesson)
    report(lesson, runs)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("architectures", quick=True)
    print(results["numbers"])
