# %% [markdown]
# # The learning rate
#
# The learning rate scales every step: `w <- w - lr * gradient`. Too small and training
# crawls; too large and each step overshoots the valley it should descend, the loss jumps
# up and can blow up to NaN. This lesson, on real handwritten digits with the zoo's `mlp`
# and its SGD (momentum 0.9), all through `kerazoo.train`:
#
# 1. trains with a too-small, a good and a too-large learning rate;
# 2. runs a learning-rate range test (Smith 2017): one pass with the rate growing
#    exponentially every batch, the loss against the rate shows where learning is fastest
#    and where it breaks;
# 3. compares the zoo's schedules: constant, step (halved every third of the run), cosine
#    and reduce-on-plateau.
#
# Run it: `kerazoo lesson learning_rate`.

# %%
from __future__ import annotations

import math

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, batch_loss_recorder, percent, smooth

# %% [markdown]
# ## 1. Too small, good, too large

# %%
RATES = {"too small": 0.0005, "good": 0.05, "too large": 2.0}


def train_recorded(lesson: Lesson, tag: str, *, n_train: int, batch_size: int, extra=(), **kwargs):
    """A zoo run with every batch's loss and learning rate recorded; survives divergence."""
    from kerazoo.training.run import TrainingDiverged

    recorder = batch_loss_recorder(batch_size, n_train)
    try:
        result, history = lesson.train(
            "mlp",
            "mnist_sample",
            tag=tag,
            batch_size=batch_size,
            callbacks=[*extra, recorder],
            **kwargs,
        )
    except TrainingDiverged:
        result, history = None, None
    return result, history, recorder


def three_rates(lesson: Lesson) -> None:
    epochs, max_examples = lesson.pick(2, 10), lesson.pick(1200, None)
    n_train = 1200 if max_examples else 3600
    runs, rows = {}, []
    for label, lr in RATES.items():
        result, history, rec = train_recorded(
            lesson,
            label.replace(" ", "_"),
            n_train=n_train,
            batch_size=32,
            epochs=epochs,
            optimizer="sgd",
            learning_rate=lr,
            max_examples=max_examples,
            early_stopping=False,
        )
        losses = np.array(rec.losses)
        diverged = result is None or not np.all(np.isfinite(losses))
        final = math.inf if diverged else float(history["loss"][-1])
        key = label.replace(" ", "_")
        lesson.measure(f"lr_{key}", lr, f"the '{label}' learning rate (SGD, momentum 0.9)")
        lesson.measure(
            f"final_train_loss_{key}",
            final if math.isfinite(final) else "diverged (NaN)",
            f"training loss in the last epoch at the '{label}' rate",
        )
        lesson.measure(
            f"diverged_{key}", bool(diverged), f"the loss became NaN at the '{label}' rate"
        )
        acc = None if result is None else result.metrics["test_accuracy"]
        lesson.measure(
            f"test_accuracy_{key}",
            acc if acc is not None else "diverged",
            f"test accuracy at the '{label}' rate",
        )
        runs[label] = (lr, losses)
        rows.append(
            [
                label,
                lr,
                "diverged (NaN)" if diverged else f"{final:.3f}",
                "-" if acc is None else percent(acc),
            ]
        )
    lesson.table(
        f"Three learning rates, {epochs} epochs (SGD with momentum 0.9)",
        ["", "learning rate", "final train loss", "test accuracy"],
        rows,
    )

    fig, ax = lesson.figure(8, 4.6)
    steps_per_epoch = math.ceil(n_train / 32)
    for color, (label, (lr, losses)) in zip(COLORS, runs.items(), strict=False):
        shown = np.where(np.isfinite(losses), losses, np.nan)
        ax.plot(
            np.arange(1, len(shown) + 1) / steps_per_epoch,
            smooth(shown, 5),
            color=color,
            lw=2,
            label=f"{label}: lr {lr:g}",
        )
        if not np.all(np.isfinite(losses)):
            bad = int(np.argmin(np.isfinite(losses)))
            ax.axvline((bad + 1) / steps_per_epoch, color=color, ls=":", lw=1.5)
            ax.text(
                (bad + 1) / steps_per_epoch,
                2.6,
                f" NaN at batch {bad + 1}",
                color=color,
                fontsize=9,
            )
    ax.set(
        title="Training loss per batch (moving average of 5)",
        xlabel="epoch",
        ylabel="cross-entropy loss (nats, log scale)",
        yscale="log",
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9, loc="lower left")
    lesson.save(
        fig,
        "three_rates.png",
        "Training loss at a too-small, a good and a too-large learning rate.",
    )


# %% [markdown]
# ## 2. The learning-rate range test
#
# One pass over the data with the rate multiplied by a constant factor after every batch,
# from 1e-5 to 10. The loss barely moves while the rate is too small, falls fastest in the
# useful range and shoots up once the rate is too large. A common pick: a tenth of the rate
# where the (smoothed) loss is lowest.


# %%
def range_test_callback(start: float, stop: float, steps: int):
    import keras

    class RangeTest(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best = math.inf

        def on_train_batch_begin(self, batch, logs=None):
            self.model.optimizer.learning_rate = start * (stop / start) ** (
                batch / max(1, steps - 1)
            )

        def on_train_batch_end(self, batch, logs=None):
            loss = float(logs["loss"])
            self.best = min(self.best, loss)
            if not math.isfinite(loss) or loss > 4 * self.best:
                self.model.stop_training = True  # the rate is far too large now

    return RangeTest()


def range_test(lesson: Lesson) -> None:
    max_examples = lesson.pick(1200, None)
    n_train = 1200 if max_examples else 3600
    batch = 16
    steps = math.ceil(n_train / batch)
    _, _, rec = train_recorded(
        lesson,
        "range_test",
        n_train=n_train,
        batch_size=batch,
        epochs=1,
        optimizer="sgd",
        max_examples=max_examples,
        early_stopping=False,
        extra=[range_test_callback(1e-5, 10.0, steps)],
    )
    losses, rates = np.array(rec.losses), np.array(rec.learning_rates)
    ok = np.isfinite(losses)
    smoothed = smooth(losses[ok], 8)
    best = int(np.argmin(smoothed))
    suggested = rates[ok][best] / 10
    lesson.measure(
        "range_test_batches",
        int(ok.sum()),
        "batches run before the loss exploded (or the pass ended)",
    )
    lesson.measure(
        "range_test_lr_at_min_loss",
        float(rates[ok][best]),
        "learning rate where the smoothed loss was lowest",
    )
    lesson.measure(
        "range_test_suggested_lr", float(suggested), "suggested learning rate: a tenth of that"
    )
    lesson.measure(
        "range_test_min_loss", float(smoothed[best]), "lowest smoothed loss in the range test"
    )

    fig, ax = lesson.figure(8, 4.6)
    ax.semilogx(rates[ok], losses[ok], color="0.7", lw=1, label="loss of each batch")
    ax.semilogx(rates[ok], smoothed, color=COLORS[0], lw=2, label="moving average of 8")
    ax.axvline(
        rates[ok][best], color=COLORS[3], ls="--", label=f"lowest loss at lr {rates[ok][best]:.2g}"
    )
    ax.axvline(suggested, color=COLORS[2], ls="--", label=f"suggested lr {suggested:.2g} (a tenth)")
    ax.set(
        title="Learning-rate range test (SGD + momentum, one pass)",
        xlabel="learning rate (log scale)",
        ylabel="training loss (cross-entropy, nats)",
    )
    ax.set_ylim(0, max(3.0, float(np.nanmin(losses)) * 2))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9, loc="upper left")
    lesson.save(
        fig,
        "range_test.png",
        "Learning-rate range test: loss against an exponentially growing rate.",
    )


# %% [markdown]
# ## 3. Schedules: lower the rate as training goes
#
# Big steps early, small steps late. The zoo's `train(lr_schedule=...)`: `step` halves the
# rate every third of the run, `cosine` glides it to zero along a half cosine, `plateau`
# halves it when the validation loss stops improving.

# %%
SCHEDULES = ("constant", "step", "cosine", "plateau")


def schedules(lesson: Lesson) -> None:
    epochs, max_examples = lesson.pick(6, 15), lesson.pick(600, None)
    n_train = 600 if max_examples else 3600
    fig, (ax_lr, ax_loss) = lesson.figure(13, 4.6, ncols=2)
    rows = []
    steps_per_epoch = math.ceil(n_train / 32)
    for color, name in zip(COLORS, SCHEDULES, strict=False):
        result, history, rec = train_recorded(
            lesson,
            f"schedule_{name}",
            n_train=n_train,
            batch_size=32,
            epochs=epochs,
            optimizer="sgd",
            learning_rate=0.05,
            lr_schedule=name,
            max_examples=max_examples,
            early_stopping=False,
            patience=2,
        )
        rates = np.array(rec.learning_rates)
        ax_lr.plot(
            np.arange(1, len(rates) + 1) / steps_per_epoch, rates, color=color, lw=2, label=name
        )
        ax_loss.plot(
            history["epoch"], history["val_loss"], marker="o", color=color, lw=2, label=name
        )
        lesson.measure(
            f"final_lr_{name}",
            float(rates[-1]),
            f"learning rate in the last epoch, {name} schedule (start 0.05)",
        )
        lesson.measure(
            f"final_val_loss_{name}",
            float(history["val_loss"][-1]),
            f"validation loss after the last epoch, {name} schedule",
        )
        rows.append(
            [
                name,
                f"{rates[-1]:.4g}",
                f"{history['val_loss'][-1]:.3f}",
                percent(result.metrics["test_accuracy"]),
            ]
        )
    lesson.table(
        f"Schedules, SGD + momentum from lr 0.05, {epochs} epochs",
        ["schedule", "last learning rate", "last validation loss", "test accuracy"],
        rows,
    )
    ax_lr.set(title="Learning rate during training", xlabel="epoch", ylabel="learning rate")
    ax_loss.set(title="Validation loss", xlabel="epoch", ylabel="cross-entropy loss (nats)")
    ax_loss.xaxis.get_major_locator().set_params(integer=True)
    for ax in (ax_lr, ax_loss):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9, title="schedule")
    lesson.save(
        fig,
        "schedules.png",
        "The zoo's learning-rate schedules: the rate over time and the validation loss.",
    )


# %%
def run(lesson: Lesson) -> None:
    three_rates(lesson)
    range_test(lesson)
    schedules(lesson)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("learning_rate", quick=True)
    print(results["numbers"])
