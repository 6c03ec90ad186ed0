# %% [markdown]
# # Batch size and epochs: how much data per step, how often the weights move
#
# An **epoch** is one pass over the training set; a **batch** is the slice of examples
# whose averaged gradient makes one weight update. So an epoch of N examples with batch
# size B makes `ceil(N / B)` updates. This lesson trains the same zoo MLP (`mlp`, one
# hidden layer of 128 ReLU units, Adam at 0.001) on the same real digits for the same
# number of epochs with batch sizes from 8 to 512 and measures, for each:
#
# - updates per epoch (counted by a callback, compared with `ceil(N / B)`);
# - seconds per epoch (the median of the epochs after the first, which also traces the
#   graph): large batches use the CPU's vector units better, so an epoch is faster;
# - validation accuracy after each epoch, and against the number of updates made.
#
# The trade-off it shows: at a fixed number of epochs a very large batch makes few updates
# and ends behind; per update it learns about as much as a small batch, and per second of
# compute a middle size is best.
#
# Run it: `kerazoo lesson batch_and_epochs`.

# %%
from __future__ import annotations

import math
import time

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note, percent

# %% [markdown]
# ## 1. A callback that counts updates and times epochs
#
# `on_train_batch_end` runs once per weight update; the wall time of each epoch is taken
# between `on_epoch_begin` and `on_epoch_end` (training only, before validation).


# %%
def epoch_clock():
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.updates, self.seconds = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self._count, self._start = 0, time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self._count += 1
            self._end = time.perf_counter()  # the last update, before validation starts

        def on_epoch_end(self, epoch, logs=None):
            self.updates.append(self._count)
            self.seconds.append(self._end - self._start)

    return EpochClock()


# %% [markdown]
# ## 2. The same network, the same epochs, four batch sizes


# %%
def compare_batch_sizes(lesson: Lesson) -> None:
    sizes = lesson.pick((8, 32, 128, 512), (8, 16, 32, 64, 128, 256, 512))
    epochs = lesson.pick(4, 10)
    max_examples = lesson.pick(1200, None)
    runs, rows = {}, []
    for size in sizes:
        clock = epoch_clock()
        result, history = lesson.train(
            "mlp",
            "mnist_sample",
            tag=f"batch{size}",
            epochs=epochs,
            batch_size=size,
            max_examples=max_examples,
            early_stopping=False,
            callbacks=[clock],
        )
        n_train = result.metrics["n_train"]
        per_epoch = float(np.median(clock.seconds[1:]))
        updates = clock.updates[0]
        runs[size] = dict(history=history, updates=updates, seconds=per_epoch)
        lesson.measure(
            f"updates_per_epoch_batch{size}",
            updates,
            f"weight updates in one epoch at batch {size} (counted; ceil(N / B) = "
            f"{math.ceil(n_train / size)})",
        )
        lesson.measure(
            f"seconds_per_epoch_batch{size}",
            per_epoch,
            f"median training seconds of one epoch (after the first) at batch {size}",
        )
        lesson.measure(
            f"val_accuracy_batch{size}",
            float(history["val_accuracy"][-1]),
            f"validation accuracy after {epochs} epochs at batch {size}",
        )
        lesson.measure(
            f"test_accuracy_batch{size}",
            result.metrics["test_accuracy"],
            f"test accuracy at batch {size} (best epoch by validation loss)",
        )
        rows.append(
            [
                size,
                updates,
                updates * epochs,
                f"{per_epoch:.2f}",
                f"{n_train / per_epoch:,.0f}",
                percent(float(history["val_accuracy"][-1])),
                percent(result.metrics["test_accuracy"]),
            ]
        )
    lesson.measure("n_train", n_train, "training examples (N) in every run")
    lesson.measure("epochs", epochs, "epochs of every run (no early stopping)")
    lesson.table(
        f"The same MLP, {epochs} epochs over {n_train:,} real digits, by batch size",
        [
            "batch size",
            "updates / epoch",
            "updates in all",
            "seconds / epoch",
            "examples / s",
            f"val accuracy after {epochs} epochs",
            "test accuracy",
        ],
        rows,
    )
    draw(lesson, runs, n_train, epochs)


def draw(lesson: Lesson, runs: dict, n_train: int, epochs: int) -> None:
    sizes = list(runs)
    fig, (ax_t, ax_e, ax_u) = lesson.figure(16, 4.8, ncols=3)

    seconds = [runs[s]["seconds"] for s in sizes]
    updates = [runs[s]["updates"] for s in sizes]
    ax_t.plot(sizes, seconds, marker="o", color=COLORS[0], lw=2, label="seconds per epoch")
    ax_t.set_xscale("log", base=2)
    ax_t.set_xticks(sizes, [str(s) for s in sizes])
    ax_t.set_yscale("log")
    ax_t.set(
        title=f"One epoch over {n_train:,} digits",
        xlabel="batch size (examples per update, log scale)",
        ylabel="seconds per epoch (log scale)",
    )
    for s, sec in zip(sizes, seconds, strict=True):
        ax_t.annotate(f"{sec:.2f} s", (s, sec), textcoords="offset points", xytext=(4, 6), size=8)
    ax_n = ax_t.twinx()
    ax_n.plot(
        sizes, updates, marker="s", ls="--", color=COLORS[1], lw=1.5, label="updates per epoch"
    )
    ax_n.set_yscale("log")
    ax_n.set_ylabel("weight updates per epoch = ceil(N / B) (log scale)", color=COLORS[1])
    lines = ax_t.get_lines()[:1] + ax_n.get_lines()
    ax_t.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="upper right")
    ax_t.grid(alpha=0.3, which="both")

    for color, size in zip(COLORS, sizes, strict=False):
        h = runs[size]["history"]
        final = percent(float(h["val_accuracy"][-1]))
        ax_e.plot(
            h["epoch"],
            100 * h["val_accuracy"],
            marker="o",
            ms=3,
            color=color,
            label=f"batch {size}: {final} after {epochs}",
        )
        ax_u.plot(
            h["epoch"] * runs[size]["updates"],
            100 * h["val_accuracy"],
            marker="o",
            ms=3,
            color=color,
            label=f"batch {size}",
        )
    ax_e.set(
        title=f"Validation accuracy per epoch ({epochs} epochs each)",
        xlabel="epoch (one pass over the training set)",
        ylabel="validation accuracy (%)",
    )
    ax_e.xaxis.get_major_locator().set_params(integer=True)
    ax_u.set_xscale("log")
    ax_u.set(
        title="The same curves against the weight updates made",
        xlabel="weight updates so far (log scale)",
        ylabel="validation accuracy (%)",
    )
    for ax in (ax_e, ax_u):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="lower right")
    small, large = sizes[0], sizes[-1]
    note(
        ax_t,
        f"batch {small}: {runs[small]['seconds'] / runs[large]['seconds']:.1f}x the time\n"
        f"of batch {large} per epoch",
        loc="lower left",
        size=8,
    )
    lesson.save(
        fig,
        "batch_size.png",
        "The same MLP on real digits by batch size: time and updates per epoch, validation "
        "accuracy per epoch and per update.",
    )


# %%
def run(lesson: Lesson) -> None:
    compare_batch_sizes(lesson)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("batch_and_epochs", quick=True)
    print(results["numbers"])
