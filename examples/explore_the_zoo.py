"""Tour the zoo: list every family, build a model by name, inspect it, save and reload it.

    .venv/bin/python examples/explore_the_zoo.py [--out runs/explore]

Writes `<out>/mnist_cnn.keras` and `<out>/mnist_cnn.png` (its diagram).
"""

import argparse
from pathlib import Path

import kerazoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/explore")
    out = Path(parser.parse_args().out)

    # Listing needs no Keras: it reads the catalogue.
    for family in ("mlp", "cnn", "resnet", "rnn", "autoencoder", "gan", "transformer"):
        names = kerazoo.list_models(family=family)
        print(f"{family:12} {', '.join(names)}")

    info = kerazoo.model_info("mnist_cnn")
    print(f"\nmnist_cnn: {info.description} ({info.params:,} parameters, {info.reference})")

    # Building imports Keras; overrides go straight to the factory.
    model = kerazoo.create_model("mnist_cnn", dropout=0.3)
    model.summary()

    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "mnist_cnn.keras")
    reloaded = kerazoo.load_model(out / "mnist_cnn.keras")  # safe_mode, zoo classes only
    print(f"reloaded {reloaded.name} with {reloaded.count_params():,} parameters")

    from kerazoo.viz.diagrams import plot

    print(f"diagram: {plot(model, out / 'mnist_cnn.png')}")


if __name__ == "__main__":
    main()
