"""The lesson registry, `run` and the `main(argv)` entry point (no training here)."""

import pytest

import kerazoo.lessons
from kerazoo.cli import main
from kerazoo.lessons import LESSONS


def test_lessons_in_course_order_and_importable():
    names = kerazoo.lessons.list_lessons()
    # The seeds' order: basics, training, then the network types, then the projects.
    order = [
        "activations",
        "forward_backprop",
        "losses",
        "optimizers",
        "learning_rate",
        "batch_and_epochs",
        "overfitting",
        "initializers",
        "cnn",
        "attention",
        "autoencoder",
        "dl_vs_ml",
        "workflow",
        "mnist_project",
    ]
    assert [n for n in names if n in order] == order
    assert names == list(LESSONS)
    for name in names:
        assert callable(kerazoo.lessons.get_lesson(name).run)


@pytest.mark.parametrize("bad", ["x", "activation", "", None, 3])
def test_unknown_lesson_is_a_value_error(bad):
    with pytest.raises(ValueError, match=r"Unknown lesson.*Received: name="):
        kerazoo.lessons.run(bad)


def test_unknown_lesson_suggests_close_names():
    with pytest.raises(
        ValueError, match=r"Did you mean activations\b.*Received: name='activation'$"
    ):
        kerazoo.lessons.get_lesson("activation")


def test_bad_quick_and_out(tmp_path):
    with pytest.raises(ValueError, match=r"Received: quick='yes'$"):
        kerazoo.lessons.run("losses", quick="yes")
    file = tmp_path / "file"
    file.write_text("")
    with pytest.raises(ValueError, match=r"Received: out="):
        kerazoo.lessons.run("losses", out=file)
    with pytest.raises(ValueError, match=r"Received: out=3$"):
        kerazoo.lessons.run("losses", out=3)


def test_main_list_and_errors(capsys):
    assert main(["lesson", "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(LESSONS)
    assert main(["lesson", "nope"]) == 2
    assert capsys.readouterr().err.strip().endswith("Received: name='nope'")
    assert main(["lesson"]) == 2


def test_main_runs_a_lesson(tmp_path, capsys):
    assert main(["lesson", "losses", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "slope_shift_mse" in out
    assert (tmp_path / "results.json").is_file()


def test_lesson_results_show_their_numbers_and_pictures_in_a_notebook(tmp_path):
    results = kerazoo.lessons.run("forward_backprop", quick=True, out=tmp_path)
    page = results._repr_html_()  # what Jupyter renders for the returned value
    assert results["title"] in page and "max_abs_gradient_difference" in page
    assert page.count("<img") == len(results["pictures"]) >= 1
