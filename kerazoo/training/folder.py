"""Output-folder rules shared by runs (`config.json`) and searches (`search.json`).

A folder of something else is never touched; an existing run or search needs `resume` or
`overwrite`; `resume` needs one. Writes go through a temporary file and a rename.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_json(path: Path, data: dict) -> None:
    """Writes `data` to `path` through a temporary file and a rename (no torn files)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _state(folder: Path, marker: str) -> str:
    """ "empty" (missing or empty), "saved" (holds `marker`), or "other"."""
    if not folder.exists():
        return "empty"
    if not folder.is_dir():
        return "other"
    if (folder / marker).is_file():
        return "saved"
    return "other" if any(folder.iterdir()) else "empty"


def read_saved(
    folder: Path, config_class, *, marker: str, noun: str, resume: bool, overwrite: bool
):
    """Checks an output folder against resume/overwrite; returns its saved config or None.

    Args:
        folder: the output folder.
        config_class: the settings dataclass saved in `marker` (`kerazoo.config`).
        marker: the file that makes the folder a run/search folder.
        noun: "run" or "search", for the messages.
        resume, overwrite: the caller's flags.

    Raises:
        ValueError: for both flags, a foreign folder, nothing to resume, an existing
            run/search without a flag, or an unreadable saved config.
    """
    if resume and overwrite:
        raise ValueError(
            f"resume and overwrite exclude each other: resume continues the {noun} in the "
            "folder, overwrite replaces it. Received: resume=True, overwrite=True"
        )
    state = _state(folder, marker)
    if state == "other":
        raise ValueError(
            f"{folder} exists and is not a kerazoo {noun} folder (no {marker}); choose another "
            f"output folder. Received: out={str(folder)!r}"
        )
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
    path = folder / marker
    try:
        return config_class.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as err:
        raise ValueError(
            f"Cannot read {path} ({err}); the {noun} folder is damaged: start again with "
            f"--overwrite. Received: out={str(folder)!r}"
        ) from None
