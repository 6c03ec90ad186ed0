"""docs/course is generated from the lessons' own results.json: a stale page fails here.

The committed pages are rendered from docs/course/NAME/results.json (quick mode); the
lesson tests (conftest.check_pictures) also check that each lesson still produces the
numbers and pictures its committed page shows.
"""

import json

from kerazoo.lessons import LESSONS, course


def test_pages_match_their_results():
    assert course.stale() == [], "run: python -m kerazoo.lessons.course"


def test_every_lesson_has_a_page_with_its_pictures():
    index = (course.ROOT / "README.md").read_text()
    for name in LESSONS:
        results = json.loads((course.ROOT / name / "results.json").read_text())
        assert results["lesson"] == name
        page = (course.ROOT / f"{name}.md").read_text()
        assert f"]({name}.md)" in index
        for picture in results["pictures"]:
            assert (course.ROOT / name / picture["file"]).stat().st_size > 20_000
            assert f"({name}/{picture['file']})" in page
        for key in results["numbers"]:
            assert f"`{key}`" in page


def test_render_changes_with_the_numbers():
    results = json.loads((course.ROOT / "losses" / "results.json").read_text())
    before = course.render(results)
    results["numbers"]["slope_shift_mse"] = 123.0
    assert course.render(results) != before
