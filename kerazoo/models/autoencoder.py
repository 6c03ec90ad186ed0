"""Autoencoders: dense, convolutional, denoising and variational (VAE).

An autoencoder squeezes an image through a small code (the latent vector) and rebuilds it;
what it must keep to rebuild well is what it learns. Every model here is
`input -> encoder -> decoder`, with the encoder and decoder as nested `keras.Model`s so
they can be used on their own: `get_encoder(model)` maps images to codes and
`get_decoder(model)` maps codes (or points sampled from a VAE's prior) back to images.

Images are expected in [0, 1]; the decoders end in a sigmoid.
"""

from __future__ import annotations

import keras
from keras import ops

from kerazoo.models import _common as c
from kerazoo.registry import register_model

RECONSTRUCTION_LOSSES = ("mse", "mae", "binary_crossentropy")
_DATASETS = ("mnist", "fashion_mnist", "mnist_sample")
# The VAE encoder's log-variance head starts here (bias), i.e. a code spread of exp(-2.5).
INITIAL_LOG_VARIANCE = -5.0


# --- building blocks ------------------------------------------------------------------


def _check_image_shape(input_shape, *, stages: int, model: str) -> tuple:
    """An (h, w, c) shape that `stages` stride-2 steps halve exactly (so the decoder's
    stride-2 steps rebuild the very same size)."""
    shape = c.check_input_shape(
        input_shape, rank=3, model=model, layout="(height, width, channels)"
    )
    step = 2**stages
    if shape[0] % step or shape[1] % step:
        raise ValueError(
            f"input_shape does not fit {model}: {stages} stride-2 conv stage(s) need height "
            f"and width divisible by {step} (and >= {step}). Received: input_shape={input_shape!r}"
        )
    return shape


def _check_loss(loss):
    if isinstance(loss, keras.losses.Loss):
        return loss
    return c.check_choice(loss, "loss", RECONSTRUCTION_LOSSES)


def _conv_encoder(shape, filters, hidden_units, latent_outputs, activation, init, name):
    """Strided convs (each halves height and width) -> Flatten -> Dense layers -> code(s).

    `latent_outputs` is a list of (name, units) or (name, units, bias initializer): one
    code for an autoencoder, two (mean and log-variance) for a VAE.
    """
    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = keras.layers.Conv2D(
            f,
            3,
            strides=2,
            padding="same",
            activation=activation,
            kernel_initializer=init,
            name=f"conv_{i}",
        )(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(
            units, activation=activation, kernel_initializer=init, name=f"dense_{i}"
        )(x)
    outputs = [
        keras.layers.Dense(
            head[1], kernel_initializer=init, bias_initializer=(*head, "zeros")[2], name=head[0]
        )(x)
        for head in latent_outputs
    ]
    return keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name=name)


def _conv_decoder(latent_dim, shape, filters, activation, init, name):
    """Dense -> reshape to the encoder's last feature map -> stride-2 transposed convs ->
    a sigmoid transposed conv with the image's channels."""
    steps = 2 ** len(filters)
    h, w, channels = shape[0] // steps, shape[1] // steps, shape[2]
    inputs = keras.Input(shape=(latent_dim,), name="latent")
    x = keras.layers.Dense(
        h * w * filters[-1], activation=activation, kernel_initializer=init, name="project"
    )(inputs)
    x = keras.layers.Reshape((h, w, filters[-1]), name="reshape")(x)
    for i, f in enumerate(reversed(filters), start=1):
        x = keras.layers.Conv2DTranspose(
            f,
            3,
            strides=2,
            padding="same",
            activation=activation,
            kernel_initializer=init,
            name=f"deconv_{i}",
        )(x)
    outputs = keras.layers.Conv2DTranspose(
        channels,
        3,
        padding="same",
        activation="sigmoid",
        dtype=c.OUTPUT_DTYPE,
        name="reconstruction",
    )(x)
    return keras.Model(inputs, outputs, name=name)


def _chain(shape, stages: list, name: str) -> keras.Model:
    """The full model: input -> each stage (a layer or a nested model) in turn."""
    inputs = keras.Input(shape=shape, name="input")
    x = inputs
    for stage in stages:
        x = stage(x)
    return keras.Model(inputs, x, name=name)


def get_encoder(model: keras.Model) -> keras.Model:
    """The encoder sub-model of any kerazoo autoencoder (images -> latent code).

    For a `VAE` it returns `(z_mean, z_log_var)`; for the others the code itself.

    Raises:
        ValueError: if `model` has no sub-model named "encoder".
    """
    return _sub_model(model, "encoder")


def get_decoder(model: keras.Model) -> keras.Model:
    """The decoder sub-model of any kerazoo autoencoder (latent code -> image in [0, 1]).

    Raises:
        ValueError: if `model` has no sub-model named "decoder".
    """
    return _sub_model(model, "decoder")


def _sub_model(model, part: str):
    found = getattr(model, part, None)
    if isinstance(found, keras.Model):
        return found
    try:
        found = model.get_layer(part)
    except (ValueError, AttributeError):
        found = None
    if isinstance(found, keras.Model):
        return found
    raise ValueError(
        f"The model has no {part} sub-model (a kerazoo autoencoder has one named {part!r}). "
        f"Received: model={getattr(model, 'name', model)!r}"
    )


# --- the variational autoencoder: sampling layer, loss and model ----------------------


@keras.saving.register_keras_serializable(package="kerazoo")
class Sampling(keras.layers.Layer):
    """Draws `z = z_mean + exp(z_log_var / 2) * eps`, eps ~ N(0, I) (the reparameterisation
    trick of Kingma & Welling 2014, so gradients flow through the mean and variance).

    It also records the KL divergence of N(z_mean, exp(z_log_var)) from the N(0, I) prior,
    averaged over the batch, with `add_loss`: this is the VAE's regulariser on the code.
    Outside training it returns `z_mean`, so a VAE's reconstructions are deterministic.

    Args:
        seed: seed of the layer's own `keras.random.SeedGenerator` (reproducible draws).
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        z_mean, z_log_var = inputs
        # Closed form for two Gaussians (Kingma & Welling 2014, appendix B), per example.
        # In float32 whatever the layer's policy: it is a loss (added to the float32
        # reconstruction loss), and exp() of a float16 log-variance overflows above 11.
        mean, log_var = ops.cast(z_mean, "float32"), ops.cast(z_log_var, "float32")
        kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)
        self.add_loss(ops.mean(kl))
        if not training:
            return z_mean
        eps = keras.random.normal(ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return super().get_config() | {"seed": self.seed}


@keras.saving.register_keras_serializable(package="kerazoo")
class SummedBinaryCrossentropy(keras.losses.Loss):
    """Binary crossentropy summed over every pixel of an example, then averaged over the
    batch: the Bernoulli log-likelihood term of the VAE's evidence lower bound.

    Averaging over pixels instead (Keras's `binary_crossentropy`) would shrink it about
    784 times against the KL term and the VAE would ignore its input.
    """

    def __init__(self, name="summed_binary_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        # The loss's own dtype (float32 by default), also when `call` is used directly on a
        # mixed-precision model's 16-bit output: a sum over 784 pixels needs the digits.
        y_pred = ops.cast(y_pred, self.dtype)
        y_true = ops.cast(y_true, self.dtype)
        pixel_losses = ops.binary_crossentropy(y_true, y_pred)
        return ops.sum(ops.reshape(pixel_losses, (ops.shape(pixel_losses)[0], -1)), axis=-1)


@keras.saving.register_keras_serializable(package="kerazoo")
class VAE(keras.Model):
    """Variational autoencoder: `encoder -> (z_mean, z_log_var) -> Sampling -> decoder`.

    Trained with the negative evidence lower bound: the summed binary crossentropy of the
    reconstruction plus the KL divergence of the code's distribution from N(0, I). Both
    `vae.fit(x)` and `vae.fit(x, x)` work; `fit` reports `loss`, `reconstruction_loss` and
    `kl_loss`. Calling the model (or `predict`) outside training decodes `z_mean`.

    Args:
        encoder: a model mapping images to `[z_mean, z_log_var]`.
        decoder: a model mapping a latent vector to an image in [0, 1].
        seed: seed of the sampling layer.
        name: model name.

    Example:

    ```python
    model = kerazoo.create_model("vae")
    model.fit(x_train, epochs=10)
    digits = get_decoder(model).predict(np.random.normal(size=(16, 2)))
    ```
    """

    def __init__(self, encoder, decoder, seed: int | None = None, name: str = "vae", **kwargs):
        image = keras.Input(shape=tuple(encoder.input_shape[1:]), name="input")
        z_mean, z_log_var = encoder(image)
        sampler = Sampling(seed=seed, name="sampling")
        reconstruction = decoder(sampler([z_mean, z_log_var]))
        # Built as a functional graph so summary(), plot_model(), input_shape and
        # get_layer("encoder") work as for the other autoencoders.
        super().__init__(image, reconstruction, name=name, **kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.sampler = sampler
        self.seed = seed
        self.reconstruction_loss_fn = SummedBinaryCrossentropy()
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y is None:  # vae.fit(x): the target is the input itself.
            y = x
        # How the loss scales under tf.distribute (MirroredStrategy): every term goes
        # through Keras's own reduction. The reconstruction `Loss` divides its per-example
        # sum by the local batch and then by `num_replicas_in_sync`; `super().compute_loss`
        # adds the KL term that the sampling layer recorded with `add_loss` (plus any weight
        # penalty, plus a loss given to compile(), none by default), and Keras's TensorFlow
        # trainer scales each such term by 1 / num_replicas_in_sync as well. So each replica
        # contributes its share of the GLOBAL batch mean and the summed gradients equal one
        # replica's on the whole batch.
        reconstruction = self.reconstruction_loss_fn(y, y_pred, sample_weight)
        total = reconstruction + super().compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training
        )
        # The trackers take the unscaled local means; keras.metrics.Mean combines replicas.
        per_example = self.reconstruction_loss_fn.call(y, y_pred)
        self.reconstruction_loss_tracker.update_state(per_example, sample_weight=sample_weight)
        # The model's forward-pass losses, not `self.sampler.losses`: under JAX's stateless
        # train step the sampler's own list stays empty (read 0). The VAE adds no weight
        # penalty, so they are the KL term alone.
        self.kl_loss_tracker.update_state(sum(self.losses))
        return total

    def get_config(self):
        return {
            **c.serialize_parts(self, ("encoder", "decoder")),
            "seed": self.seed,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**c.deserialize_parts(config, ("encoder", "decoder"), custom_objects))


# --- the builders ---------------------------------------------------------------------


def _common_args(activation, kernel_initializer, optimizer, learning_rate, latent_dim, seed=None):
    c.check_positive_int(latent_dim, "latent_dim")
    if seed is not None:
        c.check_positive_int(seed, "seed", minimum=0)
    activation = c.check_activation(activation)
    init = c.check_initializer(kernel_initializer)
    c.get_optimizer(optimizer, learning_rate)  # fails early on a bad optimizer
    return activation, init


@register_model(
    family="autoencoder",
    task="reconstruction",
    description="Dense autoencoder: flatten, 128 ReLU -> 32-d code -> 128 ReLU -> sigmoid image.",
    reference="Hinton & Salakhutdinov 2006; Chollet 2016, 'Building Autoencoders in Keras'",
    datasets=_DATASETS,
    tiny={"hidden_units": (16,), "latent_dim": 8},
    inputs=("input_shape",),
    metrics=("mae",),
)
def dense_autoencoder(
    *,
    input_shape: tuple = (28, 28, 1),
    latent_dim: int = 32,
    hidden_units=(128,),
    activation="relu",
    kernel_initializer="glorot_uniform",
    loss="binary_crossentropy",
    api: str = "functional",
    optimizer="adam",
    learning_rate: float | None = None,
    compile: bool = True,
    name: str = "dense_autoencoder",
) -> keras.Model:
    """A fully connected autoencoder: `Flatten -> Dense* -> code -> Dense* -> sigmoid image`.

    The decoder mirrors the encoder's hidden layers. The code layer is linear.

    Args:
        input_shape: shape of one example (an image such as `(28, 28, 1)` or a vector).
        latent_dim: size of the code.
        hidden_units: widths of the encoder's hidden layers, e.g. `(128, 64)`; the decoder
            uses them in reverse.
        activation: hidden activation: `"relu"`, `"sigmoid"`, `"tanh"`, ...
        kernel_initializer: `"glorot_uniform"` (alias `"xavier"`), `"he_normal"`, ...
        loss: `"binary_crossentropy"` (pixels as probabilities: unlike `"mse"` its
            gradient does not vanish where the sigmoid saturates), `"mse"`, `"mae"` or a
            `keras.losses.Loss`.
        api: `"functional"` (encoder and decoder are nested functional models) or
            `"sequential"` (a Sequential of two Sequentials): the same layers either way.
        optimizer: `"adam"`, `"sgd"`, `"rmsprop"`, `"adamw"` or an optimizer instance.
        learning_rate: learning rate for a named optimizer (its default when None).
        compile: compile with `loss` and the `mae` metric; False returns the raw model.
        name: model name.

    Returns:
        A `keras.Model` with sub-models `get_layer("encoder")` and `get_layer("decoder")`.

    Raises:
        ValueError: for any invalid argument, naming it and the received value.

    Example:

    ```python
    model = dense_autoencoder(latent_dim=16, hidden_units=(256, 64))
    model.fit(x_train, x_train, epochs=5)
    codes = get_encoder(model).predict(x_test)
    ```
    """
    shape = tuple(input_shape) if isinstance(input_shape, list | tuple) else input_shape
    if not isinstance(shape, tuple) or not shape:
        raise ValueError(
            f"input_shape must be a non-empty tuple of positive integers. "
            f"Received: input_shape={input_shape!r}"
        )
    shape = c.check_input_shape(shape, rank=len(shape), model=name)
    hidden_units = c.check_units(hidden_units)
    activation, init = _common_args(
        activation, kernel_initializer, optimizer, learning_rate, latent_dim
    )
    loss = _check_loss(loss)
    c.check_api(api, model=name)

    size = 1
    for d in shape:
        size *= d
    encoder_layers = [keras.layers.Flatten(name="flatten")] if len(shape) > 1 else []
    encoder_layers += [
        keras.layers.Dense(u, activation=activation, kernel_initializer=init, name=f"dense_{i}")
        for i, u in enumerate(hidden_units, start=1)
    ]
    encoder_layers.append(keras.layers.Dense(latent_dim, kernel_initializer=init, name="code"))
    decoder_layers = [
        keras.layers.Dense(u, activation=activation, kernel_initializer=init, name=f"dense_{i}")
        for i, u in enumerate(reversed(hidden_units), start=1)
    ]
    decoder_layers.append(
        keras.layers.Dense(size, activation="sigmoid", dtype=c.OUTPUT_DTYPE, name="reconstruction")
    )
    if len(shape) > 1:
        decoder_layers.append(keras.layers.Reshape(shape, dtype=c.OUTPUT_DTYPE, name="reshape"))

    encoder = c.assemble(encoder_layers, input_shape=shape, api=api, name="encoder")
    decoder = c.assemble(decoder_layers, input_shape=(latent_dim,), api=api, name="decoder")
    if api == "sequential":
        model = keras.Sequential(
            [keras.Input(shape=shape, name="input"), encoder, decoder], name=name
        )
    else:
        model = _chain(shape, [encoder, decoder], name)
    return c.compile_for_task(
        model,
        "reconstruction",
        compile=compile,
        optimizer=optimizer,
        learning_rate=learning_rate,
        loss=loss,
    )


@register_model(
    family="autoencoder",
    task="reconstruction",
    description="Conv autoencoder: stride-2 convs 32-64 -> 16-d code -> transposed convs -> sigmoid.",
    reference="Masci et al. 2011, 'Stacked Convolutional Auto-Encoders'; Keras example 'Convolutional autoencoder'",
    datasets=_DATASETS,
    tiny={"filters": (4, 8), "latent_dim": 8},
    inputs=("input_shape",),
    metrics=("mae",),
)
def conv_autoencoder(
    *,
    input_shape: tuple = (28, 28, 1),
    filters=(32, 64),
    latent_dim: int = 16,
    hidden_units=(),
    activation="relu",
    kernel_initializer="he_normal",
    noise_stddev: float = 0.0,
    seed: int | None = None,
    loss="binary_crossentropy",
    api: str = "functional",
    optimizer="adam",
    learning_rate: float | None = None,
    compile: bool = True,
    name: str = "conv_autoencoder",
) -> keras.Model:
    """A convolutional autoencoder: `[Conv2D stride 2]* -> Dense code -> Dense ->
    [Conv2DTranspose stride 2]* -> sigmoid Conv2DTranspose`.

    Each entry of `filters` is one 3x3 stride-2 conv that halves height and width, and the
    decoder undoes it with a stride-2 transposed conv, so height and width must be
    divisible by `2 ** len(filters)` (4 for the default, so 28x28 works).

    Args:
        input_shape: `(height, width, channels)` of one image, values in [0, 1].
        filters: channels of each conv stage, e.g. `(32, 64)`; the decoder reverses them.
        latent_dim: size of the code.
        hidden_units: widths of Dense layers between the convs and the code (none by
            default).
        activation: hidden activation.
        kernel_initializer: `"he_normal"` (alias `"he"`, suited to ReLU; on real digits
            it reached about half the error of `"glorot_uniform"` after 3 epochs),
            `"glorot_uniform"` (`"xavier"`), ...
        noise_stddev: standard deviation of a `GaussianNoise` layer in front of the
            encoder (0 = none); it corrupts inputs during training only (a denoising
            autoencoder, see `denoising_autoencoder`).
        seed: seed of the noise layer.
        loss: `"binary_crossentropy"` (pixels as probabilities: unlike `"mse"` its
            gradient does not vanish where the sigmoid saturates), `"mse"`, `"mae"` or a
            `keras.losses.Loss`.
        api: `"functional"` only (the encoder and decoder are nested sub-models).
        optimizer: `"adam"`, `"sgd"`, `"rmsprop"`, `"adamw"` or an optimizer instance.
        learning_rate: learning rate for a named optimizer (its default when None).
        compile: compile with `loss` and the `mae` metric; False returns the raw model.
        name: model name.

    Returns:
        A functional `keras.Model` with sub-models `get_layer("encoder")` and
        `get_layer("decoder")`.

    Raises:
        ValueError: for any invalid argument, naming it and the received value.

    Example:

    ```python
    model = conv_autoencoder(filters=(16, 32), latent_dim=8)
    model.fit(x_train, x_train, epochs=5)
    ```
    """
    filters = c.check_units(filters, "filters", allow_empty=False)
    shape = _check_image_shape(input_shape, stages=len(filters), model=name)
    hidden_units = c.check_units(hidden_units)
    activation, init = _common_args(
        activation, kernel_initializer, optimizer, learning_rate, latent_dim, seed
    )
    noise_stddev = c.check_non_negative(noise_stddev, "noise_stddev")
    loss = _check_loss(loss)
    c.check_api(api, model=name, functional_only="its encoder and decoder are nested sub-models")

    encoder = _conv_encoder(
        shape, filters, hidden_units, [("code", latent_dim)], activation, init, "encoder"
    )
    decoder = _conv_decoder(latent_dim, shape, filters, activation, init, "decoder")
    stages = [encoder, decoder]
    if noise_stddev:
        # Outside the encoder, so get_encoder(model) encodes clean images.
        stages.insert(0, keras.layers.GaussianNoise(noise_stddev, seed=seed, name="noise"))
    model = _chain(shape, stages, name)
    return c.compile_for_task(
        model,
        "reconstruction",
        compile=compile,
        optimizer=optimizer,
        learning_rate=learning_rate,
        loss=loss,
    )


denoising_autoencoder = register_model(
    name="denoising_autoencoder",
    base=conv_autoencoder,
    preset={"noise_stddev": 0.3, "name": "denoising_autoencoder"},
    description="Denoising conv autoencoder: Gaussian noise (std 0.3, training only) before the encoder.",
    reference="Vincent et al. 2008, 'Extracting and Composing Robust Features with Denoising Autoencoders'",
    datasets=_DATASETS,
    tiny={"filters": (4, 8), "latent_dim": 8},
)


@register_model(
    family="autoencoder",
    task="reconstruction",
    description="Variational autoencoder: conv encoder -> 16-d Gaussian code, sampled -> conv decoder.",
    reference="Kingma & Welling 2014, 'Auto-Encoding Variational Bayes'; Keras example 'Variational AutoEncoder'",
    datasets=_DATASETS,
    tiny={"filters": (4, 8), "hidden_units": (8,), "latent_dim": 2},
    inputs=("input_shape",),
    metrics=(),
)
def vae(
    *,
    input_shape: tuple = (28, 28, 1),
    filters=(32, 64),
    hidden_units=(128,),
    latent_dim: int = 16,
    activation="relu",
    kernel_initializer="glorot_uniform",
    seed: int | None = None,
    optimizer="adam",
    learning_rate: float | None = None,
    compile: bool = True,
    name: str = "vae",
) -> VAE:
    """A convolutional variational autoencoder (the Keras example's architecture, with a
    128-unit Dense layer before the code instead of 16).

    The encoder gives the mean and log-variance of a Gaussian over the code; training
    samples a code from it (reparameterised) and decodes it, and minimises the summed
    pixel binary crossentropy plus the KL divergence from N(0, I).

    The code has 16 dimensions by default. `latent_dim=2` (the Keras example's size) lets
    the whole code space be drawn as a 2-D map of digits (the `vae_gan` lesson does), but
    two numbers cannot hold which digit an image is: measured on the 3,600-digit MNIST
    sample, 30 epochs at batch 32 (seed 0), the 2-D code rebuilt 65% of test digits as
    their own class (nearest training digit; 4s as 9s, 3s and 5s as 8s) at a test loss of
    154.1 nats, the 16-D code 91.5% at 99.7 nats (the inputs themselves score 93% on this
    check). kerazoo 0.1.0 defaulted to 2; pass `latent_dim=2` for the map.

    The log-variance head's bias starts at `INITIAL_LOG_VARIANCE` (-5, a code spread of
    0.08) rather than 0: started at the prior's spread, the decoder first learns to ignore
    the noisy code and most of the encoder's ReLU units die, so on a small dataset (the
    3,600-digit MNIST sample) digits decode to a few blurred prototypes.

    The Dense layer in front of the two code heads has 128 units (the Keras example: 16).
    Measured on the 3,600-digit sample, 40 epochs at batch 32 (seed 0): 16 units reached a
    test loss of 159.9 and 57% of test digits rebuilt as their own class (nearest training
    digit); 128 units 154.8 and 65%, already 60% after 15 epochs. A KL warm-up (beta 0 ->
    1 over 10 epochs) added nothing with 128 units (156.9, 63%) and little with 16 (158.6,
    65%). Give it 30 epochs or more (about 3,400 updates at batch 32).

    Args:
        input_shape: `(height, width, channels)` of one image, values in [0, 1]; height
            and width divisible by `2 ** len(filters)`.
        filters: channels of each stride-2 conv stage; the decoder reverses them.
        hidden_units: Dense layers between the convs and the two code heads. With 16 (the
            Keras example) the 2-D code kept the class of fewer digits (see above).
        latent_dim: size of the code.
        activation: hidden activation.
        kernel_initializer: `"glorot_uniform"` (alias `"xavier"`), `"he_normal"`, ...
        seed: seed of the sampling layer.
        optimizer: `"adam"`, `"sgd"`, `"rmsprop"`, `"adamw"` or an optimizer instance.
        learning_rate: learning rate for a named optimizer (its default when None).
        compile: compile with the optimizer (the VAE computes its own loss); False returns
            the raw model.
        name: model name.

    Returns:
        A `VAE` (a `keras.Model`) with `.encoder` and `.decoder`.

    Raises:
        ValueError: for any invalid argument, naming it and the received value.

    Example:

    ```python
    model = vae(latent_dim=8)
    model.fit(x_train, epochs=10, batch_size=128)
    samples = model.decoder.predict(np.random.normal(size=(16, 8)))
    ```
    """
    filters = c.check_units(filters, "filters", allow_empty=False)
    shape = _check_image_shape(input_shape, stages=len(filters), model=name)
    hidden_units = c.check_units(hidden_units)
    activation, init = _common_args(
        activation, kernel_initializer, optimizer, learning_rate, latent_dim, seed
    )
    # The log-variance head starts at log(sigma^2) = -5 (sigma ~ 0.08), not at 0 (sigma = 1,
    # the prior's spread): at the start the decoder then sees the encoder's code, not noise,
    # and learns to use it, and the KL term widens the code's distribution afterwards.
    # Started at sigma = 1 on the 3,600-digit sample, the decoder learned to ignore the
    # noisy code (KL ~0.4 nats after an epoch), most of the encoder's ReLU units died
    # (3-4 of the 16 it had then still active) and every digit decoded to one of a few
    # blurred prototypes.
    encoder = _conv_encoder(
        shape,
        filters,
        hidden_units,
        [
            ("z_mean", latent_dim),
            ("z_log_var", latent_dim, keras.initializers.Constant(INITIAL_LOG_VARIANCE)),
        ],
        activation,
        init,
        "encoder",
    )
    decoder = _conv_decoder(latent_dim, shape, filters, activation, init, "decoder")
    model = VAE(encoder, decoder, seed=seed, name=name)
    if compile:
        model.compile(optimizer=c.get_optimizer(optimizer, learning_rate))
    return model
