"""Each KerasTuner tuner over a different family, on real data, tiny configurations."""

import json

from searchfiles import trial_rows

from kerazoo.tuning import search


def test_hyperband_on_a_convnet(tmp_path):
    out = tmp_path / "hb"
    fix = {"blocks": 2, "filters_1": 4, "filters_2": 8, "dense_units": 16}
    result = search.tune(
        "mnist_cnn", "mnist_sample", tuner="hyperband", max_trials=4, epochs=3, fix=fix,
        max_examples=200, out=out, verbose=0,
    )  # fmt: skip
    rows = trial_rows(out)
    assert 1 <= len(rows) <= 4 and "tuner/epochs" in rows[0]
    assert result.metrics["tuner"] == "hyperband"
    # A trial that continues an earlier one counts the earlier epochs in its best epoch, and
    # the best configuration is retrained for that many epochs from scratch.
    for row in rows:
        if row["status"] == "COMPLETED":
            first, last = int(row["tuner/initial_epoch"]), int(row["tuner/epochs"])
            assert first < int(row["best_epoch"]) <= last, row
    best = json.loads((out / "best_hyperparameters.json").read_text())
    assert result.metrics["retrain_epochs"] == best["best_epoch"]
    assert any(int(r["tuner/initial_epoch"]) > 0 for r in rows)  # Hyperband continued a trial


def test_bayesian_on_a_recurrent_text_classifier_choosing_the_cell(tmp_path):
    out = tmp_path / "bo"
    fix = {"embedding_dim": 16, "layers": 1, "units_1": 16, "bidirectional": False}
    result = search.tune(
        "lstm_classifier", tuner="bayesian", max_trials=3, epochs=1, fix=fix,
        space={"cell": ["lstm", "gru"], "learning_rate": [1e-3, 1e-2]}, max_examples=300,
        out=out, verbose=0,
    )  # fmt: skip
    assert [r["status"] for r in trial_rows(out)] == ["COMPLETED"] * 3
    cell = result.best_hyperparameters["cell"]
    # The cell is an argument of the recurrent builder: the model is built with the chosen one.
    assert result.metrics["built_as"] == "lstm_classifier"
    assert cell.upper() in {type(layer).__name__ for layer in result.model.layers}
    assert result.metrics["dataset"] == "fortunes_lang"


def test_grid_on_an_autoencoder_ranks_by_validation_loss(tmp_path):
    out = tmp_path / "grid"
    fix = {"blocks": 2, "filters_1": 4, "filters_2": 8, "activation": "relu", "noise_stddev": 0.0}
    result = search.tune(
        "conv_autoencoder", "mnist_sample", tuner="grid", max_trials=2, epochs=1, fix=fix,
        space={"latent_dim": [2, 8], "optimizer": ["adam"], "learning_rate": [1e-3]},
        max_examples=200, out=out, verbose=0,
    )  # fmt: skip
    rows = trial_rows(out)
    assert sorted(r["latent_dim"] for r in rows) == ["2", "8"]  # the grid, in full
    best = json.loads((out / "best_hyperparameters.json").read_text())
    assert best["objective"] == "val_loss" and best["direction"] == "min"
    assert best["score"] == min(float(r["score"]) for r in rows)
    assert "test_loss" in result.metrics and "test_mae" in result.metrics
