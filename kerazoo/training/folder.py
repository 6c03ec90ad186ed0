"""Output-folder rules shared by runs (`config.json`) and searches (`search.json`).

- A folder of something else is never touched; an existing run or search needs `resume`
  or `overwrite`; `resume` needs one.
- A folder kerazoo writes holds a manifest, `.kerazoo-run.json`: what kind of folder it is
  and the entries kerazoo wrote there (updated as they appear). `overwrite` deletes only
  those (and kerazoo's known file names), never a file of the user's. A folder without a
  manifest is taken for a run (search) of an earlier kerazoo only when it holds the marker
  file and nothing but kerazoo's known names (`RUN_FILES`, `SEARCH_FILES`).
- One writer at a time: `lock(folder)` holds `.kerazoo-lock` (the writer's pid) with an
  advisory `flock`, which the kernel drops when the process dies, so the lock file of a
  killed run is simply taken over.
- Writes go through a temporary file and a rename.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one writer is then the user's care
    fcntl = None

MANIFEST = ".kerazoo-run.json"
LOCK = ".kerazoo-lock"
# What kerazoo writes in a run folder (README, "The run folder") and in a search folder.
RUN_FILES = frozenset(
    {
        "config.json",
        "dataset.json",
        "vocabulary.txt",
        "model.keras",
        "metrics.json",
        "history.csv",
        "history.png",
        "architecture.png",
        "predictions.png",
        "confusion_matrix.png",
        "reconstructions.png",
        "reconstructions",
        "samples.png",
        "samples",
        "forecast.png",
        "logs",
        "backup",
        ".clock.json",
    }
)
SEARCH_FILES = frozenset(
    {
        "search.json",
        "keras_tuner",
        "trials.csv",
        "search.png",
        "best_hyperparameters.json",
        "best",
        "best_model.keras",
        "metrics.json",
    }
)
KNOWN = {"run": RUN_FILES, "search": SEARCH_FILES}


# A folder that cannot be written: a full disk or quota, a read-only mount, no permission.
WRITE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
)
_WRITE_WORDS = ("No space left", "Read-only file system", "Disk quota", "Permission denied")


class FolderNotWritable(OSError):
    """A run or search folder cannot be written (a full disk, a read-only folder, no
    permission); the message names the file, what was kept and what to do."""

    def __str__(self) -> str:
        return str(self.args[0])


def is_write_failure(err: BaseException) -> bool:
    """Whether `err` says the disk is full or the folder is read-only (HDF5 and TensorFlow
    errors carry no errno, only the system's words)."""
    if isinstance(err, OSError) and err.errno in WRITE_ERRNOS:
        return True
    return any(word in str(err) for word in _WRITE_WORDS)


def not_writable(err: BaseException, folder: Path, kept: str) -> FolderNotWritable:
    """The one-line error for `err` (see `is_write_failure`) while writing `folder`."""
    name = getattr(err, "filename", None) or folder
    why = getattr(err, "strerror", None) or " ".join(str(err).split())[:200]
    failure = FolderNotWritable(
        f"Cannot write {name} ({why}); {kept}. Free some space or make {folder} writable, "
        "then run the same command with --resume."
    )
    failure.errno = getattr(err, "errno", None)
    return failure


def write_json(path: Path, data: dict) -> None:
    """Writes `data` to `path` through a temporary file and a rename (no torn files)."""
    if path.name == "metrics.json":
        kill_point("metrics")
    write_bytes(path, (json.dumps(data, indent=2) + "\n").encode(), sync_dir=False)


def write_bytes(path: Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Writes `data` to `path` whole: a temporary file beside it, synced, renamed over it.

    A kill leaves the old file or the new one; a failed write (a full disk, a read-only
    folder) leaves the old file and removes the temporary one before the error goes on.
    `sync_dir` also syncs the folder, so the rename itself survives a power cut."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if sync_dir:
        fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Syncs a folder's entries (its renames) to disk, where the system allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


KILL_AT = "KERAZOO_KILL_AT"


def kill_point(point: str, epoch: int | None = None) -> None:
    """Test hook: SIGKILLs this process at `point` when `KERAZOO_KILL_AT` names it.

    `KERAZOO_KILL_AT=POINT` kills at the first time `point` is reached,
    `KERAZOO_KILL_AT=POINT:N` only when it is reached for epoch N (1-based, the epochs
    finished). Used by tests/training/test_kill_points.py to stop a run as a crash would,
    at each write it makes; unset, it costs one dictionary look-up."""
    wanted = os.environ.get(KILL_AT)
    if not wanted:
        return
    name, _, at = wanted.partition(":")
    if name == point and (not at or (epoch is not None and str(epoch) == at)):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------------------------------------
# What kerazoo wrote: the manifest


def _is_known(name: str, known: frozenset) -> bool:
    """A name kerazoo writes, or one of its temporary files (`.model.keras.tmp`,
    `.saving-model.keras`, `.history.x1y2.png`) that a kill may leave behind."""
    if name in known or name in (MANIFEST, LOCK) or name.startswith(f".{MANIFEST}"):
        return True
    if not name.startswith("."):
        return False
    rest = name[1:].removeprefix("saving-")
    return any(rest.startswith(Path(k).stem + ".") for k in known if not k.startswith("."))


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest, or None when it has none (or an unreadable one)."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("kind") not in KNOWN:
        return None
    data["files"] = [f for f in data.get("files", []) if isinstance(f, str)]
    data["kept"] = [f for f in data.get("kept", []) if isinstance(f, str)]
    return data


def is_kerazoo_folder(folder: Path, kind: str) -> bool:
    """Whether `folder` is recognisably a run (`kind="run"`) or search of kerazoo: it has
    its manifest, or (an earlier kerazoo's) only kerazoo's known names."""
    manifest = read_manifest(folder)
    if manifest is not None:
        return manifest["kind"] == kind
    return all(_is_known(p.name, KNOWN[kind]) for p in folder.iterdir())


def _own(folder: Path, kind: str, manifest: dict | None) -> list[str]:
    """The entries of `folder` that kerazoo wrote (not the manifest and the lock)."""
    listed = set(manifest["files"]) if manifest else set()
    kept = set(manifest["kept"]) if manifest else set()
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name not in (MANIFEST, LOCK)
        and p.name not in kept
        and (p.name in listed or _is_known(p.name, KNOWN[kind]))
    )


def record(folder: Path, kind: str) -> None:
    """Adds the kerazoo entries now in `folder` to its manifest (written atomically)."""
    manifest = read_manifest(folder) or {"kind": kind, "files": [], "kept": []}
    manifest["files"] = sorted(set(manifest["files"]) | set(_own(folder, kind, manifest)))
    write_json(folder / MANIFEST, manifest)


def remove_temporaries(folder: Path, kind: str) -> list[str]:
    """Deletes the temporary files a killed writer left in `folder` (`.model.keras.tmp`,
    `.saving-model.keras`, `.history.x1y2.png`, `.backup.old`); returns their names.

    Call it holding the folder's lock: no live writer's temporary file is then in it."""
    known = KNOWN[kind]
    gone = []
    for path in folder.iterdir():
        name = path.name
        if name in known or name in (MANIFEST, LOCK) or not _is_known(name, known):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        gone.append(name)
    return gone


def refuse_resume(folder: Path, kind: str, reason: str) -> None:
    """Records in the manifest that the folder's run cannot be resumed, and why: `resume`
    then refuses it with `reason` (e.g. a run that diverged before any epoch finished)."""
    manifest = read_manifest(folder) or {"kind": kind, "files": [], "kept": []}
    manifest["unresumable"] = reason
    manifest["files"] = sorted(set(manifest["files"]) | set(_own(folder, kind, manifest)))
    write_json(folder / MANIFEST, manifest)


def start(folder: Path, kind: str) -> None:
    """Makes `folder` a fresh run/search folder: deletes what kerazoo wrote there before
    (`overwrite`), keeps every other entry, and writes a new manifest.

    The caller holds the folder's lock and has checked it (`read_saved`)."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(folder)
    for name in _own(folder, kind, manifest):
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    kept = sorted(p.name for p in folder.iterdir() if p.name not in (MANIFEST, LOCK))
    write_json(folder / MANIFEST, {"kind": kind, "files": [], "kept": kept})


# ---------------------------------------------------------------------------------------------
# One writer: the lock


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return "another process"
    return f"process {text}" if text else "another process"


def _busy(folder: Path, noun: str, holder: str) -> ValueError:
    return ValueError(
        f"{folder} is being written by {holder} (a {noun} of kerazoo); wait for it to end or "
        f"stop it, or choose another output folder. Received: out={str(folder)!r}"
    )


def check_unlocked(folder: Path, noun: str) -> None:
    """Refuses a folder another live process is writing; reads only (no file is made)."""
    path = folder / LOCK
    if fcntl is None or not path.is_file():
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise _busy(folder, noun, _holder(path)) from None
    finally:
        os.close(fd)  # also drops the probe's lock


@contextlib.contextmanager
def lock(folder: Path, noun: str = "run") -> Iterator[None]:
    """Holds `folder`'s writer lock (making the folder if needed) for the `with` block.

    The lock file says `PID on HOST`; a lock file whose process is gone is taken over
    (the kernel released its `flock`).

    Raises:
        ValueError: while another live process holds it.
    """
    path = folder / LOCK
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if fcntl is not None:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
    except OSError as err:
        if not is_write_failure(err):
            raise
        raise not_writable(err, folder, f"the {noun} in it is left as it was") from None
    if fcntl is None:
        yield
        return
    tries = 0
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            tries += 1
            if tries < 5:  # another process's `check_unlocked` holds it for a moment
                time.sleep(0.05)
                continue
            raise _busy(folder, noun, _holder(path)) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file as we opened it: try the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} on {socket.gethostname()}\n".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # still locked: nobody can take this inode in between
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# The folder rules


def _state(folder: Path, marker: str, kind: str) -> str:
    """ "empty" (missing or empty), "saved" (a kerazoo `kind` folder with `marker`), or
    "other"."""
    if not folder.exists():
        return "empty"
    if not folder.is_dir():
        return "other"
    if (folder / marker).is_file() and is_kerazoo_folder(folder, kind):
        return "saved"
    entries = [p for p in folder.iterdir() if p.name != LOCK]
    return "other" if entries else "empty"


def read_saved(
    folder: Path,
    config_class,
    *,
    marker: str,
    noun: str,
    resume: bool,
    overwrite: bool,
    check_lock: bool = True,
):
    """Checks an output folder against resume/overwrite; returns its saved config or None.

    Reads only: nothing is written, whatever the answer.

    Args:
        folder: the output folder.
        config_class: the settings dataclass saved in `marker` (`kerazoo.config`).
        marker: the file that makes the folder a run/search folder.
        noun: "run" or "search", for the messages (and the manifest's kind).
        resume, overwrite: the caller's flags.
        check_lock: refuse a folder another process holds (False: the caller holds it).

    Raises:
        ValueError: for both flags, a foreign folder, a folder another process writes,
            nothing to resume, an existing run/search without a flag, or an unreadable
            saved config.
    """
    if resume and overwrite:
        raise ValueError(
            f"resume and overwrite exclude each other: resume continues the {noun} in the "
            "folder, overwrite replaces it. Received: resume=True, overwrite=True"
        )
    state = _state(folder, marker, noun)
    if state == "other":
        if (folder / marker).is_file():
            extra = sorted(p.name for p in folder.iterdir() if not _is_known(p.name, KNOWN[noun]))
            raise ValueError(
                f"{folder} holds a {marker} but also files kerazoo did not write "
                f"({', '.join(extra[:3])}{', ...' if len(extra) > 3 else ''}) and no "
                f"{MANIFEST}, so it is not recognisably a kerazoo {noun} folder and is left "
                f"alone; choose another output folder. Received: out={str(folder)!r}"
            )
        raise ValueError(
            f"{folder} exists and is not a kerazoo {noun} folder (no {marker}); choose another "
            f"output folder. Received: out={str(folder)!r}"
        )
    if check_lock and folder.is_dir():
        check_unlocked(folder, noun)
    if not resume:
        if state == "saved" and not overwrite:
            raise ValueError(
                f"{folder} already holds a {noun}; pass --resume to continue it or --overwrite "
                f"to replace it, or choose another --out. Received: out={str(folder)!r}"
            )
        return None
    if state != "saved":
        raise ValueError(
            f"There is no {noun} to resume in {folder} (no {marker}); start it without "
            f"--resume. Received: out={str(folder)!r}"
        )
    reason = (read_manifest(folder) or {}).get("unresumable")
    if isinstance(reason, str):
        raise ValueError(f"{reason} Received: out={str(folder)!r}")
    path = folder / marker
    try:
        return config_class.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as err:
        raise ValueError(
            f"Cannot read {path} ({err}); the {noun} folder is damaged: start again with "
            f"--overwrite. Received: out={str(folder)!r}"
        ) from None
