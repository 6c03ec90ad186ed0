"""`kerazoo tune`: a KerasTuner search (or its space with `--show-space`)."""

from __future__ import annotations

from kerazoo import config, registry
from kerazoo.cli.notices import load_keras_quietly


def run_tune(args) -> int:
    from kerazoo.tuning import search, spaces

    settings = config.settings_from_args(config.SearchConfig, args)
    dataset = settings.pop("dataset", None)
    if args.show_space:
        registry.model_info(args.model)  # an unknown name is reported first
        spaces.check_tunable(args.model)
        load_keras_quietly()  # the spaces are read from the factories
        fix, narrow = spaces.check_keys(
            args.model, settings.get("fix", {}), settings.get("space", {})
        )
        print(spaces.format_space(args.model, spaces.describe(args.model, fix, narrow)))
        return 0
    # Bad input and a wrong environment are refused before TensorFlow loads.
    role = search.distributed_role(args.distributed)
    where = dict(out=args.out, resume=args.resume, overwrite=args.overwrite)
    # A worker leaves the folder to the chief, which may be clearing it right now.
    search.plan(args.model, dataset, **where, folder=role != "worker", **settings)
    load_keras_quietly()
    search.tune(
        args.model,
        dataset,
        **where,
        **settings,
        retrain=not args.no_retrain,
        distributed=args.distributed,
        verbose=0 if args.quiet else 1,
    )
    return 0
