"""`tune(...)` and `kerazoo tune`: a resumable KerasTuner search over a zoo model's space.

    settings -> checks (model, dataset, tuner, objective, fix/space keys, the folder)
             -> data (the training path's loader) -> strategy -> KerasTuner search
             -> trials.csv, search.png, best_hyperparameters.json
             -> the best configuration retrained on train+val, tested once
             -> best_model.keras, metrics.json (written last: the search is finished)

The search folder holds `search.json` (the search's settings, compared on `resume`) and
`keras_tuner/` (KerasTuner's project: oracle.json, one trial_NN/ per trial). An existing
search folder is reused only with `resume=True` and the same settings; `overwrite=True`
starts again. KerasTuner's own default, reloading any old project silently even when the
arguments changed, is the trap this avoids.

`distributed=True` (`kerazoo tune --distributed`) takes part in KerasTuner's chief/worker
search, the part read from its variables (`KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP`,
`KERASTUNER_ORACLE_PORT`; `kerazoo launch --workers N -- tune ...` sets them). The chief
applies the folder rules, serves the oracle and, once the workers are done, writes the same
results as a single-machine search; a worker waits for the chief, takes the settings from
its `search.json`, and only runs trials (it writes only inside their trial folders).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

from kerazoo import registry
from kerazoo.data import loader
from kerazoo.training import distribute, run
from kerazoo.tuning import spaces

TUNERS = ("random", "hyperband", "bayesian", "grid")
SEARCH_FILE = "search.json"
PROJECT = "keras_tuner"
# Settings that do not change what is searched: a resumed search takes the given ones.
NOT_COMPARED = ("strategy", "max_retries", "max_failures")
# KerasTuner's chief/worker variables (keras_tuner/src/distribute/utils.py): the mere
# presence of KERASTUNER_ORACLE_IP makes every tuner of the process distributed.
TUNER_ID, ORACLE_IP, ORACLE_PORT = (
    "KERASTUNER_TUNER_ID",
    "KERASTUNER_ORACLE_IP",
    "KERASTUNER_ORACLE_PORT",
)
DISTRIBUTED_VARIABLES = (TUNER_ID, ORACLE_IP, ORACLE_PORT)
LAUNCH = "kerazoo launch --workers N -- tune NAME ..."


@dataclasses.dataclass
class SearchConfig(run.SavedConfig):
    """A search's settings; written to `search.json` and compared on resume."""

    model: str
    dataset: str
    tuner: str = "random"
    max_trials: int = 10
    epochs: int = 5
    objective: str | None = None
    seed: int = 0
    fix: dict = dataclasses.field(default_factory=dict)
    space: dict = dataclasses.field(default_factory=dict)
    max_examples: int | None = None
    batch_size: int | None = None
    validation_split: float = 0.1
    max_retries: int = 1
    max_failures: int = 3
    strategy: str = "auto"

    def to_json(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))


@dataclasses.dataclass
class TuneResult:
    """What `tune` returns.

    Attributes:
        search_dir: the search folder.
        best_hyperparameters: the best trial's values (`best_hyperparameters.json`).
        best_score: its objective value.
        metrics: `metrics.json` (test metrics of the retrained best model), or None when
            `retrain=False`.
        model: the retrained best model (None when `retrain=False`).
        trials: one dict per trial, as in `trials.csv` (a worker: the trials it ran).
        config: the search's settings.
        role: `"single"`, or `"chief"` / `"worker"` in a distributed search. A worker's
            result has no best trial (`best_hyperparameters` empty, `best_score` None):
            the chief's has.
    """

    search_dir: Path
    best_hyperparameters: dict
    best_score: float | None
    metrics: dict | None
    model: Any
    trials: list
    config: SearchConfig
    role: str = "single"


# ---------------------------------------------------------------------------------------------
# Checks: everything is validated before data is loaded or anything is written.


def objectives(model: str) -> tuple[str, ...]:
    """The objectives a model's search can rank by; the first is the default."""
    spec = registry.model_info(model)
    if spec.task == "classification":
        return ("val_accuracy", "val_loss", "accuracy", "loss")
    if model == "vae":  # its only metric is its loss (reconstruction + KL)
        return ("val_loss", "loss")
    return ("val_loss", "val_mae", "loss", "mae")


def _check(config: SearchConfig) -> None:
    spaces.check_tunable(config.model)
    run.check_model_fits(config.model, config.dataset)
    if config.tuner not in TUNERS:
        raise ValueError(
            f"tuner must be one of {', '.join(TUNERS)}. Received: tuner={config.tuner!r}"
        )
    for name in ("max_trials", "epochs", "max_failures"):
        run._positive_int(getattr(config, name), name)
    for name in ("max_examples", "batch_size"):
        run._positive_int(getattr(config, name), name, allow_none=True)
    retries = config.max_retries
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"max_retries must be an integer >= 0. Received: max_retries={retries!r}")
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or config.seed < 0:
        raise ValueError(f"seed must be an integer >= 0. Received: seed={config.seed!r}")
    if config.strategy not in distribute.STRATEGIES:
        raise ValueError(
            f"strategy must be one of {', '.join(distribute.STRATEGIES)}. "
            f"Received: strategy={config.strategy!r}"
        )
    accepted = objectives(config.model)
    if config.objective not in accepted:
        raise ValueError(
            f"objective must be one of {', '.join(accepted)} for {config.model}. "
            f"Received: objective={config.objective!r}"
        )
    config.fix, config.space = spaces.check_keys(config.model, config.fix, config.space)


def distributed_role(distributed: bool) -> str | None:
    """This process's part in a search: `"chief"`, `"worker"`, or None (one machine).

    Read from KerasTuner's variables, as KerasTuner reads them: `KERASTUNER_TUNER_ID`
    (`chief`, or a worker's id such as `tuner0`), `KERASTUNER_ORACLE_IP` and
    `KERASTUNER_ORACLE_PORT` (the chief's oracle address). Imports nothing heavy.

    Args:
        distributed: whether a distributed search was asked for.

    Returns:
        `"chief"`, `"worker"` or None.

    Raises:
        ValueError: with `distributed` and a variable missing or malformed; without it and
            one of them set (KerasTuner would silently go distributed).

    Example:

    ```python
    os.environ.update(KERASTUNER_TUNER_ID="tuner0", KERASTUNER_ORACLE_IP="127.0.0.1",
                      KERASTUNER_ORACLE_PORT="8000")
    distributed_role(True)  # "worker"
    ```
    """
    env = {name: os.environ.get(name) for name in DISTRIBUTED_VARIABLES}
    received = ", ".join(f"{k}={v!r}" for k, v in env.items())
    if not distributed:
        given = [k for k, v in env.items() if v is not None]
        if given:
            raise ValueError(
                f"{', '.join(given)} set in the environment would make KerasTuner run a "
                "distributed search; pass --distributed (distributed=True) to take part in one "
                f"(`{LAUNCH}` starts them all), or unset them to search on this machine. "
                f"Received: {received}"
            )
        return None
    missing = [k for k, v in env.items() if not v]
    if missing:
        raise ValueError(
            f"--distributed reads this process's part from {TUNER_ID} (chief or a worker id "
            f"such as tuner0), {ORACLE_IP} and {ORACLE_PORT} (the chief's oracle address); "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set. Start "
            f"the search with `{LAUNCH}`, which sets them. Received: {received}"
        )
    tuner_id, ip, port = env[TUNER_ID], env[ORACLE_IP], env[ORACLE_PORT]
    # KerasTuner takes any id containing "chief" for the chief and names a file after it.
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", tuner_id) or ("chief" in tuner_id) != (
        tuner_id == "chief"
    ):
        raise ValueError(
            f"{TUNER_ID} must be chief, or a worker id of letters, digits, '_', '.' or '-' "
            f"without 'chief' (tuner0, tuner1, ...; `{LAUNCH}` sets it). "
            f"Received: {TUNER_ID}={tuner_id!r}"
        )
    if not re.fullmatch(r"[A-Za-z0-9_.:\[\]-]+", ip):
        raise ValueError(
            f"{ORACLE_IP} must be the chief's IP address or host name (127.0.0.1 on one "
            f"machine; `{LAUNCH}` sets it). Received: {ORACLE_IP}={ip!r}"
        )
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(
            f"{ORACLE_PORT} must be a port number from 1 to 65535 (`{LAUNCH}` picks a free "
            f"one). Received: {ORACLE_PORT}={port!r}"
        )
    return "chief" if tuner_id == "chief" else "worker"


def _check_oracle_port() -> None:
    """The chief's oracle address must be free, checked before anything is written."""
    ip, port = os.environ[ORACLE_IP], int(os.environ[ORACLE_PORT])
    try:
        with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET) as probe:
            # As a server binds: a port left in TIME_WAIT by an earlier chief is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((ip.strip("[]"), port))
    except OSError as err:
        raise ValueError(
            f"The chief cannot serve its oracle at {ip}:{port} ({err.strerror or err}): the "
            f"port is in use or {ip} is not this machine's address; choose a free "
            f"{ORACLE_PORT} (`{LAUNCH}` picks one). Received: {ORACLE_PORT}={str(port)!r}"
        ) from None


def plan(
    model: str,
    dataset: str | None = None,
    *,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    folder: bool = True,
    **settings,
) -> tuple[SearchConfig, Path, SearchConfig | None]:
    """Checks a search's settings and folder without loading data or writing anything.

    `folder=False` leaves the folder unchecked (a distributed search's worker, whose
    chief may still be preparing it).

    Returns:
        `(config, search_dir, saved)`; `saved` is the saved config when resuming.

    Raises:
        ValueError: as `tune` does for bad input.
    """
    registry.model_info(model)  # an unknown name is reported first
    dataset = dataset if dataset is not None else run.default_dataset(model)
    config = SearchConfig(model=model, dataset=dataset, **settings)
    explicit_objective = config.objective
    if config.objective is None:
        config.objective = objectives(model)[0]
    _check(config)
    search_dir = Path(out if out is not None else Path("runs") / f"tune-{model}")
    if not folder:
        return config, search_dir, None
    saved = run.read_saved(
        search_dir,
        SearchConfig,
        marker=SEARCH_FILE,
        noun="search",
        resume=resume,
        overwrite=overwrite,
    )
    if saved is None:
        return config, search_dir, None
    given = dataclasses.replace(config, objective=explicit_objective)
    run.check_unchanged(saved, given, noun="search", skip=NOT_COMPARED)
    for name in NOT_COMPARED:
        setattr(saved, name, getattr(config, name))
    return config, search_dir, saved


# ---------------------------------------------------------------------------------------------
# The search


def tune(
    model: str,
    dataset: str | None = None,
    *,
    tuner: str = "random",
    max_trials: int = 10,
    epochs: int = 5,
    objective: str | None = None,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    strategy: str = "auto",
    seed: int = 0,
    fix: dict | None = None,
    space: dict | None = None,
    max_examples: int | None = None,
    batch_size: int | None = None,
    validation_split: float = 0.1,
    max_retries: int = 1,
    max_failures: int = 3,
    retrain: bool = True,
    distributed: bool = False,
    verbose: int = 1,
) -> TuneResult:
    """Searches a zoo model's hyperparameters with KerasTuner on its real dataset.

    Every trial builds the model with `kerazoo.create_model` (inside the `tf.distribute`
    strategy's scope, chosen as for training) and fits it on the training split of the
    same loader `kerazoo.train` uses, scoring it on the validation split. The best
    configuration is then retrained on train+validation for its best epoch count and
    evaluated once on the test split.

    Args:
        model: a registered model name of a tunable family (all but the DCGAN).
        dataset: a dataset the model fits; None takes the model's default.
        tuner: `"random"`, `"hyperband"`, `"bayesian"` or `"grid"`.
        max_trials: trials to run, failed ones included (for Hyperband a cap on its own
            schedule, which `epochs` sets).
        epochs: epochs per trial (Hyperband's `max_epochs`).
        objective: what ranks trials; default `val_accuracy` for classifiers, else
            `val_loss` (see `objectives(model)`).
        out: the search folder; default `runs/tune-<model>`.
        resume: continue the search in `out` (after an interruption, even a kill).
        overwrite: replace the search in `out`.
        strategy: `"auto"`, `"default"`, `"mirrored"` or `"onedevice"` (see `get_strategy`).
        seed: seeds the tuner, the weights and the validation carve.
        fix: hyperparameter -> one value, e.g. `{"learning_rate": 3e-4}` (`lr` is accepted).
        space: hyperparameter -> values to choose from, e.g. `{"units_1": [32, 64]}`.
        max_examples: keep at most this many examples per split, for quick searches.
        batch_size: global batch; None: 128 for 20,000+ training examples, else 32.
        validation_split: share of the training part held out to score trials.
        max_retries: times a trial interrupted by the process dying is run again before
            it is recorded as failed (errors and NaN losses are never retried).
        max_failures: failed trials in a row after which the search stops.
        retrain: retrain the best configuration and test it (`best_model.keras`,
            `metrics.json`).
        distributed: take part in a distributed search (KerasTuner's chief/worker mode),
            the part read from `KERASTUNER_TUNER_ID` (`chief` or a worker id),
            `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`; see `distributed_role`.
            All processes get the same arguments and `out` (a shared folder). The chief
            alone applies `resume`/`overwrite`, serves the oracle, and writes the results
            when the workers are done; a worker runs trials and returns a result with no
            best trial.
        verbose: 0 silent, 1 a line per trial and the summary, 2 also per-epoch lines of
            the retraining.

    Returns:
        A `TuneResult`.

    Raises:
        ValueError: for bad input (unknown model, dataset, tuner, objective or
            hyperparameter name, a GAN, an existing search folder without `resume` or
            `overwrite`, `resume` with other settings, a damaged search state). Nothing
            is written then. Also for the distributed variables: set without
            `distributed`, or missing or malformed with it.
        SearchStopped: when `max_failures` trials in a row failed, or none completed (a
            worker: when no chief answers).

    Example:

    ```python
    result = kerazoo.tune("mnist_cnn", "fashion_mnist", tuner="hyperband", epochs=6)
    result.best_hyperparameters, result.metrics["test_accuracy"]
    ```
    """
    role = distributed_role(distributed)
    settings = dict(
        tuner=tuner,
        max_trials=max_trials,
        epochs=epochs,
        objective=objective,
        seed=seed,
        fix=dict(fix or {}),
        space=dict(space or {}),
        max_examples=max_examples,
        batch_size=batch_size,
        validation_split=validation_split,
        max_retries=max_retries,
        max_failures=max_failures,
        strategy=strategy,
    )
    # A worker leaves the folder to the chief, which may be clearing it right now.
    config, search_dir, saved = plan(
        model,
        dataset,
        out=out,
        resume=resume,
        overwrite=overwrite,
        folder=role != "worker",
        **settings,
    )
    if saved is not None or (role == "worker" and resume):
        if _is_finished(search_dir, retrain):
            _say(verbose, f"{search_dir} is a finished search; nothing to resume.")
            return _finished(search_dir, saved or config, retrain, role or "single")
        config = saved or config
    if role == "chief":
        _check_oracle_port()

    import keras
    import keras_tuner as kt

    from kerazoo.tuning import engine, report

    if role == "worker":
        _say(
            verbose,
            f"kerazoo: worker {os.environ[TUNER_ID]} waiting for the chief's oracle at "
            f"{engine.oracle_address()}",
        )
        engine.wait_for_chief()
        # The chief has prepared the folder: its settings are the search's (a worker started
        # with other ones is refused, as a resume with other settings is).
        config = plan(model, dataset, out=out, resume=True, **settings)[2]

    spec = registry.get_spec(config.model)
    splits, info = loader.load_arrays(
        config.dataset,
        seed=config.seed,
        validation_split=config.validation_split,
        max_examples=config.max_examples,
        scale=False,
    )
    batch = config.batch_size or (128 if info.n_train >= run.LARGE_TRAIN_SET else 32)
    strategy_ = distribute.get_strategy(config.strategy)
    global_batch = distribute.global_batch_size(batch, strategy_)
    train_ds, val_ds, _ = run._for_task(
        spec.task, *loader.pipelines(splits, global_batch, seed=config.seed)
    )
    hypermodel = engine.ZooHyperModel(
        config.model, run._model_arguments(spec, info), config.fix, config.space, strategy_
    )
    # The default configuration (with the fixed values) must build before anything is
    # written: a bad fixed value is the user's error, not a failed trial.
    hypermodel.build(kt.HyperParameters())

    if role != "worker":
        _prepare_folder(search_dir, config, saved, os.environ.get(TUNER_ID, "tuner0"))

    maximize = "accuracy" in config.objective
    names = spaces.hyperparameter_names(config.model)
    clock = time.perf_counter()
    tuner_ = engine.make_tuner(
        config.tuner,
        hypermodel,
        objective=kt.Objective(config.objective, "max" if maximize else "min"),
        max_trials=config.max_trials,
        epochs=config.epochs,
        seed=config.seed,
        retries=config.max_retries,
        max_failures=config.max_failures,
        directory=search_dir,
        project_name=PROJECT,
        progress=_progress(config, maximize, verbose),
    )
    _say(
        verbose,
        f"kerazoo: {config.tuner} search of {config.model} on {info.name} ({info.n_train:,} "
        f"train / {info.n_val:,} val; {info.source}), up to {config.max_trials} trials of "
        f"{config.epochs} epochs, objective {config.objective}, batch {global_batch}, "
        f"{run._strategy_words(strategy_)} -> {search_dir}" + _role_words(role, engine),
    )
    fit = dict(
        validation_data=val_ds,
        epochs=config.epochs,
        verbose=0,
        shuffle=False,  # the pipeline shuffles (seeded, every epoch)
        callbacks=[keras.callbacks.TerminateOnNaN()],
    )
    if role == "worker":
        with engine.quiet_tracebacks():
            tuner_.search(train_ds, **fit)
        return _worker_result(tuner_, search_dir, names, config, verbose)
    try:
        with engine.quiet_tracebacks():
            tuner_.search(train_ds, **fit)
    finally:
        # Even a stopped search leaves its trials readable.
        rows = _write_reports(tuner_, search_dir, names, config.objective, maximize)
    stop = engine.failure_stop(tuner_)  # a resumed search, or a chief whose workers stopped
    if stop:
        raise engine.SearchStopped(stop)
    best_trials = tuner_.oracle.get_best_trials(1)
    if not best_trials:
        raise engine.SearchStopped(
            f"No trial of the search in {search_dir} completed; see trials.csv for the errors."
        )
    best = best_trials[0]
    name, overrides = hypermodel.overrides(best.hyperparameters)
    best_values = {
        k: v for k, v in best.hyperparameters.values.items() if not k.startswith("tuner/")
    }
    search_seconds = sum(r["seconds"] or 0 for r in rows)
    engine.atomic_write(
        search_dir / "best_hyperparameters.json",
        json.dumps(
            {
                "model": config.model,
                "dataset": config.dataset,
                "objective": config.objective,
                "direction": "max" if maximize else "min",
                "score": float(best.score),
                "trial_id": best.trial_id,
                "best_epoch": report.best_epoch(best),
                "hyperparameters": best_values,
                "build": {"model": name, "overrides": run._jsonable(overrides)},
            },
            indent=2,
        )
        + "\n",
    )
    _say(verbose, report_summary(rows, names, config.objective, best.trial_id))
    _say(
        verbose,
        f"kerazoo: {sum(r['status'] == 'COMPLETED' for r in rows)} trials completed, "
        f"{sum(r['status'] == 'FAILED' for r in rows)} failed, {search_seconds:.0f} s in "
        f"trials; best {config.objective} {best.score:.4f} (trial {best.trial_id})",
    )
    result = TuneResult(
        search_dir=search_dir,
        best_hyperparameters=best_values,
        best_score=float(best.score),
        metrics=None,
        model=None,
        trials=rows,
        config=config,
        role=role or "single",
    )
    if not retrain:
        return result

    # The best configuration, trained on train+validation for its best epoch count (there
    # is no validation split left to stop on), then tested once.
    start = time.perf_counter()
    full = loader.Splits(
        x_train=_concat(splits.x_train, splits.x_val),
        y_train=_concat(splits.y_train, splits.y_val),
        x_val=splits.x_val,
        y_val=splits.y_val,
        x_test=splits.x_test,
        y_test=splits.y_test,
    )
    full_train, _, test_ds = run._for_task(
        spec.task, *loader.pipelines(full, global_batch, seed=config.seed)
    )
    keras.utils.set_random_seed(config.seed)
    with strategy_.scope():
        net = registry.create_model(name, **hypermodel.data_args, **overrides)
    retrain_epochs = min(max(report.best_epoch(best) or 1, 1), config.epochs)
    _say(
        verbose, f"kerazoo: retraining trial {best.trial_id} on train+val, {retrain_epochs} epochs"
    )
    net.fit(full_train, epochs=retrain_epochs, verbose=2 if verbose >= 2 else 0, shuffle=False)
    scores = net.evaluate(test_ds, verbose=0, return_dict=True)
    tmp = search_dir / ".best_model.tmp.keras"
    net.save(tmp)
    os.replace(tmp, search_dir / "best_model.keras")
    metrics = {f"test_{k}": float(v) for k, v in scores.items()}
    metrics.update(
        model=config.model,
        built_as=name,
        dataset=info.name,
        dataset_source=info.source,
        n_train=int(len(full.x_train)),
        n_test=info.n_test,
        tuner=config.tuner,
        objective=config.objective,
        best_trial=best.trial_id,
        best_score=float(best.score),
        best_hyperparameters=best_values,
        trials_completed=sum(r["status"] == "COMPLETED" for r in rows),
        trials_failed=sum(r["status"] == "FAILED" for r in rows),
        search_seconds=round(search_seconds, 2),
        session_seconds=round(time.perf_counter() - clock, 2),
        retrain_epochs=retrain_epochs,
        retrain_seconds=round(time.perf_counter() - start, 2),
        batch_size=global_batch,
        params=int(net.count_params()),
        **distribute.describe(strategy_),
        versions={"keras": keras.__version__, "keras_tuner": kt.__version__},
    )
    engine.atomic_write(search_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    tests = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k.startswith("test_"))
    _say(verbose, f"kerazoo: best configuration retrained: {tests}; search folder {search_dir}")
    result.metrics, result.model = metrics, net
    return result


def _is_finished(search_dir: Path, retrain: bool) -> bool:
    return (search_dir / "metrics.json").is_file() or (
        not retrain and (search_dir / "best_hyperparameters.json").is_file()
    )


def _prepare_folder(search_dir: Path, config: SearchConfig, saved, tuner_id: str) -> None:
    """A new search gets a fresh folder; a resumed one a checked (repaired) project."""
    from kerazoo.tuning import engine

    if saved is None:
        if search_dir.exists():
            shutil.rmtree(search_dir)
        search_dir.mkdir(parents=True)
        engine.atomic_write(search_dir / SEARCH_FILE, json.dumps(config.to_json(), indent=2))
        return
    for notice in engine.check_project(search_dir / PROJECT, tuner_id):
        print(f"notice: {notice}", file=sys.stderr, flush=True)


def _role_words(role: str | None, engine) -> str:
    if role == "chief":
        return f"; chief: serving the oracle at {engine.oracle_address()} to the workers"
    if role == "worker":
        return f"; worker {os.environ[TUNER_ID]}"
    return ""


def _worker_result(tuner, search_dir: Path, names, config: SearchConfig, verbose: int):
    """A worker's part is done: the trials it ran (the chief writes the results)."""
    from kerazoo.tuning import report

    rows = report.trial_rows(tuner, names, trials=tuner.ran)
    _say(
        verbose,
        f"kerazoo: worker {os.environ[TUNER_ID]} done, {len(rows)} trial(s) run "
        f"({', '.join(sorted(tuner.ran)) or 'none'}); the chief writes the results to {search_dir}",
    )
    return TuneResult(
        search_dir=search_dir,
        best_hyperparameters={},
        best_score=None,
        metrics=None,
        model=None,
        trials=rows,
        config=config,
        role="worker",
    )


def _concat(a, b):
    import numpy as np

    return np.concatenate([a, b])


def _say(verbose: int, message: str) -> None:
    if verbose:
        print(message, flush=True)


def _progress(config: SearchConfig, maximize: bool, verbose: int):
    """The per-trial console line, called by the tuner after each trial ends."""
    if not verbose:
        return None
    from kerazoo.tuning import engine

    def line(trial, tuner) -> None:
        record = engine.trial_record(tuner, trial)
        # Through the oracle's interface only: a worker's oracle is the chief's, over gRPC.
        best = [t.score for t in tuner.oracle.get_best_trials(1) if t.status == "COMPLETED"]
        best = best[0] if best else None
        # A worker cannot count the trials started; the ids count them (0, 1, 2, ...).
        started = int(trial.trial_id) + 1 if tuner._is_worker() else len(tuner.oracle.trials)
        values = ", ".join(
            f"{k}={v}"
            for k, v in trial.hyperparameters.values.items()
            if not k.startswith("tuner/")
        )
        if trial.status == "COMPLETED":
            outcome = f"{config.objective} {trial.score:.4f} (best {best:.4f})"
        else:
            outcome = f"{trial.status.lower()}: {engine.trial_error(tuner, trial)}"
        seconds = record.get("seconds")
        print(
            f"trial {trial.trial_id} ({started}/{config.max_trials}) "
            f"{outcome}; {record.get('epochs', 0)} epochs, "
            f"{'?' if seconds is None else f'{seconds:.1f}'} s; {values}",
            flush=True,
        )

    return line


def _write_reports(tuner, search_dir: Path, names, objective: str, maximize: bool) -> list:
    from kerazoo.tuning import report

    rows = report.trial_rows(tuner, names)
    report.write_trials_csv(search_dir / "trials.csv", rows)
    if rows:
        report.plot_search(search_dir / "search.png", rows, objective, maximize)
    return rows


def report_summary(rows, names, objective, best_id) -> str:
    from kerazoo.tuning import report

    return report.summary_table(rows, names, objective, best_id)


def _finished(search_dir: Path, config: SearchConfig, retrain: bool, role: str) -> TuneResult:
    import csv

    best = json.loads((search_dir / "best_hyperparameters.json").read_text())
    with open(search_dir / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    metrics, model = None, None
    if retrain and (search_dir / "metrics.json").is_file():
        from kerazoo.saving import load_model

        metrics = json.loads((search_dir / "metrics.json").read_text())
        model = load_model(search_dir / "best_model.keras")
    return TuneResult(
        search_dir=search_dir,
        best_hyperparameters=best["hyperparameters"],
        best_score=best["score"],
        metrics=metrics,
        model=model,
        trials=rows,
        config=config,
        role=role,
    )


# ---------------------------------------------------------------------------------------------
# Command line


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Adds `kerazoo tune` to the CLI's subparsers; it runs `run_cli`."""
    p = subparsers.add_parser(
        "tune",
        help="hyperparameter search (KerasTuner) over a model's space",
        description="Search a zoo model's hyperparameters with KerasTuner on its real "
        "dataset, then retrain the best configuration and test it once. The search folder "
        "gets trials.csv, search.png, best_hyperparameters.json, best_model.keras and "
        "metrics.json.",
    )
    p.add_argument("model", help="registered model name (kerazoo list)")
    p.add_argument("--dataset", help="dataset (default: the model's first)")
    p.add_argument("--tuner", choices=TUNERS, default="random")
    p.add_argument("--max-trials", type=int, default=10, help="trials, failed ones included")
    p.add_argument("--epochs", type=int, default=5, help="epochs per trial (Hyperband's max)")
    p.add_argument("--objective", help="val_accuracy (classifiers' default), val_loss, ...")
    p.add_argument("--out", help="search folder (default runs/tune-NAME)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue the search in --out")
    group.add_argument("--overwrite", action="store_true", help="replace the search in --out")
    p.add_argument("--strategy", choices=distribute.STRATEGIES, default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--fix", action="append", metavar="KEY=VALUE", help="fix a hyperparameter (repeatable)"
    )
    p.add_argument(
        "--space",
        action="append",
        metavar="KEY=V1,V2",
        help="narrow a hyperparameter to these values (repeatable)",
    )
    p.add_argument("--max-examples", type=int, help="at most this many examples per split")
    p.add_argument("--batch-size", type=int, help="global batch size")
    p.add_argument("--max-retries", type=int, default=1, help="reruns of an interrupted trial")
    p.add_argument("--max-failures", type=int, default=3, help="failed trials in a row to stop")
    p.add_argument("--no-retrain", action="store_true", help="skip retraining the best")
    p.add_argument(
        "--distributed",
        action="store_true",
        help="take part in a distributed search as KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP "
        f"and KERASTUNER_ORACLE_PORT say (chief or worker); `{LAUNCH}` starts them all",
    )
    p.add_argument("--show-space", action="store_true", help="print the search space and exit")
    p.add_argument("--quiet", action="store_true", help="no per-trial lines")
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Runs `kerazoo tune` from parsed arguments; returns the exit status.

    Bad input is one line on stderr and status 2; a search stopped by failures, status 1.
    """
    try:
        if not args.show_space:
            # Before TensorFlow loads: a wrong environment is refused at once.
            distributed_role(args.distributed)
        fix = spaces.parse_values(args.fix, flag="--fix", many=False)
        narrow = spaces.parse_values(args.space, flag="--space", many=True)
        registry.model_info(args.model)
        spaces.check_tunable(args.model)
        # The spaces are read from the factories, so Keras is needed from here on.
        _load_keras_quietly()
        if args.show_space:
            fix, narrow = spaces.check_keys(args.model, fix, narrow)
            print(spaces.format_space(args.model, spaces.describe(args.model, fix, narrow)))
            return 0
        tune(
            args.model,
            args.dataset,
            tuner=args.tuner,
            max_trials=args.max_trials,
            epochs=args.epochs,
            objective=args.objective,
            out=args.out,
            resume=args.resume,
            overwrite=args.overwrite,
            strategy=args.strategy,
            seed=args.seed,
            fix=fix,
            space=narrow,
            max_examples=args.max_examples,
            batch_size=args.batch_size,
            max_retries=args.max_retries,
            max_failures=args.max_failures,
            retrain=not args.no_retrain,
            distributed=args.distributed,
            verbose=0 if args.quiet else 1,
        )
        return 0
    except ValueError as err:
        print(f"kerazoo tune: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        from kerazoo.tuning.engine import SearchStopped

        if not isinstance(err, SearchStopped):
            raise
        print(f"kerazoo tune: stopped: {' '.join(str(err).split())}", file=sys.stderr)
        return 1


def _load_keras_quietly() -> None:
    from kerazoo.cli import load_keras_quietly

    load_keras_quietly()
