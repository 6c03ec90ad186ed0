"""Generates `kerazoo/catalog.json` and `docs/models.md` from the live registry.

    python -m tools.catalog           # rewrite both (make catalog)
    python -m tools.catalog --check   # exit 1 if either is stale

Run from the checkout's root; this module is not installed. The catalogue it writes is:
it lets `kerazoo list` / `kerazoo info` and `kerazoo.model_info` answer without importing
Keras; tests fail when it no longer matches what the factories build.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kerazoo import registry
from kerazoo.catalog import model_summary

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "models.md"


def build_catalog() -> dict:
    """Builds every built-in model once and records what `model_info` reports."""
    import keras

    registry._load_builtin_models()
    entries = []
    for name in registry.list_models():
        spec = registry._REGISTRY.get(name)
        if spec is None or not spec.builtin:
            continue  # stale catalogue entry or a user's model: not part of the zoo
        # Auto-generated layer names (e.g. the `not_equal_N` of a padding mask) count up
        # globally; a fresh session per model keeps the summaries the same in any process.
        keras.backend.clear_session()
        model = spec.fn(compile=False)
        entry = registry.describe_built_model(spec, model)
        entry["summary"] = model_summary(model)
        entries.append(entry)
    return {"generated_by": "make catalog (python -m tools.catalog)", "models": entries}


def _shape(shape) -> str:
    if shape and isinstance(shape[0], list):
        return ", ".join(_shape(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def render_markdown(catalog: dict) -> str:
    """docs/models.md: the model catalogue as a table, grouped by family."""
    lines = [
        "# Model catalogue",
        "",
        "Every model in the zoo, in its default configuration. Generated from the registry by",
        "`make catalog` (`python -m tools.catalog`); a test fails when this page is stale.",
        "",
        "| name | family | task | params | input -> output | reference |",
        "|---|---|---|---:|---|---|",
    ]
    by_family = sorted(
        catalog["models"], key=lambda e: (e["family"], registry._natural_key(e["name"]))
    )
    for e in by_family:
        lines.append(
            f"| `{e['name']}` | {e['family']} | {e['task']} | {e['params']:,} | "
            f"{_shape(e['input_shape'])} -> {_shape(e['output_shape'])} | {e['reference']} |"
        )
    lines += ["", "## Descriptions", ""]
    for e in by_family:
        datasets = ", ".join(f"`{d}`" for d in e["datasets"]) or "-"
        lines.append(f"- **`{e['name']}`**: {e['description']} Datasets: {datasets}.")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.catalog", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the files are stale")
    args = parser.parse_args(argv)
    catalog = build_catalog()
    outputs = {
        registry.CATALOG_PATH: json.dumps(catalog, indent=1, ensure_ascii=False) + "\n",
        DOCS_PATH: render_markdown(catalog),
    }
    stale = [
        p for p, text in outputs.items() if not p.exists() or p.read_text(encoding="utf-8") != text
    ]
    if args.check:
        for path in stale:
            print(f"stale: {path} (run `make catalog`)", file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # atomic: never a half-written catalogue
    print(f"wrote {registry.CATALOG_PATH} and {DOCS_PATH} ({len(catalog['models'])} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
