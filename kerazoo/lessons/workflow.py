# %% [markdown]
# # The deep-learning workflow: nine steps on one real problem
#
# The seed course lists nine steps; here each one is a call of the zoo, on one problem:
# telling malignant from benign breast tumours from 10 measured cell-nucleus features
# (scikit-learn's Wisconsin diagnostic table, 569 patients).
#
# 1. **define** the problem: binary classification, accuracy as the score;
# 2. **data**: fixed, disjoint train / validation / test splits, features standardized
#    with training statistics only (`kerazoo.data.load`);
# 3. **architecture**: the zoo's `binary_mlp` (10 -> 64 -> 32 -> 1 sigmoid);
# 4. **loss**: binary cross-entropy (the task's default);
# 5. **optimizer**: Adam;
# 6. **train** with `kerazoo.train`, watching the validation loss;
# 7. **tune** a few hyperparameters with `kerazoo.tune` (KerasTuner, random search over
#    depth, widths, activation, dropout, L2, batch norm and learning rate; Adam fixed),
#    ranked on the validation split; the best configuration is retrained on
#    train + validation. With only 46 validation patients one trial's lead may be luck:
#    the single test score of step 8 is what says how well the choice generalizes;
# 8. **test once**: the chosen model on the held-out test patients, a single time;
# 9. **deploy**: `kerazoo.export.export` to a TFLite file, load it with the TFLite
#    interpreter (no Keras, no kerazoo) and predict; its answers match the Keras model's.
#
# Run it: `kerazoo lesson workflow`.

# %%
from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import COLORS, Lesson, note, percent

MODEL, DATASET = "binary_mlp", "breast_cancer"

# %% [markdown]
# ## 1-5. Define, split, choose the architecture, the loss and the optimizer


# %%
def define(lesson: Lesson):
    import kerazoo
    from kerazoo.data import load_arrays

    splits, info = load_arrays(DATASET)
    model = kerazoo.create_model(MODEL)
    lesson.measure("classes", ", ".join(info.class_names), "step 1: the two classes")
    lesson.measure("features", int(info.input_shape[0]), "step 1: measured features per patient")
    for part in ("train", "val", "test"):
        lesson.measure(f"n_{part}", int(getattr(info, f"n_{part}")), f"step 2: {part} patients")
    lesson.measure(
        "train_feature_mean_max",
        float(np.abs(splits.x_train.mean(axis=0)).max()),
        "step 2: largest |mean| of a standardized training feature (0 by construction)",
    )
    lesson.measure("params", int(model.count_params()), f"step 3: parameters of {MODEL}")
    lesson.measure("loss", str(model.loss), "step 4: the compiled loss")
    lesson.measure("optimizer", type(model.optimizer).__name__, "step 5: the compiled optimizer")
    return splits, info


# %% [markdown]
# ## 6. Train, watching the validation loss


# %%
def train(lesson: Lesson):
    epochs = lesson.pick(15, 80)
    result, history = lesson.train(MODEL, DATASET, tag="baseline", epochs=epochs, patience=10)
    best = int(np.argmin(history["val_loss"]))
    lesson.measure(
        "baseline_val_accuracy",
        float(history["val_accuracy"][best]),
        "step 6: validation accuracy at the best epoch (the test split is not looked at)",
    )
    lesson.measure("baseline_epochs", int(len(history["loss"])), "step 6: epochs run")
    return history


# %% [markdown]
# ## 7. Tune: a short random search, ranked on validation


# %%
def tune(lesson: Lesson):
    import kerazoo

    trials = lesson.pick(2, 10)
    result = kerazoo.tune(
        MODEL,
        DATASET,
        out=lesson.scratch("search"),
        tuner="random",
        max_trials=trials,
        epochs=lesson.pick(10, 40),
        fix={"optimizer": "adam"},  # chosen in step 5; the search tunes the rest
        verbose=0,
    )
    rows = [r for r in result.trials if r.get("status") == "COMPLETED"]
    lesson.measure("trials", len(rows), "step 7: completed trials")
    lesson.measure(
        "best_val_accuracy", result.best_score, "step 7: best trial's validation accuracy"
    )
    lesson.measure(
        "best_hyperparameters",
        ", ".join(f"{k}={v}" for k, v in sorted(result.best_hyperparameters.items())),
        "step 7: the best trial's hyperparameters",
    )
    return result, rows


# %% [markdown]
# ## 8-9. Test once, then deploy: export to TFLite, load the file, predict


# %%
def deploy(lesson: Lesson, model, splits) -> dict:
    import tensorflow as tf

    from kerazoo.export import export

    path = export(model, "tflite", lesson.scratch("deploy") / "breast_cancer.tflite")
    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    x = splits.x_test.astype(np.float32)
    lite = []
    for row in x:  # one patient at a time, as a deployed service would
        interpreter.resize_tensor_input(inp["index"], (1, x.shape[1]))
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], row[None])
        interpreter.invoke()
        lite.append(interpreter.get_tensor(out["index"])[0, 0])
    lite = np.array(lite)
    keras_p = model.predict(x, verbose=0)[:, 0]
    lesson.measure("tflite_bytes", path.stat().st_size, "step 9: size of the exported .tflite file")
    lesson.measure(
        "tflite_max_difference",
        float(np.abs(lite - keras_p).max()),
        "step 9: max |TFLite probability - Keras probability| over the test patients",
    )
    accuracy = float(((lite > 0.5) == splits.y_test).mean())
    lesson.measure("tflite_test_accuracy", accuracy, "step 9: accuracy of the deployed file")
    return dict(lite=lite, keras=keras_p, accuracy=accuracy)


def draw(lesson: Lesson, history, search, rows, deployed, splits) -> None:
    fig, (ax_t, ax_s, ax_d) = lesson.figure(17, 4.8, ncols=3)
    ep = history["epoch"]
    ax_t.plot(ep, history["loss"], color=COLORS[0], lw=2, label="training loss")
    ax_t.plot(ep, history["val_loss"], color=COLORS[1], lw=2, label="validation loss")
    low = int(np.argmin(history["val_loss"]))
    ax_t.axvline(ep[low], color="0.5", ls=":", label=f"best epoch {low + 1}")
    ax_t.set(
        title=f"Step 6: train {MODEL}",
        xlabel="epoch",
        ylabel="binary cross-entropy (nats)",
    )
    ax_t.legend(fontsize=8.5)
    note(
        ax_t,
        f"val accuracy {percent(float(history['val_accuracy'][low]))}",
        loc="lower left",
    )

    scores = [float(r["score"]) for r in rows]
    best = int(np.argmax(scores))
    colors = [COLORS[1] if i == best else COLORS[2] for i in range(len(scores))]
    ax_s.bar(range(1, len(scores) + 1), [100 * s for s in scores], color=colors)
    for i, s in enumerate(scores, start=1):
        ax_s.text(i, 100 * s + 0.3, percent(s), ha="center", fontsize=9)
    ax_s.set_ylim(min(100 * min(scores) - 5, 90), 100)
    ax_s.set_xticks(range(1, len(scores) + 1))
    ax_s.set(
        title=f"Step 7: random search, {len(scores)} trials (orange: chosen)",
        xlabel="trial",
        ylabel="validation accuracy (%)",
    )
    test = search.metrics["test_accuracy"]
    note(
        ax_s,
        "step 8, test once (best, retrained):\n"
        f"{percent(test)} on {search.metrics['n_test']} patients",
        loc="upper left",
        size=8,
    )

    ax_d.scatter(deployed["keras"], deployed["lite"], s=14, color=COLORS[3])
    ax_d.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--", label="identical")
    ax_d.set(
        title="Step 9: the exported TFLite file against Keras",
        xlabel="Keras model: P(benign)",
        ylabel="TFLite interpreter: P(benign)",
    )
    ax_d.legend(fontsize=8.5, loc="lower right")
    note(
        ax_d,
        f"max |difference| = {lesson.results['numbers']['tflite_max_difference']:.1e}\n"
        f"TFLite test accuracy {percent(deployed['accuracy'])}",
        loc="upper left",
    )
    for ax in (ax_t, ax_s, ax_d):
        ax.grid(alpha=0.3)
    lesson.save(
        fig,
        "workflow.png",
        "Train, tune, test once and deploy on real breast-cancer data: the steps' measured "
        "results.",
    )


# %%
def run(lesson: Lesson) -> None:
    splits, _ = define(lesson)
    history = train(lesson)
    search, rows = tune(lesson)
    lesson.measure(
        "test_accuracy",
        search.metrics["test_accuracy"],
        "step 8: the chosen model's test accuracy, measured once",
    )
    lesson.data(f"{DATASET}: {search.metrics['dataset_source']}")
    deployed = deploy(lesson, search.model, splits)
    lesson.table(
        "The nine steps and what each gave",
        ["step", "call", "result"],
        [
            ["1 define", "binary classification", lesson.results["numbers"]["classes"]],
            [
                "2 data",
                "kerazoo.data.load",
                "{n_train} / {n_val} / {n_test} patients".format(**lesson.results["numbers"]),
            ],
            [
                "3 architecture",
                f"create_model('{MODEL}')",
                f"{lesson.results['numbers']['params']} parameters",
            ],
            ["4 loss", "task default", lesson.results["numbers"]["loss"]],
            ["5 optimizer", "task default", lesson.results["numbers"]["optimizer"]],
            [
                "6 train",
                "kerazoo.train",
                f"val {percent(lesson.results['numbers']['baseline_val_accuracy'])}",
            ],
            ["7 tune", "kerazoo.tune (random)", f"best val {percent(search.best_score)}"],
            ["8 test once", "retrained best", f"test {percent(search.metrics['test_accuracy'])}"],
            ["9 deploy", "export -> tf.lite.Interpreter", f"test {percent(deployed['accuracy'])}"],
        ],
    )
    draw(lesson, history, search, rows, deployed, splits)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("workflow", quick=True)
    print(results["numbers"])
