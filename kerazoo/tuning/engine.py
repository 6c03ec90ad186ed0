"""KerasTuner plumbing: the zoo's HyperModel and tuners/oracles that survive kills.

KerasTuner by itself has three traps that this module closes:

- A trial whose process is killed stays RUNNING in `oracle.json`; on reload KerasTuner puts
  it back in the retry queue without counting the attempt, so a trial that always kills
  the process (e.g. out of memory) is retried forever. `ReliableOracle.reload` counts the
  interrupted attempt and marks the trial FAILED once `max_retries_per_trial` is spent.
- `oracle.json`, `trial.json` and `tuner0.json` are written in place, so a kill during a
  write leaves a truncated file. Here they are written to a temporary file and renamed, and
  a copy of the oracle state is kept after every finished trial (`oracle.json.bak`).
- Any exception in a trial counts as INVALID and is retried with the same values; a NaN
  loss scores NaN and is retried too. Here errors and NaN losses are FAILED at once (the
  same configuration would fail again), recorded with their message, and the search stops
  only after `max_consecutive_failed_trials` failures in a row, with a clear error.

Distributed searches (KerasTuner's chief/worker mode, switched on by `KERASTUNER_ORACLE_IP`)
go through the same classes: the chief serves the oracle (`serve_oracle`) and runs no
trial; workers get trials from it over gRPC and write only their trial folders. The oracle
itself saves its state after each trial ends, keeps the backup and stops handing out trials
after `max_failures` failures in a row, since a chief has no tuner loop that could.

This module imports KerasTuner (and so Keras); `kerazoo.tuning.search` imports it lazily.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import time
import warnings
from pathlib import Path

import keras
import keras_tuner as kt

from kerazoo import _private_api as private
from kerazoo import registry
from kerazoo.training import steps
from kerazoo.tuning import spaces

kt_config = private.keras_tuner_module("config")
oracle_client = private.keras_tuner_module("distribute.oracle_client")
dist_utils = private.keras_tuner_module("distribute.utils")
trial_module = private.keras_tuner_module("engine.trial")
Status = trial_module.TrialStatus
private.silence_condition_prints()
RECORD = "kerazoo_trial.json"  # per-trial seconds, epochs and error, next to trial.json
INTERRUPTED = "interrupted: the process ended during this trial"


class SearchStopped(RuntimeError):
    """The search cannot go on (too many failed trials in a row, or no trial completed)."""


def atomic_write(path: str | os.PathLike, text: str) -> None:
    """Writes `text` to `path` through a temporary file and a rename (no torn files)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class SpaceHyperModel(kt.HyperModel):
    """A search space over a model as a KerasTuner `HyperModel`: what kerazoo's share.

    `build` makes a trial's compiled model (`make`) from the values `overrides` declares on
    the trial's `hp`; `fit` trains it (`train`, Keras's `fit` on whatever the tuner's
    `search` was given) with the run's own callbacks first (`trial_callbacks`: NaN guard,
    learning-rate schedule, early stopping when there is validation data; nothing written,
    since KerasTuner keeps the best epoch's weights itself), then those KerasTuner adds.

    Subclasses define `overrides`, `make` and `trial_callbacks`: `ZooHyperModel` for a
    registered model (`kerazoo.tune`), and in `kerazoo.tuning.hypermodel` the ones
    `kerazoo.hypermodel` returns for the user's own tuner.

    Args:
        name: the HyperModel's name (the model's).
        config: the `RunConfig` every trial trains with (seed, epochs, early stopping,
            patience, learning-rate schedule).
        fix, narrow: the user's fixed and narrowed hyperparameters.
    """

    def __init__(self, name: str, config, fix: dict, narrow: dict):
        super().__init__(name=name)
        self.config = config
        self.fix = fix
        self.narrow = narrow

    def overrides(self, hp) -> tuple[str, dict]:
        """What to build for `hp`'s values: a name and its arguments."""
        raise NotImplementedError

    def make(self, name: str, overrides: dict):
        """The compiled model for `overrides(hp)`."""
        raise NotImplementedError

    def trial_callbacks(self, validation: bool) -> list:
        """The run's callbacks a trial trains with (early stopping only with `validation`)."""
        raise NotImplementedError

    def build(self, hp):
        return self.make(*self.overrides(hp))

    def fit(self, hp, model, *args, callbacks=(), **kwargs):
        validation = kwargs.get("validation_data") is not None or bool(
            kwargs.get("validation_split")
        )
        own = self.trial_callbacks(validation)
        return self.train(model, *args, callbacks=[*own, *callbacks], **kwargs)

    def train(self, model, *args, **kwargs):
        """Trains a trial's model on what `search` was given."""
        return model.fit(*args, **kwargs)


class ZooHyperModel(SpaceHyperModel):
    """A registered zoo model's search space as a KerasTuner `HyperModel`, for `tune`.

    A trial's values come from the model's space (`spaces.space`, with the user's `fix`
    and `narrow`); on the prepared `data` it builds through the training path's build step
    (seeded, in the strategy's scope) and fits through its fit step with the run's NaN
    guard, learning-rate schedule and early stopping (`steps.callbacks_for`).

    Args:
        spec: the model's `ModelSpec`.
        config: the `RunConfig` every trial trains with (data, batch, seed, epochs).
        data: the prepared `steps.Data`.
        fix, narrow: the user's fixed and narrowed hyperparameters.
    """

    def __init__(self, spec, config, data, fix: dict, narrow: dict):
        super().__init__(spec.name, config, fix, narrow)
        self.spec = spec
        self.data = data

    def overrides(self, hp) -> tuple[str, dict]:
        """The registered name and factory arguments for `hp`'s values."""
        overrides = spaces.space(hp, self.spec.name, self.fix, self.narrow)
        return spaces.model_for(self.spec.name, overrides)

    def make(self, name: str, overrides: dict):
        return steps.build(self.config, registry.get_spec(name), self.data, overrides)

    def trial_callbacks(self, validation: bool) -> list:
        config = self.config
        if not validation:  # early stopping watches a validation loss
            config = dataclasses.replace(config, early_stopping=False)
        return steps.callbacks_for(config, self.spec, None, files=False)

    def train(self, model, x, *, validation_data=None, epochs=1, callbacks=(), **kwargs):
        # The pipelines shuffle (seeded, every epoch), so the fit step does not.
        return steps.fit(
            model,
            x,
            validation_data,
            epochs=epochs,
            callbacks=list(callbacks),
            verbose=kwargs.get("verbose", 0),
            initial_epoch=kwargs.get("initial_epoch", 0),
        )


class ReliableOracle:
    """Mixed in front of a KerasTuner oracle class: atomic state, bounded retries of kills."""

    max_failures = math.inf  # failed trials in a row after which no trial is handed out

    def save(self):
        atomic_write(self._get_oracle_fname(), json.dumps(self.get_state()))

    def _save_trial(self, trial):
        path = os.path.join(self._get_trial_dir(trial.trial_id), "trial.json")
        atomic_write(path, json.dumps(trial.get_state()))

    def set_state(self, state):
        super().set_state(state)
        # Trials running when the state was saved: their process died if we reload it. A
        # trial listed as ongoing whose own file says it ended is not one of them (the state
        # was saved between its end and its removal from the ongoing trials).
        ongoing = list(state["ongoing_trials"].values())
        self.interrupted = [t for t in ongoing if self.trials[t].status == Status.RUNNING]
        self._ended_ongoing = [t for t in ongoing if t not in self.interrupted]

    def reload(self):
        self.interrupted, self._ended_ongoing = [], []
        super().reload()
        for trial_id in self._ended_ongoing:  # KerasTuner queues every ongoing trial again
            if trial_id in self._retry_queue:
                self._retry_queue.remove(trial_id)
        # A state restored from the backup may miss trials started or ended after it.
        for trial_id in sorted(self.trials):
            trial = self.trials[trial_id]
            if trial.status == Status.RUNNING and trial_id not in self.interrupted:
                self.interrupted.append(trial_id)
            elif (
                trial.status in (Status.COMPLETED, Status.FAILED) and trial_id not in self.end_order
            ):
                self.end_order.append(trial_id)
                self._record_values(trial)
            if trial_id not in self.start_order:
                self.start_order.append(trial_id)
        for trial_id in self.interrupted:
            trial = self.trials[trial_id]
            # The killed attempt counts as a run, which KerasTuner does not do.
            self._run_times[trial_id] += 1
            if trial_id in self._retry_queue:
                self._retry_queue.remove(trial_id)
            if self._run_times[trial_id] > self.max_retries_per_trial:
                trial.status = Status.FAILED
                trial.message = f"{INTERRUPTED} ({self._run_times[trial_id]} time(s)); not retried"
                self.end_order.append(trial_id)
                self._save_trial(trial)
            else:
                self._retry_queue.append(trial_id)
        self.save()

    @kt.synchronized
    def create_trial(self, tuner_id):
        if tuner_id not in self.ongoing_trials and self.failures_in_a_row() >= self.max_failures:
            # Stop the tuner that asks, as KerasTuner does once max_trials are reached.
            self.tuner_ids.discard(tuner_id)
            return trial_module.Trial(self.get_space(), status=Status.STOPPED)
        return super().create_trial(tuner_id)

    @kt.synchronized
    def end_trial(self, trial):
        super().end_trial(trial)
        # KerasTuner saves the state before it removes the ended trial from the ongoing ones
        # and relies on the tuner to save again; a distributed chief has no tuner loop.
        self.save()
        atomic_write(f"{self._get_oracle_fname()}.bak", json.dumps(self.get_state()))

    def failures_in_a_row(self) -> int:
        """The number of trials that failed last, one after the other."""
        failed = 0
        for trial_id in reversed(self.end_order):
            if self.trials[trial_id].status != Status.FAILED:
                break
            failed += 1
        return failed

    def _check_consecutive_failures(self):
        # Checked by the tuner after the state is saved (KerasTuner raises before saving).
        pass


def _oracle(
    kind: str,
    *,
    objective,
    max_trials: int,
    epochs: int,
    seed: int,
    retries: int,
    max_failures: int,
):
    """A KerasTuner oracle of `kind` with `ReliableOracle` in front of it."""
    base = {
        "random": kt.oracles.RandomSearchOracle,
        "bayesian": kt.oracles.BayesianOptimizationOracle,
        "grid": kt.oracles.GridSearchOracle,
        "hyperband": kt.oracles.HyperbandOracle,
    }[kind]
    cls = type(f"Reliable{base.__name__}", (ReliableOracle, base), {})
    # KerasTuner takes a seed of 0 for "no seed" (and draws a random one): shift it by one.
    common = {"objective": objective, "seed": seed + 1, "max_retries_per_trial": retries}
    if kind == "hyperband":
        oracle = cls(max_epochs=epochs, factor=3, hyperband_iterations=1, **common)
        oracle.max_trials = max_trials  # a cap on Hyperband's own schedule
    else:
        oracle = cls(max_trials=max_trials, **common)
    oracle.max_failures = max_failures
    return oracle


class _PatientClient(oracle_client.OracleClient):
    """A worker's link to the chief's oracle that waits a moment when the oracle is busy.

    KerasTuner's workers ask again at once when the oracle answers IDLE (Hyperband waiting
    for a round's trials), a busy loop of gRPC calls that takes a core from the trials.
    """

    def create_trial(self, tuner_id):
        trial = super().create_trial(tuner_id)
        if trial.status == Status.IDLE:
            time.sleep(1.0)
        return trial


class _ZooTuner:
    """Mixed in front of `kt.Tuner`/`kt.Hyperband`: records, progress and failure bounds.

    In a distributed search the chief's `search` serves the oracle until the workers are
    done, and a worker's `search` runs the trials the chief hands out (`ran`: trial id ->
    the trial as the oracle ended it; kept because the chief may be gone after the search).
    """

    def __init__(self, *, oracle, max_failures: int, seed: int, progress, **kwargs):
        self.max_failures = max_failures
        self.seed = seed
        self.progress = progress
        self.ran = {}
        # Skip the convenience constructors (they build their own oracle).
        kt.Tuner.__init__(self, oracle=oracle, **kwargs)
        if private.is_worker(self):
            self.oracle = _PatientClient(private.wrapped_oracle(self.oracle))

    def search(self, *fit_args, **fit_kwargs):
        if not dist_utils.is_chief_oracle():
            return super().search(*fit_args, **fit_kwargs)
        self.oracle.verbose = fit_kwargs.get("verbose", 1)  # KerasTuner's own trial display
        self.save()
        serve_oracle(self.oracle)
        self.save()

    def save(self):
        if not private.is_worker(self):  # a worker's oracle is the chief's
            self.oracle.save()
        atomic_write(private.tuner_state_file(self), json.dumps(self.get_state()))

    def run_trial(self, trial, *args, **kwargs):
        start = time.perf_counter()
        record = {"seconds": None, "epochs": 0, "best_epoch": None, "error": None}
        keras.utils.set_random_seed(self.seed)
        try:
            histories = super().run_trial(trial, *args, **kwargs)
            for history in histories:
                losses = history.history.get("loss", [])
                record["epochs"] += len(losses)
                bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
                if bad:
                    raise kt.errors.FailedTrialError(
                        f"the loss became NaN or infinite in epoch {bad[0] + 1} (try a lower "
                        "learning rate)"
                    )
            return histories
        except Exception as err:  # this configuration fails: record it, do not retry it
            message = " ".join(str(err).split())
            if isinstance(err, kt.errors.FailedTrialError):
                record["error"] = message[:500]
                raise
            record["error"] = f"{type(err).__name__}: {message}"[:500]
            raise kt.errors.FailedTrialError(record["error"]) from err
        finally:
            record["seconds"] = round(time.perf_counter() - start, 2)
            atomic_write(Path(self.get_trial_dir(trial.trial_id)) / RECORD, json.dumps(record))

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # the oracle ends the trial and saves its state
        self.ran[trial.trial_id] = self.oracle.get_trial(trial.trial_id)
        if self.progress is not None:
            self.progress(self.ran[trial.trial_id], self)
        if not private.is_worker(self):  # the chief's oracle stops the workers (`create_trial`)
            message = failure_stop(self)
            if message:
                raise SearchStopped(message)


def failure_stop(tuner) -> str | None:
    """Why the search must stop (`max_failures` failed trials in a row), or None."""
    oracle = tuner.oracle
    failed = oracle.failures_in_a_row()
    if failed < tuner.max_failures:
        return None
    last = oracle.trials[oracle.end_order[-1]]
    return (
        f"{failed} trials in a row failed, the limit (max_failures={tuner.max_failures}); "
        f"the last error: {trial_error(tuner, last)}. Fix or narrow the space (--fix, "
        "--space) and start again, or raise max_failures and --resume."
    )


def oracle_address() -> str:
    """The chief's oracle address from KerasTuner's variables, `IP:PORT`."""
    return f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"


def serve_oracle(oracle, poll: float = 0.2) -> None:
    """The chief's part of a distributed search: serves `oracle` until the workers are done.

    Hand-written around KerasTuner's own servicer and end test (`oracle_chief`) because its
    `start_server` checks for the end only every 20 s, never stops its server, and binds
    with SO_REUSEPORT, so a second chief on a busy port starts silently and splits the
    workers between two oracles.

    Raises:
        ValueError: when the address cannot be bound.
    """
    from concurrent import futures

    import grpc

    protos = private.keras_tuner_module("protos")
    oracle_chief = private.keras_tuner_module("distribute.oracle_chief")

    address = oracle_address()
    # One thread, as in KerasTuner: the oracle's calls run one at a time.
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=1), options=[("grpc.so_reuseport", 0)]
    )
    servicer = oracle_chief.OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if not bound:
        raise ValueError(
            f"The chief cannot serve its oracle at {address} (the port is in use or the "
            "address is not this machine's); choose a free KERASTUNER_ORACLE_PORT. "
            f"Received: KERASTUNER_ORACLE_PORT={os.environ['KERASTUNER_ORACLE_PORT']!r}"
        )
    server.start()
    try:
        while not (servicer.stop_triggered and oracle_chief.exit_chief(oracle)):
            time.sleep(poll)
    finally:
        server.stop(grace=5)


def wait_for_chief(timeout: float = oracle_client.TIMEOUT) -> None:
    """Blocks until the chief serves its oracle (it does once its search folder is ready).

    Raises:
        SearchStopped: when no chief answers within `timeout` seconds (KerasTuner's own
            client waits as long).
    """
    import grpc

    address = oracle_address()
    channel = grpc.insecure_channel(address)
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise SearchStopped(
            f"No chief served the search's oracle at {address} within {timeout:.0f} s; start "
            "the chief (KERASTUNER_TUNER_ID=chief) or use kerazoo launch."
        ) from None
    finally:
        channel.close()


@contextlib.contextmanager
def quiet_tracebacks():
    """Keeps KerasTuner's noise off the console while searching.

    KerasTuner prints every failed trial's traceback (the tuner's own line says what
    failed), and Hyperband's continued trials load only the weights of the trial they
    continue, so Keras warns that the optimizer state is skipped: that is by design.
    """
    saved = kt_config.DEBUG
    kt_config.DEBUG = False
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            yield
    finally:
        kt_config.DEBUG = saved


def make_tuner(
    kind: str,
    hypermodel: ZooHyperModel,
    *,
    objective,
    max_trials: int,
    epochs: int,
    seed: int,
    retries: int,
    max_failures: int,
    directory: Path,
    project_name: str,
    progress=None,
):
    """A tuner of `kind` (`random`, `hyperband`, `bayesian`, `grid`) over `hypermodel`.

    An existing project in `directory/project_name` is reloaded (the caller decides whether
    that is wanted: `kerazoo.tuning.search` refuses it without `resume`).
    """
    base = kt.Hyperband if kind == "hyperband" else kt.Tuner
    cls = type("ZooTuner" if kind != "hyperband" else "ZooHyperband", (_ZooTuner, base), {})
    oracle = _oracle(
        kind,
        objective=objective,
        max_trials=max_trials,
        epochs=epochs,
        seed=seed,
        retries=retries,
        max_failures=max_failures,
    )
    return cls(
        oracle=oracle,
        hypermodel=hypermodel,
        directory=str(directory),
        project_name=project_name,
        overwrite=False,
        max_failures=max_failures,
        seed=seed,
        progress=progress,
    )


def trial_record(tuner, trial) -> dict:
    """The seconds, epochs and error saved by `run_trial` for `trial` (empty if none)."""
    path = Path(tuner.get_trial_dir(trial.trial_id)) / RECORD
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def trial_error(tuner, trial) -> str | None:
    if trial.status != Status.FAILED:
        return None
    if (trial.message or "").startswith(INTERRUPTED):
        return trial.message
    return trial_record(tuner, trial).get("error") or (trial.message or "").strip()[-300:]


def check_project(project: Path, tuner_id: str = "tuner0") -> list[str]:
    """Checks a KerasTuner project folder before it is reloaded; repairs what it can.

    Args:
        project: the KerasTuner project folder.
        tuner_id: the tuner that reloads it (`chief` in a distributed search).

    Returns:
        Notices to show the user (e.g. the oracle state restored from its backup).

    Raises:
        ValueError: when the state is damaged beyond the backup.
    """
    notices = []
    oracle, backup = project / "oracle.json", project / "oracle.json.bak"
    if not oracle.exists():
        return notices
    try:
        json.loads(oracle.read_text())
    except (OSError, ValueError) as err:
        try:
            json.loads(backup.read_text())
        except (OSError, ValueError):
            raise ValueError(
                f"The search state {oracle} is corrupted ({err}) and has no readable backup "
                f"({backup.name}); start the search again with --overwrite. "
                f"Received: out={str(project.parent)!r}"
            ) from None
        atomic_write(oracle, backup.read_text())
        notices.append(
            f"{oracle} was corrupted ({err}); restored the state saved after the last "
            "finished trial"
        )
    for path in sorted(project.glob("trial_*/trial.json")):
        try:
            json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ValueError(
                f"The trial file {path} is corrupted ({err}); delete its folder to run that "
                "trial again, or start the search again with --overwrite. "
                f"Received: out={str(project.parent)!r}"
            ) from None
    # KerasTuner reloads the oracle only through the tuner's own (empty) state file.
    tuner_file = project / f"{tuner_id}.json"
    try:
        json.loads(tuner_file.read_text())
    except (OSError, ValueError):
        atomic_write(tuner_file, "{}")
    return notices
