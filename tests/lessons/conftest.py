"""Each lesson runs once per test session in quick mode; its tests read its results.json."""

import json

import pytest

import kerazoo.lessons
from kerazoo.lessons import course

PNG = b"\x89PNG\r\n\x1a\n"


def _run(tmp_path_factory, name):
    out = tmp_path_factory.mktemp(name)
    returned = kerazoo.lessons.run(name, quick=True, out=out)
    written = json.loads((out / "results.json").read_text())
    assert written == returned
    return out, written


def lesson_fixture(name):
    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory):
        return _run(tmp_path_factory, name)

    return fixture


def check_pictures(out, results, expected):
    """Every recorded picture exists as a real, non-trivial PNG, with a caption."""
    assert [p["file"] for p in results["pictures"]] == expected
    for picture in results["pictures"]:
        data = (out / picture["file"]).read_bytes()
        assert data.startswith(PNG)
        assert len(data) > 20_000, picture["file"]  # a drawn figure, not an empty canvas
        assert picture["caption"]
    assert set(results["numbers"]) == set(results["about"])
    # The committed docs page shows the same numbers and pictures (values differ by mode/run).
    committed = json.loads((course.ROOT / results["lesson"] / "results.json").read_text())
    assert list(committed["numbers"]) == list(results["numbers"])
    assert committed["pictures"] == results["pictures"]
