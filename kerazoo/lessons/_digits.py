"""The two digit mini projects' shared steps (mnist_project, mlp_project): load and
normalise the digits, train and plot the accuracy, predict random test digits."""

from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note, percent

BAR = 0.95  # the seeds' expected accuracy


def load_and_normalise(lesson: Lesson):
    from kerazoo.data import load_arrays

    raw, _ = load_arrays("mnist_sample", scale=False)
    splits, _ = load_arrays("mnist_sample")
    lesson.measure("pixel_max_raw", int(raw.x_train.max()), "largest pixel value as stored (uint8)")
    lesson.measure(
        "pixel_max_normalised", float(splits.x_train.max()), "largest pixel value after / 255"
    )
    return splits


def train_and_plot(lesson: Lesson, model: str, *, epochs: int, notes: str = "", **settings):
    """Trains `model` on the digits through `kerazoo.train`; measures and draws accuracy.py."""
    result, history = lesson.train(model, "mnist_sample", tag=model, epochs=epochs, **settings)
    accuracy = result.metrics["test_accuracy"]
    lesson.measure("n_train", result.metrics["n_train"], "training digits")
    lesson.measure("n_test", result.metrics["n_test"], "test digits")
    lesson.measure("epochs", result.metrics["epochs"], "epochs trained")
    lesson.measure("params", result.metrics["params"], f"parameters of {model}")
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
        title=f"{model} on {result.metrics['n_train']:,} real digits: accuracy per epoch",
        xlabel="epoch",
        ylabel="accuracy (%)",
    )
    verdict = "above" if accuracy > BAR else "below"
    note(
        ax_a,
        f"test accuracy {percent(accuracy)}\n{verdict} the 95% bar\n{notes}"
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
    lesson.save(fig, "accuracy.png", f"Accuracy and loss of {model} per epoch, and its test score.")
    return result


def predict_random(lesson: Lesson, name: str, model, splits) -> None:
    """18 random test digits with `model`'s predictions (predictions.png)."""
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
    lesson.save(fig, "predictions.png", f"Random test digits with {name}'s predictions.")
