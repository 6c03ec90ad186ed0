"""The test metric of a pretrained preset, measured the way its card says.

Classifiers, forecasters and the VAE are scored by the training path's own steps
(`steps.prepare_data` with the card's dataset, seed, split and data options, then
`steps.evaluate`), so the number is the one `kerazoo.train` reports for that test split. A
GAN has no test loss that says whether its images are good; its card's metric is the share
of a fixed set of generated images (a fixed noise seed) that a pretrained digit classifier
recognises with high confidence.
"""

from __future__ import annotations

from kerazoo import pretrained, registry, tasks

# The GAN's metric: `samples` images from noise seed `noise_seed`, judged by `judge`.
CONFIDENT_SHARE = "test_confident_share"


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
    if metric["name"] == CONFIDENT_SHARE:
        return confident_share(net, metric)
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


def confident_share(gan, metric: dict) -> float:
    """Share of `metric["samples"]` images generated from noise seed
    `metric["noise_seed"]` that the `metric["judge"]` preset (`"MODEL:WEIGHTS"`) gives a
    probability above `metric["threshold"]` for one class."""
    import numpy as np

    judge_model, _, judge_weights = metric["judge"].partition(":")
    judge = registry.create_model(judge_model, weights=judge_weights, compile=False)
    images = gan.generate(int(metric["samples"]), seed=int(metric["noise_seed"]))
    probabilities = np.asarray(judge.predict(images, batch_size=256, verbose=0))
    return float((probabilities.max(axis=-1) > float(metric["threshold"])).mean())


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
