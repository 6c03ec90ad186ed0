"""The callbacks every kerazoo run shares: `default_callbacks(run_dir, ...)`.

A run folder gets, by default:

- `model.keras`: the best model so far (`ModelCheckpoint`, `save_best_only=True`);
- `history.csv`: one row per finished epoch;
- `logs/`: TensorBoard event files;
- `backup/`: the training state at the end of the last finished epoch
  (`kerazoo.training.backup.RunBackup`, which commits the weights, the optimizer, the
  history rows, the early-stopping, checkpoint and schedule state as one atomic step per
  epoch, and derives `history.csv` and `model.keras` from it); `fit` deletes it when it
  ends normally, and a run started again in the same folder continues from it after an
  interruption.

plus `EarlyStopping` (restoring the best weights), a learning-rate schedule and a NaN
guard (`NaNGuard`) that stops a diverging run but keeps the last good backup.

Why a NaN guard of our own: Keras's `TerminateOnNaN()` stops by setting
`model.stop_training`, so `fit` goes on to `on_epoch_end` (where a backup would save the
diverged weights over the last good one) and `on_train_end` (where it deletes the backup
folder). `TerminateOnNaN(raise_error=True)` keeps the backup, but only by raising out of
`fit`, which also skips every other callback's clean-up (`EarlyStopping` never restores the
best weights) and loses the `History`. `NaNGuard` stops gracefully instead and *freezes*
the run's `RunBackup` first, so nothing is saved over or deleted, and records where it
stopped in `guard.stopped_on_nan`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import keras
import numpy as np

from kerazoo.config import LR_SCHEDULES  # one list of schedules: kerazoo.config
from kerazoo.training.backup import RunBackup
from kerazoo.training.folder import kill_point


class NaNGuard(keras.callbacks.Callback):
    """Stops training when the loss becomes NaN or infinite, keeping the last good backup.

    Checks the loss after every training batch and at the end of every epoch (the epoch
    check also covers `val_loss`). On a bad value it freezes `backup` (see
    `RunBackup.freeze`), prints what happened and how to go on, sets
    `stopped_on_nan = (epoch, batch)` (0-based as Keras counts, while the message counts
    from 1 like the progress bar; `batch` is `None` when the epoch-end check fired) and
    sets `model.stop_training`, so `fit` returns normally with its history.

    Put it before `backup` in the callback list (`default_callbacks` does), so that it
    freezes the backup before the backup's own end-of-epoch save.

    Args:
        backup: the run's `RunBackup`, or `None` when there is none.
        message: a hint appended to the stop message, e.g. the command that resumes the run.

    Example:

    ```python
    guard = NaNGuard()
    model.fit(x, y, epochs=5, callbacks=[guard])
    if guard.stopped_on_nan:
        epoch, batch = guard.stopped_on_nan
    ```
    """

    def __init__(self, backup: RunBackup | None = None, message: str = "") -> None:
        super().__init__()
        if backup is not None and not isinstance(backup, RunBackup):
            raise ValueError(
                "NaNGuard can only keep a kerazoo RunBackup (Keras's own BackupAndRestore "
                "cannot be frozen). "
                f"Received: backup={type(backup).__name__}"
            )
        self.backup = backup
        self.message = message
        self.stopped_on_nan: tuple[int, int | None] | None = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self.stopped_on_nan = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs, ("loss",), batch)

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch
        self._check(logs, ("loss", "val_loss"), None)

    def _check(self, logs, keys, batch):
        if self.stopped_on_nan is not None:
            return
        for key in keys:
            value = (logs or {}).get(key)
            if value is None:
                continue
            value = float(np.asarray(keras.ops.convert_to_numpy(value)))
            if math.isfinite(value):
                continue
            self.stopped_on_nan = (self._epoch, batch)
            if self.backup is not None:
                self.backup.freeze()
            self.model.stop_training = True
            # Printed like Keras's own progress messages, so it shows in the run's console.
            print(self._stop_message(key, value, batch), flush=True)
            return

    def _stop_message(self, key: str, value: float, batch: int | None) -> str:
        where = f"epoch {self._epoch + 1}" + (f", batch {batch + 1}" if batch is not None else "")
        text = f"\nNaN guard: {key} became {value} at {where}; training stopped."
        fix = "lower the learning rate (or clip gradients)"
        if self.backup is None:
            text += f" There is no backup (backup=False); {fix} and start again."
        elif (done := self.backup.committed_epochs) is not None:
            text += (
                f" The last good backup (end of epoch {done}) is kept in "
                f"{self.backup.backup_dir}. To go on, {fix} and train again in the same run "
                "folder (e.g. `kerazoo train ... --resume`): it continues from that backup."
            )
        else:
            text += (
                f" No epoch had finished, so no state is kept; {fix} and start again "
                "(`--overwrite` replaces this run)."
            )
        return text + (f" {self.message}" if self.message else "")


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """`keras.callbacks.ModelCheckpoint` whose saves never leave a half-written file.

    Keras writes `.keras` files in place (the old file is truncated first), so a run killed
    during a save would lose its best model and leave a file that loads as "File not found".
    This subclass saves into a temporary file beside the target and renames it over the
    target, which is atomic on one file system. It overrides Keras's private `_save_model`
    (checked against keras 3.15.1; listed in kerazoo/_private_api.py); everything else is
    Keras's callback.
    """

    def _save_model(self, epoch, batch, logs):
        target = self.filepath
        folder, name = os.path.split(target)
        self.filepath = os.path.join(folder, f".saving-{name}")
        try:
            super()._save_model(epoch, batch, logs)
            if os.path.exists(self.filepath):  # saved: killed before the rename
                kill_point("checkpoint", epoch + 1)
        except BaseException:
            Path(self.filepath).unlink(missing_ok=True)  # a full disk: no half file left
            raise
        finally:
            temporary, self.filepath = self.filepath, target
        if os.path.exists(temporary):
            os.replace(temporary, target)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """`keras.callbacks.EarlyStopping` that can carry on the count of an interrupted run.

    Keras resets its best value and patience count when `fit` starts, so a resumed run
    would forget that, say, three epochs had already passed without improvement.
    `resume_from(best, wait, best_epoch)` sets the state read from the run's `history.csv`;
    it is applied when `fit` starts and used once.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._resume_state: tuple[float, int, int] | None = None

    def resume_from(self, best: float, wait: int, best_epoch: int) -> None:
        self._resume_state = (best, wait, best_epoch)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._resume_state is not None:
            self.best, self.wait, self.best_epoch = self._resume_state
            self._resume_state = None


def _monitor_prefers_max(monitor: str) -> bool:
    # Keras's mode="auto" rule: accuracies and AUCs grow, everything else (losses) shrinks.
    name = monitor.removeprefix("val_")
    return "acc" in name or name in ("auc", "prc") or name.endswith("_auc")


def history_best(history_csv: str | os.PathLike, monitor: str) -> tuple[float, int, int] | None:
    """`(best value, epochs since it, best epoch)` of `monitor` in a run's `history.csv`.

    Used when a run resumes, so early stopping and the best-model checkpoint go on from
    where the interrupted run was instead of starting over. Rows of epochs that were run
    again (after a NaN stop) count once, the last time. `None` when there is no file, no
    such column or no finite value.
    """
    import csv

    try:
        with open(history_csv, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return None
    values: dict[int, float] = {}
    for row in rows:
        try:
            values[int(row["epoch"])] = float(row[monitor])
        except (KeyError, TypeError, ValueError):
            continue
    values = {e: v for e, v in values.items() if math.isfinite(v)}
    if not values:
        return None
    pick = max if _monitor_prefers_max(monitor) else min
    best_epoch = pick(values, key=values.get)
    return values[best_epoch], max(values) - best_epoch, best_epoch


class EpochLRSchedule(keras.callbacks.LearningRateScheduler):
    """A per-epoch learning-rate schedule starting from the optimizer's initial rate.

    The rate of epoch `e` depends only on `e` and the initial rate, so a resumed run (whose
    first epoch is not 0) gets the same rates as an uninterrupted one. The initial rate is
    `initial_lr`, or else the optimizer's learning rate read when `fit` starts; list this
    callback before the run's `RunBackup` (as `default_callbacks` does) so that it reads the
    compiled rate and not one restored from a backup.

    Args:
        schedule: `schedule(epoch, initial_lr) -> lr`.
        initial_lr: the rate at epoch 0; `None` reads it from the optimizer.

    Example:

    ```python
    halve = EpochLRSchedule(lambda epoch, lr0: lr0 * 0.5**epoch)
    ```
    """

    def __init__(self, schedule: Callable[[int, float], float], initial_lr: float | None = None):
        self.epoch_schedule = schedule
        self.initial_lr = initial_lr
        self._lr0 = initial_lr
        # Keras passes (epoch, current_lr); the current rate is ignored on purpose.
        super().__init__(lambda epoch, lr=None: float(self.epoch_schedule(epoch, self._lr0)))

    def on_train_begin(self, logs=None):
        if self.initial_lr is None:
            lr = self.model.optimizer.learning_rate
            self._lr0 = float(keras.ops.convert_to_numpy(lr))


def cosine_schedule(epochs: int) -> Callable[[int, float], float]:
    """`lr(e) = lr0 * (1 + cos(pi * e / epochs)) / 2`: lr0 at epoch 0, towards 0 at `epochs`."""
    return lambda epoch, lr0: lr0 * 0.5 * (1.0 + math.cos(math.pi * min(epoch, epochs) / epochs))


def step_schedule(epochs: int) -> Callable[[int, float], float]:
    """`lr(e) = lr0 * 0.5 ** (e // max(1, epochs // 3))`: halved three times over the run."""
    every = max(1, epochs // 3)
    return lambda epoch, lr0: lr0 * 0.5 ** (epoch // every)


def default_callbacks(
    run_dir: str | os.PathLike | None,
    *,
    monitor: str = "val_loss",
    early_stopping: bool = True,
    patience: int = 5,
    checkpoint: bool = True,
    save_best_only: bool = True,
    lr_schedule: str | None = "plateau",
    epochs: int | None = None,
    initial_lr: float | None = None,
    backup: bool = True,
    csv: bool = True,
    tensorboard: bool = True,
    nan_guard: bool = True,
    extra: Iterable[keras.callbacks.Callback] = (),
) -> list[keras.callbacks.Callback]:
    """Returns the callbacks of a kerazoo run writing into `run_dir`.

    In order (the order matters; see below): `NaNGuard`, the learning-rate callback,
    `EarlyStopping(monitor, patience, restore_best_weights=True)`,
    `ModelCheckpoint(run_dir/"model.keras", monitor, save_best_only=True)`,
    `RunBackup(run_dir/"backup")` (which also writes `history.csv`; without a backup a
    `CSVLogger` does), `TensorBoard(run_dir/"logs")`, then `extra`. The guard comes first so
    it freezes the backup before the backup commits diverged weights; the backup comes after
    the schedule, early stopping and the checkpoint so it commits what they decided for the
    epoch (and `history.csv` gets a `learning_rate` column), and restores their state after
    their own `on_train_begin` has reset it.

    Learning-rate schedules (`lr0` is `initial_lr`, or the optimizer's rate when `fit`
    starts):

    - `"plateau"`: `ReduceLROnPlateau(monitor, factor=0.5, patience=max(1, patience // 2))`,
      which halves the rate before early stopping would give up;
    - `"constant"` or `None`: no learning-rate callback;
    - `"cosine"`: `lr0 * (1 + cos(pi * epoch / epochs)) / 2`, from lr0 at epoch 0 down
      towards 0 at `epochs`;
    - `"step"`: `lr0 * 0.5 ** (epoch // max(1, epochs // 3))`, halved every third of the run.

    Resuming: a run interrupted in the middle (an exception, a kill at any moment) leaves
    `backup/` behind; calling `fit` again with the same `epochs` and the callbacks of a new
    `default_callbacks(run_dir)` restores the last committed epoch: weights, optimizer state
    (its step count), early-stopping, checkpoint and plateau state, and `history.csv`
    rewritten from the committed rows, so every epoch appears in it exactly once and a
    resumed epoch replaces `model.keras` only if it beats every earlier one. After a NaN
    stop nothing of the diverged epoch is committed; the resumed run trains it again.

    Args:
        run_dir: the run folder; created if missing. None when nothing is written (no
            backup, checkpoint, CSV or TensorBoard: a tuning trial).
        monitor: the quantity watched by early stopping, the checkpoint and `"plateau"`.
            With `"val_..."` `fit` needs validation data.
        early_stopping: add `EarlyStopping`.
        patience: epochs without improvement before early stopping, >= 0.
        checkpoint: add `AtomicModelCheckpoint` writing `model.keras`.
        save_best_only: the checkpoint keeps the best epoch by `monitor`; False saves every
            epoch (for models without a meaningful monitor, such as GANs).
        lr_schedule: `"plateau"`, `"constant"`, `"cosine"`, `"step"` or `None`.
        epochs: the run's epoch count; needed by `"cosine"` and `"step"`.
        initial_lr: the schedule's rate at epoch 0; `None` reads the optimizer's.
        backup: add the backup that makes runs resumable.
        csv: add `CSVLogger` writing `history.csv`.
        tensorboard: add `TensorBoard` writing `logs/`.
        nan_guard: add `NaNGuard`.
        extra: the user's own callbacks, appended at the end.

    Returns:
        A list of `keras.callbacks.Callback`, to pass to `model.fit(callbacks=...)`. Find the
        guard with `next(c for c in callbacks if isinstance(c, NaNGuard))`.

    Raises:
        ValueError: for an unknown `lr_schedule`, `"cosine"`/`"step"` without a positive
            `epochs`, a negative `patience`, a non-positive `initial_lr`, or an `extra`
            that is not a list of callbacks.

    Example:

    ```python
    callbacks = default_callbacks("runs/mnist_cnn", lr_schedule="cosine", epochs=5)
    model.fit(x, y, validation_split=0.1, epochs=5, callbacks=callbacks)
    ```
    """
    if lr_schedule is not None and lr_schedule not in LR_SCHEDULES:
        raise ValueError(
            f"lr_schedule must be one of {', '.join(LR_SCHEDULES)} or None. "
            f"Received: lr_schedule={lr_schedule!r}"
        )
    if lr_schedule in ("cosine", "step") and (
        isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0
    ):
        raise ValueError(
            f"lr_schedule={lr_schedule!r} needs the run's epoch count: pass epochs=N (N >= 1). "
            f"Received: epochs={epochs!r}"
        )
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
        raise ValueError(f"patience must be an integer >= 0. Received: patience={patience!r}")
    if initial_lr is not None and not (
        isinstance(initial_lr, (int, float)) and math.isfinite(initial_lr) and initial_lr > 0
    ):
        raise ValueError(
            f"initial_lr must be a positive number or None. Received: initial_lr={initial_lr!r}"
        )
    extra = list(extra)
    for callback in extra:
        if not isinstance(callback, keras.callbacks.Callback):
            raise ValueError(
                "extra must hold keras.callbacks.Callback instances. "
                f"Received: extra item of type {type(callback).__name__}"
            )

    writes = backup or checkpoint or csv or tensorboard
    if writes and run_dir is None:
        raise ValueError(
            "default_callbacks needs a run_dir for the backup, checkpoint, history.csv and "
            "logs; pass one, or switch those off. Received: run_dir=None"
        )
    run_dir = Path(run_dir) if run_dir is not None else None
    if writes:
        run_dir.mkdir(parents=True, exist_ok=True)

    # Keras guesses the direction only for names it knows (e.g. not a GAN's val_g_loss).
    mode = "max" if _monitor_prefers_max(monitor) else "min"
    stateful: list[keras.callbacks.Callback] = []  # what the backup commits each epoch
    if lr_schedule == "plateau":
        stateful.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor, mode=mode, factor=0.5, patience=max(1, patience // 2)
            )
        )
    elif lr_schedule == "cosine":
        stateful.append(EpochLRSchedule(cosine_schedule(epochs), initial_lr))
    elif lr_schedule == "step":
        stateful.append(EpochLRSchedule(step_schedule(epochs), initial_lr))
    if early_stopping:
        stateful.append(
            ResumableEarlyStopping(
                monitor=monitor, mode=mode, patience=patience, restore_best_weights=True
            )
        )
    saver = None
    if checkpoint:
        saver = AtomicModelCheckpoint(
            str(run_dir / "model.keras"), monitor=monitor, mode=mode, save_best_only=save_best_only
        )
    keeper = None
    if backup:
        # It writes history.csv itself, from the committed rows.
        keeper = RunBackup(
            run_dir / "backup",
            history_csv=run_dir / "history.csv" if csv else None,
            checkpoint=saver,
            tracked=[c for c in stateful if not isinstance(c, EpochLRSchedule)],
        )
    callbacks: list[keras.callbacks.Callback] = []
    if nan_guard:
        callbacks.append(NaNGuard(backup=keeper))
    callbacks += stateful + ([saver] if saver is not None else [])
    if keeper is not None:
        callbacks.append(keeper)
    elif csv:
        callbacks.append(keras.callbacks.CSVLogger(str(run_dir / "history.csv")))
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs")))
    return callbacks + extra
