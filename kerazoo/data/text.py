"""Text: real quotations from Debian's `fortunes` packages, labelled by language."""

from __future__ import annotations

import re
from pathlib import Path

from kerazoo.data.errors import DataNotFoundError

FORTUNES_DIR = Path("/usr/share/games/fortunes")
LANGUAGES = ("en", "de", "es", "it")
_PACKAGE = {"en": "fortunes", "de": "fortunes-de", "es": "fortunes-es", "it": "fortunes-it"}
# English files of prose quotations (the art/banner files hold ASCII drawings).
_EN_FILES = (
    "fortunes", "literature", "wisdom", "people", "humorists", "science", "education",
    "work", "politics", "love", "law", "medicine", "food", "pets", "sports", "platitudes",
)  # fmt: skip
_SKIP = {"asciiart", "banner", "ascii-art", "art"}


def _files(language: str) -> list[Path]:
    if language == "en":
        files = [FORTUNES_DIR / name for name in _EN_FILES]
        return [f for f in files if f.exists()]
    folder = FORTUNES_DIR / language
    if not folder.is_dir():
        return []
    # Top level only: Spanish keeps its offensive set in a separate off/ folder.
    files = [f for f in sorted(folder.iterdir()) if f.is_file() and f.suffix not in (".dat", ".u8")]
    return [f for f in files if f.name.split(".")[0] not in _SKIP]


def _clean(entry: str) -> str:
    # Drop attribution lines ("-- Author") and squeeze whitespace into one line.
    lines = [ln for ln in entry.splitlines() if not ln.strip().startswith("--")]
    return re.sub(r"\s+", " ", " ".join(lines)).strip()


def fortunes(
    languages=LANGUAGES, *, min_chars: int = 20, max_chars: int = 400
) -> tuple[list[str], list[int]]:
    """All prose quotations of the given languages, in a fixed order.

    Args:
        languages: language codes from `en`, `de`, `es`, `it`; label i is languages[i].
        min_chars, max_chars: keep quotations whose cleaned length is in this range.

    Returns:
        (texts, labels).

    Raises:
        DataNotFoundError: if a language's package is not installed.
    """
    texts, labels = [], []
    for label, lang in enumerate(languages):
        if lang not in _PACKAGE:
            raise ValueError(f"Unknown language. Received: language={lang!r}. Known: {LANGUAGES}")
        files = _files(lang)
        if not files:
            raise DataNotFoundError(
                f"No fortune files for language {lang!r} under {FORTUNES_DIR}. Install them with "
                f"`apt-get install {_PACKAGE[lang]}` (or run `make setup`)."
            )
        seen = set()
        for path in files:
            raw = path.read_bytes().decode("utf-8", errors="replace")
            for entry in raw.split("\n%"):
                text = _clean(entry.strip("%\n"))
                if min_chars <= len(text) <= max_chars and text not in seen:
                    seen.add(text)
                    texts.append(text)
                    labels.append(label)
    return texts, labels
