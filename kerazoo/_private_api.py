"""Every use of a dependency's private API, in one place.

Each entry says why the public API does not do and the version it was checked against
(keras 3.15.1, keras-tuner 1.4.8, the ranges pinned in setup.cfg). When a dependency is
upgraded, this file is the list to re-check; nothing else in kerazoo reaches into
`keras.src`, `keras_tuner.src` or a private attribute of theirs.

Nothing is imported at module import: each function imports what it needs when called.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# keras-tuner 1.4.8 keeps these modules under `keras_tuner.src` with no public alias:
# - "config": the DEBUG switch whose traceback printing `engine.quiet_tracebacks` turns off
#   for failed trials (kerazoo records the error in trials.csv instead);
# - "distribute.oracle_client": the gRPC client a worker uses; kerazoo's patient client
#   subclasses it to wait for a chief still preparing its folder;
# - "distribute.utils": `is_chief_oracle()`, which KerasTuner's own search asks as well;
# - "distribute.oracle_chief" and "protos": the chief's gRPC servicer, which kerazoo serves
#   itself so that a busy port is one clear error (KerasTuner's binds with SO_REUSEPORT);
# - "engine.trial": `Trial` and `TrialStatus`, needed to hand out a STOPPED trial;
# - "engine.conditions": its `Parent.to_proto` has a leftover `print(self.values[0])`, so a
#   distributed search prints a bare number for every conditional hyperparameter it sends
#   over gRPC (`silence_condition_prints`).
KERAS_TUNER_MODULES = (
    "engine.conditions",
    "config",
    "distribute.oracle_client",
    "distribute.utils",
    "distribute.oracle_chief",
    "protos",
    "engine.trial",
)


def keras_tuner_module(name: str) -> ModuleType:
    """`keras_tuner.src.<name>`, for one of `KERAS_TUNER_MODULES` (checked: keras-tuner 1.4.8)."""
    if name not in KERAS_TUNER_MODULES:
        raise ValueError(
            f"{name} is not a keras_tuner module kerazoo has checked; add it to "
            f"KERAS_TUNER_MODULES with the reason. Received: name={name!r}"
        )
    return importlib.import_module(f"keras_tuner.src.{name}")


def silence_condition_prints() -> None:
    """Hides keras-tuner 1.4.8's debug `print` in `engine/conditions.py` (`Parent.to_proto`).

    A module-level `print` shadows the built-in for that one module only; redirecting stdout
    instead would also swallow the chief's own trial lines, printed from another thread.
    """
    keras_tuner_module("engine.conditions").print = lambda *args, **kwargs: None


def is_worker(tuner) -> bool:
    """Whether a tuner is a distributed search's worker (keras-tuner 1.4.8 `_is_worker`).

    Public KerasTuner only tells the chief apart (`is_chief_oracle`); a worker must not save
    the oracle's state (it is the chief's, over gRPC) nor count the trials started.
    """
    return tuner._is_worker()


def wrapped_oracle(client):
    """The oracle inside KerasTuner's `OracleClient` (keras-tuner 1.4.8 `_oracle`), to wrap it
    in kerazoo's patient client."""
    return client._oracle


def tuner_state_file(tuner) -> str:
    """Where a tuner saves its own state (keras-tuner 1.4.8 `_get_tuner_fname`); kerazoo
    writes it atomically instead of in place."""
    return tuner._get_tuner_fname()


def symbolic_build(model, data_batch) -> None:
    """What Keras's `fit` does before its first step (keras 3.15.1 `Model._symbolic_build`):
    build the compiled metrics and the optimizer from one batch. The multi-worker loop needs
    it outside `fit`, which fails under MultiWorkerMirroredStrategy (keras-team/keras#20585)."""
    model._symbolic_build(data_batch=data_batch)


# Keras 3.15.1 private attributes of its own callbacks and models. kerazoo extends these
# callbacks (an atomic checkpoint), restores a run where `fit` should go on (its backup) and
# drives them outside `fit` (the multi-worker loop), which the public API does not cover.


def set_restored_initial_epoch(model, epoch: int) -> None:
    """Where a restored run goes on: Keras's `fit` reads `model._initial_epoch` after the
    callbacks' `on_train_begin` (as its own `BackupAndRestore` sets it); kerazoo's
    `RunBackup` sets it the same way, and the multi-worker loop reads it back."""
    model._initial_epoch = int(epoch)


def restored_initial_epoch(model) -> int:
    """The first epoch to run after `RunBackup.on_train_begin` restored a backup (it sets
    `model._initial_epoch`, which Keras's `fit` reads); the multi-worker loop reads it too."""
    return int(model._initial_epoch or 0)


def clear_restored_initial_epoch(model) -> None:
    """Forget an earlier session's restored epoch before `on_train_begin` (as `fit` does)."""
    model._initial_epoch = None


# `kerazoo.training.callbacks.AtomicModelCheckpoint` overrides `ModelCheckpoint._save_model`
# (keras 3.15.1) to write into a temporary file and rename it: Keras writes in place, so a
# kill during a save would leave no best model. A method override cannot live here; this
# note is its entry in the list.

# Not private, but version-bound behaviour of keras 3.15.1's JAX trainer that
# `kerazoo.backend_steps` relies on (re-check it on a Keras upgrade): `train_step(state,
# data)` gets the values of (trainable, non-trainable, optimizer, metrics) variables and
# `test_step` (trainable, non-trainable, metrics), as keras.io's "Customizing what happens in
# fit() with JAX" shows; only `model.optimizer.variables` travel as optimizer state, which is
# why a model with two optimizers shows Keras `backend_steps.step_optimizer(...)`; and a
# sublayer's `losses` are empty after the stateless call (the model's `losses` hold them).


def configure_patient_coordination(heartbeat_seconds: int) -> None:
    """Sets up TensorFlow's coordination service for MultiWorkerMirroredStrategy as the
    strategy itself would (tensorflow 2.21 `CollectiveAllReduceExtended`), with a longer
    heartbeat timeout.

    The strategy configures the service only when none is configured yet, and with the
    default heartbeat timeout (10 s): a worker starved of CPU for that long on a busy
    2-core machine is declared dead and both workers abort ("heartbeat timeout"). Neither
    the strategy nor `tf.config` exposes the timeout; `context.configure_coordination_service`
    and `multi_worker_util.coordination_leader` are private (checked against TF 2.21.0).
    Call it before the strategy is created.
    """
    import tensorflow as tf
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    if context.context().coordination_service is not None:
        return
    cluster_spec = tf.distribute.cluster_resolver.TFConfigClusterResolver().cluster_spec()
    jobs = [
        coordination_config_pb2.CoordinatedJob(name=job, num_tasks=cluster_spec.num_tasks(job))
        for job in ("chief", "worker")
        if job in cluster_spec.jobs
    ]
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=multi_worker_util.coordination_leader(cluster_spec),
        heartbeat_timeout_in_ms=heartbeat_seconds * 1000,
        coordinated_jobs=jobs,
    )
