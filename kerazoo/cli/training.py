"""`kerazoo train`, `evaluate` and `predict`: a run folder made, scored and used."""

from __future__ import annotations

from kerazoo import config
from kerazoo.cli.notices import load_keras_quietly


def run_train(args) -> int:
    from kerazoo.training import run

    settings = config.settings_from_args(config.RunConfig, args)
    dataset = settings.pop("dataset", None)
    where = dict(out=args.out, resume=args.resume, overwrite=args.overwrite)
    if settings.get("data") is None and not args.name.endswith(".keras"):
        run.plan(args.name, dataset, **where, **settings)  # bad input: before TensorFlow
    chief = True
    if settings.get("strategy") == "multiworker":
        from kerazoo._quiet import quiet_stderr
        from kerazoo.training import distribute, multiworker

        chief = multiworker.read_tf_config()["chief"]
        with quiet_stderr():  # TensorFlow's start-up lines
            # Before Keras touches a device: collectives are configured at start-up only.
            distribute.get_strategy("multiworker")
    load_keras_quietly()
    result = run.train(args.name, dataset, **where, **settings, verbose=args.verbose)
    if not chief:
        return 0  # the chief writes the run folder
    written = sorted(p.name for p in result.run_dir.iterdir() if not p.name.startswith("."))
    print(f"wrote {result.run_dir}: {', '.join(written)}")
    return 0


def score_lines(scores: dict) -> list[str]:
    """The `test_*` scores as `name  value` lines, the values in one column."""
    names = [key for key in scores if key.startswith("test_")]
    width = max(map(len, names), default=0) + 2
    return [f"{key:{width}}{scores[key]:.4f}" for key in names]


def run_evaluate(args) -> int:
    from kerazoo.training.evaluate import evaluate

    load_keras_quietly()
    if args.data is not None and args.dataset is not None:
        raise ValueError(
            "Give either --dataset (a registered name) or --data (your own), not both. "
            f"Received: --dataset {args.dataset} --data {args.data}"
        )
    scores = evaluate(args.path, args.data or args.dataset, target=args.target)
    print(
        f"{scores['dataset']} test split ({scores['n_test']:,} examples; {scores['dataset_source']})"
    )
    for line in score_lines(scores):
        print(line)
    return 0


def run_predict(args) -> int:
    from kerazoo.training.predict import predict

    load_keras_quietly()
    for p in predict(args.model, args.files):
        text = f"  {p.text[:70]}" if p.text else ""
        print(f"{p.source}: {p.label} ({p.probability:.1%}){text}")
    return 0
