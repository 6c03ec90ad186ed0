"""`train(...)`: the one training path of kerazoo, used by the CLI, examples/ and the tuner.

    config -> data.load -> get_strategy -> (in strategy.scope()) create_model + compile
           -> fit with default_callbacks(run_dir) -> evaluate on the test split
           -> run folder: config.json, model.keras, metrics.json, history.csv, pictures

The run folder is the contract (names fixed): `config.json` (everything needed to repeat the
run), `model.keras` (the best weights), `metrics.json` (written last: its presence means the
run finished), `history.csv`, `history.png`, `architecture.png`, plus pictures by task
(`kerazoo.training.artifacts`). `backup/` exists only while a run is unfinished; starting
again with `resume=True` continues from it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from kerazoo import registry
from kerazoo.data import loader
from kerazoo.training import distribute, multiworker

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")
LR_SCHEDULES = ("constant", "cosine", "step", "plateau")
DEFAULT_EPOCHS = 10
LARGE_TRAIN_SET = 20_000  # from this many training examples on, the default batch is 128


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the run folder keeps the last good backup."""


class SavedConfig:
    """`from_json` for the settings dataclasses saved in run and search folders.

    Keys the dataclass does not know (from another kerazoo version) are dropped.
    """

    @classmethod
    def from_json(cls, data: dict):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclasses.dataclass
class RunConfig(SavedConfig):
    """Everything needed to repeat a run; written to `config.json`.

    `batch_size` is the global batch (split across replicas); None picks 128 for training
    sets of 20,000 examples or more and 32 below. `optimizer` and `learning_rate` None keep
    the model's own choice. `data_options` go to `kerazoo.data.load` (e.g. `vocab_size`,
    `sequence_length`, `window`, `horizon`); `overrides` to the model's factory.
    """

    model: str
    dataset: str
    epochs: int = DEFAULT_EPOCHS
    batch_size: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    lr_schedule: str = "constant"
    strategy: str = "auto"
    seed: int = 0
    validation_split: float = 0.1
    max_examples: int | None = None
    early_stopping: bool = True
    patience: int = 5
    overrides: dict = dataclasses.field(default_factory=dict)
    data_options: dict = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class RunResult:
    """What `train` returns: the run folder, its metrics, the trained model and the data info."""

    run_dir: Path
    metrics: dict
    model: Any
    info: Any
    config: RunConfig


# ---------------------------------------------------------------------------------------------
# Checks: everything is validated before anything is loaded or written.


def _positive_int(value, name: str, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")


def default_dataset(model: str) -> str:
    """The dataset `kerazoo train MODEL` uses when none is given: the model's first."""
    spec = registry.model_info(model)
    if not spec.datasets:
        raise ValueError(
            f"{model} declares no dataset, so one must be given. "
            f"Known datasets: {', '.join(loader.DATASETS)}. Received: dataset=None"
        )
    return spec.datasets[0]


def check_model_fits(model: str, dataset: str) -> None:
    """Raises ValueError unless `model` can train on `dataset`.

    A model fits the datasets of the kinds (image, text, series, table) it declares, with a
    matching task: a classifier needs labels, a regressor targets, and autoencoders and GANs
    need images.
    """
    spec = registry.model_info(model)
    if dataset not in loader.DATASETS:
        raise ValueError(
            f"Unknown dataset. Known datasets: {', '.join(loader.DATASETS)}. "
            f"Received: dataset={dataset!r}"
        )
    kinds = {loader.KINDS[d] for d in spec.datasets if d in loader.KINDS}
    fits = [
        d
        for d in loader.DATASETS
        if loader.KINDS[d] in kinds
        and (spec.task in ("reconstruction", "generation") or loader.TASKS[d] == spec.task)
    ]
    if dataset not in fits:
        kind = loader.KINDS[dataset]
        raise ValueError(
            f"{model} ({spec.task}, {'/'.join(sorted(kinds))} inputs) cannot train on "
            f"{dataset} ({loader.TASKS[dataset]}, {kind} inputs). Datasets it fits: "
            f"{', '.join(fits)}. Received: dataset={dataset!r}"
        )


def _check_config(config: RunConfig) -> None:
    check_model_fits(config.model, config.dataset)
    _positive_int(config.epochs, "epochs")
    _positive_int(config.batch_size, "batch_size", allow_none=True)
    _positive_int(config.max_examples, "max_examples", allow_none=True)
    if config.optimizer is not None and config.optimizer not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {', '.join(OPTIMIZERS)}. "
            f"Received: optimizer={config.optimizer!r}"
        )
    lr = config.learning_rate
    if lr is not None and not (
        isinstance(lr, (int, float))
        and not isinstance(lr, bool)
        and math.isfinite(lr)
        and 0 < lr < 10
    ):
        raise ValueError(
            f"learning_rate must be a number in (0, 10), e.g. 0.001. Received: learning_rate={lr!r}"
        )
    if config.lr_schedule not in LR_SCHEDULES:
        raise ValueError(
            f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}. "
            f"Received: lr_schedule={config.lr_schedule!r}"
        )
    if config.strategy not in distribute.TRAIN_STRATEGIES:
        raise ValueError(
            f"strategy must be one of {', '.join(distribute.TRAIN_STRATEGIES)}. "
            f"Received: strategy={config.strategy!r}"
        )
    if config.strategy == "multiworker":
        multiworker.read_tf_config()  # the cluster, before TensorFlow loads
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or config.seed < 0:
        raise ValueError(f"seed must be an integer >= 0. Received: seed={config.seed!r}")
    spec = registry.model_info(config.model)
    taken = set(_model_arguments(spec, None)) & set(config.overrides)
    if taken:
        arg = sorted(taken)[0]
        raise ValueError(
            f"{arg} comes from the dataset ({config.dataset}) and cannot be overridden; change "
            f"the dataset or its options instead. Received: {arg}={config.overrides[arg]!r}"
        )
    for arg, flag in (("optimizer", "--optimizer"), ("learning_rate", "--lr")):
        if arg in config.overrides:
            raise ValueError(
                f"Give {arg} as train's own argument ({arg}=..., {flag} on the command line), "
                f"not as a model override. Received: {arg}={config.overrides[arg]!r}"
            )


def _folder_state(folder: Path, marker: str) -> str:
    """ "empty" (missing or empty), "saved" (holds `marker`), or "other"."""
    if not folder.exists():
        return "empty"
    if not folder.is_dir():
        return "other"
    if (folder / marker).is_file():
        return "saved"
    return "other" if any(folder.iterdir()) else "empty"


def read_saved(
    folder: Path, config_class, *, marker: str, noun: str, resume: bool, overwrite: bool
):
    """Checks an output folder against resume/overwrite; returns its saved config or None.

    Shared by runs (`config.json`) and searches (`search.json`): a folder of something else
    is never touched, an existing one needs `resume` or `overwrite`, `resume` needs one.

    Args:
        folder: the output folder.
        config_class: the dataclass saved in `marker` (with a `from_json` class method).
        marker: the file that makes the folder a run/search folder.
        noun: "run" or "search", for the messages.
        resume, overwrite: the caller's flags.

    Raises:
        ValueError: for both flags, a foreign folder, nothing to resume, an existing
            run/search without a flag, or an unreadable saved config.
    """
    if resume and overwrite:
        raise ValueError(
            f"resume and overwrite exclude each other: resume continues the {noun} in the "
            "folder, overwrite replaces it. Received: resume=True, overwrite=True"
        )
    state = _folder_state(folder, marker)
    if state == "other":
        raise ValueError(
            f"{folder} exists and is not a kerazoo {noun} folder (no {marker}); choose another "
            f"output folder. Received: out={str(folder)!r}"
        )
    if not resume:
        if state == "saved" and not overwrite:
            raise ValueError(
                f"{folder} already holds a {noun}; pass --resume to continue it or --overwrite "
                f"to replace it, or choose another --out. Received: out={str(folder)!r}"
            )
        return None
    if state != "saved":
        raise ValueError(
            f"There is no {noun} to resume in {folder} (no {marker}); start it without "
            f"--resume. Received: out={str(folder)!r}"
        )
    path = folder / marker
    try:
        return config_class.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as err:
        raise ValueError(
            f"Cannot read {path} ({err}); the {noun} folder is damaged: start again with "
            f"--overwrite. Received: out={str(folder)!r}"
        ) from None


def _prepare_run_dir(run_dir: Path, config: RunConfig, *, resume: bool, overwrite: bool):
    """Checks the folder against resume/overwrite; returns the saved config when resuming."""
    saved = read_saved(
        run_dir, RunConfig, marker="config.json", noun="run", resume=resume, overwrite=overwrite
    )
    if saved is not None:
        check_unchanged(saved, config)
    return saved


def check_unchanged(saved, given, *, noun: str = "run", skip: tuple[str, ...] = ()) -> None:
    """A resumed run (or search) keeps its settings: an explicitly different value is refused.

    A field counts as given explicitly when it differs from the dataclass default (the model
    and dataset always count). Used by `train` and by `kerazoo.tune`.

    Args:
        saved, given: the saved and the new config, instances of one dataclass with
            `model` and `dataset` fields.
        noun: what is resumed, for the message ("run", "search").
        skip: fields that may change on resume.
    """
    defaults = type(given)(model=given.model, dataset=given.dataset)
    for field in dataclasses.fields(given):
        if field.name in skip:
            continue
        value, old = getattr(given, field.name), getattr(saved, field.name)
        explicit = field.name in ("model", "dataset") or value != getattr(defaults, field.name)
        if explicit and _jsonable(value) != _jsonable(old):
            raise ValueError(
                f"--resume continues the {noun} saved with {field.name}={old!r}; drop the "
                f"option, or start a new {noun} folder (or --overwrite). "
                f"Received: {field.name}={value!r}"
            )


def _jsonable(value):
    return json.loads(json.dumps(value))


# ---------------------------------------------------------------------------------------------
# Model and data plumbing


def _model_arguments(spec, info) -> dict:
    """The factory arguments the dataset decides (shapes, classes, vocabulary)."""
    if spec.task == "generation":
        names = ("image_shape",)
    elif spec.task == "reconstruction":
        names = ("input_shape",)
    elif spec.family in ("rnn", "transformer") and spec.task == "classification":
        names = ("vocab_size", "sequence_length", "num_classes")
    elif spec.task == "regression" and spec.family == "rnn":
        names = ("input_shape", "horizon")
    elif spec.task == "regression":
        names = ("input_shape",)
    else:
        names = ("input_shape", "num_classes")
    if info is None:
        return dict.fromkeys(names)
    values = {
        "image_shape": tuple(info.input_shape),
        "input_shape": tuple(info.input_shape),
        "num_classes": info.num_classes,
        "vocab_size": info.vocab_size,
        "sequence_length": info.sequence_length,
        "horizon": info.horizon,
    }
    return {name: values[name] for name in names}


def _for_task(task: str, *datasets):
    """Autoencoders learn to give back their input: (x, label) batches become (x, x)."""
    if task != "reconstruction":
        return datasets
    return tuple(ds.map(lambda x, y: (x, x)) for ds in datasets)


def _monitor(task: str) -> str:
    return "val_g_loss" if task == "generation" else "val_loss"


def _verbose(verbose) -> int:
    if verbose == "auto":
        # A progress bar on a terminal; one line per epoch in logs and pipes.
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def _say(verbose: int, message: str) -> None:
    if verbose:
        print(message, flush=True)


class _RunClock:
    """Wall seconds spent fitting, summed over every session of a (resumed) run.

    Saved after each finished epoch in `.clock.json`, so time spent in an epoch that a kill
    interrupted (and that is run again) is not counted. Removed when the run is finished.
    """

    def __init__(self, run_dir: Path):
        self.path = run_dir / ".clock.json"
        self.previous = 0.0
        self.epochs = 0
        try:
            saved = json.loads(self.path.read_text())
            self.previous, self.epochs = float(saved["seconds"]), int(saved["epochs"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        self.start = time.perf_counter()

    def callback(self):
        import keras

        clock = self

        class EpochClock(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                clock.epochs = epoch + 1
                _write_json(clock.path, {"seconds": clock.seconds, "epochs": clock.epochs})

        return EpochClock()

    @property
    def seconds(self) -> float:
        return self.previous + time.perf_counter() - self.start


# ---------------------------------------------------------------------------------------------
# The training path


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

    Args:
        model, dataset, out, resume, overwrite: as in `train`.
        **settings: the other `RunConfig` fields (`epochs`, `batch_size`, ...).

    Returns:
        `(config, run_dir, saved)`: `saved` is the run's saved config when resuming.

    Raises:
        ValueError: as `train` does for bad input.
    """
    dataset = dataset if dataset is not None else default_dataset(model)
    config = RunConfig(model=model, dataset=dataset, **settings)
    _check_config(config)
    run_dir = Path(out if out is not None else Path("runs") / model)
    saved = _prepare_run_dir(run_dir, config, resume=resume, overwrite=overwrite)
    return config, run_dir, saved


def train(
    model: str,
    dataset: str | None = None,
    *,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int | None = None,
    optimizer: str | None = None,
    learning_rate: float | None = None,
    lr_schedule: str = "constant",
    strategy: str = "auto",
    seed: int = 0,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    overrides: dict | None = None,
    validation_split: float = 0.1,
    max_examples: int | None = None,
    early_stopping: bool = True,
    patience: int = 5,
    data_options: dict | None = None,
    callbacks=(),
    plots: bool = True,
    verbose: int | str = "auto",
) -> RunResult:
    """Trains a zoo model on a real dataset and writes a complete run folder.

    The model is built and compiled inside the chosen `tf.distribute` strategy's scope; the
    batch size is the global batch, split across the replicas. Training uses
    `default_callbacks` (early stopping on `val_loss` restoring the best weights, the best
    model in `model.keras`, the learning-rate schedule, a backup for resuming, `history.csv`,
    TensorBoard logs, a NaN guard) plus the image monitors of autoencoders and GANs. The best
    weights are then evaluated on the held-out test split.

    Args:
        model: a registered model name (`kerazoo.list_models()`).
        dataset: a dataset the model fits; None takes the model's default (its first
            declared dataset, e.g. `"mnist"` for `mnist_cnn`).
        epochs: epochs to train, >= 1 (fewer if early stopping ends the run).
        batch_size: global batch size; None: 128 for 20,000+ training examples, else 32.
        optimizer: `"adam"`, `"sgd"`, `"rmsprop"` or `"adamw"`; None keeps the model's.
        learning_rate: the initial learning rate; None keeps the model's.
        lr_schedule: `"constant"`, `"cosine"`, `"step"` or `"plateau"` (see
            `default_callbacks`).
        strategy: `"auto"`, `"default"`, `"mirrored"`, `"onedevice"` (see `get_strategy`)
            or `"multiworker"`: every worker of the cluster in `TF_CONFIG` runs this same
            call; only the chief writes `out` (see `kerazoo.training.multiworker`).
        seed: seeds weights, the validation carve and the shuffle order.
        out: the run folder; default `runs/<model>`.
        resume: continue the unfinished run in `out` from its last finished epoch (its saved
            settings are used; a finished run is returned as it is).
        overwrite: replace the run in `out`.
        overrides: factory arguments of the model, e.g. `{"dropout": 0.3}`.
        validation_split: share of the training part held out for validation.
        max_examples: keep at most this many examples per split, for quick runs.
        early_stopping, patience: stop after `patience` epochs without a better `val_loss`.
        data_options: more `kerazoo.data.load` arguments (`vocab_size`, `sequence_length`,
            `window`, `horizon`, `fashion_mnist_dir`, `tfds_data_dir`, ...).
        callbacks: your own Keras callbacks, run after the default ones.
        plots: draw the pictures (history, architecture, task pictures and monitors).
        verbose: `"auto"` (progress bar on a terminal, a line per epoch otherwise), 0, 1, 2.

    Returns:
        A `RunResult` with `run_dir`, `metrics` (as in metrics.json), the trained `model`
        (best weights), the dataset `info` and the `config`.

    Raises:
        ValueError: for an unknown model or dataset, a model that does not fit the dataset,
            a bad argument, or a run folder that already holds a run (without `resume` or
            `overwrite`). Nothing is written then.
        DataNotFoundError: (a ValueError) when a data file is missing or corrupt.
        ImportError: when `plots=True` and Graphviz or pydot is missing.
        TrainingDiverged: when the loss became NaN; `resume=True` continues from the last
            good epoch (after lowering the learning rate: pass it with `overrides` of the
            saved run or start a new run).

    Example:

    ```python
    result = kerazoo.train("mnist_cnn", epochs=5)
    result.metrics["test_accuracy"]   # ~0.97 on the MNIST sample
    ```
    """
    config, run_dir, saved = plan(
        model,
        dataset,
        out=out,
        resume=resume,
        overwrite=overwrite,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        learning_rate=learning_rate,
        lr_schedule=lr_schedule,
        strategy=strategy,
        seed=seed,
        validation_split=validation_split,
        max_examples=max_examples,
        early_stopping=early_stopping,
        patience=patience,
        overrides=dict(overrides or {}),
        data_options=dict(data_options or {}),
    )
    verbose = _verbose(verbose)
    if saved is not None:
        config = saved
        if (run_dir / "metrics.json").is_file():
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
    try:
        return _train(config, run_dir, out_dir, saved, cluster, plots, callbacks, verbose)
    finally:
        if out_dir != run_dir:
            shutil.rmtree(out_dir, ignore_errors=True)


def _train(config, run_dir, out_dir, saved, cluster, plots, callbacks, verbose) -> RunResult:
    import keras

    from kerazoo.training import callbacks as cb

    spec = registry.get_spec(config.model)
    splits, info = loader.load_arrays(
        config.dataset,
        seed=config.seed,
        validation_split=config.validation_split,
        max_examples=config.max_examples,
        scale=False,
        **config.data_options,
    )
    batch = config.batch_size or (128 if info.n_train >= LARGE_TRAIN_SET else 32)
    strategy_ = distribute.get_strategy(config.strategy)
    global_batch = distribute.global_batch_size(batch, strategy_)
    train_ds, val_ds, test_ds = _for_task(
        spec.task, *loader.pipelines(splits, global_batch, seed=config.seed)
    )

    # The model checks its arguments (overrides included) before anything is written.
    keras.utils.set_random_seed(config.seed)
    arguments = _model_arguments(spec, info) | config.overrides
    for arg in ("optimizer", "learning_rate"):
        if getattr(config, arg) is not None:
            arguments[arg] = getattr(config, arg)
    with strategy_.scope():
        net = registry.create_model(config.model, **arguments)

    # Everything is checked: from here on the folder is written.
    if saved is None and out_dir == run_dir:
        if run_dir.exists():  # overwrite=True (an existing run folder) or an empty folder
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        _write_json(run_dir / "config.json", config.to_json())
    # What `kerazoo evaluate` and `kerazoo predict` need to read new inputs like these.
    _write_json(out_dir / "dataset.json", info.as_dict())
    if info.vocabulary is not None:
        (out_dir / "vocabulary.txt").write_text("\n".join(info.vocabulary) + "\n")

    monitors = []
    if plots and spec.task == "generation":
        from kerazoo.training.monitors import SampleGridMonitor

        monitors.append(SampleGridMonitor(out_dir, n=16, seed=config.seed))
    elif plots and spec.task == "reconstruction":
        from kerazoo.training.artifacts import spread
        from kerazoo.training.monitors import ReconstructionMonitor

        shown = splits.x_test[spread(len(splits.x_test))]
        monitors.append(ReconstructionMonitor(shown / 255.0, out_dir))
    clock = _RunClock(out_dir)
    generation = spec.task == "generation"
    callback_list = cb.default_callbacks(
        out_dir,
        monitor=_monitor(spec.task),
        early_stopping=config.early_stopping and not generation,
        patience=config.patience,
        save_best_only=not generation,  # a GAN's losses do not rank its epochs
        lr_schedule=None if generation or config.lr_schedule == "constant" else config.lr_schedule,
        epochs=config.epochs,
        extra=[*monitors, clock.callback(), *callbacks],
    )
    guard = next(c for c in callback_list if isinstance(c, cb.NaNGuard))

    _say(
        verbose,
        f"kerazoo: training {config.model} on {info.name} ({info.n_train:,} train / "
        f"{info.n_val:,} val / {info.n_test:,} test; {info.source}), {config.epochs} epochs, "
        f"batch {global_batch}, {_strategy_words(strategy_)} -> {run_dir}",
    )
    worker_stats = None
    if _training_finished(run_dir):
        # Killed after the last epoch (while evaluating or drawing): no epoch to run again.
        _say(verbose, "kerazoo: training had finished; evaluating the saved best model")
    elif cluster is not None:
        clock.start = time.perf_counter()
        worker_stats = multiworker.fit(
            net,
            train_ds,
            val_ds,
            strategy=strategy_,
            epochs=config.epochs,
            callbacks=callback_list,
            n_train=info.n_train,
            global_batch=global_batch,
            verbose=verbose,
        )
        worker_stats["fingerprint"] = multiworker.fingerprint(net)
        _say(verbose, multiworker.worker_line(cluster, worker_stats, info.n_train, global_batch))
    else:
        clock.start = time.perf_counter()  # the fit alone: no set-up, no evaluation
        net.fit(
            train_ds,
            validation_data=val_ds,
            epochs=config.epochs,
            callbacks=callback_list,
            verbose=verbose,
            shuffle=False,  # the pipeline shuffles (seeded, every epoch)
        )
    seconds = clock.seconds
    if guard.stopped_on_nan is not None:
        epoch, _ = guard.stopped_on_nan
        raise TrainingDiverged(
            f"Training of {config.model} diverged (loss NaN) in epoch {epoch + 1}; the last "
            f"good state is kept in {run_dir / 'backup'}. Lower the learning rate and start a "
            f"new run, or resume this one with `kerazoo train {config.model} --out {run_dir} "
            "--resume`."
        )
    epochs_run = clock.epochs
    if cluster is not None:
        if not cluster["chief"]:  # the chief writes the run folder; this worker is done
            return RunResult(run_dir, worker_stats or {}, net, info, config)
        # Keras's evaluate and predict fail under MultiWorkerMirroredStrategy as fit does;
        # the chief tests and draws with the saved model outside the strategy.
        from kerazoo.saving import load_model

        net = load_model(run_dir / "model.keras")
    elif (run_dir / "model.keras").is_file() and not generation:
        # Early stopping restores the best weights only when it stops early; the checkpoint
        # always holds them.
        net.load_weights(run_dir / "model.keras")

    scores = net.evaluate(test_ds, verbose=0, return_dict=True)
    metrics = test_metrics(scores, info)
    best = cb.history_best(run_dir / "history.csv", _monitor(spec.task))
    metrics.update(
        model=config.model,
        dataset=info.name,
        dataset_source=info.source,
        n_train=info.n_train,
        n_val=info.n_val,
        n_test=info.n_test,
        epochs=epochs_run,
        epochs_requested=config.epochs,
        best_epoch=None if best is None or generation else best[2] + 1,
        batch_size=global_batch,
        seconds=round(seconds, 2),
        samples_per_second=round(info.n_train * epochs_run / seconds, 1),
        params=int(net.count_params()),
        **distribute.describe(strategy_),
        **_cluster_metrics(cluster, worker_stats),
        versions={
            "kerazoo": _version(),
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
        },
    )
    if plots:
        from kerazoo.training import artifacts

        artifacts.draw(net, spec, info, splits, run_dir, seed=config.seed)
    _write_json(run_dir / "metrics.json", metrics)
    clock.path.unlink(missing_ok=True)
    _say(verbose, summary_line(metrics, run_dir))
    return RunResult(run_dir=run_dir, metrics=metrics, model=net, info=info, config=config)


def test_metrics(scores: dict, info) -> dict:
    """`evaluate`'s scores as `test_*` metrics, plus `test_mae_unscaled` for regressors."""
    metrics = {f"test_{k}": float(v) for k, v in scores.items()}
    scale = info.std if info.window is not None else info.target_std
    if "test_mae" in metrics and scale:
        # Targets are standardized for training; this is the error in the data's own units.
        metrics["test_mae_unscaled"] = metrics["test_mae"] * float(scale)
    return metrics


def _cluster_metrics(cluster: dict | None, stats: dict | None) -> dict:
    """What metrics.json adds for a multi-worker run: workers, optimizer steps, fingerprint."""
    if cluster is None:
        return {}
    out = {"workers": cluster["workers"]}
    if stats:
        out |= {"steps": stats["steps"], "weights_fingerprint": stats["fingerprint"]}
    return out


def _strategy_words(strategy) -> str:
    described = distribute.describe(strategy)
    name = described["strategy"].strip("_").replace("DistributionStrategy", "Strategy")
    return f"{name} with {described['replicas']} replica(s)"


def _training_finished(run_dir: Path) -> bool:
    # Keras deletes backup/ when fit ends; history rows without a backup mean it had ended.
    history = run_dir / "history.csv"
    return (
        not (run_dir / "backup").exists()
        and (run_dir / "model.keras").is_file()
        and history.is_file()
        and len(history.read_text().splitlines()) > 1
    )


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
        f"({metrics['samples_per_second']:,.0f} samples/s); run folder {run_dir}"
    )


def _finished_run(run_dir: Path, config: RunConfig) -> RunResult:
    from kerazoo.saving import load_model

    metrics = json.loads((run_dir / "metrics.json").read_text())
    return RunResult(
        run_dir=run_dir,
        metrics=metrics,
        model=load_model(run_dir / "model.keras"),
        info=None,
        config=config,
    )
