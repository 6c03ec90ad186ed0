"""Keeping TensorFlow's C++ log lines off the terminal.

TensorFlow writes CUDA probing and oneDNN notices straight to file descriptor 2 when it
loads, first touches a device or converts a model; TF_CPP_MIN_LOG_LEVEL does not silence
them all. They would bury the command line's own output and break its one-line errors.
"""

from __future__ import annotations

import contextlib
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
