# %% [markdown]
# # Loss functions: MSE, MAE, Huber and cross-entropy
#
# The loss turns "how wrong" into one number that gradient descent makes smaller. Its shape
# decides what the model cares about:
#
# - **MSE** `mean((y - p)^2)`: big errors count quadratically, so one outlier can pull the
#   whole fit;
# - **MAE** `mean(|y - p|)`: every unit of error counts the same, outliers pull little;
# - **Huber** (delta 1): quadratic near 0, linear beyond delta, the compromise;
# - **cross-entropy** `-log p(true class)`: for probabilities; it punishes a confident wrong
#   answer without bound, where MSE on probabilities stays below 1.
#
# This lesson draws the four as Keras computes them (and their gradients, by automatic
# differentiation), then fits a line to real patients (scikit-learn's diabetes data: body
# mass index -> disease progression one year later) with each regression loss, before and
# after one wrongly recorded value, and measures how far each fit moves.
#
# Run it: `kerazoo lesson losses`.

# %%
from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note

# %% [markdown]
# ## 1. The shapes of the losses and of their gradients

# %%
REGRESSION_LOSSES = ("mse", "mae", "huber")
LABELS = {"mse": "MSE", "mae": "MAE", "huber": "Huber (delta 1)"}


def keras_loss(name: str):
    import keras

    return {
        "mse": keras.losses.MeanSquaredError(reduction=None),
        "mae": keras.losses.MeanAbsoluteError(reduction=None),
        "huber": keras.losses.Huber(delta=1.0, reduction=None),
    }[name]


def loss_and_gradient(name: str, errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras's per-example loss for prediction = target + error, and d loss / d prediction."""
    import tensorflow as tf

    target = np.zeros((len(errors), 1), np.float32)
    pred = tf.Variable(errors.reshape(-1, 1).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = keras_loss(name)(target, pred)
    return loss.numpy(), tape.gradient(loss, pred).numpy().ravel()


def draw_shapes(lesson: Lesson) -> None:
    import keras

    errors = np.linspace(-4, 4, 801)
    fig, (ax_l, ax_g, ax_c) = lesson.figure(15, 4.6, ncols=3)
    for color, name in zip(COLORS, REGRESSION_LOSSES, strict=False):
        loss, grad = loss_and_gradient(name, errors)
        ax_l.plot(errors, loss, color=color, lw=2, label=LABELS[name])
        ax_g.plot(errors, grad, color=color, lw=2, label=LABELS[name])
        lesson.measure(
            f"{name}_at_error_3",
            float(loss[np.argmin(np.abs(errors - 3))]),
            f"{LABELS[name]} of one prediction 3 units too high",
        )
    ax_l.set(
        title="Regression losses (Keras)",
        xlabel="error = prediction - target (target units)",
        ylabel="loss of one example",
    )
    ax_l.set_ylim(0, 8)
    ax_g.set(
        title="Their gradients: how hard an error pulls",
        xlabel="error = prediction - target",
        ylabel="d loss / d prediction",
    )
    note(
        ax_g,
        "MSE: pull grows with the error\nMAE: constant pull (sign only)\nHuber: MSE inside +-1, MAE outside",
        loc="upper left",
    )

    p = np.linspace(0.001, 0.999, 999).astype(np.float32)
    ones = np.ones_like(p)
    ce = keras.ops.convert_to_numpy(keras.losses.binary_crossentropy(ones[:, None], p[:, None]))
    mse_p = (1 - p) ** 2
    ax_c.plot(p, ce, color=COLORS[3], lw=2, label="cross-entropy -log p")
    ax_c.plot(p, mse_p, color=COLORS[0], lw=2, ls="--", label="MSE on the probability (1 - p)^2")
    ax_c.set(
        title="Classification: the true class gets probability p",
        xlabel="predicted probability of the true class p",
        ylabel="loss of one example (nats for cross-entropy)",
    )
    ax_c.set_ylim(0, 7)
    ce_001 = float(
        keras.ops.convert_to_numpy(
            keras.losses.binary_crossentropy(
                np.ones((1, 1), np.float32), np.full((1, 1), 0.01, np.float32)
            )
        )[0]
    )
    lesson.measure(
        "cross_entropy_at_p_0.01",
        ce_001,
        "cross-entropy of a confident wrong answer (p = 0.01 for the true class)",
    )
    lesson.measure(
        "mse_probability_at_p_0.01",
        0.99**2,
        "MSE on the probability for the same answer (bounded by 1)",
    )
    note(
        ax_c,
        f"p = 0.01: cross-entropy {ce_001:.2f}\n          MSE         {0.99**2:.2f}",
        loc="upper right",
    )
    for ax in (ax_l, ax_g, ax_c):
        ax.grid(alpha=0.3)
        ax.legend(
            fontsize=8.5,
            loc="lower right" if ax is ax_g else "upper center" if ax is ax_l else "center right",
        )
    lesson.save(
        fig,
        "loss_shapes.png",
        "MSE, MAE, Huber and cross-entropy as Keras computes them, and their gradients.",
    )


# %% [markdown]
# ## 2. One wrong value: which fit moves?
#
# 40 real patients (scikit-learn's diabetes data, a fixed seeded choice). One of them, the
# lowest body mass index, gets a disease score ten times its recorded one, as a typing error
# would. A line `score = a * bmi + b` is fitted by minimizing each loss (Nelder-Mead, on
# standardized units), with and without that error.


# %%
def fit_line(name: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(a, b) minimizing the mean loss `name` of a * x + b against y (standardized units)."""
    from scipy.optimize import minimize

    def objective(ab):
        e = ab[0] * x + ab[1] - y
        if name == "mse":
            return np.mean(e**2)
        if name == "mae":
            return np.mean(np.abs(e))
        return np.mean(np.where(np.abs(e) <= 1, 0.5 * e**2, np.abs(e) - 0.5))  # Keras's Huber

    start = np.polyfit(x, y, 1)
    return minimize(
        objective,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 20000},
    ).x


def outlier_fits(lesson: Lesson) -> None:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(scaled=False)
    lesson.data(
        "diabetes: scikit-learn load_diabetes(scaled=False) (Efron et al. 2004), 442 patients"
    )
    bmi_col = list(data.feature_names).index("bmi")
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(data.target), 40, replace=False))
    bmi, score = data.data[pick, bmi_col], data.target[pick].astype(float)
    wrong = int(np.argmin(bmi))
    score_bad = score.copy()
    score_bad[wrong] = 10 * score[wrong]

    # Standardize with the clean data so both fits share one scale (Huber's delta = 1 std).
    mx, sx, my, sy = bmi.mean(), bmi.std(), score.mean(), score.std()
    xs = (bmi - mx) / sx

    def raw_line(ab):
        a, b = ab
        return a * sy / sx, (b * sy + my) - a * sy / sx * mx

    fits, rows = {}, []
    for name in REGRESSION_LOSSES:
        clean = raw_line(fit_line(name, xs, (score - my) / sy))
        bad = raw_line(fit_line(name, xs, (score_bad - my) / sy))
        fits[name] = (clean, bad)
        moved = abs(bad[0] - clean[0])
        lesson.measure(
            f"slope_{name}_clean",
            clean[0],
            f"{LABELS[name]} fit: score points per BMI unit, clean data",
        )
        lesson.measure(
            f"slope_{name}_outlier",
            bad[0],
            f"{LABELS[name]} fit: score points per BMI unit, with the one wrong value",
        )
        lesson.measure(
            f"slope_shift_{name}",
            moved,
            f"how far one wrong value moved the {LABELS[name]} slope (score points per BMI unit)",
        )
        rows.append([LABELS[name], f"{clean[0]:.2f}", f"{bad[0]:.2f}", f"{moved:.2f}"])
    lesson.measure(
        "outlier_score",
        float(score_bad[wrong]),
        f"the wrong value (recorded score {score[wrong]:.0f}, times 10)",
    )
    lesson.table(
        "Slope of the fitted line (disease-score points per BMI unit), 40 real patients",
        ["loss", "clean data", "one value x10", "moved by"],
        rows,
    )

    fig, (ax_fit, ax_bar) = lesson.figure(13, 4.8, ncols=2)
    keep = np.arange(len(bmi)) != wrong
    ax_fit.scatter(bmi[keep], score[keep], color="0.35", s=18, label="40 real patients")
    top = 1.25 * score.max()
    ax_fit.scatter(
        [bmi[wrong]],
        [0.97 * top],
        color="k",
        marker="^",
        s=90,
        label=f"one score typed x10 ({score[wrong]:.0f} -> {score_bad[wrong]:.0f}, off the scale)",
    )
    ax_fit.annotate(
        f"{score_bad[wrong]:.0f}",
        (bmi[wrong], 0.97 * top),
        xytext=(8, -4),
        textcoords="offset points",
        fontsize=9,
    )
    ax_fit.set_ylim(0, top)
    grid = np.linspace(bmi.min() - 0.5, bmi.max() + 0.5, 50)
    for color, name in zip(COLORS, REGRESSION_LOSSES, strict=False):
        (a0, b0), (a1, b1) = fits[name]
        ax_fit.plot(grid, a0 * grid + b0, color=color, lw=1.2, ls=":")
        ax_fit.plot(
            grid, a1 * grid + b1, color=color, lw=2, label=f"{LABELS[name]} (dotted: clean data)"
        )
    ax_fit.set(
        title="Line fits with one wrong value",
        xlabel="body mass index (kg/m^2)",
        ylabel="disease progression after 1 year (score)",
    )
    ax_fit.grid(alpha=0.3)
    ax_fit.legend(fontsize=8, loc="lower right")
    shifts = [lesson.results["numbers"][f"slope_shift_{n}"] for n in REGRESSION_LOSSES]
    bars = ax_bar.bar([LABELS[n] for n in REGRESSION_LOSSES], shifts, color=COLORS[:3])
    for bar, v in zip(bars, shifts, strict=True):
        ax_bar.text(bar.get_x() + bar.get_width() / 2, v, f"{v:.2f}", ha="center", va="bottom")
    ax_bar.set(
        title="How far the slope moved",
        xlabel="loss",
        ylabel="|slope change| (score points per BMI unit)",
    )
    ax_bar.grid(axis="y", alpha=0.3)
    lesson.save(
        fig,
        "outlier.png",
        "Fits of the same 40 patients with MSE, MAE and Huber, before and after one wrong value.",
    )


# %%
def run(lesson: Lesson) -> None:
    draw_shapes(lesson)
    outlier_fits(lesson)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("losses", quick=True)
    print(results["numbers"])
