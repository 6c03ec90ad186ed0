"""`RunBackup`: a run's training state, committed once per epoch as one atomic step.

Keras's `BackupAndRestore` writes the weights and its metadata as two files in place, and
kerazoo's checkpoint, `history.csv` and clock were separate writes again: a kill between two
of them left a torn weights file, a lost history row or an epoch trained twice. `RunBackup`
owns all of them. At the end of each epoch it writes, into a new folder
`backup/.staging/`:

- `weights.weights.h5`: the model's weights and the optimizer's state (its step count and
  learning rate included; Keras saves them in one file);
- `model.keras`: the best model so far (the run's `ModelCheckpoint` saves there; an epoch
  that did not improve links the previous state's file);
- `state.json`: the epoch count, every history row so far, the optimizer's step count, the
  early-stopping, checkpoint, plateau and clock state, and the SHA-256 of each file above;

then syncs it, renames it to `backup/state-NNNNN/` and replaces the pointer
`backup/latest.json` (written beside, synced, renamed): that rename is the commit. A kill at
any moment leaves either the previous epoch's state or the new one. Only then are the run
folder's `history.csv` and `model.keras` derived from the committed state (each replaced
whole); a resumed run derives them again, so every epoch appears once in `history.csv`.

The previous state is kept as a fallback: a state whose files no longer match their
checksums (a damaged disk, a hand edit) is skipped with a one-line notice, and when no
state is intact the run stops with one line naming the damaged file and what to do.

Test hook: `KERAZOO_KILL_AT=POINT[:EPOCH]` kills the process (SIGKILL) at a named point
(`kerazoo.training.folder.kill_point`): `weights`, `state`, `before-commit`, `after-commit`
and `history` here, `checkpoint` in the checkpoint's save, `trained` (training over, the
backup not yet removed), `metrics` and `pictures` at the end of a run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import warnings
from pathlib import Path

import keras
import numpy as np

from kerazoo import _private_api as private
from kerazoo.training.folder import fsync_dir, kill_point, write_bytes

POINTER = "latest.json"
STAGING = ".staging"
WEIGHTS = "weights.weights.h5"
MODEL = "model.keras"
STATE = "state.json"
FORMAT = 1

# The state of Keras's own callbacks that a resumed run must carry on (keras 3.15.1: these
# attributes are what their `on_epoch_end` reads and updates; `on_train_begin` resets them).
KERAS_STATE = (
    (keras.callbacks.EarlyStopping, ("best", "wait", "best_epoch")),
    (keras.callbacks.ReduceLROnPlateau, ("best", "wait", "cooldown_counter")),
    (keras.callbacks.ModelCheckpoint, ("best",)),
)


class DamagedBackup(ValueError):
    """No committed state of a run's backup is intact; the message names the file."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _number(value):
    # numpy scalars and 0-d arrays become plain floats/ints, for JSON.
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    value = np.asarray(keras.ops.convert_to_numpy(value))
    return value.item() if value.size == 1 else value.tolist()


def _state_of(callback) -> dict:
    if hasattr(callback, "get_state"):
        return callback.get_state()
    for kind, names in KERAS_STATE:
        if isinstance(callback, kind):
            return {name: _number(getattr(callback, name, None)) for name in names}
    return {}


def _set_state(callback, state: dict) -> None:
    if hasattr(callback, "set_state"):
        callback.set_state(state)
        return
    for name, value in state.items():
        setattr(callback, name, value)


def history_text(rows: list[dict]) -> str:
    """`rows` as Keras's `CSVLogger` writes them: `epoch`, then the other keys sorted."""
    keys = sorted({k for row in rows for k in row if k != "epoch"})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["epoch", *keys], restval="NA", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class RunBackup(keras.callbacks.Callback):
    """Commits the training state once per epoch, atomically; restores it when `fit` starts.

    Put it after every callback whose state it keeps (early stopping, the checkpoint, the
    learning-rate callbacks), so it commits what they decided for the epoch, and after the
    learning-rate callbacks so the history rows get their `learning_rate`.

    Args:
        backup_dir: the backup folder (used by nothing else).
        history_csv: the run's `history.csv`, derived from the committed rows; None: none.
        checkpoint: the run's `ModelCheckpoint`; it saves into the epoch's new state and the
            committed file is copied (hard-linked) to its `filepath`. None: no checkpoint.
        tracked: other callbacks whose state is committed: Keras's `EarlyStopping`,
            `ReduceLROnPlateau`, or any object with `get_state() -> dict` and
            `set_state(dict)`.
        delete_on_end: remove the backup when `fit` ends normally (as Keras's does).

    Raises:
        DamagedBackup: (a ValueError) when `fit` starts and no committed state is intact.

    Example:

    ```python
    stopper = keras.callbacks.EarlyStopping(patience=3)
    backup = RunBackup("runs/x/backup", history_csv="runs/x/history.csv", tracked=[stopper])
    model.fit(x, y, epochs=10, validation_split=0.1, callbacks=[stopper, backup])
    ```
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike,
        *,
        history_csv: str | os.PathLike | None = None,
        checkpoint: keras.callbacks.ModelCheckpoint | None = None,
        tracked=(),
        delete_on_end: bool = True,
    ) -> None:
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.history_csv = Path(history_csv) if history_csv is not None else None
        self.checkpoint = checkpoint
        self.model_path = Path(checkpoint.filepath) if checkpoint is not None else None
        self.tracked = list(tracked)
        self.delete_on_end = delete_on_end
        self.frozen = False
        self.rows: list[dict] = []
        self.state_dir: Path | None = None  # the committed state

    # -- what is committed ---------------------------------------------------------------

    @property
    def committed_epochs(self) -> int | None:
        """The finished epochs of the committed state (None when nothing is committed)."""
        found = self._read_pointer()
        return None if found is None else found[1]["epoch"]

    def track(self, callback) -> None:
        """Adds a callback whose state is committed (before `fit` starts)."""
        self.tracked.append(callback)

    def freeze(self) -> None:
        """Commits nothing more and keeps the backup when `fit` ends (a NaN stop)."""
        self.frozen = True

    def discard(self) -> None:
        """Removes the backup: renamed away first (one step), then deleted."""
        if not self.backup_dir.exists():
            return
        gone = self.backup_dir.with_name(f".{self.backup_dir.name}.old")
        shutil.rmtree(gone, ignore_errors=True)
        os.replace(self.backup_dir, gone)
        shutil.rmtree(gone, ignore_errors=True)

    # -- Keras hooks -----------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self.frozen = False
        shutil.rmtree(self.backup_dir.with_name(f".{self.backup_dir.name}.old"), True)
        shutil.rmtree(self.backup_dir / STAGING, ignore_errors=True)
        found = self._intact_state()
        self.rows, self.state_dir = [], None
        if found is None:
            if self.history_csv is not None:
                self.history_csv.unlink(missing_ok=True)  # rows of no committed epoch
            if self.model_path is not None:
                self.model_path.unlink(missing_ok=True)
            return
        self.state_dir, state = found
        model = self.model
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)  # its variables, to load into
        try:
            # Keras warns about each part it cannot match before it raises; the one line
            # below says it instead (warnings of a load that succeeds are passed on).
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.load_weights(self.state_dir / WEIGHTS)
            for w in caught:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        except ValueError as e:
            # The run's settings build a model whose layers differ from the saved ones: the
            # model's defaults changed since the run started (e.g. the vae's code went from
            # 2 to 16 dimensions after kerazoo 0.1.0). Keras's message names the layer.
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ValueError(
                f"The unfinished run's saved weights ({self.state_dir}) do not fit the model "
                "built from its settings today: the model's defaults changed since the run "
                "started. Finish it with the kerazoo version that started it, or start it "
                f"again with --overwrite (overwrite=True). Received: {first}"
            ) from None
        private.set_restored_initial_epoch(model, state["epoch"])
        saved = state.get("callbacks", [])
        for callback, values in zip(self._stateful(), saved, strict=False):
            _set_state(callback, values)
        self.rows = list(state["history"])
        self._derive()

    def on_epoch_begin(self, epoch, logs=None):
        if self.checkpoint is not None:
            staging = self.backup_dir / STAGING
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            self.checkpoint.filepath = str(staging / MODEL)

    def on_epoch_end(self, epoch, logs=None):
        if not self.frozen:
            self._commit(epoch, logs or {})

    def on_train_end(self, logs=None):
        if self.checkpoint is not None:
            self.checkpoint.filepath = str(self.model_path)
        shutil.rmtree(self.backup_dir / STAGING, ignore_errors=True)
        if not self.frozen and self.delete_on_end:
            self.discard()

    # -- the commit ------------------------------------------------------------------------

    def _stateful(self) -> list:
        return [c for c in (*self.tracked, self.checkpoint) if c is not None]

    def _commit(self, epoch: int, logs: dict) -> None:
        done = epoch + 1
        staging = self.backup_dir / STAGING
        staging.mkdir(parents=True, exist_ok=True)
        try:
            files, rows = self._write_state(staging, epoch, logs)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # no half-written state left behind
            raise
        target = self.backup_dir / f"state-{done:05d}"
        shutil.rmtree(target, ignore_errors=True)  # an uncommitted state of an earlier try
        os.rename(staging, target)
        fsync_dir(self.backup_dir)
        kill_point("before-commit", done)
        pointer = {"format": FORMAT, "state": target.name, "epoch": done, "sha256": files}
        write_bytes(self.backup_dir / POINTER, json.dumps(pointer, indent=2).encode())
        kill_point("after-commit", done)
        previous, self.state_dir = self.state_dir, target
        self.rows = rows
        # Keep the previous state as a fallback; older ones go.
        for old in self.backup_dir.glob("state-*"):
            if old not in (target, previous):
                shutil.rmtree(old, ignore_errors=True)
        self._derive()

    def _write_state(self, staging: Path, epoch: int, logs: dict) -> tuple[dict, list]:
        done = epoch + 1
        has_model = (staging / MODEL).is_file()
        if not has_model and self.state_dir is not None and (self.state_dir / MODEL).is_file():
            _link(self.state_dir / MODEL, staging / MODEL)  # no better epoch: the same file
            has_model = True
        self.model.save_weights(staging / WEIGHTS)
        kill_point("weights", done)
        row = {"epoch": epoch, **{k: _number(v) for k, v in logs.items()}}
        state = {
            "format": FORMAT,
            "epoch": done,
            "history": [*self.rows, row],
            "optimizer_steps": _optimizer_steps(self.model),
            "callbacks": [_state_of(c) for c in self._stateful()],
            "files": {name: _sha256(staging / name) for name in (WEIGHTS, MODEL)[: 1 + has_model]},
        }
        write_bytes(staging / STATE, json.dumps(state, indent=1).encode(), sync_dir=False)
        kill_point("state", done)
        for name in state["files"]:
            _fsync(staging / name)
        fsync_dir(staging)
        return {STATE: _sha256(staging / STATE)}, state["history"]

    def _derive(self) -> None:
        """The run folder's `history.csv` and `model.keras` from the committed state."""
        if self.history_csv is not None:
            write_bytes(self.history_csv, history_text(self.rows).encode(), sync_dir=False)
            kill_point("history", len(self.rows))
        if self.model_path is not None and self.state_dir is not None:
            committed = self.state_dir / MODEL
            if committed.is_file() and not _same_file(committed, self.model_path):
                temporary = self.model_path.with_name(f".{self.model_path.name}.tmp")
                temporary.unlink(missing_ok=True)
                _link(committed, temporary)
                os.replace(temporary, self.model_path)
            elif not committed.is_file():
                self.model_path.unlink(missing_ok=True)

    # -- reading the committed state -------------------------------------------------------

    def _read_pointer(self) -> tuple[Path, dict] | None:
        try:
            pointer = json.loads((self.backup_dir / POINTER).read_text())
            return self.backup_dir / pointer["state"], pointer
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _check(self, folder: Path, sha: str | None) -> tuple[dict | None, str]:
        """The state in `folder` when every file matches its checksum; else the problem."""
        path = folder / STATE
        try:
            if sha is not None and _sha256(path) != sha:
                return None, f"{path} does not match its checksum"
            state = json.loads(path.read_text())
            if state.get("format") != FORMAT:
                return None, f"{path} is not a state of this kerazoo"
            for name, digest in state["files"].items():
                if _sha256(folder / name) != digest:
                    return None, f"{folder / name} does not match its checksum"
        except OSError as err:
            return None, f"{path} cannot be read ({err.strerror or err})"
        except (ValueError, KeyError, TypeError, AttributeError):
            return None, f"{path} is damaged"
        return state, ""

    def _intact_state(self) -> tuple[Path, dict] | None:
        """The committed state, or else the newest earlier intact one (said in one line)."""
        if not self.backup_dir.is_dir():
            return None
        pointed = self._read_pointer()
        states = sorted(self.backup_dir.glob("state-*"), reverse=True)
        if pointed is not None:
            newest = pointed[1]["epoch"]
            # A state renamed in but never pointed at was not committed.
            for folder in states:
                if _epoch_of(folder) > newest:
                    shutil.rmtree(folder, ignore_errors=True)
            states = [f for f in states if _epoch_of(f) <= newest]
        elif not states:
            if any(self.backup_dir.iterdir()):
                raise DamagedBackup(
                    f"{self.backup_dir} holds no committed state kerazoo can read (an "
                    "earlier kerazoo's backup, or a damaged one); start the run again with "
                    f"--overwrite. Received: backup_dir={str(self.backup_dir)!r}"
                )
            return None
        problems = []
        for folder in states:
            sha = pointed[1]["sha256"].get(STATE) if pointed and folder == pointed[0] else None
            state, problem = self._check(folder, sha)
            if state is not None:
                if problems:
                    print(
                        f"kerazoo: {problems[0]}; going on from the previous good state "
                        f"(end of epoch {state['epoch']}, {folder}).",
                        flush=True,
                    )
                return folder, state
            problems.append(problem)
        raise DamagedBackup(
            f"The run's backup is damaged: {problems[0] if problems else 'no state found'}, "
            "and no earlier state is intact; start the run again with --overwrite. "
            f"Received: backup_dir={str(self.backup_dir)!r}"
        )


def _optimizer_steps(model) -> int | None:
    # Recorded to be read back: a resumed run's step count is checked against it.
    optimizer = getattr(model, "optimizer", None)
    return None if optimizer is None else int(_number(optimizer.iterations))


def _epoch_of(folder: Path) -> int:
    try:
        return int(folder.name.removeprefix("state-"))
    except ValueError:
        return -1


def _link(source: Path, target: Path) -> None:
    # Committed files are never written again, so a hard link is a safe, instant copy.
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
