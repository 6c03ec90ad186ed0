"""Your own data and your own model through `kerazoo train`, `evaluate`, `predict`.

Real data only: Fashion-MNIST images written as PNG class folders, scikit-learn's breast
cancer table as a CSV file, fortunes quotations as a text folder, MNIST-sample digits as
arrays (builders in tests/realdata.py).
"""

import json

import keras
import numpy as np
import pytest

import kerazoo
from kerazoo.cli import main
from kerazoo.saving import load_model
from tests import realdata

RUN_FILES = {"config.json", "dataset.json", "history.csv", "metrics.json", "model.keras"}


def _cli(*argv) -> int:
    try:
        return main(list(argv))
    except SystemExit as exit_:
        return exit_.code


def test_image_folder_trains_from_the_cli_into_a_complete_run(tmp_path, capsys):
    folder = realdata.image_folder(tmp_path, classes=3, per_class=40)
    out = tmp_path / "run"
    assert _cli("train", "lenet5", "--data", str(folder), "--epochs", "2", "--out", str(out),
                "--verbose", "0") == 0  # fmt: skip
    assert RUN_FILES | {"confusion_matrix.png", "predictions.png"} <= {
        p.name for p in out.iterdir()
    }
    config = json.loads((out / "config.json").read_text())
    assert config["data"] == str(folder.resolve())
    dataset = json.loads((out / "dataset.json").read_text())
    assert dataset["class_names"] == sorted(realdata.fashion_folder_names(3))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] == 120
    # The saved model takes the folder's own uint8 pictures; predict names the classes.
    picture = next((folder / dataset["class_names"][0]).iterdir())
    capsys.readouterr()
    assert _cli("predict", str(out), str(picture)) == 0
    assert capsys.readouterr().out.split(": ")[1].split(" (")[0] in dataset["class_names"]
    # evaluate reads the folder again and scores the same held-out part.
    scores = kerazoo.evaluate(out)
    assert scores["test_accuracy"] == pytest.approx(metrics["test_accuracy"])


def test_csv_table_trains_from_the_cli_with_a_target_column(tmp_path):
    table = realdata.csv_table(tmp_path)
    out = tmp_path / "run"
    assert _cli("train", "binary_mlp", "--data", str(table), "--target", realdata.CSV_TARGET,
                "--epochs", "3", "--out", str(out), "--verbose", "0") == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.8  # malignant vs benign from 30 real measurements
    dataset = json.loads((out / "dataset.json").read_text())
    assert sorted(dataset["class_names"]) == ["benign", "malignant"]
    assert dataset["raw_input"]["kind"] == "table"


def test_csv_without_its_target_is_one_line_and_status_2(tmp_path, capsys):
    table = realdata.csv_table(tmp_path)
    out = tmp_path / "run"
    assert _cli("train", "binary_mlp", "--data", str(table), "--out", str(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "target" in err[0] and "Received" in err[0]
    assert not out.exists()


def test_text_folder_trains_and_the_saved_model_reads_raw_lines(tmp_path, capsys):
    folder = realdata.text_folder(tmp_path, per_class=60)
    out = tmp_path / "run"
    assert _cli("train", "gru_classifier", "--data", str(folder), "--epochs", "1",
                "--set", "embedding_dim=16", "--set", "units=16",
                "--out", str(out), "--verbose", "0") == 0  # fmt: skip
    assert {p.name for p in out.iterdir()} >= RUN_FILES
    saved = load_model(out / "model.keras")
    quotes = np.asarray(["Der Hund schläft im Garten.", "The dog sleeps."], dtype=object)
    assert saved.predict(quotes, verbose=0).shape == (2, 2)


def test_your_own_model_trains_on_arrays_evaluates_and_predicts(tmp_path):
    x, y = realdata.mnist_digits(600)
    net = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="my_net",
    )  # uncompiled: it gets the classification defaults
    result = kerazoo.train(net, (x, y), out=tmp_path / "run", epochs=3, verbose=0)
    assert result.metrics["model"] == "my_net"
    assert result.metrics["test_accuracy"] > 0.5
    assert result.config.data.startswith("arrays sha256:")
    assert "my_net" not in kerazoo.list_models()  # registered for the call only
    # evaluate needs the arrays again (they are not on disk), and scores the same split.
    with pytest.raises(ValueError, match="pass it again"):
        kerazoo.evaluate(tmp_path / "run")
    scores = kerazoo.evaluate(tmp_path / "run", (x, y))
    assert scores["test_accuracy"] == pytest.approx(result.metrics["test_accuracy"])
    picture = tmp_path / "digit.png"
    keras.utils.save_img(picture, (x[0] * 255).astype("uint8") if x.dtype != np.uint8 else x[0])
    [prediction] = kerazoo.predict(tmp_path / "run", [picture])
    assert prediction.label in [str(k) for k in range(10)]


def test_resume_of_an_arrays_run_checks_the_arrays(tmp_path):
    x, y = realdata.mnist_digits(300)
    net = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")],
        name="tiny_net",
    )
    kerazoo.train(net, (x, y), out=tmp_path / "run", epochs=1, verbose=0, plots=False)
    with pytest.raises(ValueError, match="data"):
        kerazoo.train(net, (x[:200], y[:200]), out=tmp_path / "run", resume=True, epochs=1)


def test_a_precision_your_own_model_was_not_built_with_is_refused_not_ignored(tmp_path):
    x, y = realdata.mnist_digits(300)
    net = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")],
        name="f32_net",
    )
    with pytest.raises(ValueError, match=r"built with \(float32\).*set_dtype_policy"):
        kerazoo.train(net, (x, y), out=tmp_path / "run", precision="mixed_bfloat16", verbose=0)
    assert not (tmp_path / "run").exists()
    # Built under the policy, it trains under it, and metrics.json says so.
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                keras.layers.Flatten(),
                keras.layers.Dense(10, "softmax", dtype="float32"),
            ],
            name="bf16_net",
        )
    finally:
        keras.config.set_dtype_policy(previous)
    result = kerazoo.train(
        mixed,
        (x, y),
        out=tmp_path / "ok",
        precision="mixed_bfloat16",
        epochs=1,
        verbose=0,
        plots=False,
    )
    assert result.metrics["precision"] == "mixed_bfloat16"


def test_your_own_model_tunes_on_your_own_data(tmp_path):
    x, y = realdata.mnist_digits(400)
    net = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")],
        name="searched_net",
    )
    result = kerazoo.tune(net, (x, y), out=tmp_path / "search", max_trials=2, epochs=1, verbose=0)
    assert set(result.best_hyperparameters) == {"optimizer", "learning_rate"}
    assert (tmp_path / "search" / "best_model.keras").is_file()
    assert result.metrics["test_accuracy"] > 0.3
    assert "searched_net" not in kerazoo.list_models()
