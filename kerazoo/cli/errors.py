"""The one table that turns an exception escaping a command into a line and an exit status.

The library's errors already name the problem and the fix, so each is one line on stderr:
`kerazoo COMMAND: error: ...` for bad input (status 2), `kerazoo tune: stopped: ...` for a
search that cannot go on (1). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from typing import NamedTuple


class Rule(NamedTuple):
    """An exception class (by its dotted name), its exit status and the line's label."""

    exception: str
    status: int
    label: str | None  # `kerazoo CMD: <label>: message`; None: `kerazoo CMD: message`


# First match wins: the subclasses of RuntimeError come before anything broader.
EXIT_TABLE = (
    Rule("kerazoo.tuning.engine.SearchStopped", 1, "stopped"),
    Rule("kerazoo.training.run.TrainingDiverged", 1, None),
    Rule("kerazoo.training.folder.FolderNotWritable", 1, "error"),
    Rule("builtins.ValueError", 2, "error"),
    Rule("builtins.ImportError", 2, "error"),
)
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


def _loaded_class(dotted: str) -> type | None:
    """The class if its module is imported (an exception of a module never imported cannot
    have been raised, so `kerazoo list` does not import the training code to check)."""
    module, _, name = dotted.rpartition(".")
    return getattr(sys.modules.get(module), name, None)


def rule_for(err: BaseException) -> Rule | None:
    for rule in EXIT_TABLE:
        cls = _loaded_class(rule.exception)
        if cls is not None and isinstance(err, cls):
            return rule
    return None


def one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def run_command(command: str, func, args) -> int:
    """Runs `func(args)`; an exception of the table becomes its line and status."""
    try:
        return func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as err:
        rule = rule_for(err)
        if rule is None:
            raise
        label = f"{rule.label}: " if rule.label else ""
        print(f"kerazoo {command}: {label}{one_line(err)}", file=sys.stderr, flush=True)
        return rule.status
