"""`kerazoo list`, `info`, `build` and `diagram`: the models themselves.

`list` and `info` read the catalogue, so they never import Keras or TensorFlow.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from kerazoo import config, registry
from kerazoo.cli.notices import load_keras_quietly


def _fmt_shape(shape) -> str:
    if shape and isinstance(shape[0], tuple | list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _overrides(args) -> dict:
    return config.parse_pairs(args.set, flag="--set")


def _print_table(rows: list[tuple], right: tuple[int, ...]) -> None:
    """Rows of text as aligned columns (the columns in `right` right-aligned), a rule
    under the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        cells = [
            c.rjust(w) if j in right else c.ljust(w)
            for j, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def run_list(args) -> int:
    names = registry.list_models(args.pattern, family=args.family, pretrained=args.pretrained)
    if not names:
        what = "pretrained model" if args.pretrained else "model"
        print(f"No {what} matches {args.pattern!r}.", file=sys.stderr)
        return 1
    if args.pretrained:
        return _list_pretrained(names)
    rows = [("name", "family", "task", "params", "input")]
    for name in names:
        info = registry.model_info(name)
        rows.append(
            (name, info.family, info.task, f"{info.params:,}", _fmt_shape(info.input_shape))
        )
    _print_table(rows, right=(3,))
    print(f"\n{len(names)} models")
    return 0


def _list_pretrained(names: list[str]) -> int:
    """`kerazoo list --pretrained`: one row per shipped preset (from its card)."""
    from kerazoo import pretrained

    rows = [("model", "weights", "dataset", "test metric", "size")]
    cards = [c for c in pretrained.cards() if c["model"] in names]
    for card in cards:
        metric = card["metric"]
        rows.append(
            (
                card["model"],
                card["weights"],
                card["dataset"],
                f"{metric['name'].removeprefix('test_')} {metric['value']:.4f}",
                f"{card['bytes'] / 1e6:.2f} MB",
            )
        )
    _print_table(rows, right=(4,))
    print(
        f"\n{len(cards)} presets: kerazoo.create_model(MODEL, weights=WEIGHTS), "
        "kerazoo predict MODEL:WEIGHTS FILES; cards in docs/presets.md"
    )
    return 0


def run_info(args) -> int:
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
        ("trains with", ", ".join(f"{k}={v}" for k, v in info.recipe.items()) or "-"),
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


def run_build(args) -> int:
    """Builds a model, prints its summary, saves `<out>/model.keras` and its diagram."""
    overrides = _overrides(args)
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


def run_diagram(args) -> int:
    """Draws one model, a saved model file, or every registered model (`--all`)."""
    from kerazoo.viz import diagrams

    if args.all == bool(args.name):
        raise ValueError(
            "Give one model (a registered name or a .keras file) or --all, not both or "
            f"neither. Received: name={args.name!r}, --all={args.all}"
        )
    overrides = _overrides(args)
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
