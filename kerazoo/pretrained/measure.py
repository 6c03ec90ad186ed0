"""The test metric of a pretrained preset, measured the way its card says.

Classifiers, forecasters and the VAE are scored by the training path's own steps
(`steps.prepare_data` with the card's dataset, seed, split and data options, then
`steps.evaluate`), so the number is the one `kerazoo.train` reports for that test split. A
GAN has no test loss that says whether its images are good; its card's metric is FID's
recipe with a digit classifier in place of Inception: the Fréchet distance between a fixed
set of generated images (a fixed noise seed) and the real test digits, in a pretrained
classifier's features (`frechet_distance`). The share of samples such a classifier labels
with high confidence is no such measure: the mnist_cnn preset gives more than 0.9 to one
class for every one of 200 images of random pixels.
"""

from __future__ import annotations

from kerazoo import pretrained, registry, tasks

# The GAN's metric: `samples` images from noise seed `noise_seed` against the test split's
# digits, in the `features` layer of the `judge` preset.
FRECHET_DISTANCE = "test_frechet_distance"
# The digit judge of the GAN's card and of the vae_gan lesson, and its 128 features before
# the last layer (dense, batch norm, ReLU).
DIGIT_JUDGE = "mnist_cnn:mnist"
DIGIT_FEATURES = "dense_activation_1"


def evaluate_card(card: dict) -> float:
    """The card's test metric, measured on the shipped weights.

    Args:
        card: a preset's card (`kerazoo.pretrained.get_card`).

    Returns:
        The metric's value (`card["metric"]["name"]`).

    Raises:
        ValueError: when the weights fail their hash check, or the test data's vocabulary
            differs from the one the preset was trained with (the data files changed).
    """
    spec = registry.get_spec(card["model"])
    net = pretrained.build_from_card(card, spec.fn, {})
    metric = card["metric"]
    if metric["name"] == FRECHET_DISTANCE:
        return generated_frechet_distance(net, metric, _test_data(card, spec).splits.x_test)
    data = _test_data(card, spec)
    return float(_scores(net, data, spec)[metric["name"]])


def evaluate_preset(model: str, weights: str) -> float:
    """`evaluate_card` of a shipped preset.

    Example:

    ```python
    from kerazoo.pretrained.measure import evaluate_preset

    evaluate_preset("mnist_cnn", "mnist")   # the card's test accuracy
    ```
    """
    return evaluate_card(pretrained.get_card(model, weights))


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature rows (FID's formula):
    `|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`; 0 for the same distribution.

    Tr((S_a S_b)^(1/2)) is the sum of the square roots of S_a S_b's eigenvalues (real and
    non-negative: the product is similar to S_a^(1/2) S_b S_a^(1/2)), so NumPy suffices
    and no matrix square root is needed.

    Args:
        a, b: arrays of shape `(n, features)`, one row per image.
    """
    import numpy as np

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu = a.mean(axis=0) - b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eigenvalues = np.linalg.eigvals(s_a @ s_b).real
    root_trace = np.sqrt(np.clip(eigenvalues, 0.0, None)).sum()
    return float(mu @ mu + np.trace(s_a) + np.trace(s_b) - 2.0 * root_trace)


def feature_extractor(judge: str, layer: str):
    """`images -> features` (float64 NumPy rows) of a pretrained preset's `layer`.

    Args:
        judge: `"MODEL:WEIGHTS"`, e.g. `"mnist_cnn:mnist"`.
        layer: the layer whose outputs are the features, e.g. `"dense_activation_1"`.
    """
    import keras
    import numpy as np

    model, _, weights = judge.partition(":")
    net = registry.create_model(model, weights=weights, compile=False)
    cut = keras.Model(net.inputs, net.get_layer(layer).output)
    return lambda images: np.asarray(cut.predict(images, batch_size=256, verbose=0), np.float64)


def generated_frechet_distance(gan, metric: dict, real_images) -> float:
    """Fréchet distance of `metric["samples"]` images generated from noise seed
    `metric["noise_seed"]` to `real_images`, in the `metric["features"]` layer of the
    `metric["judge"]` preset."""
    import numpy as np

    features = feature_extractor(metric["judge"], metric["features"])
    images = gan.generate(int(metric["samples"]), seed=int(metric["noise_seed"]))
    real = np.asarray(real_images)
    if real.dtype == np.uint8:  # stored pixels; the judge and the generator use [0, 1]
        real = real.astype(np.float32) / 255.0
    return frechet_distance(features(images), features(real))


def _test_data(card: dict, spec):
    import dataclasses

    from kerazoo.config import RunConfig
    from kerazoo.training import steps

    config = RunConfig(
        model=card["model"],
        dataset=card["dataset"],
        seed=card["seed"],
        validation_split=card["split"]["validation_split"],
        data_options=dict(card.get("data_options", {})),
    )
    config = dataclasses.replace(config, batch_size=256, strategy="default")
    data = steps.prepare_data(config, tasks.get_task(spec.task))
    if card.get("vocabulary"):
        shipped = pretrained.card_vocabulary(card)
        if shipped != data.info.vocabulary:
            raise ValueError(
                f"The vocabulary rebuilt from {card['dataset']} differs from the one "
                f"{card['model']}:{card['weights']} was trained with; the data files changed "
                "since. Retrain it (python -m tools.train_presets). "
                f"Received: {len(data.info.vocabulary)} words, {len(shipped)} shipped"
            )
    return data


def _scores(net, data, spec) -> dict:
    from kerazoo.training import steps

    return steps.evaluate(net, data, spec)
