"""`kerazoo export` and `kerazoo launch`: a model out for deployment, a command on N workers."""

from __future__ import annotations

import warnings
from pathlib import Path

from kerazoo._quiet import quiet_stderr
from kerazoo.cli.notices import from_kerazoo, notice


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def human_size(n: int) -> str:
    """`1234` -> `"1.2 KB"` (bytes as `B`, `KB`, `MB` or `GB`)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # not reached


def run_export(args) -> int:
    """Exports, then prints what was written and its signature."""
    from kerazoo.export import describe, export

    # TensorFlow logs while it loads and converts; the library's own errors say it all.
    # Its warnings are collected and shown after the captured block, as notices.
    with (
        quiet_stderr(keep=(ValueError, ImportError)),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always", UserWarning)
        path = export(
            args.model,
            args.format,
            args.out,
            part=args.part,
            overwrite=args.overwrite,
            batch_size=args.batch_size,
        )
        try:
            signature = describe(path)
        except Exception:  # the export is written; an unreadable summary must not hide it
            signature = []
    for w in caught:  # Keras's and TensorFlow's conversion warnings stay captured
        if issubclass(w.category, UserWarning) and from_kerazoo(w.filename):
            notice(str(w.message))
    kind = "folder" if path.is_dir() else "file"
    print(f"wrote {path} ({kind}, {human_size(_size(path))})")
    for line in signature:
        print(f"  {line}")
    return 0


def run_launch(args) -> int:
    from kerazoo.launch import launch

    command = list(args.argv)
    if command[:1] == ["--"]:
        command = command[1:]
    return launch(command, args.workers, mode=args.mode, timeout=args.timeout)
