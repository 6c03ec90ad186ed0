"""The run/search folder rules: a manifest of what kerazoo wrote (overwrite deletes only
that), old run folders still recognised, and one writer per folder (a lock that real
processes contend for, taken over when its holder is killed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from kerazoo.config import RunConfig, SearchConfig
from kerazoo.training import folder

KERAZOO = [sys.executable, "-m", "kerazoo.cli"]
ENV = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}


def _read(path, *, resume=False, overwrite=False, kind="run"):
    config_class, marker = (RunConfig, "config.json") if kind == "run" else (
        SearchConfig, "search.json")  # fmt: skip
    return folder.read_saved(
        path, config_class, marker=marker, noun=kind, resume=resume, overwrite=overwrite
    )


def _old_run(path):
    """A run folder as an earlier kerazoo left it: known names only, no manifest."""
    (path / "backup").mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model": "mnist_mlp", "epochs": 2}))
    for name in ("model.keras", "metrics.json", "history.csv", "history.png", ".clock.json",
                 ".model.keras.tmp"):  # fmt: skip
        (path / name).write_text("x")


def test_a_folder_that_merely_holds_a_config_json_is_refused_and_kept(tmp_path):
    p = tmp_path / "p"
    (p / "src").mkdir(parents=True)
    (p / "config.json").write_text("{}")
    (p / "src" / "main.py").write_text("print('mine')\n")
    with pytest.raises(ValueError, match="files kerazoo did not write \\(src\\)"):
        _read(p, overwrite=True)
    with pytest.raises(ValueError, match="not recognisably"):
        _read(p, resume=True)
    assert (p / "src" / "main.py").read_text() == "print('mine')\n"


def test_an_old_run_folder_is_still_a_run_and_overwrite_clears_it(tmp_path):
    run = tmp_path / "run"
    _old_run(run)
    assert _read(run, resume=True).model == "mnist_mlp"
    with pytest.raises(ValueError, match="already holds a run"):
        _read(run)
    assert _read(run, overwrite=True) is None
    folder.start(run, "run")
    assert sorted(p.name for p in run.iterdir()) == [folder.MANIFEST]


def test_overwrite_deletes_only_what_the_manifest_lists(tmp_path):
    run = tmp_path / "run"
    folder.start(run, "run")
    (run / "config.json").write_text(json.dumps({"model": "mnist_mlp"}))
    (run / "logs").mkdir()
    (run / "logs" / "events").write_text("x")
    folder.record(run, "run")
    (run / "notes.txt").write_text("my notes")  # the user's, added after the run
    manifest = json.loads((run / folder.MANIFEST).read_text())
    assert manifest["kind"] == "run" and manifest["files"] == ["config.json", "logs"]
    assert _read(run, resume=True).model == "mnist_mlp"  # a manifest makes it a run
    folder.start(run, "run")  # what overwrite does, once everything is checked
    assert sorted(p.name for p in run.iterdir()) == [folder.MANIFEST, "notes.txt"]
    assert json.loads((run / folder.MANIFEST).read_text())["kept"] == ["notes.txt"]


def test_search_folders_follow_the_same_rules(tmp_path):
    search = tmp_path / "search"
    (search / "keras_tuner").mkdir(parents=True)
    (search / "search.json").write_text(json.dumps({"model": "mnist_mlp"}))
    assert _read(search, resume=True, kind="search").model == "mnist_mlp"
    (search / "thesis.tex").write_text("x")
    with pytest.raises(ValueError, match="thesis.tex"):
        _read(search, overwrite=True, kind="search")
    # A run's manifest does not make a folder a search folder.
    run = tmp_path / "run"
    folder.start(run, "run")
    (run / "search.json").write_text("{}")
    with pytest.raises(ValueError, match="not recognisably a kerazoo search"):
        _read(run, overwrite=True, kind="search")


HOLDER = """
import sys, time
from pathlib import Path
from kerazoo.training import folder
with folder.lock(Path(sys.argv[1]), "run"):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_second_writer_is_refused_and_a_dead_holders_lock_is_taken_over(tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        lock_text = (run / folder.LOCK).read_text()
        assert lock_text.startswith(f"{holder.pid} on ")
        busy = pytest.raises(ValueError, match=f"being written by process {holder.pid} ")
        with busy, folder.lock(run, "run"):
            pass
        with pytest.raises(ValueError, match="being written"):  # checked before any write
            _read(run)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (run / folder.LOCK).exists()  # a killed holder leaves its file behind
    with folder.lock(run, "run"):  # ... and the lock is free: taken over
        assert (run / folder.LOCK).read_text().startswith(f"{os.getpid()} on ")
    assert not (run / folder.LOCK).exists()


def test_overwrite_on_the_command_line_keeps_a_foreign_folder(tmp_path):
    """The issue's reproduction: `p/src` must survive `train ... --out p --overwrite`."""
    p = tmp_path / "p"
    (p / "src").mkdir(parents=True)
    (p / "config.json").write_text("{}")
    (p / "src" / "main.py").write_text("")
    proc = subprocess.run(
        [*KERAZOO, "train", "mnist_mlp", "--out", str(p), "--overwrite"],
        capture_output=True, text=True, env=ENV, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "not recognisably" in proc.stderr
    assert sorted(x.name for x in p.rglob("*")) == ["config.json", "main.py", "src"]


def _wait_for(path, proc, seconds=300):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.2)


def test_two_real_trainings_of_one_folder(tmp_path):
    """A second `train --resume` (or --overwrite) of a folder being trained is refused in
    one line before TensorFlow loads; once the first is killed, its lock is taken over and
    an overwrite keeps the user's own file."""
    run = tmp_path / "run"
    first = subprocess.Popen(
        [*KERAZOO, "train", "mnist_mlp", "--dataset", "mnist_sample", "--epochs", "100000",
         "--no-early-stopping", "--max-examples", "300", "--out", str(run), "--verbose", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        _wait_for(run / "history.csv", first)
        for flag in ("--resume", "--overwrite"):
            started = time.perf_counter()
            second = subprocess.run(
                [*KERAZOO, "train", "mnist_mlp", "--out", str(run), flag],
                capture_output=True, text=True, env=ENV, timeout=120,
            )  # fmt: skip
            lines = second.stderr.strip().splitlines()
            assert second.returncode == 2, second.stderr
            assert len(lines) == 1 and f"being written by process {first.pid} " in lines[0]
            assert time.perf_counter() - started < 10  # answered before TensorFlow loads
        assert first.poll() is None  # the first writer goes on
    finally:
        first.kill()
        first.communicate()
    (run / "notes.txt").write_text("mine")
    proc = subprocess.run(
        [*KERAZOO, "train", "mnist_mlp", "--dataset", "mnist_sample", "--epochs", "1",
         "--max-examples", "300", "--out", str(run), "--overwrite", "--verbose", "0"],
        capture_output=True, text=True, env=ENV, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (run / "notes.txt").read_text() == "mine"
    manifest = json.loads((run / folder.MANIFEST).read_text())
    assert manifest["kept"] == ["notes.txt"]
    assert {"config.json", "model.keras", "metrics.json", "history.csv"} <= set(manifest["files"])
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 1
    assert not (run / folder.LOCK).exists()
