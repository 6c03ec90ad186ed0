"""The `kerazoo` command: a thin front over the library.

    parser.py    every command and its flags (run/search settings from kerazoo.config)
    errors.py    the one table: exception -> one line on stderr and an exit status
    notices.py   the one rule for what else reaches the terminal (TensorFlow's logs,
                 the library's warnings as `notice:` lines)
    models.py    list, info, build, diagram
    training.py  train, evaluate, predict
    tuning.py    tune
    deploy.py    export, launch
    course.py    lesson
    serve.py     serve (kerazoo.serve: the API and the page)
    backend.py   --backend: the Keras backend, chosen before Keras is imported

`--help`, `list` and `info` never import Keras or TensorFlow (they read the catalogue),
so they answer in a fraction of a second. No library module imports this package.
"""

from __future__ import annotations

from kerazoo.cli import backend, errors, notices
from kerazoo.cli.parser import build_parser


def main(argv: list[str] | None = None) -> int:
    """Runs `kerazoo ARGS...` (`argv` without the program name); returns the exit status."""
    args = build_parser().parse_args(argv)
    notices.install(environment=not getattr(args, "keeps_environment", False))
    return errors.run_command(args.command, _run, args)


def _run(args) -> int:
    # Before the command imports Keras, which reads KERAS_BACKEND once.
    backend.select(getattr(args, "backend", None))
    return args.func(args)


__all__ = ["build_parser", "main"]
