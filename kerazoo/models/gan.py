"""Generative adversarial networks: the DCGAN of Radford, Metz & Chintala (2016).

Two networks play a game: the generator turns random noise into images, the discriminator
tells real images from generated ones. Each training step first teaches the discriminator
on a batch of real and fake images, then teaches the generator to fool it. DCGAN's
recipe makes this game stable enough for convnets: no pooling (strided convs learn their
own down- and upsampling), batch normalisation in the generator, ReLU in the generator and
LeakyReLU in the discriminator, a tanh output, N(0, 0.02) weights and Adam(2e-4, beta_1=0.5).

Images given to `fit` are in [0, 1]; the model rescales them to the generator's [-1, 1]
range inside its train step, and `generate` maps generated images back to [0, 1].
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kerazoo import backend_steps
from kerazoo.models import _common as c
from kerazoo.models.batchnorm import BatchNormalization
from kerazoo.registry import register_model

# --- the two networks ----------------------------------------------------------------


def _dcgan_initializer(kernel_initializer):
    # "All weights were initialized from a zero-centered Normal distribution with standard
    # deviation 0.02" (Radford et al. 2016, section 4).
    if kernel_initializer is None:
        return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)
    return c.check_initializer(kernel_initializer)


def _generator(latent_dim, image_shape, filters, kernel_size, init, name="generator"):
    """Dense projection -> reshape -> [Conv2DTranspose stride 2 -> BatchNorm -> ReLU]* ->
    Conv2DTranspose stride 2 with tanh.

    `filters[0]` is the depth of the projected map at 1/2**len(filters) of the image size;
    each further entry is one upsampling stage, and the last stage produces the image.
    """
    h, w, channels = image_shape
    steps = 2 ** len(filters)
    z = keras.Input(shape=(latent_dim,), name="z")
    # No biases before BatchNorm: its beta does that job.
    x = keras.layers.Dense(
        (h // steps) * (w // steps) * filters[0],
        use_bias=False,
        kernel_initializer=init,
        name="project",
    )(z)
    x = BatchNormalization(name="project_bn")(x)
    x = keras.layers.ReLU(name="project_relu")(x)
    x = keras.layers.Reshape((h // steps, w // steps, filters[0]), name="reshape")(x)
    for i, f in enumerate(filters[1:], start=1):
        x = keras.layers.Conv2DTranspose(
            f,
            kernel_size,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=init,
            name=f"deconv_{i}",
        )(x)
        x = BatchNormalization(name=f"bn_{i}")(x)
        x = keras.layers.ReLU(name=f"relu_{i}")(x)
    image = keras.layers.Conv2DTranspose(
        channels,
        kernel_size,
        strides=2,
        padding="same",
        activation="tanh",
        kernel_initializer=init,
        name="image",
    )(x)
    return keras.Model(z, image, name=name)


def _discriminator(image_shape, filters, kernel_size, dropout, init, name="discriminator"):
    """[Conv2D stride 2 -> LeakyReLU(0.2) -> Dropout]* -> Flatten -> one logit.

    The output is a logit (no sigmoid): the loss uses `from_logits=True`, which is
    numerically safer than a saturated sigmoid.
    """
    image = keras.Input(shape=image_shape, name="image")
    x = image
    for i, f in enumerate(filters, start=1):
        x = keras.layers.Conv2D(
            f, kernel_size, strides=2, padding="same", kernel_initializer=init, name=f"conv_{i}"
        )(x)
        x = keras.layers.LeakyReLU(negative_slope=0.2, name=f"leaky_relu_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    logit = keras.layers.Dense(1, kernel_initializer=init, name="logit")(x)
    return keras.Model(image, logit, name=name)


# --- the model that trains them ------------------------------------------------------


def _check_loss_fn(loss_fn):
    if loss_fn is None:
        return keras.losses.BinaryCrossentropy(from_logits=True)
    if not isinstance(loss_fn, keras.losses.Loss):
        raise ValueError(
            "loss_fn must be a keras.losses.Loss instance such as "
            "keras.losses.BinaryCrossentropy(from_logits=True) (the discriminator outputs "
            f"logits). Received: loss_fn={loss_fn!r}"
        )
    return loss_fn


def _loss_scaled(optimizer):
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer, name=f"{optimizer.name}_loss_scale")


def _unscaled(optimizer, scaled_loss):
    """The loss value before `optimizer.scale_loss` (for the loss trackers)."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return scaled_loss / ops.cast(optimizer.dynamic_scale, scaled_loss.dtype)
    if optimizer.loss_scale_factor is not None:
        return scaled_loss / optimizer.loss_scale_factor
    return scaled_loss


def _check_gan_optimizer(optimizer, name: str):
    if optimizer is None:
        # Radford et al. 2016: learning rate 0.0002 and beta_1 = 0.5 ("0.9 resulted in
        # training oscillation and instability").
        return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)
    if isinstance(optimizer, str):
        return c.get_optimizer(optimizer)
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(
            f"{name} must be an optimizer name or a keras.optimizers.Optimizer. "
            f"Received: {name}={optimizer!r}"
        )
    return optimizer


@keras.saving.register_keras_serializable(package="kerazoo")
class DCGAN(keras.Model):
    """A GAN holding a `generator` and a `discriminator`, trained by its own `train_step`.

    `fit(images)` takes real images in [0, 1] (no labels). Each step trains the
    discriminator once on the real batch and as many generated images, then the generator
    once (with the non-saturating loss: it maximises log D(G(z))), and reports `d_loss`
    and `g_loss`. Calling the model on latent vectors `z` runs the generator (tanh output
    in [-1, 1]); `generate(n, seed)` returns images in [0, 1] as a NumPy array.

    The step is written once for every backend: gradients come from
    `kerazoo.backend_steps.compute_gradients`, and `@backend_steps.custom_step` runs it as
    the stateless step Keras's JAX trainer calls (TensorFlow, JAX and torch).

    Args:
        generator: a model mapping `(latent_dim,)` vectors to images in [-1, 1].
        discriminator: a model mapping images to one logit (real > 0 > fake).
        seed: seed of the latent noise drawn during training.
        name: model name.

    Example:

    ```python
    gan = kerazoo.create_model("dcgan")
    gan.fit(x_train, epochs=20, batch_size=128)
    images = gan.generate(16, seed=0)
    ```
    """

    def __init__(
        self, generator, discriminator, seed: int | None = None, name: str = "dcgan", **kwargs
    ):
        z = keras.Input(shape=tuple(generator.input_shape[1:]), name="z")
        # A functional graph z -> generator, so predict(z), summary() and input_shape work.
        super().__init__(z, generator(z), name=name, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(generator.input_shape[-1])
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer=None, g_optimizer=None, loss_fn=None, **kwargs):
        """Sets the two optimizers and the loss.

        Args:
            d_optimizer: optimizer of the discriminator (default Adam(2e-4, beta_1=0.5)).
            g_optimizer: optimizer of the generator (default Adam(2e-4, beta_1=0.5)).
            loss_fn: a `keras.losses.Loss` on the discriminator's logits (default
                `BinaryCrossentropy(from_logits=True)`).
            **kwargs: passed on to `keras.Model.compile` (e.g. `run_eagerly`,
                `steps_per_execution`); `optimizer`, `loss` and `metrics` are not used.
        """
        for unused in ("optimizer", "loss", "metrics"):
            if kwargs.get(unused) is not None:
                raise ValueError(
                    f"DCGAN.compile takes d_optimizer, g_optimizer and loss_fn instead of "
                    f"{unused}. Received: {unused}={kwargs[unused]!r}"
                )
            kwargs.pop(unused, None)
        d_optimizer = _check_gan_optimizer(d_optimizer, "d_optimizer")
        g_optimizer = _check_gan_optimizer(g_optimizer, "g_optimizer")
        if d_optimizer is g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer must be two optimizer instances (each keeps "
                "its own network's moments). Received: the same object for both"
            )
        loss_fn = _check_loss_fn(loss_fn)
        if kwargs.get("auto_scale_loss", True) and self.dtype_policy.name == "mixed_float16":
            # What Keras's compile does for its one optimizer: float16 gradients underflow to
            # zero without a loss scale, so both steps scale their loss (`train_step`).
            d_optimizer, g_optimizer = (_loss_scaled(o) for o in (d_optimizer, g_optimizer))
        super().compile(optimizer=g_optimizer, **kwargs)
        self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn
        # `model.optimizer` is what TensorBoard, learning-rate logs and step counters read:
        # report the generator's (Keras's default would be an unused RMSprop at 0.001), and
        # unwrapped (a mixed policy wraps it for loss scaling, which train_step never does).
        # On JAX it also carries the discriminator's optimizer state through the step.
        self.optimizer = backend_steps.step_optimizer(g_optimizer, d_optimizer)
        # Build the optimizers' slots now, under the caller's strategy scope: created later,
        # inside the first distributed train step, they break tf.distribute (Keras's own
        # fit builds its one optimizer up front too).
        for optimizer, network in (
            (d_optimizer, self.discriminator),
            (g_optimizer, self.generator),
        ):
            if not optimizer.built:
                optimizer.build(network.trainable_variables)

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss_fn": keras.saving.serialize_keras_object(self.loss_fn),
        }

    def compile_from_config(self, config):
        config = {k: keras.saving.deserialize_keras_object(v) for k, v in config.items()}
        # compile() builds the optimizers, so their saved slots load into place.
        self.compile(**config)

    def discriminator_loss(self, real_logits, fake_logits):
        """This replica's share of the discriminator loss, mean over the GLOBAL batch of
        `loss(real -> 1) + loss(fake -> 0)` (see `backend_steps.mean_over_global_batch`)."""
        # In float32 under a mixed policy, as Keras computes its losses.
        real_logits, fake_logits = (ops.cast(t, "float32") for t in (real_logits, fake_logits))
        per_example = self.loss_fn.call(
            ops.ones_like(real_logits), real_logits
        ) + self.loss_fn.call(ops.zeros_like(fake_logits), fake_logits)
        return backend_steps.mean_over_global_batch(per_example)

    def generator_loss(self, fake_logits):
        """This replica's share of the generator's non-saturating loss, `loss(fake -> 1)`
        averaged over the GLOBAL batch."""
        fake_logits = ops.cast(fake_logits, "float32")
        per_example = self.loss_fn.call(ops.ones_like(fake_logits), fake_logits)
        return backend_steps.mean_over_global_batch(per_example)

    @backend_steps.custom_step
    def train_step(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real = ops.cast(real, self.compute_dtype) * 2.0 - 1.0  # [0, 1] -> tanh's [-1, 1]
        batch = ops.shape(real)[0]
        # Each replica's loss below is its per-example sum over the GLOBAL batch size, as
        # in Keras's own train_step, so the summed replica gradients equal the gradient
        # of one replica on the whole batch (mean_over_global_batch explains it).
        replicas = backend_steps.num_replicas_in_sync()

        # 1) Discriminator: real -> 1, generated -> 0; the generator is not updated here.
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        fake = ops.stop_gradient(self.generator(z, training=True))
        d_vars = self.discriminator.trainable_variables

        def d_objective():
            # Scaled for float16 (a LossScaleOptimizer under mixed_float16; else unchanged):
            # apply_gradients divides the gradients by the same scale.
            return self.d_optimizer.scale_loss(
                self.discriminator_loss(
                    self.discriminator(real, training=True),
                    self.discriminator(fake, training=True),
                )
            )

        d_loss, d_grads = backend_steps.compute_gradients(d_objective, d_vars)
        d_loss = _unscaled(self.d_optimizer, d_loss)
        backend_steps.apply_gradients(self.d_optimizer, d_grads, d_vars)

        # 2) Generator: make the (just updated) discriminator call fresh fakes real.
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        g_vars = self.generator.trainable_variables

        def g_objective():
            fake = self.generator(z, training=True)
            return self.g_optimizer.scale_loss(
                self.generator_loss(self.discriminator(fake, training=True))
            )

        g_loss, g_grads = backend_steps.compute_gradients(g_objective, g_vars)
        g_loss = _unscaled(self.g_optimizer, g_loss)
        backend_steps.apply_gradients(self.g_optimizer, g_grads, g_vars)

        # The trackers take this replica's batch mean; keras.metrics.Mean combines replicas.
        self.d_loss_tracker.update_state(d_loss * replicas)
        self.g_loss_tracker.update_state(g_loss * replicas)
        return {m.name: m.result() for m in (self.d_loss_tracker, self.g_loss_tracker)}

    @backend_steps.custom_step
    def test_step(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real = ops.cast(real, self.compute_dtype) * 2.0 - 1.0
        z = keras.random.normal((ops.shape(real)[0], self.latent_dim), seed=self.seed_generator)
        fake_logits = self.discriminator(self.generator(z, training=False), training=False)
        real_logits = self.discriminator(real, training=False)
        replicas = backend_steps.num_replicas_in_sync()
        self.d_loss_tracker.update_state(
            self.discriminator_loss(real_logits, fake_logits) * replicas
        )
        self.g_loss_tracker.update_state(self.generator_loss(fake_logits) * replicas)
        return {m.name: m.result() for m in (self.d_loss_tracker, self.g_loss_tracker)}

    def generate(self, n: int, seed: int | None = None) -> np.ndarray:
        """`n` generated images in [0, 1], shape `(n, height, width, channels)`.

        Args:
            n: number of images.
            seed: an int gives the same latent vectors, hence the same images, every time
                (for a given set of weights); None draws new ones.
        """
        c.check_positive_int(n, "n")
        if seed is not None:
            c.check_positive_int(seed, "seed", minimum=0)
        z = keras.random.normal((n, self.latent_dim), seed=seed)
        images = self.generator(z, training=False)
        return np.clip((ops.convert_to_numpy(images) + 1.0) / 2.0, 0.0, 1.0)

    def get_config(self):
        return {
            **c.serialize_parts(self, ("generator", "discriminator")),
            "seed": self.seed,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**c.deserialize_parts(config, ("generator", "discriminator"), custom_objects))


def _check_image_shape(image_shape) -> tuple:
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = ()
    if len(shape) != 3 or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape
    ):
        raise ValueError(
            "image_shape must be a tuple (height, width, channels) of positive integers. "
            f"Received: image_shape={image_shape!r}"
        )
    return shape


# --- the builder ---------------------------------------------------------------------


@register_model(
    family="gan",
    task="generation",
    description="DCGAN: 100-d noise -> Dense/BN/ReLU -> transposed convs -> tanh image; "
    "LeakyReLU strided-conv discriminator.",
    reference="Radford, Metz & Chintala 2016, 'Unsupervised Representation Learning with "
    "Deep Convolutional Generative Adversarial Networks'",
    datasets=("mnist", "fashion_mnist", "mnist_sample"),
    tiny={"latent_dim": 16, "generator_filters": (16, 8), "discriminator_filters": (8, 16)},
    inputs=("image_shape",),
    metrics=("d_loss", "g_loss"),
)
def dcgan(
    *,
    latent_dim: int = 100,
    image_shape: tuple = (28, 28, 1),
    generator_filters=(128, 64),
    discriminator_filters=(64, 128),
    kernel_size: int = 5,
    dropout: float = 0.3,
    kernel_initializer=None,
    learning_rate: float = 2e-4,
    beta_1: float = 0.5,
    seed: int | None = None,
    compile: bool = True,
    name: str = "dcgan",
) -> DCGAN:
    """A DCGAN for small images, compiled with Adam(2e-4, beta_1=0.5) for both networks.

    The generator projects the noise to a `(h / 2**k, w / 2**k, generator_filters[0])` map,
    `k = len(generator_filters)`, and doubles its size k times with stride-2 transposed
    convs; the discriminator halves it with stride-2 convs. For 28x28 images and the
    default two generator stages the map starts at 7x7.

    Args:
        latent_dim: size of the noise vector z.
        image_shape: `(height, width, channels)`; height and width divisible by
            `2 ** len(generator_filters)` (4 by default), e.g. `(28, 28, 1)`, `(32, 32, 3)`.
        generator_filters: channels of the projected map, then of each inner transposed
            conv (the last stage outputs the image's channels).
        discriminator_filters: channels of each stride-2 conv of the discriminator.
        kernel_size: kernel size of every (transposed) conv (5 in the paper's figure).
        dropout: dropout after each discriminator conv, in [0, 1).
        kernel_initializer: None for the paper's N(0, 0.02), or any Keras initializer.
        learning_rate: Adam learning rate of both networks.
        beta_1: Adam's beta_1 for both networks.
        seed: seed of the latent noise drawn during training.
        compile: compile with the two Adam optimizers and
            `BinaryCrossentropy(from_logits=True)`; False returns the raw model.
        name: model name.

    Returns:
        A `DCGAN` (a `keras.Model`) with `.generator` and `.discriminator`.

    Raises:
        ValueError: for any invalid argument, naming it and the received value.

    Example:

    ```python
    gan = dcgan(latent_dim=64, image_shape=(32, 32, 3))
    gan.fit(images, epochs=25, batch_size=128)   # images in [0, 1]
    samples = gan.generate(16, seed=1)
    ```
    """
    c.check_positive_int(latent_dim, "latent_dim")
    generator_filters = c.check_units(generator_filters, "generator_filters", allow_empty=False)
    discriminator_filters = c.check_units(
        discriminator_filters, "discriminator_filters", allow_empty=False
    )
    shape = _check_image_shape(image_shape)
    step = 2 ** len(generator_filters)
    if shape[0] % step or shape[1] % step:
        raise ValueError(
            f"image_shape does not fit {name}: the generator doubles a "
            f"{len(generator_filters)}-stage map, so height and width must be divisible by "
            f"{step}. Received: image_shape={image_shape!r}"
        )
    c.check_positive_int(kernel_size, "kernel_size")
    dropout = c.check_rate(dropout)
    init = _dcgan_initializer(kernel_initializer)
    c.check_learning_rate(learning_rate)
    if isinstance(beta_1, bool) or not isinstance(beta_1, int | float) or not 0 < beta_1 < 1:
        raise ValueError(f"beta_1 must be in (0, 1). Received: beta_1={beta_1!r}")
    if seed is not None:
        c.check_positive_int(seed, "seed", minimum=0)

    generator = _generator(latent_dim, shape, generator_filters, kernel_size, init)
    discriminator = _discriminator(shape, discriminator_filters, kernel_size, dropout, init)
    model = DCGAN(generator, discriminator, seed=seed, name=name)
    if compile:
        model.compile(
            d_optimizer=keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1),
            g_optimizer=keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1),
        )
    return model
