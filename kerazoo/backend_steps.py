"""The backend-specific pieces of custom training steps: gradients and replica counts.

Keras 3 gives every backend the same layers and ops, but not the same way to take a
gradient (TensorFlow records a tape, torch runs autograd, JAX differentiates a pure
function). A model that trains two networks in one step, such as `kerazoo.models.gan.DCGAN`,
asks this module for its gradients, so the model code itself stays free of `tf.*`.

TensorFlow and torch are imported lazily, inside the functions, and only for the backend
Keras runs on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras

SUPPORTED_BACKENDS = ("tensorflow", "torch")


def _unsupported(backend: str) -> NotImplementedError:
    return NotImplementedError(
        "kerazoo's custom training steps (the DCGAN's train_step) compute gradients with "
        f"the {' or '.join(SUPPORTED_BACKENDS)} backend; Keras is running on {backend!r}. "
        "Set the environment variable KERAS_BACKEND=tensorflow before Keras is imported "
        "(for example `KERAS_BACKEND=tensorflow python train.py`). "
        f"Received: keras.backend.backend()={backend!r}"
    )


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
        NotImplementedError: on a backend other than TensorFlow or torch, saying how to
            switch with `KERAS_BACKEND`.

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
    raise _unsupported(backend)
