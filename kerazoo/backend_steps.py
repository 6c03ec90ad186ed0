"""The backend-specific pieces of custom training steps: gradients, state and replicas.

Keras 3 gives every backend the same layers and ops, but not the same way to take a
gradient (TensorFlow records a tape, torch runs autograd, JAX differentiates a pure
function), nor the same `train_step`: on TensorFlow and torch Keras calls
`train_step(data)` and the step updates variables in place; on JAX it calls
`train_step(state, data)` with every variable's value passed in and expects
`(logs, new_state)` back (keras.io, "Customizing what happens in `fit()` with JAX").

A model that trains two networks in one step, such as `kerazoo.models.gan.DCGAN`, writes
its step once, in the in-place style, and marks it with `@custom_step`; on JAX the step
then runs inside a `keras.StatelessScope` holding the state Keras passed, so its variable
reads, assignments and optimizer updates become that state. It asks this module for its
gradients (`compute_gradients`), so the model code itself stays free of `tf.*`, `torch.*`
and `jax.*`.

TensorFlow, torch and JAX are imported lazily, inside the functions, and only for the
backend Keras runs on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import keras

SUPPORTED_BACKENDS = ("tensorflow", "jax", "torch")

# The variables of the JAX stateless step being run (the innermost last): what
# `compute_gradients` reads the current values of and hands the forward pass's updates to.
_ACTIVE_STEPS: list[list] = []


def _unsupported(backend: str) -> NotImplementedError:
    return NotImplementedError(
        "kerazoo's custom training steps (the DCGAN's train_step) compute gradients with "
        f"the {', '.join(SUPPORTED_BACKENDS[:-1])} or {SUPPORTED_BACKENDS[-1]} backend; Keras is running on {backend!r}. "
        "Set the environment variable KERAS_BACKEND=tensorflow before Keras is imported "
        "(for example `KERAS_BACKEND=tensorflow python train.py`). "
        f"Received: keras.backend.backend()={backend!r}"
    )


def custom_step(step: Callable) -> Callable:
    """Makes a `train_step(self, data)` or `test_step(self, data)` run on every backend.

    TensorFlow and torch call the step as it is. Keras's JAX trainer calls
    `step(state, data)` instead and expects `(logs, new_state)`: the state is the values of
    `(trainable, non-trainable, optimizer, metrics)` variables for `train_step` and
    `(trainable, non-trainable, metrics)` for `test_step`, in the order of the model's
    `trainable_variables`, `non_trainable_variables`, `optimizer.variables` and
    `metrics_variables`. The wrapped step then runs inside a `keras.StatelessScope` that maps
    each variable to its value in `state`; what it assigns (optimizer updates, BatchNorm
    statistics, metric totals, random seeds) is read back from the scope as the new state.

    A model with several optimizers shows them all to Keras through `step_optimizer`, so
    their variables travel in the state too.

    Args:
        step: the step, written with `keras.ops`, `compute_gradients` and
            `optimizer.apply_gradients`, updating variables in place.

    Returns:
        The step, taking `(data)` or, on JAX, `(state, data)`.

    Example:

    ```python
    class MyGAN(keras.Model):
        @custom_step
        def train_step(self, data):
            loss, grads = compute_gradients(lambda: ..., self.discriminator.trainable_variables)
            ...
    ```
    """

    @functools.wraps(step)
    def run(model, *args):
        if keras.backend.backend() != "jax":
            return step(model, *args)
        state, data = args
        groups = _state_variables(model, len(state))
        mapping = [
            (variable, value)
            for variables, values in zip(groups, state, strict=True)
            for variable, value in zip(variables, values, strict=True)
        ]
        _ACTIVE_STEPS.append([variable for variable, _ in mapping])
        try:
            with keras.StatelessScope(state_mapping=mapping) as scope:
                logs = step(model, data)
        finally:
            _ACTIVE_STEPS.pop()
        return logs, tuple([scope.get_current_value(v) for v in group] for group in groups)

    return run


def _state_variables(model, parts: int) -> list[list]:
    # The layout of keras 3.15.1's JAX trainer (`JAXTrainer.train_step` / `test_step`), as
    # the keras.io guide "Customizing what happens in fit() with JAX" describes it.
    groups = [model.trainable_variables, model.non_trainable_variables]
    if parts == 4:
        groups.append(model.optimizer.variables)
    groups.append(model.metrics_variables)
    if len(groups) != parts:
        raise ValueError(
            "A JAX training step gets (trainable, non-trainable, optimizer, metrics) values "
            "and a test step (trainable, non-trainable, metrics). "
            f"Received: a state of {parts} parts"
        )
    return [list(group) for group in groups]


class _Optimizers:
    """`model.optimizer` for a model that steps several optimizers, on JAX: the main
    optimizer's attributes (learning rate, iterations, what callbacks read) with the
    variables of all of them, which is what Keras's JAX trainer threads through the step."""

    def __init__(self, main, others):
        object.__setattr__(self, "_main", main)
        object.__setattr__(self, "_all", (main, *others))

    @property
    def variables(self) -> list:
        return [v for optimizer in self._all for v in optimizer.variables]

    @property
    def built(self) -> bool:
        return all(optimizer.built for optimizer in self._all)

    def __getattr__(self, name):
        return getattr(self._main, name)

    def __setattr__(self, name, value):
        setattr(self._main, name, value)  # e.g. a callback setting the learning rate

    def __repr__(self) -> str:
        return f"<{type(self._main).__name__} and {len(self._all) - 1} more optimizer(s)>"


def step_optimizer(main, *others):
    """What a model stepping several optimizers sets as `model.optimizer`.

    On TensorFlow and torch, `main` itself (what callbacks, TensorBoard and learning-rate
    logs read). On JAX, a view of `main` whose `variables` are those of all the optimizers:
    Keras's JAX trainer passes only `model.optimizer.variables` through a training step, so
    the others' moments would otherwise be frozen into the compiled step. The view is no
    `KerasSaveable`: each optimizer is saved under its own attribute as before, so a
    `.keras` file is the same on every backend.

    Args:
        main: the optimizer `model.optimizer` stands for (e.g. a GAN's generator's).
        *others: the model's other optimizers, each an attribute of the model.

    Returns:
        `main`, or on JAX the view of all of them.
    """
    if keras.backend.backend() != "jax" or not others:
        return main
    return _Optimizers(main, others)


def num_replicas_in_sync() -> int:
    """How many replicas run this step at once (1 outside `tf.distribute`).

    Under a `tf.distribute` strategy (MirroredStrategy and the like) every replica sees
    only its slice of the global batch; the other backends have no replicas here.
    """
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


def mean_over_global_batch(per_example_loss):
    """The per-replica share of a batch-mean loss: `sum(per_example) / global_batch_size`.

    This is what Keras's own `train_step` does on TensorFlow (a `Loss` with the default
    "sum_over_batch_size" reduction divides by the local batch and then by
    `num_replicas_in_sync`, see `keras.src.losses.loss.scale_loss_for_distribution`).
    `tf.distribute` *sums* the replicas' gradients, so dividing by the global batch makes
    two replicas with half a batch each apply the same update as one replica with the
    whole batch. Dividing by the local batch only would double the step size.
    """
    per_example_loss = keras.ops.convert_to_tensor(per_example_loss)
    local_batch = keras.ops.cast(keras.ops.shape(per_example_loss)[0], per_example_loss.dtype)
    global_batch = local_batch * num_replicas_in_sync()
    return keras.ops.sum(per_example_loss) / global_batch


def compute_gradients(loss_fn: Callable, variables: Sequence) -> tuple:
    """Runs `loss_fn()` and differentiates its result with respect to `variables`.

    Args:
        loss_fn: a function of no arguments returning a scalar loss tensor; the forward
            pass must happen inside it so the backend can record it.
        variables: the `keras.Variable`s to differentiate with respect to (for example
            `model.discriminator.trainable_variables`).

    Returns:
        `(loss, gradients)`, the gradients in the order of `variables` (None for a variable
        the loss does not depend on).

    Raises:
        NotImplementedError: on a backend other than TensorFlow, JAX or torch, saying how
            to switch with `KERAS_BACKEND`.
        RuntimeError: on JAX, outside a step marked with `@custom_step` (JAX differentiates
            a function of the values that step receives).

    Example:

    ```python
    loss, grads = compute_gradients(lambda: ops.mean(model(x) ** 2), model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    ```
    """
    backend = keras.backend.backend()
    variables = list(variables)
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn()
        return loss, tape.gradient(loss, variables)
    if backend == "torch":
        import torch

        loss = loss_fn()
        # Keras's torch variables hold their tensor in `.value`.
        tensors = [v.value for v in variables]
        grads = torch.autograd.grad(loss, tensors, allow_unused=True)
        return loss, list(grads)
    if backend == "jax":
        return _jax_gradients(loss_fn, variables)
    raise _unsupported(backend)


def apply_gradients(optimizer, grads: Sequence, variables: Sequence) -> None:
    """`optimizer.apply_gradients(zip(grads, variables))`, inside a `@custom_step` on every
    backend.

    On JAX, a `LossScaleOptimizer` (mixed_float16) is applied through its
    `stateless_apply`: its stateful `apply` assigns its scale and the weights inside the
    branches of an `ops.cond`, which under JAX's tracing leaks the branches' values
    (`UnexpectedTracerError`); the stateless form returns them instead, and they are
    assigned here, into the step's state.
    """
    variables = list(variables)
    if keras.backend.backend() == "jax" and isinstance(
        optimizer, keras.optimizers.LossScaleOptimizer
    ):
        new_weights, new_state = optimizer.stateless_apply(
            [v.value for v in optimizer.variables], list(grads), [v.value for v in variables]
        )
        for variable, value in zip(variables, new_weights, strict=True):
            variable.assign(value)
        for variable, value in zip(optimizer.variables, new_state, strict=True):
            variable.assign(value)
        return
    optimizer.apply_gradients(zip(grads, variables, strict=True))


def _jax_gradients(loss_fn: Callable, variables: list) -> tuple:
    import jax

    if not _ACTIVE_STEPS:
        raise RuntimeError(
            "On the JAX backend, compute_gradients runs inside a train_step marked with "
            "@kerazoo.backend_steps.custom_step (Keras passes that step the values to "
            "differentiate). Received: a call outside such a step"
        )
    state = _ACTIVE_STEPS[-1]
    differentiated = {id(v) for v in variables}
    updated: list[int] = []  # which other state variables the forward pass assigned

    def loss_of(values):
        # The current values (this step's earlier updates included), then the ones JAX
        # differentiates with respect to.
        current = [(v, v.value) for v in state]
        with keras.StatelessScope(
            state_mapping=current + list(zip(variables, values, strict=True))
        ) as scope:
            loss = loss_fn()
        updated[:] = [
            i
            for i, (v, old) in enumerate(current)
            if id(v) not in differentiated and scope.get_current_value(v) is not old
        ]
        return loss, [scope.get_current_value(state[i]) for i in updated]

    (loss, news), grads = jax.value_and_grad(loss_of, has_aux=True)([v.value for v in variables])
    # BatchNorm statistics and dropout seeds the forward pass moved on: into the step's state.
    for i, new in zip(updated, news, strict=True):
        state[i].assign(new)
    return loss, list(grads)
