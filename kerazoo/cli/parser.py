"""The `kerazoo` argument parser: every command and its flags, in one place.

The run and search settings (`train` and `tune` flags) come from the settings table in
`kerazoo.config`, which also holds their defaults: only the flags a user types reach the
library. The flags here are the commands' own (where to write, what to print).
Building the parser imports no Keras or TensorFlow.
"""

from __future__ import annotations

import argparse

from kerazoo import __version__, config
from kerazoo.cli import backend, course, deploy, models, serve, training, tuning
from kerazoo.launch import MODES


class OneLineParser(argparse.ArgumentParser):
    """argparse's errors as the library's are: one line on stderr, exit status 2 (not the
    usage block, which `--help` shows)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _verbosity(value: str):
    if value == "auto":
        return value
    if value in ("0", "1", "2"):
        return int(value)
    raise argparse.ArgumentTypeError(f"must be auto, 0, 1 or 2, got {value!r}")


def _out_flags(p, noun: str, default: str) -> None:
    p.add_argument("--out", help=f"{noun} folder (default {default})")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help=f"continue the {noun} in --out")
    group.add_argument("--overwrite", action="store_true", help=f"replace the {noun} in --out")


def _set_flag(p, what: str) -> None:
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help=f"{what} (repeatable)")


def _add_models(sub) -> None:
    p = sub.add_parser("list", help="list the models (name, family, task, params, input)")
    p.add_argument("pattern", nargs="?", help="shell wildcard, e.g. 'resnet*'")
    p.add_argument(
        "--family", help="only this family (mlp, cnn, resnet, rnn, autoencoder, gan, transformer)"
    )
    p.add_argument(
        "--pretrained",
        action="store_true",
        help="the pretrained weights shipped with kerazoo (model, weights, dataset, test "
        "metric, size)",
    )
    p.set_defaults(func=models.run_list)

    p = sub.add_parser("info", help="describe one model and print its Keras summary")
    p.add_argument("name")
    p.set_defaults(func=models.run_info)

    p = sub.add_parser("build", help="build a model, print its summary, save it and its diagram")
    p.add_argument("name")
    _set_flag(p, "factory argument")
    p.add_argument("--out", help="output folder (default: runs/NAME)")
    p.add_argument("--no-diagram", action="store_true", help="skip architecture.png")
    p.set_defaults(func=models.run_build)


def _add_train(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on real data and write a run folder (metrics, model, pictures)",
        description="Train NAME on its default dataset (or --dataset) and write the run "
        "folder: config.json, model.keras, metrics.json, history.csv, history.png, "
        "architecture.png and the task's pictures.",
    )
    p.add_argument("name", help="a model name (kerazoo list) or your own MODEL.keras")
    config.add_arguments(p, config.RunConfig)
    _out_flags(p, "run", "runs/NAME")
    p.add_argument(
        "--verbose",
        type=_verbosity,
        default="auto",
        help="auto (progress bar on a terminal, a line per epoch otherwise), 0, 1 or 2",
    )
    backend.add_flag(p)
    p.set_defaults(func=training.run_train)


def _add_diagram(sub) -> None:
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
    _set_flag(p, "model argument")
    p.set_defaults(func=models.run_diagram)


def _add_export(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a .keras model for deployment (SavedModel, TFLite, ONNX)",
        description="Export MODEL.keras (or a run folder's model.keras) as a TensorFlow "
        "SavedModel folder, a TFLite file (builtin ops) or an ONNX file (needs tf2onnx and "
        "onnx). Default output next to the model: <stem>_saved_model/, <stem>.tflite or "
        "<stem>.onnx. Nothing is left behind on failure.",
    )
    p.add_argument("model", help="a .keras file or a run folder, e.g. runs/mnist_cnn")
    # Formats and parts are checked by the library (not argparse choices) so a wrong value
    # gets the same one-line error as every other bad input.
    p.add_argument(
        "--format",
        required=True,
        metavar="{saved_model,tflite,onnx}",
        help="saved_model (folder), tflite (builtin ops) or onnx",
    )
    p.add_argument("--out", help="output path (default: next to the model)")
    p.add_argument(
        "--part",
        metavar="{generator,discriminator,encoder,decoder}",
        help="export one part of a GAN (generator, discriminator) or an autoencoder/VAE "
        "(encoder, decoder)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        help="fix the batch dimension (default: any, or 1 for recurrent TFLite models)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=deploy.run_export)


def _add_tune(sub) -> None:
    p = sub.add_parser(
        "tune",
        help="hyperparameter search (KerasTuner) over a model's space",
        description="Search a zoo model's hyperparameters with KerasTuner on its real "
        "dataset, then retrain the best configuration and test it once. The search folder "
        "gets trials.csv, search.png, best_hyperparameters.json, best_model.keras and "
        "metrics.json.",
    )
    p.add_argument("model", help="registered model name (kerazoo list)")
    config.add_arguments(p, config.SearchConfig)
    _out_flags(p, "search", "runs/tune-NAME")
    p.add_argument("--no-retrain", action="store_true", help="skip retraining the best")
    p.add_argument(
        "--distributed",
        action="store_true",
        help="take part in a distributed search as KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP "
        "and KERASTUNER_ORACLE_PORT say (chief or worker); "
        "`kerazoo launch --workers N -- tune NAME ...` starts them all",
    )
    p.add_argument("--show-space", action="store_true", help="print the search space and exit")
    p.add_argument("--quiet", action="store_true", help="no per-trial lines")
    backend.add_flag(p)
    p.set_defaults(func=tuning.run_tune)


def _add_launch(sub) -> None:
    p = sub.add_parser(
        "launch",
        help="run a command as N local worker processes (multi-worker training, distributed search)",
        description="Start N local worker processes of COMMAND with a generated TF_CONFIG "
        "(train and other commands) or a KerasTuner chief and N workers (tune) on free "
        "localhost ports, print their output with a [worker i] prefix, and stop all of them "
        "when one fails. COMMAND is a kerazoo command (train, tune, ...) or any program. "
        "Exit status: 0, the failing worker's status (128+N if killed by signal N), 124 at "
        "--timeout, 130 on Ctrl-C, 2 for bad input.",
        epilog="Example: kerazoo launch --workers 2 -- train mnist_cnn --epochs 3. "
        "Several machines: docs/distributed.md.",
    )
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--timeout", type=float, help="stop all after this many seconds (status 124)")
    p.add_argument(
        "--mode",
        choices=MODES,
        help="roles for a command of your own: train (TF_CONFIG) or tune (KerasTuner "
        "chief + workers); default: tune for `tune`, else train",
    )
    # dest "argv": the top-level subparsers use dest "command" for the command's name.
    p.add_argument(
        "argv", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the command and its arguments"
    )
    # Its processes get the user's environment as it is (a script of their own too); kerazoo
    # commands among them apply the quieting rule themselves.
    p.set_defaults(func=deploy.run_launch, keeps_environment=True)


def _add_runs(sub) -> None:
    p = sub.add_parser("evaluate", help="test metrics of a run folder or a .keras model")
    p.add_argument("path", help="run folder or .keras file")
    p.add_argument("--dataset", help="dataset (default: the run's)")
    p.add_argument(
        "--data",
        help="your own data to score on (a folder by class, a CSV file, a text file); a run "
        "trained with --data reads its own again by default",
    )
    p.add_argument("--target", help="with --data CSV: the column holding the labels")
    backend.add_flag(p)
    p.set_defaults(func=training.run_evaluate)

    p = sub.add_parser("predict", help="classify PNG/JPEG images or lines of text files")
    p.add_argument(
        "model",
        help="run folder, .keras file, or a pretrained preset NAME:WEIGHTS "
        "(e.g. mnist_cnn:mnist; see kerazoo list --pretrained)",
    )
    p.add_argument("files", nargs="+", help="images (image models) or text files (text models)")
    backend.add_flag(p)
    p.set_defaults(func=training.run_predict)


def _positive_int(value: str) -> int:
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value!r}")


def _add_serve(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a model: TF Serving's REST API and a page to draw, type or generate",
        description="Serve MODEL (a run folder, a .keras file or a preset NAME:WEIGHTS) on "
        'HOST:PORT: POST /v1/models/NAME:predict with {"instances": [...]} (TF Serving\'s '
        "REST shape; raw inputs: uint8 images, strings), GET /v1/models/NAME[/metadata], and "
        "a page at / (draw a digit, type a sentence, generate samples, see the forecast). "
        "Requests arriving together are batched into one model call.",
        epilog="Example: kerazoo serve runs/demo, then open http://127.0.0.1:8500/",
    )
    p.add_argument("model", help="run folder, .keras file, or a preset NAME:WEIGHTS")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: all)",
    )
    p.add_argument("--port", type=int, default=8500, help="TCP port (default 8500)")
    p.add_argument(
        "--max-batch",
        type=_positive_int,
        default=64,
        help="most inputs per model call when batching requests (default 64; 1: no batching)",
    )
    p.add_argument(
        "--batch-wait-ms",
        type=float,
        default=2.0,
        help="how long a request waits for others to join its batch (default 2)",
    )
    p.set_defaults(func=serve.run_serve)


def _add_lesson(sub) -> None:
    p = sub.add_parser(
        "lesson",
        help="run one lesson of the course: it measures an idea on real data and draws it",
        description="Run lesson NAME (kerazoo lesson --list) and write its results.json and "
        "pictures to --out (default runs/lessons/NAME). docs/course/ shows every lesson.",
    )
    p.add_argument("name", nargs="?", help="lesson name (see --list)")
    p.add_argument("--quick", action="store_true", help="the short configuration (< 1 min)")
    p.add_argument("--out", help="output folder (default runs/lessons/NAME)")
    p.add_argument("--list", action="store_true", help="list the lessons and exit")
    p.set_defaults(func=course.run_lesson)


def build_parser() -> argparse.ArgumentParser:
    """The `kerazoo` parser; each command's namespace has `func(args) -> exit status`."""
    parser = OneLineParser(
        prog="kerazoo",
        description="The Keras 3 model zoo for deep-learning basics.",
        epilog="Run `kerazoo COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"kerazoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_models(sub)
    _add_train(sub)
    _add_diagram(sub)
    _add_export(sub)
    _add_tune(sub)
    _add_launch(sub)
    _add_runs(sub)
    _add_lesson(sub)
    _add_serve(sub)
    return parser
