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

import dataclasses
import json
import os
import re
import shutil
import socket
import time
import warnings
from pathlib import Path
from typing import Any

from kerazoo import _private_api as private
from kerazoo import config as config_table
from kerazoo import registry, tasks
from kerazoo.config import RunConfig, SearchConfig, check_unchanged
from kerazoo.data.registry import check_model_fits, default_dataset
from kerazoo.training import folder as folders
from kerazoo.training import own, run, steps
from kerazoo.training.folder import read_saved
from kerazoo.tuning import spaces

SEARCH_FILE = "search.json"
BEST_RUN = "best"  # the run folder of the retrained best configuration
PROJECT = "keras_tuner"
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
    spec = registry.get_spec(model)
    return tasks.get_task(spec.task).objectives(spec.metrics)


def _check(config: SearchConfig) -> None:
    """The checks that need more than one field: the model's space, data and objective."""
    spaces.check_tunable(config.model)
    check_model_fits(config.model, config.dataset)
    accepted = objectives(config.model)
    if config.objective not in accepted:
        raise ValueError(
            f"objective must be one of {', '.join(accepted)} for {config.model}. "
            f"Received: objective={config.objective!r}"
        )
    run.check_numbers(config.fix, "fix")
    run.check_numbers(config.space, "space")
    for key, values in config.space.items():
        # KerasTuner's Choice takes values of one type (a TypeError deep inside otherwise).
        if not isinstance(values, list | tuple) or not values or len({type(v) for v in values}) > 1:
            raise ValueError(
                f"--space {key} takes a list of values of one kind (all integers, all "
                f"numbers with a point, or all names), e.g. {key}=32,64. "
                f"Received: {key}={values!r}"
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
    check_lock: bool = True,
    **settings,
) -> tuple[SearchConfig, Path, SearchConfig | None]:
    """Checks a search's settings and folder without loading data or writing anything.

    `folder=False` leaves the folder unchecked (a distributed search's worker, whose
    chief may still be preparing it); `check_lock=False` reads a folder another process
    holds (a worker reads its chief's settings).

    Returns:
        `(config, search_dir, saved)`; `saved` is the saved config when resuming (with the
        settings that may change on resume taken from this call).

    Raises:
        ValueError: as `tune` does for bad input.
    """
    registry.model_info(model)  # an unknown name is reported first
    given = config_table.make(SearchConfig, model, {"dataset": dataset, **settings})
    config = dataclasses.replace(given, dataset=dataset or default_dataset(model))
    config.objective = config.objective or objectives(model)[0]
    _check(config)
    search_dir = Path(out if out is not None else Path("runs") / f"tune-{model}")
    if not folder:
        return config, search_dir, None
    saved = _read_search_folder(search_dir, resume, overwrite, check_lock=check_lock)
    if saved is None:
        return config, search_dir, None
    check_unchanged(saved, given, noun="search")
    for name, option in config_table.options(SearchConfig).items():
        if not option.compared:
            setattr(saved, name, getattr(config, name))
    return config, search_dir, saved


# ---------------------------------------------------------------------------------------------
# The search


def tune(
    model: str,
    dataset: str | None = None,
    *,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    retrain: bool = True,
    distributed: bool = False,
    verbose: int = 1,
    validation_data=None,
    test_data=None,
    **settings,
) -> TuneResult:
    """Searches a zoo model's hyperparameters with KerasTuner on its real dataset.

        Every trial goes through the training path: the model is built by its step
        (`kerazoo.training.steps.build`, in the `tf.distribute` strategy's scope) and fitted by its
        fit step with the run's NaN guard and early stopping (`ZooHyperModel.fit`), on the
        training split of the loader `kerazoo.train` uses, scored on the validation split. The
        best configuration is then retrained by `kerazoo.train` itself on train+validation for its
        best epoch count (`refit=True`, run folder `best/`) and tested once.

        Args:
            model: a registered model name of a tunable family (all but the DCGAN), or your
                own `keras.Model` / `.keras` file (its optimizer and learning rate are
                searched; each trial trains a fresh copy).
            dataset: a registered dataset name, or your own data as `kerazoo.train` takes
                it (arrays, a `tf.data.Dataset`, an image folder, a CSV file with `target=`,
                a text folder or file).
            out: the search folder; default `runs/tune-<model>`.
            resume: continue the search in `out` (after an interruption, even a kill).
            overwrite: replace the search in `out`.
            retrain: retrain the best configuration and test it (`best/`, `best_model.keras`,
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
            validation_data, test_data: with your own data, its validation and test parts.
            **settings: the search's settings (`kerazoo.config.SearchConfig`, saved in
                search.json):
    {settings}

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
    with own.call(
        model,
        dataset,
        settings,
        out=out,
        resume=resume,
        validation_data=validation_data,
        test_data=test_data,
        fresh=True,  # each trial builds your model anew
    ) as (model, dataset):
        return _tune(
            model, dataset, out, resume, overwrite, retrain, distributed, verbose, settings
        )


def _tune(model, dataset, out, resume, overwrite, retrain, distributed, verbose, settings):
    role = distributed_role(distributed)
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
    if role == "worker":
        # The chief has prepared the folder: its settings are the search's (a worker started
        # with other ones is refused, as a resume with other settings is).
        _wait_for_chief(verbose)
        config = plan(model, dataset, out=out, resume=True, check_lock=False, **settings)[2]

    search = _Search(config, search_dir, role, verbose)
    if role == "worker":
        search.run()
        return _worker_result(search.tuner, search_dir, search.names, config, verbose)
    with folders.lock(search_dir, "search"):
        # Checked again under the lock: another process may have started a search here.
        _read_search_folder(search_dir, resume, overwrite, check_lock=False)
        _prepare_folder(search_dir, config, saved, os.environ.get(TUNER_ID, "tuner0"))
        try:
            rows = search.run()
            result = search.record_best(rows)
            if retrain:
                result.metrics, result.model = search.retrain_and_test(result, rows)
        finally:
            folders.record(search_dir, "search")
    return result


tune.__doc__ = tune.__doc__.replace("{settings}", config_table.args_doc(SearchConfig, indent=12))
tune.__signature__ = config_table.signature_with(tune, SearchConfig, after="dataset")


def trial_config(config: SearchConfig) -> RunConfig:
    """The run settings a trial trains with: the search's data, batch, seed and epochs."""
    return RunConfig(
        model=config.model,
        dataset=config.dataset,
        epochs=config.epochs,
        batch_size=config.batch_size,
        strategy=config.strategy,
        precision=config.precision,
        seed=config.seed,
        validation_split=config.validation_split,
        max_examples=config.max_examples,
        download=config.download,
        data=config.data,
        target=config.target,
    )


def _wait_for_chief(verbose: int) -> None:
    from kerazoo.tuning import engine

    _say(
        verbose,
        f"kerazoo: worker {os.environ[TUNER_ID]} waiting for the chief's oracle at "
        f"{engine.oracle_address()}",
    )
    engine.wait_for_chief()


class _Search:
    """One search's steps: data and tuner, the trials, the best trial, its retraining."""

    def __init__(self, config: SearchConfig, search_dir: Path, role: str | None, verbose: int):
        import keras_tuner as kt

        from kerazoo.tuning import engine

        self.config, self.search_dir, self.role, self.verbose = config, search_dir, role, verbose
        self.clock = time.perf_counter()
        spec = registry.get_spec(config.model)
        # The data's notices are shown once the default model builds: a refused fixed value
        # is then answered in one line.
        with warnings.catch_warnings(record=True) as held:
            self.data = steps.prepare_data(trial_config(config), tasks.get_task(spec.task))
            self.hypermodel = engine.ZooHyperModel(
                spec, trial_config(config), self.data, config.fix, config.space
            )
            # The default configuration (with the fixed values) must build before anything
            # is written: a bad fixed value is the user's error, not a failed trial.
            self.hypermodel.build(kt.HyperParameters())
        for w in held:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        self.maximize = "accuracy" in config.objective
        self.names = spaces.hyperparameter_names(config.model)

    def run(self) -> list[dict]:
        """Runs (or goes on with) the trials; returns the rows of trials.csv.

        The tuner reloads the project in the folder, so the folder is prepared (a resumed
        one checked and repaired) before this step.
        """
        import keras_tuner as kt

        from kerazoo.tuning import engine

        config, data, info = self.config, self.data, self.data.info
        self.tuner = engine.make_tuner(
            config.tuner,
            self.hypermodel,
            objective=kt.Objective(config.objective, "max" if self.maximize else "min"),
            max_trials=config.max_trials,
            epochs=config.epochs,
            seed=config.seed,
            retries=config.max_retries,
            max_failures=config.max_failures,
            directory=self.search_dir,
            project_name=PROJECT,
            progress=_progress(config, self.maximize, self.verbose),
        )

        _say(
            self.verbose,
            f"kerazoo: {config.tuner} search of {config.model} on {info.name} "
            f"({info.n_train:,} train / {info.n_val:,} val; {info.source}), up to "
            f"{config.max_trials} trials of {config.epochs} epochs, objective "
            f"{config.objective}, batch {data.global_batch}, "
            f"{run.strategy_words(data.strategy)} -> {self.search_dir}"
            + _role_words(self.role, engine),
        )
        fit = dict(validation_data=data.val, epochs=config.epochs, verbose=0)
        if self.role == "worker":
            with engine.quiet_tracebacks():
                self.tuner.search(data.train, **fit)
            return []
        try:
            with engine.quiet_tracebacks():
                self.tuner.search(data.train, **fit)
        finally:
            # Even a stopped search leaves its trials readable.
            rows = _write_reports(
                self.tuner, self.search_dir, self.names, config.objective, self.maximize
            )
        return rows

    def record_best(self, rows: list[dict]) -> TuneResult:
        """Writes best_hyperparameters.json and prints the summary."""
        from kerazoo.tuning import engine, report

        config = self.config
        self.best = best = _best_trial(self.tuner, self.search_dir)
        values = {
            k: v for k, v in best.hyperparameters.values.items() if not k.startswith("tuner/")
        }
        self.built_as, self.overrides = self.hypermodel.overrides(best.hyperparameters)
        record = {
            "model": config.model,
            "dataset": config.dataset,
            "objective": config.objective,
            "direction": "max" if self.maximize else "min",
            "score": float(best.score),
            "trial_id": best.trial_id,
            "best_epoch": report.best_epoch(best),
            "hyperparameters": values,
            "build": {"model": self.built_as, "overrides": json.loads(json.dumps(self.overrides))},
        }
        engine.atomic_write(
            self.search_dir / "best_hyperparameters.json", json.dumps(record, indent=2) + "\n"
        )
        _say(self.verbose, report.summary_table(rows, self.names, config.objective, best.trial_id))
        _say(
            self.verbose,
            f"kerazoo: {_count(rows, 'COMPLETED')} trials completed, {_count(rows, 'FAILED')} "
            f"failed, {_seconds(rows):.0f} s in trials; best {config.objective} "
            f"{best.score:.4f} (trial {best.trial_id})",
        )
        return TuneResult(
            search_dir=self.search_dir,
            best_hyperparameters=values,
            best_score=float(best.score),
            metrics=None,
            model=None,
            trials=rows,
            config=config,
            role=self.role or "single",
        )

    def retrain_and_test(self, result: TuneResult, rows: list[dict]) -> tuple[dict, Any]:
        """The best configuration retrained by `kerazoo.train` (`refit`), tested once;
        writes best_model.keras and metrics.json."""
        import keras_tuner as kt

        from kerazoo.tuning import engine, report

        config, best = self.config, self.best
        epochs = min(max(report.best_epoch(best) or 1, 1), config.epochs)
        _say(
            self.verbose, f"kerazoo: retraining trial {best.trial_id} on train+val, {epochs} epochs"
        )
        start = time.perf_counter()
        best_run = _retrain(
            config, self.built_as, self.overrides, epochs, self.search_dir, self.verbose
        )
        facts = best_run.metrics
        metrics = {k: v for k, v in facts.items() if k.startswith("test_")}
        metrics.update(
            model=config.model,
            built_as=self.built_as,
            **{k: facts[k] for k in ("dataset", "dataset_source", "n_train", "n_test")},
            tuner=config.tuner,
            objective=config.objective,
            best_trial=best.trial_id,
            best_score=float(best.score),
            best_hyperparameters=result.best_hyperparameters,
            trials_completed=_count(rows, "COMPLETED"),
            trials_failed=_count(rows, "FAILED"),
            search_seconds=round(_seconds(rows), 2),
            session_seconds=round(time.perf_counter() - self.clock, 2),
            retrain_epochs=epochs,
            retrain_seconds=round(time.perf_counter() - start, 2),
            **{
                k: facts[k]
                for k in ("batch_size", "params", "strategy", "replicas", "devices", "backend")
            },
            versions={**facts["versions"], "keras_tuner": kt.__version__},
        )
        _copy(self.search_dir / BEST_RUN / "model.keras", self.search_dir / "best_model.keras")
        engine.atomic_write(self.search_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        tests = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k.startswith("test_"))
        _say(
            self.verbose,
            f"kerazoo: best configuration retrained: {tests}; search folder {self.search_dir}",
        )
        return metrics, best_run.model


def _count(rows: list[dict], status: str) -> int:
    return sum(r["status"] == status for r in rows)


def _seconds(rows: list[dict]) -> float:
    return sum(r["seconds"] or 0 for r in rows)


def _read_search_folder(search_dir: Path, resume: bool, overwrite: bool, *, check_lock: bool):
    """The folder rules for a search folder (`folder.read_saved` with search.json)."""
    return read_saved(
        search_dir,
        SearchConfig,
        marker=SEARCH_FILE,
        noun="search",
        resume=resume,
        overwrite=overwrite,
        check_lock=check_lock,
    )


def _best_trial(tuner, search_dir: Path):
    from kerazoo.tuning import engine

    stop = engine.failure_stop(tuner)  # a resumed search, or a chief whose workers stopped
    if stop:
        raise engine.SearchStopped(stop)
    best_trials = tuner.oracle.get_best_trials(1)
    if not best_trials:
        raise engine.SearchStopped(
            f"No trial of the search in {search_dir} completed; see trials.csv for the errors."
        )
    return best_trials[0]


def _retrain(config: SearchConfig, name: str, overrides: dict, epochs: int, search_dir, verbose):
    """The best configuration, trained by `kerazoo.train` on train+validation (`refit`: no
    validation split is left to stop on) for its best epoch count, then tested once."""
    overrides = dict(overrides)
    optimizer = overrides.pop("optimizer", None)
    learning_rate = overrides.pop("learning_rate", None)
    best_dir = search_dir / BEST_RUN
    return run.train(
        name,
        config.dataset,
        out=best_dir,
        resume=(best_dir / "config.json").is_file(),  # a search killed while retraining
        epochs=epochs,
        batch_size=config.batch_size,
        optimizer=optimizer,
        learning_rate=learning_rate,
        strategy=config.strategy,
        precision=config.precision,
        seed=config.seed,
        validation_split=config.validation_split,
        max_examples=config.max_examples,
        download=config.download,
        data=config.data,
        target=config.target,
        overrides=overrides,
        refit=True,
        verbose=2 if verbose >= 2 else 0,
    )


def _copy(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def _is_finished(search_dir: Path, retrain: bool) -> bool:
    return (search_dir / "metrics.json").is_file() or (
        not retrain and (search_dir / "best_hyperparameters.json").is_file()
    )


def _prepare_folder(search_dir: Path, config: SearchConfig, saved, tuner_id: str) -> None:
    """A new search gets a fresh folder; a resumed one a checked (repaired) project."""
    from kerazoo.tuning import engine

    if saved is None:
        # With overwrite, only what kerazoo wrote goes (the manifest's list); the caller
        # holds the folder's lock.
        folders.start(search_dir, "search")
        engine.atomic_write(search_dir / SEARCH_FILE, json.dumps(config.to_json(), indent=2))
        folders.record(search_dir, "search")
        return
    folders.record(search_dir, "search")  # a search of an earlier kerazoo gets its manifest
    for notice in engine.check_project(search_dir / PROJECT, tuner_id):
        # Shown as one `notice:` line by the CLI's one printer (kerazoo.cli.notices).
        warnings.warn(notice, UserWarning, stacklevel=3)


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
        started = int(trial.trial_id) + 1 if private.is_worker(tuner) else len(tuner.oracle.trials)
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
