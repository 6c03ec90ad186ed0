"""`train(...)`: the one training path of kerazoo, used by the CLI, examples/, lessons and the tuner.

    plan (settings + folder checked, nothing written)
      -> steps.prepare_data -> steps.build -> [run folder started]
      -> steps.fit with steps.callbacks_for(run_dir) -> steps.evaluate on the test split
      -> the task's pictures -> metrics.json (written last: the run is finished)

The run folder is the contract (names fixed): `config.json` (everything needed to repeat the
run), `model.keras` (the best weights), `metrics.json` (written last: its presence means the
run finished), `history.csv`, `history.png`, `architecture.png`, plus pictures by task
(`kerazoo.tasks`). `backup/` exists only while a run is unfinished; starting again with
`resume=True` continues from it.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import os
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from kerazoo import config as settings_table
from kerazoo import preprocessing, registry, tasks
from kerazoo.config import DEFAULT_EPOCHS, RunConfig, SavedConfig, check_unchanged
from kerazoo.data.registry import check_model_fits, default_dataset
from kerazoo.training import distribute, folder, multiworker, own, steps
from kerazoo.training.folder import read_saved
from kerazoo.training.steps import LARGE_TRAIN_SET

__all__ = [
    "DEFAULT_EPOCHS",
    "LARGE_TRAIN_SET",
    "RunConfig",
    "RunResult",
    "SavedConfig",
    "TrainingDiverged",
    "check_model_fits",
    "check_unchanged",
    "default_dataset",
    "plan",
    "read_saved",
    "train",
]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the run folder keeps the last good backup."""


@dataclasses.dataclass
class RunResult:
    """What `train` returns: the run folder, its metrics, the trained model and the data info."""

    run_dir: Path
    metrics: dict
    model: Any
    info: Any
    config: RunConfig

    @property
    def pictures(self):
        """The run's pictures (history, architecture, the task's); a notebook shows them."""
        from kerazoo.viz.picture import Pictures

        return Pictures(sorted(self.run_dir.glob("*.png")))

    def _repr_html_(self) -> str:
        # Jupyter shows a finished run as its summary line and its pictures.
        line = html.escape(summary_line(self.metrics, self.run_dir))
        return f"<p><code>{line}</code></p>" + (self.pictures._repr_html_() or "")


# ---------------------------------------------------------------------------------------------
# Plan: every check before anything is loaded or written


# Factory arguments the training path sets itself: a run compiles its model (it fits it), and
# model.keras carries the registry name (evaluate/predict of a bare file read it).
CONTROLLED_OVERRIDES = {
    "compile": "the run compiles the model it trains (with --optimizer/--lr if given)",
    "name": "the saved model keeps its registry name, which `kerazoo evaluate` and "
    "`kerazoo predict` read to know the model",
}
MAX_ARGUMENT = 2**31 - 1  # layer widths, counts and sizes are 32-bit in Keras and TensorFlow


def check_numbers(values: dict, name: str) -> None:
    """Refuses NaN, infinities and integers beyond 32 bits anywhere in `values` (nested
    lists, tuples and dicts too): no model or data argument means them, and they fail deep
    inside Keras or TensorFlow, or silently train on NaN."""

    def bad(value) -> bool:
        if isinstance(value, bool):
            return False
        if isinstance(value, float):
            return not math.isfinite(value)
        if isinstance(value, int):
            return abs(value) > MAX_ARGUMENT
        if isinstance(value, list | tuple | set):
            return any(bad(v) for v in value)
        if isinstance(value, dict):
            return any(bad(v) for v in value.values())
        return False

    for key, value in values.items():
        if bad(value):
            raise ValueError(
                f"{key} must hold finite numbers and integers of at most {MAX_ARGUMENT:,} "
                f"in absolute value ({name}). Received: {key}={value!r}"
            )


def _check_run(config: RunConfig) -> None:
    """The checks that need more than one field: model and dataset, overrides, strategy."""
    info = registry.model_info(config.model)
    check_model_fits(config.model, config.dataset)
    taken = set(info.inputs) & set(config.overrides)
    if taken:
        arg = sorted(taken)[0]
        raise ValueError(
            f"{arg} comes from the dataset ({config.dataset}) and cannot be overridden; change "
            f"the dataset or its options instead. Received: {arg}={config.overrides[arg]!r}"
        )
    for arg, why in CONTROLLED_OVERRIDES.items():
        if arg in config.overrides:
            raise ValueError(
                f"{arg} cannot be a model override of a run: {why}. "
                f"Received: {arg}={config.overrides[arg]!r}"
            )
    check_numbers(config.overrides, "overrides")
    check_numbers(config.data_options, "data_options")
    for arg, flag in (("optimizer", "--optimizer"), ("learning_rate", "--lr")):
        if arg in config.overrides:
            raise ValueError(
                f"Give {arg} as train's own argument ({arg}=..., {flag} on the command line), "
                f"not as a model override. Received: {arg}={config.overrides[arg]!r}"
            )
    own_policy = None
    if info.family == "user":  # already registered: get_spec imports nothing
        own_policy = getattr(registry.get_spec(config.model).fn, "dtype_policy", None)
    given = config.given()
    if own_policy is not None and given.get("precision", "auto") not in ("auto", own_policy):
        raise ValueError(
            f"precision sets the dtype policy the zoo builds its models under; your own "
            f"model computes in the policy its layers were built with ({own_policy}). Build "
            f"it under keras.config.set_dtype_policy({config.precision!r}), or leave "
            f"precision out. Received: precision={config.precision!r}"
        )
    task = tasks.get_task(info.task)
    if config.lr_schedule != "constant" and not task.lr_schedule:
        raise ValueError(
            f"{config.model} is a {task.name} model that steps its own optimizers, so a "
            "learning-rate schedule cannot apply; leave it constant and set the rate with "
            f"--set learning_rate=... . Received: lr_schedule={config.lr_schedule!r}"
        )
    if config.refit and config.lr_schedule == "plateau":
        raise ValueError(
            "refit trains on train+validation, so no validation loss is left for the plateau "
            "schedule to watch; choose constant, cosine or step. Received: lr_schedule='plateau'"
        )
    distribute.check_strategy(config.strategy)  # one the backend can run
    if config.strategy == "multiworker":
        multiworker.read_tf_config()  # the cluster, before TensorFlow loads


def plan(
    model: str,
    dataset: str | None = None,
    *,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    **settings,
) -> tuple[RunConfig, Path, RunConfig | None]:
    """Checks a run's settings and folder without loading data or writing anything.

    `train` calls it first; the CLI calls it before importing TensorFlow, so bad input is
    answered at once.

    Returns:
        `(config, run_dir, saved)`: the config to run (the saved one when resuming) and the
        saved config (None for a new run).

    Raises:
        ValueError: as `train` does for bad input.
    """
    # An unknown name is reported first, with close matches; a built-in model's facts (its
    # recipe too) come from the catalogue, without importing Keras.
    info = registry.model_info(model)
    config = settings_table.make(RunConfig, model, {"dataset": dataset, **settings})
    recipe = {k: v for k, v in info.recipe.items() if k not in settings}
    run_dir = Path(out if out is not None else Path("runs") / model)
    saved = read_saved(
        run_dir, RunConfig, marker="config.json", noun="run", resume=resume, overwrite=overwrite
    )
    if saved is not None:
        check_unchanged(saved, config)  # a dataset not named is the saved one
        config = saved
    elif recipe:
        # The model's own training recipe, for the settings the caller left out. Not on
        # resume: the saved settings stand (an older run of the same model may predate it).
        config = settings_table.make(RunConfig, model, {"dataset": dataset, **recipe, **settings})
    config.dataset = config.dataset or default_dataset(model)
    _check_run(config)
    return config, run_dir, saved


# ---------------------------------------------------------------------------------------------
# The training path


def train(
    model: str,
    dataset: str | None = None,
    *,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    callbacks=(),
    plots: bool = True,
    verbose: int | str = "auto",
    validation_data=None,
    test_data=None,
    **settings,
) -> RunResult:
    """Trains a zoo model (or your own) on a real dataset (or yours) and writes a complete
    run folder.

        The model is built and compiled inside the chosen `tf.distribute` strategy's scope; the
        batch size is the global batch, split across the replicas. Training uses the run's
        callbacks (`kerazoo.training.callbacks.default_callbacks`: early stopping restoring the
        best weights, the best model in `model.keras`, the learning-rate schedule, a backup for
        resuming, `history.csv`, TensorBoard logs, a NaN guard) plus the task's picture monitors.
        The best weights are then evaluated once on the held-out test split.

        Args:
            model: a registered model name (`kerazoo.list_models()`), or your own
                `keras.Model` (compiled or not: uncompiled, it gets its task's loss and
                metrics) or the path of a `.keras` file.
            dataset: a registered dataset name (`kerazoo.data.list_datasets()`), or your
                own data: `(x, y)` arrays, a `tf.data.Dataset`, a folder of images by
                class, a CSV file (with `target=`), a folder of texts by class or a
                `label<TAB>text` file (see `kerazoo.data.from_source`). The same as
                `data=PATH`.
            out: the run folder; default `runs/<model>`.
            resume: continue the unfinished run in `out` from its last finished epoch (its saved
                settings are used; a finished run is returned as it is).
            overwrite: replace the run in `out`.
            callbacks: your own Keras callbacks, run after the default ones.
            plots: draw the pictures (history, architecture, task pictures and monitors).
            verbose: `"auto"` (progress bar on a terminal, a line per epoch otherwise), 0, 1, 2.
            validation_data, test_data: with your own data, its validation and test parts
                (else carved from it: the test part with a fixed seed, validation with
                `seed`).
            **settings: the run's settings (`kerazoo.config.RunConfig`, saved in config.json):
    {settings}

        Returns:
            A `RunResult` with `run_dir`, `metrics` (as in metrics.json), the trained `model`
            (best weights), the dataset `info` and the `config`.

        Raises:
            ValueError: for an unknown model, dataset or setting, a model that does not fit the
                dataset, a bad value, or a run folder that already holds a run (without `resume`
                or `overwrite`). Nothing is written then.
            DataNotFoundError: (a ValueError) when a data file is missing or corrupt.
            ImportError: when `plots=True` and Graphviz or pydot is missing.
            TrainingDiverged: when the loss became NaN; `resume=True` continues from the last
                good epoch.

        Example:

        ```python
        result = kerazoo.train("mnist_cnn", epochs=5)
        result.metrics["test_accuracy"]   # ~0.97 on the MNIST sample
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
    ) as (model, dataset):
        return _train(
            model,
            dataset,
            out=out,
            resume=resume,
            overwrite=overwrite,
            callbacks=callbacks,
            plots=plots,
            verbose=verbose,
            **settings,
        )


def _train(model, dataset, *, out, resume, overwrite, callbacks, plots, verbose, **settings):
    config, run_dir, saved = plan(
        model, dataset, out=out, resume=resume, overwrite=overwrite, **settings
    )
    verbose = _verbose(verbose)
    if saved is not None and (run_dir / "metrics.json").is_file():
        _say(verbose, f"{run_dir} is a finished run; nothing to resume.")
        return _finished_run(run_dir, config)
    if plots:
        from kerazoo.viz.diagrams import check_graphviz

        check_graphviz()  # before hours of training, not after

    cluster = multiworker.read_tf_config() if config.strategy == "multiworker" else None
    if cluster is not None:
        # Before any other TensorFlow operation, as MultiWorkerMirroredStrategy requires.
        distribute.get_strategy("multiworker")
    # Where this process writes: the run folder, or a non-chief worker's temporary folder.
    out_dir = run_dir if cluster is None else multiworker.write_dir(run_dir, cluster)

    # Under the folder's lock, the folder is checked again: another process may have
    # started a run in it since `plan` looked.
    def recheck() -> None:
        read_saved(
            run_dir,
            RunConfig,
            marker="config.json",
            noun="run",
            resume=resume,
            overwrite=overwrite,
            check_lock=False,  # this process holds it
        )

    session = _Session(config, run_dir, out_dir, cluster, plots, tuple(callbacks), verbose)
    try:
        return _run(session, fresh=saved is None, recheck=recheck)
    finally:
        if not session.writes_run:
            shutil.rmtree(out_dir, ignore_errors=True)


train.__doc__ = train.__doc__.replace("{settings}", settings_table.args_doc(RunConfig, indent=12))
train.__signature__ = settings_table.signature_with(train, RunConfig, after="dataset")


@dataclasses.dataclass
class _Session:
    """One call of `train`: what it was asked, where it writes, and (once built) the model,
    its task and its data."""

    config: RunConfig
    run_dir: Path
    out_dir: Path  # the run folder, or a non-chief worker's temporary folder
    cluster: dict | None
    plots: bool
    callbacks: tuple
    verbose: int
    spec: Any = None
    task: Any = None
    data: Any = None
    net: Any = None

    @property
    def writes_run(self) -> bool:
        return self.out_dir == self.run_dir


def _run(s: _Session, *, fresh: bool, recheck) -> RunResult:
    s.spec = registry.get_spec(s.config.model)
    s.task = tasks.get_task(s.spec.task)
    # The data's notices (a fallback source) are shown once the model is built: a refused
    # override is then answered in one line.
    with warnings.catch_warnings(record=True) as held:
        s.data = steps.prepare_data(s.config, s.task, refit=s.config.refit)
        s.net = steps.build(s.config, s.spec, s.data)  # checks the overrides before any write
    for w in held:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if not s.writes_run:  # a non-chief worker: its own temporary folder
        return _write_run(s)
    with folder.lock(s.run_dir, "run"):
        recheck()
        if fresh:
            _start_folder(s.run_dir, s.config)
        return _write_run(s)


def _write_run(s: _Session) -> RunResult:
    """fit -> the best model -> evaluate -> pictures -> metrics.json (last)."""
    config, run_dir, data = s.config, s.run_dir, s.data
    _write_dataset_files(s.out_dir, data.info, str(data.splits.x_train.dtype))
    if s.writes_run:
        folder.record(run_dir, "run")
    clock, stats = _fit(s)
    seconds = clock.seconds
    if s.cluster is not None:
        stats["fingerprint"] = multiworker.fingerprint(s.net)
        n_train = len(data.splits.x_train)
        _say(s.verbose, multiworker.worker_line(s.cluster, stats, n_train, data.global_batch))
        if not s.cluster["chief"]:  # the chief writes the run folder; this worker is done
            return RunResult(run_dir, stats, s.net, data.info, config)
    keep_last = config.refit or not s.task.save_best_only
    net = _best_model(s.net, run_dir, s.cluster, keep_last=keep_last)

    metrics = steps.evaluate(net, data, s.spec)
    metrics.update(_run_facts(config, s.spec, s.task, data, net, run_dir, clock, seconds))
    if s.cluster is not None:
        metrics.update(workers=s.cluster["workers"])
        if stats:
            metrics.update(steps=stats["steps"], weights_fingerprint=stats["fingerprint"])
    try:
        _write_results(s, net, metrics)
    except Exception as err:
        if not folder.is_write_failure(err):
            raise
        # A full disk or a read-only folder after training: one line; the trained model is
        # kept, and --resume tests it and writes the results again.
        folder.remove_temporaries(run_dir, "run")
        raise folder.not_writable(
            err, run_dir, f"training had finished and its model is kept in {run_dir}"
        ) from None
    clock.path.unlink(missing_ok=True)
    folder.record(run_dir, "run")
    _say(s.verbose, summary_line(metrics, run_dir))
    return RunResult(run_dir=run_dir, metrics=metrics, model=net, info=data.info, config=config)


def _write_results(s: _Session, net, metrics: dict) -> None:
    """The pictures, the raw-input model.keras, then metrics.json (last: the run is
    finished)."""
    config, run_dir, data = s.config, s.run_dir, s.data
    if s.plots:
        from kerazoo.training import artifacts

        artifacts.draw(net, s.spec, data.info, data.splits, run_dir, seed=config.seed)
    # The saved model takes raw inputs (uint8 images, strings, raw columns): the data's
    # preparation becomes its first layers. Last of the files, as it replaces the checkpoint.
    image_dtype = str(data.splits.x_train.dtype)
    saved = preprocessing.with_preprocessing(net, data.info, image_dtype=image_dtype)
    if saved is not net:
        preprocessing.save(saved, run_dir / "model.keras")
    folder.record(run_dir, "run")  # the pictures, before metrics.json marks the run finished
    folder.write_json(run_dir / "metrics.json", metrics)


def _fit(s: _Session):
    """The fit step with the run's callbacks; returns the run's clock and the fit's stats."""
    from kerazoo.training.backup import RunBackup

    config, data = s.config, s.data
    if s.writes_run:
        folder.remove_temporaries(s.run_dir, "run")  # a killed session's, if any
    clock = _RunClock(s.out_dir, record_in=s.run_dir if s.writes_run else None)
    monitors = s.task.monitors(s.out_dir, data.splits, config.seed) if s.plots else []
    ticker = clock.callback()
    callback_list = steps.callbacks_for(
        config, s.spec, s.out_dir, extra=[*monitors, ticker, *s.callbacks]
    )
    backup = next((c for c in callback_list if isinstance(c, RunBackup)), None)
    if backup is not None:
        backup.track(ticker)  # the clock is committed with each epoch
        backup.delete_on_end = False  # removed below, once the end of training is recorded
    _say(s.verbose, _start_line(config, data, s.run_dir))
    stats = None
    if _training_finished(s.run_dir):
        # Killed after the last epoch (while evaluating or drawing): no epoch to run again.
        _say(s.verbose, "kerazoo: training had finished; evaluating the saved best model")
    else:
        clock.start = time.perf_counter()  # the fit alone: no set-up, no evaluation
        try:
            stats = steps.fit(
                s.net,
                data.train,
                None if config.refit else data.val,
                epochs=config.epochs,
                callbacks=callback_list,
                verbose=s.verbose,
                cluster=s.cluster,
                strategy=data.strategy,
                n_train=len(data.splits.x_train),
                global_batch=data.global_batch,
            )
        except Exception as err:
            if not (s.writes_run and folder.is_write_failure(err)):
                raise
            # A full disk or a read-only folder: one line, the last committed epoch kept.
            folder.remove_temporaries(s.run_dir, "run")
            shutil.rmtree(s.run_dir / "backup" / ".staging", ignore_errors=True)
            kept = backup.committed_epochs if backup is not None else None
            raise folder.not_writable(
                err,
                s.run_dir,
                "no epoch had finished"
                if kept is None
                else f"the last finished epoch ({kept}) is kept in {s.run_dir / 'backup'}",
            ) from None
        _stop_if_diverged(callback_list, config, s.run_dir, writes_run=s.writes_run)
        clock.finish()  # recorded before the backup goes: a kill in between loses nothing
        folder.kill_point("trained")
    if backup is not None:
        backup.discard()
    return clock, stats


def _start_folder(run_dir: Path, config: RunConfig) -> None:
    """Everything is checked: from here on the folder is written.

    With overwrite, only what kerazoo wrote is deleted (the manifest's list); the caller
    holds the folder's lock."""
    folder.start(run_dir, "run")
    folder.write_json(run_dir / "config.json", config.to_json())
    folder.record(run_dir, "run")


def _write_dataset_files(out_dir: Path, info, image_dtype: str) -> None:
    # What `kerazoo evaluate` and `kerazoo predict` need to read new inputs like these, and
    # what the saved model takes.
    raw_input = preprocessing.describe(info, image_dtype=image_dtype)
    facts = info.as_dict() | ({"raw_input": raw_input} if raw_input else {})
    folder.write_json(out_dir / "dataset.json", facts)
    if info.vocabulary is not None:
        (out_dir / "vocabulary.txt").write_text("\n".join(info.vocabulary) + "\n")


def _stop_if_diverged(
    callback_list: list, config: RunConfig, run_dir: Path, *, writes_run: bool = True
) -> None:
    from kerazoo.training.callbacks import NaNGuard

    guard = next(c for c in callback_list if isinstance(c, NaNGuard))
    if guard.stopped_on_nan is None:
        return
    epoch, _ = guard.stopped_on_nan
    kept = guard.backup.committed_epochs if guard.backup is not None else None
    where = f"diverged (loss NaN) in epoch {epoch + 1}"
    if kept is None:
        # Nothing to go on from: a resume would only repeat the divergence.
        if writes_run:
            folder.refuse_resume(
                run_dir,
                "run",
                f"The run in {run_dir} {where} before any epoch finished, so there is nothing "
                "to resume; start it again with --overwrite and a lower learning rate (--lr).",
            )
        raise TrainingDiverged(
            f"Training of {config.model} {where}, before any epoch finished: no state is "
            f"kept. Lower the learning rate and start again with `kerazoo train "
            f"{config.model} --out {run_dir} --overwrite --lr ...`."
        )
    raise TrainingDiverged(
        f"Training of {config.model} {where}; the last good state (end of epoch {kept}) is "
        f"kept in {run_dir / 'backup'}. Lower the learning rate and start a new run, or "
        f"resume this one with `kerazoo train {config.model} --out {run_dir} --resume`."
    )


def _best_model(net, run_dir: Path, cluster, *, keep_last: bool):
    """The model to test: the checkpoint's best epoch, or the last one when asked."""
    if cluster is not None:
        # Keras's evaluate and predict fail under MultiWorkerMirroredStrategy as fit does;
        # the chief tests and draws with the saved model outside the strategy.
        from kerazoo.saving import load_model

        return preprocessing.unwrap(load_model(run_dir / "model.keras"))
    if (run_dir / "model.keras").is_file() and not keep_last:
        # Early stopping restores the best weights only when it stops early; the checkpoint
        # always holds them.
        preprocessing.load_weights(net, run_dir / "model.keras")
    return net


def _run_facts(config, spec, task, data, net, run_dir, clock, seconds) -> dict:
    """What metrics.json says besides the test metrics."""
    import keras

    from kerazoo.training.callbacks import history_best

    info = data.info
    n_train = len(data.splits.x_train)
    best = None if config.refit else history_best(run_dir / "history.csv", task.monitor)
    return dict(
        model=config.model,
        dataset=info.name,
        dataset_source=info.source,
        n_train=n_train,
        n_val=info.n_val,
        n_test=info.n_test,
        epochs=clock.epochs,
        epochs_requested=config.epochs,
        best_epoch=None if best is None or not task.save_best_only else best[2] + 1,
        batch_size=data.global_batch,
        seconds=round(seconds, 2),
        samples_per_second=round(n_train * clock.epochs / seconds, 1) if seconds else None,
        params=int(net.count_params()),
        precision=net.dtype_policy.name,  # the resolved policy (--precision auto -> ...)
        **distribute.describe(data.strategy),
        backend=keras.backend.backend(),  # tensorflow, jax or torch (KERAS_BACKEND, --backend)
        versions={
            "kerazoo": _version(),
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
        },
    )


# ---------------------------------------------------------------------------------------------
# Small helpers


def _verbose(verbose) -> int:
    if verbose == "auto":
        # A progress bar on a terminal; one line per epoch in logs and pipes.
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)


def _say(verbose: int, message: str) -> None:
    if verbose:
        print(message, flush=True)


def strategy_words(strategy) -> str:
    """`"MirroredStrategy with 2 replica(s)"`: the strategy as the start lines say it."""
    described = distribute.describe(strategy)
    name = described["strategy"].strip("_").replace("DistributionStrategy", "Strategy")
    return f"{name} with {described['replicas']} replica(s)"


def _start_line(config: RunConfig, data: steps.Data, run_dir: Path) -> str:
    info = data.info
    parts = (
        f"{len(data.splits.x_train):,} train+val (refit)"
        if config.refit
        else f"{info.n_train:,} train / {info.n_val:,} val"
    )
    return (
        f"kerazoo: training {config.model} on {info.name} ({parts} / {info.n_test:,} test; "
        f"{info.source}), {config.epochs} epochs, batch {data.global_batch}, "
        f"{strategy_words(data.strategy)} -> {run_dir}"
    )


class _RunClock:
    """Wall seconds spent fitting, summed over every session of a (resumed) run.

    Committed with each finished epoch in the run's backup (`RunBackup` tracks its
    callback), so time spent in an epoch that a kill interrupted (and that is run again) is
    not counted. When training ends, `finish()` records the total in `.clock.json`, which
    also tells a resumed run that training had finished; removed when the run is finished.
    """

    def __init__(self, run_dir: Path, record_in: Path | None = None):
        self.path = run_dir / ".clock.json"
        self.run_dir = record_in
        self.previous = 0.0
        self.epochs = 0
        self.finished = False
        try:
            saved = json.loads(self.path.read_text())
            self.previous, self.epochs = float(saved["seconds"]), int(saved["epochs"])
            self.finished = saved.get("finished") is True
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        self.start = time.perf_counter()

    def callback(self):
        import keras

        clock = self

        class EpochClock(keras.callbacks.Callback):
            epoch = 0

            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch

            def on_epoch_end(self, epoch, logs=None):
                clock.epochs = epoch + 1
                if clock.path.parent == clock.run_dir:
                    folder.record(clock.run_dir, "run")  # the epoch's new files and folders

            # Committed by the run's backup at the end of each epoch, before on_epoch_end.
            def get_state(self) -> dict:
                return {"seconds": clock.seconds, "epochs": self.epoch + 1}

            def set_state(self, state: dict) -> None:
                clock.previous, clock.epochs = float(state["seconds"]), int(state["epochs"])

        return EpochClock()

    def finish(self) -> None:
        """Records that training ended, with its seconds and epochs."""
        self.previous, self.finished = self.seconds, True
        folder.write_json(
            self.path, {"seconds": self.previous, "epochs": self.epochs, "finished": True}
        )

    @property
    def seconds(self) -> float:
        if self.finished:
            return self.previous
        return self.previous + time.perf_counter() - self.start


def _training_finished(run_dir: Path) -> bool:
    # `.clock.json` says so from the end of training until metrics.json is written.
    return _RunClock(run_dir).finished and (run_dir / "model.keras").is_file()


def _version() -> str:
    from kerazoo import __version__

    return __version__


def summary_line(metrics: dict, run_dir: Path) -> str:
    """One line for the end of a run: test metrics, time, folder."""
    tests = ", ".join(
        f"{k} {v:.4f}" for k, v in metrics.items() if k.startswith("test_") and v is not None
    )
    return (
        f"kerazoo: {metrics['model']} on {metrics['dataset']}: {tests}; "
        f"{metrics['epochs']} epochs in {metrics['seconds']:.1f} s "
        f"({metrics['samples_per_second'] or 0:,.0f} samples/s); run folder {run_dir}"
    )


def _finished_run(run_dir: Path, config: RunConfig) -> RunResult:
    from kerazoo.saving import load_model

    metrics = json.loads((run_dir / "metrics.json").read_text())
    return RunResult(
        run_dir=run_dir,
        metrics=metrics,
        model=preprocessing.unwrap(load_model(run_dir / "model.keras")),
        info=None,
        config=config,
    )
