"""Train a zoo model on real data, evaluate the run again, and classify new image files.

    .venv/bin/python examples/train_evaluate_predict.py                      # mnist_cnn, 5 epochs
    .venv/bin/python examples/train_evaluate_predict.py --model lenet5 --epochs 3
    .venv/bin/python examples/train_evaluate_predict.py --max-examples 500 --epochs 1  # quick

The same path as `kerazoo train`, `kerazoo evaluate` and `kerazoo predict`: one
`kerazoo.train` call writes the run folder (metrics.json, model.keras, pictures); evaluating
the folder again reproduces its test metrics; four held-out test digits, written as PNG
files the way a user would have them, are then classified from the files.
"""

import argparse
from pathlib import Path

import kerazoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="mnist_cnn", help="an image classifier of the zoo")
    parser.add_argument("--dataset", default="mnist_sample")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--max-examples", type=int, help="examples per split, for a quick run")
    parser.add_argument("--out", default="runs/example")
    args = parser.parse_args()

    result = kerazoo.train(
        args.model,
        args.dataset,
        epochs=args.epochs,
        max_examples=args.max_examples,
        out=args.out,
        overwrite=Path(args.out, "config.json").exists(),
    )
    print("pictures:", ", ".join(sorted(p.name for p in result.run_dir.glob("*.png"))))

    again = kerazoo.evaluate(result.run_dir)
    print(f"evaluated again: test_accuracy {again['test_accuracy']:.4f}")

    # Four test digits as PNG files, then classified from the files alone.
    from matplotlib import image

    splits, info = kerazoo.data.load_arrays(args.dataset, max_examples=4)
    files = []
    for i, (x, y) in enumerate(zip(splits.x_test, splits.y_test, strict=True)):
        path = result.run_dir / "inputs" / f"test{i}_true{info.class_names[y]}.png"
        path.parent.mkdir(exist_ok=True)
        image.imsave(path, x[:, :, 0], cmap="gray", vmin=0, vmax=1)
        files.append(path)
    for p in kerazoo.predict(result.run_dir, files):
        print(f"{Path(p.source).name}: {p.label} ({p.probability:.1%})")


if __name__ == "__main__":
    main()
