"""Generates `docs/course/`: one Markdown page per lesson from the lesson's own output.

    python -m kerazoo.lessons.course --run [NAME ...]   # run lessons (full mode) into
                                                        # docs/course/NAME/, then write pages
    python -m kerazoo.lessons.course                    # rewrite the pages from the saved
                                                        # docs/course/NAME/results.json
    python -m kerazoo.lessons.course --check            # exit 1 if a page is stale

Each lesson's `results.json` and pictures are kept in `docs/course/NAME/`; the page
`docs/course/NAME.md` is rendered from them alone, so a test can re-render every page and
compare it with the committed one (`tests/lessons/test_course.py`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kerazoo.lessons import LESSONS, get_lesson, run

ROOT = Path(__file__).resolve().parents[2] / "docs" / "course"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return str(value).replace("|", "\\|")


def _intro(source: str) -> str:
    """The lesson's first Markdown cell (`# %% [markdown]` comment lines), without its title."""
    lines = source.splitlines()
    start = lines.index("# %% [markdown]") + 1
    text = []
    for line in lines[start:]:
        if not line.startswith("#") or line.startswith("# %%"):
            break
        text.append(line[2:] if line.startswith("# ") else "")
    return "\n".join(t for t in text if not t.startswith("# ")).strip()


def render(results: dict) -> str:
    """The Markdown page of one lesson from its results.json content."""
    name = results["lesson"]
    module = get_lesson(name)
    intro = _intro(Path(module.__file__).read_text())
    mode = "quick" if results["quick"] else "full"
    lines = [
        f"# {results['title']}",
        "",
        f"```bash\n{results['command']}          # or: python -m kerazoo.lessons {name}"
        + (" --quick" if results["quick"] else "")
        + "\n```",
        "",
        f"Measured in {mode} mode in {results['seconds']:.0f} s on this project's 2-core CPU. "
        f"Source, readable as a notebook (`# %%` cells): "
        f"[kerazoo/lessons/{name}.py](../../kerazoo/lessons/{name}.py).",
        "",
    ]
    if intro:
        lines += [intro, ""]
    for picture in results["pictures"]:
        lines += [
            f"![{picture['caption']}]({name}/{picture['file']})",
            "",
            f"*{picture['caption']}*",
            "",
        ]
    for table in results["tables"]:
        lines += [f"**{table['title']}**", ""]
        lines.append("| " + " | ".join(_cell(c) for c in table["columns"]) + " |")
        lines.append("|" + "---|" * len(table["columns"]))
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table["rows"]]
        lines.append("")
    lines += ["## Measured", "", "| number | value | meaning |", "|---|---|---|"]
    for key, value in results["numbers"].items():
        lines.append(f"| `{key}` | {_cell(value)} | {_cell(results['about'][key])} |")
    lines.append("")
    if results["data"]:
        lines += ["## Data", ""] + [f"- {_cell(d)}" for d in results["data"]] + [""]
    lines.append(f"All numbers: [{name}/results.json]({name}/results.json).")
    return "\n".join(lines) + "\n"


def render_index(root: Path) -> str:
    lines = [
        "# The course: deep-learning basics, one measured lesson at a time",
        "",
        "Each lesson trains zoo models on real data through `kerazoo.train`, measures what the",
        "idea predicts and draws it. Run one with `kerazoo lesson NAME` (add `--quick` for a",
        "short version) or `python -m kerazoo.lessons NAME`; `--list` shows them all.",
        "",
        "| # | lesson | page | seconds (mode) |",
        "|---|---|---|---|",
    ]
    for i, (name, title) in enumerate(LESSONS.items(), start=1):
        path = root / name / "results.json"
        if path.is_file():
            results = json.loads(path.read_text())
            mode = "quick" if results["quick"] else "full"
            lines.append(
                f"| {i} | {title} | [{name}]({name}.md) | {results['seconds']:.0f} ({mode}) |"
            )
        else:
            lines.append(f"| {i} | {title} | not generated yet | |")
    lines += [
        "",
        "Seconds: the lesson's wall time on this project's 2-core CPU, which other jobs often",
        "shared while the pages were generated (an upper bound). The `--quick` mode of each",
        "lesson is what the tests run.",
        "",
        "Regenerate: `python -m kerazoo.lessons.course --run` (full mode, one lesson at a time).",
        "",
    ]
    return "\n".join(lines)


def pages(root: Path = ROOT) -> dict[Path, str]:
    """Every page (and the index) as it should read, from the saved results.json files."""
    out = {root / "README.md": render_index(root)}
    for name in LESSONS:
        path = root / name / "results.json"
        if path.is_file():
            out[root / f"{name}.md"] = render(json.loads(path.read_text()))
    return out


def stale(root: Path = ROOT) -> list[Path]:
    """Pages whose committed text differs from what the saved results render to."""
    return [p for p, text in pages(root).items() if not p.is_file() or p.read_text() != text]


def write(root: Path = ROOT) -> list[Path]:
    written = []
    for path, text in pages(root).items():
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kerazoo.lessons.course", description=__doc__.splitlines()[0]
    )
    parser.add_argument("names", nargs="*", help="lessons to run with --run (default: all)")
    parser.add_argument("--run", action="store_true", help="run the lessons first")
    parser.add_argument("--quick", action="store_true", help="with --run: quick mode")
    parser.add_argument("--check", action="store_true", help="exit 1 if a page is stale")
    parser.add_argument("--root", default=str(ROOT), help="docs folder (default docs/course)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.check:
        old = stale(root)
        for path in old:
            print(f"stale: {path}", file=sys.stderr)
        return 1 if old else 0
    if args.run:
        for name in args.names or list(LESSONS):
            get_lesson(name)  # unknown names fail before anything runs
        for name in args.names or list(LESSONS):
            folder = root / name
            for old in folder.glob("*.png"):
                old.unlink()
            results = run(name, quick=args.quick, out=folder)
            print(f"{name}: {results['seconds']:.0f} s", flush=True)
    root.mkdir(parents=True, exist_ok=True)
    for path in write(root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
