"""`kerazoo lesson NAME [--quick] [--out DIR]` and `kerazoo lesson --list`: the course."""

from __future__ import annotations

import sys


def run_lesson(args) -> int:
    import kerazoo.lessons as lessons

    if args.list:
        for name, title in lessons.LESSONS.items():
            print(f"{name:18s} {title}")
        return 0
    if args.name is None:
        raise ValueError("Give a lesson name (kerazoo lesson --list shows them). Received: no name")
    lessons.get_lesson(args.name)  # an unknown name: one line, before Keras loads
    from kerazoo.cli.notices import load_keras_quietly

    load_keras_quietly()
    results = lessons.run(args.name, quick=args.quick, out=args.out)
    folder = args.out or lessons.DEFAULT_ROOT / args.name
    print(f"{args.name}: {results['title']} ({results['seconds']:.0f} s) -> {folder}")
    for key, value in results["numbers"].items():
        print(f"  {key} = {value}    # {results['about'][key]}")
    sys.stdout.flush()
    return 0
