# %% [markdown]
# # Deep learning vs classical machine learning: how much data does each need?
#
# The seed course says classical machine learning "works well with small/medium datasets"
# while deep learning "requires large datasets" and "can scale performance with data". This
# lesson measures it on real handwritten digits: four models learn from growing slices of
# the same training set and are all tested on the same 1,000 test digits.
#
# - **logistic regression** (scikit-learn): one linear layer on the 784 pixels;
# - **random forest** (scikit-learn, 200 trees): votes of trees that split on single pixels;
# - **MLP**: the zoo's `mnist_mlp` (784 -> 512 -> 256 -> 10, dropout 0.2);
# - **CNN**: the zoo's `mnist_cnn` (two conv blocks), which builds its own image features.
#
# The zoo models train through `kerazoo.train` with `max_examples=N` (a fixed random
# subset, the same one the scikit-learn models get from `kerazoo.data.load_arrays`), with
# early stopping on up to N (at most 400) other validation digits, which the scikit-learn
# models do not use; the seconds are fit seconds on this CPU.
#
# What to look for: the seeds' claim predicts the classical models ahead at small N and
# the networks ahead only at large N. On handwritten digits the measurement says more
# precisely what "deep learning needs data" means: the convnet's built-in assumption
# (local patterns, shared weights) pays off even with 100 digits, every model keeps
# improving with more data, and the networks cost far more seconds to fit.
#
# Run it: `kerazoo lesson dl_vs_ml`.

# %%
from __future__ import annotations

import time

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note, percent

MODELS = ("logistic regression", "random forest", "MLP (mnist_mlp)", "CNN (mnist_cnn)")

# %% [markdown]
# ## 1. The classical models (scikit-learn) on flattened pixels


# %%
def classical(name: str, x_train, y_train, x_test, y_test) -> tuple[float, float]:
    """Fits a scikit-learn model on flattened pixels; returns (test accuracy, fit seconds)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    model = (
        LogisticRegression(max_iter=500, C=0.1)
        if name == "logistic regression"
        else RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=1)
    )
    start = time.perf_counter()
    model.fit(x_train.reshape(len(x_train), -1), y_train)
    seconds = time.perf_counter() - start
    accuracy = float(model.score(x_test.reshape(len(x_test), -1), y_test))
    return accuracy, seconds


# %% [markdown]
# ## 2. The zoo's networks through the training path, tested on the same digits


# %%
def network(lesson: Lesson, model: str, n: int, epochs: int, x_test, y_test):
    result, _ = lesson.train(
        model,
        "mnist_sample",
        tag=f"{model}_{n}",
        epochs=epochs,
        max_examples=n,
        patience=3,
    )
    # kerazoo.train tests on the capped test split; every model here is scored on all
    # 1,000 test digits instead.
    probs = result.model.predict(x_test, verbose=0)
    return float((probs.argmax(axis=1) == y_test).mean()), result.metrics["seconds"]


# %% [markdown]
# ## 3. Growing slices of the training set


# %%
def compare(lesson: Lesson) -> dict:
    from kerazoo.data import load_arrays

    sizes = lesson.pick((100, 900), (100, 250, 500, 1000, 2000, 3600))
    epochs = lesson.pick(6, 30)
    full, _ = load_arrays("mnist_sample")
    x_test, y_test = full.x_test, full.y_test
    scores = {m: [] for m in MODELS}
    seconds = {m: [] for m in MODELS}
    for n in sizes:
        part, _ = load_arrays("mnist_sample", max_examples=n)
        assert len(part.x_train) == n
        for name in MODELS[:2]:
            acc, sec = classical(name, part.x_train, part.y_train, x_test, y_test)
            scores[name].append(acc)
            seconds[name].append(sec)
        for name, model in zip(MODELS[2:], ("mnist_mlp", "mnist_cnn"), strict=True):
            acc, sec = network(lesson, model, n, epochs, x_test, y_test)
            scores[name].append(acc)
            seconds[name].append(sec)
    lesson.data("scikit-learn models: the same digits as arrays (kerazoo.data.load_arrays)")
    keys = dict(zip(MODELS, ("logreg", "forest", "mlp", "cnn"), strict=True))
    for name in MODELS:
        for n, acc, sec in zip(sizes, scores[name], seconds[name], strict=True):
            lesson.measure(
                f"accuracy_{keys[name]}_{n}", acc, f"{name}: test accuracy after {n} examples"
            )
            lesson.measure(f"seconds_{keys[name]}_{n}", sec, f"{name}: fit seconds on {n}")
    small, large = sizes[0], sizes[-1]
    best_classical = [max(a, b) for a, b in zip(*(scores[m] for m in MODELS[:2]), strict=True)]
    cnn = scores[MODELS[3]]
    lesson.measure(
        f"cnn_minus_best_classical_{small}",
        cnn[0] - best_classical[0],
        f"CNN accuracy minus the better classical model's, {small} examples",
    )
    lesson.measure(
        f"cnn_minus_best_classical_{large}",
        cnn[-1] - best_classical[-1],
        f"CNN accuracy minus the better classical model's, {large} examples",
    )
    lesson.measure(
        "cnn_best_at_every_size",
        all(cnn[i] >= max(scores[m][i] for m in MODELS[:3]) for i in range(len(sizes))),
        "the CNN is the most accurate model at every training-set size",
    )
    lesson.measure(
        f"cnn_over_forest_seconds_{large}",
        seconds[MODELS[3]][-1] / seconds[MODELS[1]][-1],
        f"CNN fit seconds / random forest fit seconds at {large} examples",
    )
    rows = [
        [name] + [percent(a) for a in scores[name]] + [f"{seconds[name][-1]:.1f}"]
        for name in MODELS
    ]
    lesson.table(
        "Test accuracy (1,000 real test digits) by training-set size",
        ["model", *[f"N = {n:,}" for n in sizes], f"fit seconds at N = {large:,}"],
        rows,
    )
    return dict(sizes=sizes, scores=scores, seconds=seconds, epochs=epochs)


def draw(lesson: Lesson, sizes, scores, seconds, epochs) -> None:
    fig, (ax_a, ax_s) = lesson.figure(14, 5, ncols=2)
    markers = ("s", "^", "o", "D")
    for color, marker, name in zip(COLORS, markers, MODELS, strict=False):
        ax_a.plot(sizes, 100 * np.array(scores[name]), marker=marker, color=color, lw=2, label=name)
        ax_a.annotate(
            percent(scores[name][-1]),
            (sizes[-1], 100 * scores[name][-1]),
            textcoords="offset points",
            xytext=(6, -3),
            fontsize=8.5,
            color=color,
        )
        ax_s.plot(sizes, seconds[name], marker=marker, color=color, lw=2, label=name)
    ax_a.set_xscale("log")
    ax_a.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax_a.set_xlim(sizes[0] * 0.8, sizes[-1] * 1.6)
    ax_a.set(
        title="Test accuracy against training-set size (same 1,000 test digits)",
        xlabel="training examples N (log scale)",
        ylabel="test accuracy (%)",
    )
    ax_a.legend(fontsize=8.5, loc="lower right")
    small, large = sizes[0], sizes[-1]
    best = {n: max(scores[m][i] for m in MODELS[:2]) for i, n in ((0, small), (-1, large))}
    note(
        ax_a,
        "CNN minus the better classical model:\n"
        f"N = {small:>5,}: {100 * (scores[MODELS[3]][0] - best[small]):+.1f} pts\n"
        f"N = {large:>5,}: {100 * (scores[MODELS[3]][-1] - best[large]):+.1f} pts",
        loc="upper left",
    )
    ax_s.set_xscale("log")
    ax_s.set_yscale("log")
    ax_s.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax_s.set(
        title=f"Fit seconds on this CPU (networks: up to {epochs} epochs, early stopping)",
        xlabel="training examples N (log scale)",
        ylabel="seconds to fit (log scale)",
    )
    ax_s.legend(fontsize=8.5, loc="upper left")
    for ax in (ax_a, ax_s):
        ax.grid(alpha=0.3, which="both")
    lesson.save(
        fig,
        "data_size.png",
        "Logistic regression, random forest, MLP and CNN on growing slices of real digits: "
        "test accuracy and fit seconds.",
    )


# %%
def run(lesson: Lesson) -> None:
    measured = compare(lesson)
    draw(lesson, **measured)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("dl_vs_ml", quick=True)
    print(results["numbers"])
