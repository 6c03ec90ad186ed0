"""The `kerazoo` command: a thin front over the library.

It parses arguments, calls the library and turns the library's ValueError / ImportError
into one line on stderr and exit status 2. `--help`, `list` and `info` never import Keras or
TensorFlow (they read the catalogue), so they answer in a fraction of a second.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import tempfile

from kerazoo import __version__, registry


def parse_overrides(pairs: list[str] | None) -> dict:
    """`["dropout=0.3", "hidden_units=(64,32)", "activation=tanh"]` -> keyword arguments.

    Values are read as Python literals where they parse (numbers, tuples, True/None),
    else kept as strings.
    """
    overrides = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--set takes key=value. Received: --set {pair!r}")
        try:
            overrides[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            overrides[key] = raw
    return overrides


def load_keras_quietly() -> None:
    """Imports Keras (and TensorFlow) with their C++ start-up lines kept off the terminal;
    they are shown only if the import itself fails (see `kerazoo._quiet`)."""
    if "keras" in sys.modules:
        return
    from kerazoo._quiet import quiet_stderr

    with quiet_stderr():
        import keras

        keras.ops.convert_to_numpy(keras.ops.zeros(()))  # the first device touch logs too


def _fmt_shape(shape) -> str:
    if shape and isinstance(shape[0], tuple | list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def cmd_list(args) -> int:
    names = registry.list_models(args.pattern, family=args.family)
    if not names:
        print(f"No model matches {args.pattern!r}.", file=sys.stderr)
        return 1
    rows = [("name", "family", "task", "params", "input")]
    for name in names:
        info = registry.model_info(name)
        rows.append(
            (name, info.family, info.task, f"{info.params:,}", _fmt_shape(info.input_shape))
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        cells = [
            c.rjust(w) if j == 3 else c.ljust(w)
            for j, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\n{len(names)} models")
    return 0


def cmd_info(args) -> int:
    info = registry.model_info(args.name)
    fields = [
        ("name", info.name),
        ("family", info.family),
        ("task", info.task),
        ("description", info.description),
        ("reference", info.reference or "-"),
        ("input shape", _fmt_shape(info.input_shape)),
        ("output shape", _fmt_shape(info.output_shape)),
        ("classes", "-" if info.num_classes is None else str(info.num_classes)),
        ("parameters", f"{info.params:,}"),
        ("datasets", ", ".join(info.datasets) or "-"),
    ]
    for key, value in fields:
        print(f"{key + ':':14}{value}")
    entry = registry.catalog_entry(args.name)
    if entry is not None:
        summary = entry["summary"]
    else:  # a model registered by user code: build it to summarise it
        from kerazoo.catalog import model_summary

        load_keras_quietly()
        summary = model_summary(registry.create_model(args.name, compile=False))
    print()
    print(summary, end="")
    return 0


def cmd_build(args) -> int:
    """Builds a model, prints its summary, saves `<out>/model.keras` and its diagram."""
    from pathlib import Path

    overrides = parse_overrides(args.set)
    out = Path(args.out or Path("runs") / args.name)
    load_keras_quietly()
    model = registry.create_model(args.name, **overrides)  # validates before writing anything
    if not args.no_diagram:
        from kerazoo.viz.diagrams import check_graphviz

        check_graphviz()
    from kerazoo.catalog import model_summary

    print(model_summary(model), end="")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        # Save the optimizer's (zero) slots too, so loading restores it without Keras's
        # "Skipping variable loading for optimizer" warning.
        optimizer.build(model.trainable_variables)
    out.mkdir(parents=True, exist_ok=True)
    # Write into a temporary folder beside the target, then move: never a half-written file.
    with tempfile.TemporaryDirectory(dir=out, prefix=".tmp-") as tmp:
        model.save(os.path.join(tmp, "model.keras"))
        os.replace(os.path.join(tmp, "model.keras"), out / "model.keras")
        written = [out / "model.keras"]
        if not args.no_diagram:
            from kerazoo.viz.diagrams import plot

            plot(model, Path(tmp) / "architecture.png")
            os.replace(Path(tmp) / "architecture.png", out / "architecture.png")
            written.append(out / "architecture.png")
    print(f"{args.name}: {model.count_params():,} parameters")
    for path in written:
        print(f"wrote {path}")
    return 0


def _notices() -> None:
    """Library warnings (e.g. a dataset fallback) as one `notice:` line each on stderr."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UserWarning) and "kerazoo" in filename:
            print(f"notice: {message}", file=sys.stderr, flush=True)

    warnings.showwarning = show


def cmd_train(args) -> int:
    from kerazoo.training import run

    settings = dict(
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        learning_rate=args.lr,
        lr_schedule=args.lr_schedule,
        strategy=args.strategy,
        seed=args.seed,
        max_examples=args.max_examples,
        early_stopping=not args.no_early_stopping,
        patience=args.patience,
        overrides=parse_overrides(args.set),
    )
    where = dict(out=args.out, resume=args.resume, overwrite=args.overwrite)
    run.plan(args.name, args.dataset, **where, **settings)  # bad input: answered at once
    _notices()
    chief = True
    if args.strategy == "multiworker":
        from kerazoo._quiet import quiet_stderr
        from kerazoo.training import distribute, multiworker

        chief = multiworker.read_tf_config()["chief"]
        with quiet_stderr():  # TensorFlow's start-up lines
            # Before Keras touches a device: collectives are configured at start-up only.
            distribute.get_strategy("multiworker")
    load_keras_quietly()
    try:
        result = run.train(args.name, args.dataset, **where, **settings, verbose=args.verbose)
    except run.TrainingDiverged as err:
        print(f"kerazoo train: {err}", file=sys.stderr)
        return 1
    if not chief:
        return 0  # the chief writes the run folder
    written = sorted(p.name for p in result.run_dir.iterdir() if not p.name.startswith("."))
    print(f"wrote {result.run_dir}: {', '.join(written)}")
    return 0


def cmd_evaluate(args) -> int:
    from kerazoo.training.evaluate import evaluate

    _notices()
    load_keras_quietly()
    scores = evaluate(args.path, args.dataset)
    print(
        f"{scores['dataset']} test split ({scores['n_test']:,} examples; {scores['dataset_source']})"
    )
    for key, value in scores.items():
        if key.startswith("test_"):
            print(f"{key:18}{value:.4f}")
    return 0


def cmd_predict(args) -> int:
    from kerazoo.training.predict import predict

    load_keras_quietly()
    for p in predict(args.model, args.files):
        text = f"  {p.text[:70]}" if p.text else ""
        print(f"{p.source}: {p.label} ({p.probability:.1%}){text}")
    return 0


def cmd_diagram(args) -> int:
    """Draws one model, a saved model file, or every registered model (`--all`)."""
    from pathlib import Path

    from kerazoo.viz import diagrams

    if args.all == bool(args.name):
        raise ValueError(
            "Give one model (a registered name or a .keras file) or --all, not both or "
            f"neither. Received: name={args.name!r}, --all={args.all}"
        )
    overrides = parse_overrides(args.set)
    if args.all and overrides:
        raise ValueError(f"--set applies to one model, not --all. Received: --set {args.set}")
    names = registry.list_models() if args.all else [args.name]
    is_file = not args.all and (args.name.endswith(".keras") or os.sep in args.name)
    if is_file and not Path(args.name).is_file():
        raise ValueError(f"Model file not found. Received: {args.name}")
    if not is_file:
        for name in names:
            registry.model_info(name)  # an unknown name: close matches, before TensorFlow
    diagrams.check_graphviz()  # before TensorFlow is loaded and anything is built
    out = Path(args.out)
    load_keras_quietly()
    import keras

    for name in names:
        stem = Path(name).stem if is_file else name
        model = diagrams.resolve_model(name, **overrides)
        written = [
            diagrams.plot(
                model,
                out / f"{stem}.{args.format}",
                rankdir=args.rankdir,
                show_shapes=not args.no_shapes,
            )
        ]
        if args.parts:
            written += diagrams.plot_parts(
                model, out, fmt=args.format, prefix=stem, rankdir=args.rankdir
            )
        print(", ".join(f"wrote {p}" for p in written), flush=True)
        keras.backend.clear_session()  # --all builds 24 models; keep memory flat
    return 0


def _verbosity(value: str):
    if value == "auto":
        return value
    if value in ("0", "1", "2"):
        return int(value)
    raise argparse.ArgumentTypeError(f"must be auto, 0, 1 or 2, got {value!r}")


def _add_train_parser(sub) -> None:
    from kerazoo.training.distribute import TRAIN_STRATEGIES

    p = sub.add_parser(
        "train",
        help="train a model on real data and write a run folder (metrics, model, pictures)",
        description="Train NAME on its default dataset (or --dataset) and write the run "
        "folder: config.json, model.keras, metrics.json, history.csv, history.png, "
        "architecture.png and the task's pictures.",
    )
    p.add_argument("name", help="a model name (kerazoo list)")
    p.add_argument("--dataset", help="dataset (default: the model's first; see kerazoo info NAME)")
    p.add_argument("--epochs", type=int, default=10, help="epochs (default 10)")
    p.add_argument(
        "--batch-size", type=int, help="global batch size (default 128 for 20k+ examples, else 32)"
    )
    p.add_argument(
        "--optimizer", choices=("adam", "sgd", "rmsprop", "adamw"), help="default: the model's"
    )
    p.add_argument("--lr", type=float, help="learning rate (default: the model's)")
    p.add_argument(
        "--lr-schedule",
        choices=("constant", "cosine", "step", "plateau"),
        default="constant",
        help="learning-rate schedule (default constant)",
    )
    p.add_argument(
        "--strategy", choices=TRAIN_STRATEGIES, default="auto", help="tf.distribute strategy"
    )
    p.add_argument("--seed", type=int, default=0, help="seed (weights, split, order)")
    p.add_argument("--out", help="run folder (default runs/NAME)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue the run in --out")
    group.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    p.add_argument("--max-examples", type=int, help="at most N examples per split (quick runs)")
    p.add_argument("--patience", type=int, default=5, help="early-stopping patience (default 5)")
    p.add_argument("--no-early-stopping", action="store_true", help="run every epoch")
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="model argument (repeatable)"
    )
    p.add_argument(
        "--verbose",
        type=_verbosity,
        default="auto",
        help="auto (progress bar on a terminal, a line per epoch otherwise), 0, 1 or 2",
    )
    p.set_defaults(func=cmd_train)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kerazoo",
        description="The Keras 3 model zoo for deep-learning basics.",
        epilog="Run `kerazoo COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"kerazoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="list the models (name, family, task, params, input)")
    p.add_argument("pattern", nargs="?", help="shell wildcard, e.g. 'resnet*'")
    p.add_argument(
        "--family", help="only this family (mlp, cnn, resnet, rnn, autoencoder, gan, transformer)"
    )
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="describe one model and print its Keras summary")
    p.add_argument("name")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("build", help="build a model, print its summary, save it and its diagram")
    p.add_argument("name")
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="factory argument (repeatable)"
    )
    p.add_argument("--out", help="output folder (default: runs/NAME)")
    p.add_argument("--no-diagram", action="store_true", help="skip architecture.png")
    p.set_defaults(func=cmd_build)

    _add_train_parser(sub)

    p = sub.add_parser(
        "diagram",
        help="draw architecture diagrams (a model, a .keras file, or --all)",
        description="Draw NAME (a registered model, built with --set overrides) or a saved "
        "MODEL.keras to OUT/<name>.<format>; --all draws every registered model.",
    )
    p.add_argument("name", nargs="?", help="registered model name or .keras file")
    p.add_argument("--all", action="store_true", help="every registered model")
    p.add_argument("--format", choices=("png", "svg", "pdf", "dot"), default="png")
    p.add_argument("--out", default="diagrams", help="output folder (default: diagrams)")
    p.add_argument(
        "--parts",
        action="store_true",
        help="also draw each part (generator/discriminator, encoder/decoder, transformer block)",
    )
    p.add_argument("--rankdir", choices=("TB", "LR"), default="TB", help="layout direction")
    p.add_argument("--no-shapes", action="store_true", help="leave out the layer shapes")
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="model argument (repeatable)"
    )
    p.set_defaults(func=cmd_diagram)

    from kerazoo.export import add_parser as add_export_parser
    from kerazoo.launch import add_parser as add_launch_parser
    from kerazoo.tuning.search import add_parser as add_tune_parser

    add_export_parser(sub)
    add_tune_parser(sub)
    add_launch_parser(sub)

    p = sub.add_parser("evaluate", help="test metrics of a run folder or a .keras model")
    p.add_argument("path", help="run folder or .keras file")
    p.add_argument("--dataset", help="dataset (default: the run's)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify PNG/JPEG images or lines of text files")
    p.add_argument("model", help="run folder or .keras file")
    p.add_argument("files", nargs="+", help="images (image models) or text files (text models)")
    p.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, ImportError) as err:
        # The library's errors already name the problem and the fix: one line, exit 2.
        message = " ".join(str(err).split())
        print(f"kerazoo {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
