"""What reaches the terminal besides a command's own output: one rule for every command.

- TensorFlow's C++ logs: TF_CPP_MIN_LOG_LEVEL=3 before TensorFlow loads (its E-level
  lines, e.g. "oneDNN supports DT_BOOL only ..." or "remapper failed", are not errors of
  the user's command), and its start-up block, written before that level is read, is
  captured around the import and the first device touch (`kerazoo._quiet`).
- The library's own warnings (a dataset fallback, a fixed export batch) become one
  `notice: ...` line each on stderr, without Python's source line. Warnings of other
  packages keep Python's format: they are not ours to reword.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import kerazoo
from kerazoo import _quiet

# `import kerazoo` sets level 2 as the library's default when the user set none; the
# command line hides the C++ ERROR lines too. A user's other level wins.
_LIBRARY_DEFAULT_LEVEL = "2"
_PACKAGE_DIR = str(Path(kerazoo.__file__).resolve().parent) + os.sep


def notice(message: str) -> None:
    """Prints `notice: <message>` (one line) on stderr."""
    print(f"notice: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


def from_kerazoo(filename: str | None) -> bool:
    """Whether a warning was raised by a module of the kerazoo package."""
    if not filename:
        return False
    return str(Path(filename).resolve()).startswith(_PACKAGE_DIR)


def install(*, environment: bool = True) -> None:
    """Sets the rule for this process (the CLI calls it once, before any command runs).

    Args:
        environment: also set TF_CPP_MIN_LOG_LEVEL (which child processes inherit); False
            for `kerazoo launch`, whose processes may be the user's own scripts.
    """
    if (
        environment
        and "tensorflow" not in sys.modules
        and os.environ.get("TF_CPP_MIN_LOG_LEVEL") in (None, _LIBRARY_DEFAULT_LEVEL)
    ):
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    _quiet.quiet_imports()
    python_format = warnings.showwarning
    if getattr(python_format, "_kerazoo_notice", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UserWarning) and from_kerazoo(filename):
            notice(message)
        else:
            python_format(message, category, filename, lineno, file, line)

    show._kerazoo_notice = True
    warnings.showwarning = show


def load_keras_quietly() -> None:
    """Imports Keras and touches a device with TensorFlow's start-up lines captured (they
    are shown only if that fails). Call it after a command's checks, before its work."""
    with _quiet.quiet_stderr():
        import keras

        keras.ops.convert_to_numpy(keras.ops.zeros(()))  # the first device touch logs too
