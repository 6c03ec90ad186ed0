"""Each lesson runs once per test session in quick mode; its tests read its results.json."""

import json
import re

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
    check_committed_page(results)


def _family(key: str) -> str:
    # "accuracy_cnn_900" and "accuracy_cnn_3600" measure the same thing at another size.
    return re.sub(r"\d+", "#", key)


def check_committed_page(results):
    """The committed docs page was made by the lesson as it is now (values differ by run).

    The pages show the full mode, which measures more (more sizes, more variants) than the
    quick mode the tests run: the same pictures, and every quantity the quick mode measures
    (up to the sizes in its name) measured there too. A page of the same mode must have
    exactly the same numbers and pictures.
    """
    committed = json.loads((course.ROOT / results["lesson"] / "results.json").read_text())
    if committed["quick"] == results["quick"]:
        assert list(committed["numbers"]) == list(results["numbers"])
        assert committed["pictures"] == results["pictures"]
        return
    assert [p["file"] for p in committed["pictures"]] == [p["file"] for p in results["pictures"]]
    missing = {_family(k) for k in results["numbers"]} - {_family(k) for k in committed["numbers"]}
    assert not missing, f"the committed page lacks {sorted(missing)}: regenerate it"
    assert set(committed["numbers"]) == set(committed["about"])
