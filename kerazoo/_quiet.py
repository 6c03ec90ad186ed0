"""Keeping TensorFlow's C++ log lines off the terminal.

TensorFlow writes CUDA probing and oneDNN notices straight to file descriptor 2 when it
loads, first touches a device or converts a model; TF_CPP_MIN_LOG_LEVEL does not silence
them all. They would bury the command line's own output and break its one-line errors.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import os
import sys
import tempfile


@contextlib.contextmanager
def quiet_stderr(keep: tuple[type[BaseException], ...] = ()):
    """Captures file descriptor 2 for the block; replays it if an exception escapes.

    Args:
        keep: exception types whose own message says it all (the captured lines are dropped
            for them, e.g. the library's ValueError).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        except keep:
            raise
        except BaseException:
            os.dup2(saved, 2)
            capture.seek(0)
            sys.stderr.buffer.write(capture.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    """Runs another loader's `exec_module` with file descriptor 2 captured."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # The module keeps its own loader (importlib.resources and pickling read it).
        module.__loader__ = module.__spec__.loader = self.loader
        with quiet_stderr():
            self.loader.exec_module(module)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds the top-level packages `names` with the other finders; imports them quietly."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


def quiet_imports(names: tuple[str, ...] = ("tensorflow", "keras")) -> None:
    """From now on, the first import of each of `names` runs inside `quiet_stderr`.

    TensorFlow 2.21 logs its start-up block (oneDNN, CUDA probing) before absl reads
    TF_CPP_MIN_LOG_LEVEL, so only capturing the descriptor keeps it off the terminal,
    wherever in the library the import happens. Idempotent; no effect on a package that
    is already imported.
    """
    if not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder(tuple(names)))
