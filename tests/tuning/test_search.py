"""`tune(...)`: outputs, folder rules, failing trials and a damaged search state.

Real digits (the MNIST sample, a few hundred per split) and a one-layer MLP of 16 units.
"""

import json
import re

import pytest
from searchfiles import trial_rows

from kerazoo import registry
from kerazoo.saving import load_model
from kerazoo.tuning import search
from kerazoo.tuning.engine import SearchStopped

SMALL = {"layers": 1, "units_1": 16}
QUICK = dict(dataset="mnist_sample", epochs=1, max_examples=200, verbose=0)


def test_a_search_writes_its_outputs_and_keeps_its_folder(tmp_path, capsys):
    out = tmp_path / "search"
    result = search.tune(
        "mnist_mlp", out=out, max_trials=3, fix=SMALL, space={"dropout": [0.0, 0.2]},
        **QUICK | {"verbose": 1},
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert len(re.findall(r"^trial \d \(\d/3\) val_accuracy", printed, re.M)) == 3
    assert "status" in printed and "val_accuracy" in printed  # the summary table

    for name in ("search.json", "trials.csv", "search.png", "best_hyperparameters.json",
                 "best_model.keras", "metrics.json"):  # fmt: skip
        assert (out / name).is_file(), name
    assert not list(out.glob(".*tmp*"))
    rows = trial_rows(out)
    assert [r["trial_id"] for r in rows] == ["0", "1", "2"]
    assert {r["status"] for r in rows} == {"COMPLETED"}
    assert {"score", "seconds", "epochs", "units_1", "dropout", "learning_rate"} <= set(rows[0])
    assert all(float(r["seconds"]) > 0 and r["epochs"] == "1" for r in rows)
    best = json.loads((out / "best_hyperparameters.json").read_text())
    assert best["hyperparameters"]["units_1"] == 16 and best["hyperparameters"]["layers"] == 1
    assert best["score"] == max(float(r["score"]) for r in rows)
    assert best["build"]["overrides"]["hidden_units"] == [16]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 400 and metrics["n_test"] == 200  # retrained on train+val
    assert 0.2 < metrics["test_accuracy"] <= 1 and metrics["trials_completed"] == 3
    assert metrics["strategy"] and metrics["replicas"] == 1
    assert result.metrics == metrics and result.best_score == best["score"]
    model = load_model(out / "best_model.keras")
    overrides = best["build"]["overrides"] | {"hidden_units": (16,)}
    expected = registry.create_model("mnist_mlp", **overrides).count_params()
    assert model.count_params() == metrics["params"] == expected
    # The best configuration was retrained by `kerazoo.train` itself: a complete run folder.
    best_run = out / search.BEST_RUN
    for name in ("config.json", "model.keras", "metrics.json", "history.csv", "history.png"):
        assert (best_run / name).is_file(), name
    run_config = json.loads((best_run / "config.json").read_text())
    assert run_config["refit"] is True and run_config["epochs"] == metrics["retrain_epochs"]
    run_metrics = json.loads((best_run / "metrics.json").read_text())
    assert run_metrics["test_accuracy"] == metrics["test_accuracy"]

    # The folder is not reused silently: the same command again is refused ...
    with pytest.raises(ValueError, match="already holds a search; pass --resume"):
        search.tune("mnist_mlp", out=out, max_trials=3, fix=SMALL, **QUICK)
    # ... so is resuming with other settings ...
    with pytest.raises(ValueError, match="saved with max_trials=3.*Received: max_trials=5"):
        search.tune("mnist_mlp", out=out, max_trials=5, resume=True, **QUICK)
    with pytest.raises(ValueError, match="saved with fix="):
        search.tune("mnist_mlp", out=out, max_trials=3, resume=True, fix={"layers": 2}, **QUICK)
    # ... and resuming a finished search returns it as it is.
    again = search.tune("mnist_mlp", out=out, max_trials=3, resume=True, **QUICK)
    assert again.best_hyperparameters == best["hyperparameters"]
    assert json.loads((out / "metrics.json").read_text()) == metrics


def test_bad_folders_and_arguments_are_refused_before_writing(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a kerazoo search folder"):
        search.tune("mnist_mlp", out=other, **QUICK)
    with pytest.raises(ValueError, match="no search to resume"):
        search.tune("mnist_mlp", out=tmp_path / "new", resume=True, **QUICK)
    with pytest.raises(ValueError, match="tuner must be one of random, hyperband"):
        search.tune("mnist_mlp", out=tmp_path / "new", tuner="evolution", **QUICK)
    with pytest.raises(ValueError, match="objective must be one of val_loss, val_mae"):
        search.tune("lstm_forecaster", out=tmp_path / "new", objective="val_accuracy")
    with pytest.raises(ValueError, match="cannot train on fortunes_lang"):
        search.tune("mnist_cnn", "fortunes_lang", out=tmp_path / "new")
    with pytest.raises(ValueError, match="DCGAN cannot be tuned"):
        search.tune("dcgan", out=tmp_path / "new")
    with pytest.raises(ValueError, match="hidden_units must"):  # a bad fixed value: not a trial
        search.tune("mnist_mlp", out=tmp_path / "new", fix={"units_1": -3}, **QUICK)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


def test_nan_trials_are_recorded_as_failed_and_the_search_goes_on(tmp_path):
    out = tmp_path / "nan"
    fix = SMALL | {"optimizer": "sgd"}
    result = search.tune(
        "mnist_mlp", out=out, max_trials=4, fix=fix, space={"learning_rate": [0.01, 1e12]},
        max_failures=4, retrain=False, **QUICK,
    )  # fmt: skip
    rows = trial_rows(out)
    assert len(rows) == 4
    failed = [r for r in rows if r["status"] == "FAILED"]
    assert failed and all(float(r["learning_rate"]) == 1e12 for r in failed)
    assert all("loss became NaN or infinite in epoch 1" in r["error"] for r in failed)
    assert all(r["status"] == "COMPLETED" for r in rows if float(r["learning_rate"]) == 0.01)
    assert result.best_hyperparameters["learning_rate"] == 0.01


def test_the_search_stops_after_max_failures_in_a_row(tmp_path):
    out = tmp_path / "stop"
    with pytest.raises(SearchStopped, match="2 trials in a row failed.*NaN"):
        search.tune(
            "mnist_mlp", out=out, max_trials=5, fix=SMALL | {"optimizer": "sgd", "learning_rate": 1e12},
            max_failures=2, **QUICK,
        )  # fmt: skip
    rows = trial_rows(out)
    assert [r["status"] for r in rows] == ["FAILED", "FAILED"]
    assert (out / "search.png").is_file() and not (out / "metrics.json").exists()
    # The bound is not part of what is searched: a resumed search may raise it.
    with pytest.raises(SearchStopped, match="3 trials in a row failed"):
        search.tune(
            "mnist_mlp", out=out, max_trials=5, fix=SMALL | {"optimizer": "sgd", "learning_rate": 1e12},
            max_failures=3, resume=True, **QUICK,
        )  # fmt: skip
    assert [r["trial_id"] for r in trial_rows(out)] == ["0", "1", "2"]


def test_a_corrupted_state_is_restored_from_its_backup_or_refused(tmp_path):
    out = tmp_path / "damaged"
    args = dict(max_trials=2, fix=SMALL, retrain=False, **QUICK)
    search.tune("mnist_mlp", out=out, **args)
    first = trial_rows(out)
    # As if killed after the trials, before the summary: a truncated oracle.json.
    (out / "best_hyperparameters.json").unlink()
    oracle = out / "keras_tuner" / "oracle.json"
    oracle.write_text(oracle.read_text()[:40])
    # A warning, which the CLI prints as one `notice:` line.
    with pytest.warns(UserWarning, match="oracle.json was corrupted"):
        result = search.tune("mnist_mlp", out=out, resume=True, **args)
    assert trial_rows(out) == first  # both trials kept, none run again
    assert (
        result.best_hyperparameters
        == json.loads((out / "best_hyperparameters.json").read_text())["hyperparameters"]
    )

    (out / "best_hyperparameters.json").unlink()
    oracle.write_text("{")
    (out / "keras_tuner" / "oracle.json.bak").write_text("")
    with pytest.raises(ValueError, match="oracle.json is corrupted .* no readable backup"):
        search.tune("mnist_mlp", out=out, resume=True, **args)


def test_the_same_seed_draws_the_same_trials(tmp_path):
    runs = []
    for name in ("a", "b"):
        result = search.tune(
            "mnist_mlp", out=tmp_path / name, max_trials=2, fix=SMALL, retrain=False,
            **QUICK | {"max_examples": 100},
        )  # fmt: skip
        runs.append([{k: v for k, v in r.items() if k in ("dropout", "l2", "optimizer")}
                     for r in result.trials])  # fmt: skip
    assert runs[0] == runs[1]
