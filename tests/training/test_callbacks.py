"""`default_callbacks`: run-folder files, switches, LR schedules, the NaN guard and resuming,
all on real MNIST digits with a tiny MLP."""

from __future__ import annotations

import csv
import json
import math
import warnings

import keras
import numpy as np
import pytest
import realdata

import kerazoo
from kerazoo.training.backup import RunBackup
from kerazoo.training.callbacks import (
    AtomicModelCheckpoint,
    EpochLRSchedule,
    NaNGuard,
    ResumableEarlyStopping,
    default_callbacks,
    history_best,
)

EXPECTED_TYPES = {
    "nan_guard": NaNGuard,
    "backup": RunBackup,
    "early_stopping": keras.callbacks.EarlyStopping,
    "checkpoint": keras.callbacks.ModelCheckpoint,
    "tensorboard": keras.callbacks.TensorBoard,
}


@pytest.fixture(scope="module")
def digits():
    """512 real training digits and 128 other real digits for validation."""
    return realdata.mnist_digits(512), realdata.mnist_digits(128, offset=512)


def _model(lr: float = 0.05) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = kerazoo.create_model("mlp", hidden_units=(16,))
    model.compile(keras.optimizers.SGD(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _fit(model, digits, callbacks, epochs):
    (x, y), val = digits
    return model.fit(
        x, y, validation_data=val, epochs=epochs, batch_size=64, callbacks=callbacks, verbose=0
    )


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class _Interrupt(keras.callbacks.Callback):
    """Raises at the start of epoch `at` (0-based), as a crash or a kill would stop a run."""

    def __init__(self, at: int):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise RuntimeError(f"interrupted at epoch {epoch}")


def _diverge_after_first_epoch():
    # A real failure mode on real data: a sane rate for epoch 0, then an absurd one.
    return keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.05 if epoch == 0 else 1e30)


# --- building the list ---------------------------------------------------------------


def test_default_list_order_and_run_dir_created(tmp_path):
    run_dir = tmp_path / "new" / "run"
    callbacks = default_callbacks(run_dir)
    assert run_dir.is_dir()
    types = [type(c) for c in callbacks]
    assert types == [
        NaNGuard,
        keras.callbacks.ReduceLROnPlateau,
        ResumableEarlyStopping,
        AtomicModelCheckpoint,
        RunBackup,
        keras.callbacks.TensorBoard,
    ]
    guard, plateau, stopper, checkpoint, keeper = callbacks[:5]
    assert guard.backup is keeper
    # The backup commits the state of what comes before it, and writes history.csv.
    assert keeper.tracked == [plateau, stopper] and keeper.checkpoint is checkpoint
    assert keeper.history_csv == run_dir / "history.csv"
    assert stopper.restore_best_weights and stopper.patience == 5
    assert checkpoint.save_best_only and checkpoint.filepath.endswith("model.keras")


@pytest.mark.parametrize("flag", sorted(EXPECTED_TYPES))
def test_each_flag_switches_its_callback_off(tmp_path, flag):
    callbacks = default_callbacks(tmp_path, **{flag: False})
    assert not any(type(c) is EXPECTED_TYPES[flag] for c in callbacks)
    assert len(callbacks) == (6 if flag == "backup" else 5)  # a CSVLogger replaces the backup
    if flag == "backup":
        assert next(c for c in callbacks if isinstance(c, NaNGuard)).backup is None
        # history.csv is then Keras's CSVLogger's.
        assert any(isinstance(c, keras.callbacks.CSVLogger) for c in callbacks)


def test_csv_off_leaves_no_history_file_to_the_backup(tmp_path):
    callbacks = default_callbacks(tmp_path, csv=False)
    assert next(c for c in callbacks if isinstance(c, RunBackup)).history_csv is None
    assert not any(isinstance(c, keras.callbacks.CSVLogger) for c in callbacks)


def test_everything_off_leaves_only_the_users_callbacks(tmp_path):
    mine = keras.callbacks.TerminateOnNaN()
    off = dict.fromkeys([*EXPECTED_TYPES, "csv"], False)
    assert default_callbacks(tmp_path, lr_schedule=None, extra=[mine], **off) == [mine]
    assert default_callbacks(tmp_path, lr_schedule="constant", **off) == []


def test_schedules_pick_their_callback(tmp_path):
    def lr_types(**kw):
        return [
            type(c)
            for c in default_callbacks(tmp_path, **kw)
            if isinstance(c, (keras.callbacks.ReduceLROnPlateau, EpochLRSchedule))
        ]

    assert lr_types(lr_schedule="plateau") == [keras.callbacks.ReduceLROnPlateau]
    assert lr_types(lr_schedule="cosine", epochs=3) == [EpochLRSchedule]
    assert lr_types(lr_schedule="step", epochs=3) == [EpochLRSchedule]
    assert lr_types(lr_schedule="constant") == lr_types(lr_schedule=None) == []


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr_schedule="foo"), "Received: lr_schedule='foo'"),
        (dict(lr_schedule="Cosine", epochs=3), "Received: lr_schedule='Cosine'"),
        (dict(lr_schedule="cosine"), "Received: epochs=None"),
        (dict(lr_schedule="step", epochs=0), "Received: epochs=0"),
        (dict(lr_schedule="step", epochs=2.5), "Received: epochs=2.5"),
        (dict(patience=-1), "Received: patience=-1"),
        (dict(initial_lr=0.0), "Received: initial_lr=0.0"),
        (dict(extra=["not a callback"]), "Received: extra item of type str"),
    ],
)
def test_bad_arguments_raise(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        default_callbacks(tmp_path / "run", **kwargs)


def test_guard_refuses_a_backup_it_cannot_freeze(tmp_path):
    with pytest.raises(ValueError, match="Received: backup=BackupAndRestore"):
        NaNGuard(backup=keras.callbacks.BackupAndRestore(str(tmp_path)))


# --- training on real digits -----------------------------------------------------------


def test_a_run_writes_model_history_and_logs(tmp_path, digits):
    model = _model()
    history = _fit(model, digits, default_callbacks(tmp_path), epochs=2)

    rows = _rows(tmp_path / "history.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert {"loss", "val_loss", "accuracy", "learning_rate"} <= set(rows[0])
    assert len(history.history["loss"]) == 2
    assert any(p.is_file() for p in (tmp_path / "logs").rglob("*"))
    # A run that ends normally needs no backup: BackupAndRestore removes it.
    assert not (tmp_path / "backup").exists()

    loaded = kerazoo.load_model(tmp_path / "model.keras")
    x_val = digits[1][0][:32]
    assert loaded.predict(x_val, verbose=0).shape == (32, 10)


@pytest.mark.parametrize(
    "schedule, epochs, factors",
    [
        ("cosine", 3, [1.0, 0.75, 0.25]),  # (1 + cos(pi * e / 3)) / 2
        ("step", 6, [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]),  # halved every 6 // 3 = 2 epochs
    ],
)
def test_schedules_set_the_expected_rate_per_epoch(tmp_path, digits, schedule, epochs, factors):
    callbacks = default_callbacks(
        tmp_path, lr_schedule=schedule, epochs=epochs, checkpoint=False, tensorboard=False
    )
    _fit(_model(lr=0.1), digits, callbacks, epochs=epochs)
    rates = [float(r["learning_rate"]) for r in _rows(tmp_path / "history.csv")]
    np.testing.assert_allclose(rates, [0.1 * f for f in factors], rtol=1e-5)


def test_initial_lr_overrides_the_compiled_rate(tmp_path, digits):
    callbacks = default_callbacks(
        tmp_path, lr_schedule="step", epochs=3, initial_lr=0.2, checkpoint=False, tensorboard=False
    )
    _fit(_model(lr=0.1), digits, callbacks, epochs=2)
    rates = [float(r["learning_rate"]) for r in _rows(tmp_path / "history.csv")]
    np.testing.assert_allclose(rates, [0.2, 0.1], rtol=1e-5)


def test_nan_guard_stops_and_keeps_the_last_good_backup(tmp_path, digits, capsys):
    callbacks = default_callbacks(
        tmp_path, lr_schedule=None, tensorboard=False, extra=[_diverge_after_first_epoch()]
    )
    guard = next(c for c in callbacks if isinstance(c, NaNGuard))
    model = _model()
    history = _fit(model, digits, callbacks, epochs=4)

    epoch, batch = guard.stopped_on_nan
    assert epoch == 1 and batch is not None  # caught in the first diverged epoch
    assert len(history.history["loss"]) == 2  # fit returned normally, nothing after epoch 1
    message = capsys.readouterr().out
    assert "NaN guard: loss became" in message and "at epoch 2, batch" in message
    assert "end of epoch 1" in message and str(tmp_path / "backup") in message
    assert "lower the learning rate" in message
    # EarlyStopping's clean-up still ran (a graceful stop): the best, finite weights are back,
    # and the checkpoint never took the diverged model.
    assert all(np.isfinite(w).all() for w in model.get_weights())
    saved = kerazoo.load_model(tmp_path / "model.keras")
    assert all(np.isfinite(w).all() for w in saved.get_weights())

    # The committed state is the end of epoch 0, with finite weights, not the diverged ones.
    assert RunBackup(tmp_path / "backup").committed_epochs == 1
    pointer = json.loads((tmp_path / "backup" / "latest.json").read_text())
    restored = _model()
    restored.load_weights(tmp_path / "backup" / pointer["state"] / "weights.weights.h5")
    assert all(np.isfinite(w).all() for w in restored.get_weights())

    # Resuming at a sane rate continues at epoch 1 and finishes with finite losses.
    resumed = _fit(_model(), digits, default_callbacks(tmp_path, tensorboard=False), epochs=4)
    assert len(resumed.history["loss"]) == 3
    assert all(math.isfinite(v) for v in resumed.history["loss"])
    rows = _rows(tmp_path / "history.csv")
    # Nothing of the diverged epoch was committed: every epoch appears once.
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    assert all(math.isfinite(float(r["loss"])) for r in rows)


def test_nan_guard_without_backup_says_so(tmp_path, digits, capsys):
    off = dict(backup=False, checkpoint=False, tensorboard=False, early_stopping=False)
    callbacks = default_callbacks(tmp_path, lr_schedule=None, **off)
    _fit(_model(lr=1e30), digits, callbacks, epochs=2)
    assert callbacks[0].stopped_on_nan[0] == 0
    assert "There is no backup (backup=False)" in capsys.readouterr().out


def test_keras_terminate_on_nan_deletes_the_backup(tmp_path, digits):
    """Why NaNGuard exists: Keras's default stop runs `on_train_end`, which removes the backup."""
    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
        _diverge_after_first_epoch(),
    ]
    history = _fit(_model(), digits, callbacks, epochs=4)
    assert len(history.history["loss"]) == 2  # it did stop in epoch 1 ...
    assert not (tmp_path / "backup").exists()  # ... and the last good backup is gone


def test_an_interrupted_run_resumes_at_the_first_unfinished_epoch(tmp_path, digits):
    def callbacks(extra=()):
        return default_callbacks(tmp_path, lr_schedule="cosine", epochs=4, extra=extra)

    with pytest.raises(RuntimeError, match="interrupted at epoch 2"):
        _fit(_model(lr=0.1), digits, callbacks([_Interrupt(at=2)]), epochs=4)
    assert RunBackup(tmp_path / "backup").committed_epochs == 2
    assert [int(r["epoch"]) for r in _rows(tmp_path / "history.csv")] == [0, 1]

    # A new process would build a new model and new callbacks for the same run folder.
    history = _fit(_model(lr=0.1), digits, callbacks(), epochs=4)
    assert len(history.history["loss"]) == 2  # only epochs 2 and 3 ran
    rows = _rows(tmp_path / "history.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    # The schedule continues as if never interrupted (its rate depends on the epoch only).
    expected = [0.1 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    np.testing.assert_allclose([float(r["learning_rate"]) for r in rows], expected, rtol=1e-5)
    assert not (tmp_path / "backup").exists()
    assert kerazoo.load_model(tmp_path / "model.keras") is not None


def test_a_resumed_run_keeps_the_best_value_and_patience_of_the_interrupted_one(tmp_path, digits):
    with pytest.raises(RuntimeError, match="interrupted at epoch 3"):
        _fit(_model(), digits, default_callbacks(tmp_path, extra=[_Interrupt(at=3)]), epochs=6)
    rows = _rows(tmp_path / "history.csv")
    val_losses = [float(r["val_loss"]) for r in rows]
    best_epoch = int(np.argmin(val_losses))
    assert history_best(tmp_path / "history.csv", "val_loss") == (
        min(val_losses),
        len(rows) - 1 - best_epoch,
        best_epoch,
    )
    saved = (tmp_path / "model.keras").stat().st_mtime_ns

    callbacks = default_callbacks(tmp_path)
    checkpoint = next(c for c in callbacks if isinstance(c, AtomicModelCheckpoint))
    stopper = next(c for c in callbacks if isinstance(c, ResumableEarlyStopping))
    # What fit does first: every callback's on_train_begin, in order; the backup restores.
    model = _model()
    keras.callbacks.CallbackList(callbacks, model=model).on_train_begin()
    # Without this, the first resumed epoch would replace the better model.keras.
    assert checkpoint.best == pytest.approx(min(val_losses))
    assert model._initial_epoch == 3
    assert (stopper.best, stopper.wait, stopper.best_epoch) == (
        pytest.approx(min(val_losses)),
        len(rows) - 1 - best_epoch,
        best_epoch,
    )
    # Accuracy-like monitors are maximised.
    assert history_best(tmp_path / "history.csv", "val_accuracy")[0] == pytest.approx(
        max(float(r["val_accuracy"]) for r in rows)
    )
    assert history_best(tmp_path / "nothing.csv", "val_loss") is None
    assert (tmp_path / "model.keras").stat().st_mtime_ns == saved


def test_the_checkpoint_replaces_model_keras_whole(tmp_path, digits):
    _fit(_model(), digits, default_callbacks(tmp_path, early_stopping=False), epochs=2)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    model = kerazoo.load_model(tmp_path / "model.keras")
    (x, y), _ = digits
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.25  # chance: 0.1


def test_a_resume_whose_weights_no_longer_fit_the_model_is_one_clear_error(tmp_path, digits):
    # As when a model's default changes between the kill and the resume (the vae's code:
    # 2 dimensions in kerazoo 0.1.0, 16 now): the same run folder, a model of other shape.
    with pytest.raises(RuntimeError, match="interrupted at epoch 1"):
        _fit(_model(), digits, default_callbacks(tmp_path, extra=[_Interrupt(at=1)]), epochs=3)
    keras.utils.set_random_seed(0)
    wider = kerazoo.create_model("mlp", hidden_units=(24,))
    wider.compile("sgd", "sparse_categorical_crossentropy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=r"do not fit the model .*--overwrite.*Received: "):
            _fit(wider, digits, default_callbacks(tmp_path), epochs=3)
    # One message, not Keras's warning per layer before it.
    assert not [w for w in caught if "Skipping" in str(w.message)], caught
    # Nothing of the interrupted run was lost: its committed epoch is still there.
    assert RunBackup(tmp_path / "backup").committed_epochs == 1
    assert [int(r["epoch"]) for r in _rows(tmp_path / "history.csv")] == [0]
