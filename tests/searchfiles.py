"""Reading what a search folder holds, for the tuning tests."""

from __future__ import annotations

import csv
import json


def read_json(path) -> dict:
    """The JSON file's content, or {} when it is missing or not (yet) complete."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def trial_rows(folder) -> list[dict]:
    """The rows of `folder/trials.csv`."""
    with open(folder / "trials.csv") as f:
        return list(csv.DictReader(f))
