"""The built wheel holds everything `kerazoo list` reads at run time, and the pretrained
presets (cards, weights, vocabularies) load from it.

The wheel is built from a copy of the checkout's package files, installed into a folder of
its own (not the editable install), and run from outside the checkout: `kerazoo list`
must answer from the shipped catalogue, quickly, without importing Keras or TensorFlow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kerazoo import pretrained, registry

ROOT = Path(__file__).resolve().parents[1]
# What setup.cfg builds from; copied so the build writes nothing into the checkout.
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "MANIFEST.in", "kerazoo")

# Run as `python -m kerazoo list`, then look at what was imported.
LIST = """
import runpy, sys
sys.argv = ["kerazoo", "list"]
try:
    runpy.run_module("kerazoo", run_name="__main__", alter_sys=True)
except SystemExit as exit:
    assert not exit.code, exit.code
import kerazoo
print("FILE", kerazoo.__file__)
print("HEAVY", sorted(m for m in ("keras", "tensorflow") if m in sys.modules))
"""


# From the installed wheel: every shipped file passes its hash check, and one preset loads and
# classifies real digits of the sample's test split.
PRESET = """
import kerazoo
from kerazoo import pretrained
from kerazoo.data import load_arrays
for card in pretrained.cards():
    pretrained.verified_file(card)
    if card.get("vocabulary"):
        pretrained.verified_file(card, "vocabulary")
model = kerazoo.create_model("lenet5", weights="mnist")
splits, _ = load_arrays("mnist_sample")
accuracy = (model.predict(splits.x_test[:200], verbose=0).argmax(-1) == splits.y_test[:200]).mean()
print("FILE", pretrained.PRESETS_DIR)
print("ACCURACY", accuracy)
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.exists():
            shutil.copy(path, src / name)
    dist = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)]
    subprocess.run(build, check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("kerazoo-*.whl")
    target = tmp_path_factory.mktemp("site")
    install = [*pip, "install", "--no-deps", "--target", str(target), str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    return wheel, target


@pytest.mark.slow
def test_the_wheel_ships_the_catalogue(installed):
    wheel, target = installed
    with zipfile.ZipFile(wheel) as zf:
        assert "kerazoo/catalog.json" in zf.namelist()
        assert not any(n.startswith("tools/") for n in zf.namelist())  # generators stay out
    shipped = (target / "kerazoo" / "catalog.json").read_text(encoding="utf-8")
    assert shipped == registry.CATALOG_PATH.read_text(encoding="utf-8")


@pytest.mark.slow
def test_kerazoo_list_from_the_wheel_imports_no_tensorflow(installed, tmp_path):
    _, target = installed
    env = dict(os.environ, PYTHONPATH=str(target))
    proc = subprocess.run(
        [sys.executable, "-c", LIST],
        cwd=tmp_path,  # outside the checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    file_line = next(line for line in lines if line.startswith("FILE "))
    assert file_line.startswith(f"FILE {target}")  # the installed wheel, not the checkout
    assert lines[-1] == "HEAVY []"
    listed = "\n".join(lines)
    for name in registry.list_models():
        assert name in listed, name


@pytest.mark.slow
def test_the_wheel_ships_the_pretrained_presets_and_they_load(installed, tmp_path):
    wheel, target = installed
    cards = pretrained.cards()
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert "kerazoo/pretrained/presets.json" in names
    for card in cards:
        assert f"kerazoo/pretrained/{card['file']}" in names
        if card.get("vocabulary"):
            assert f"kerazoo/pretrained/{card['vocabulary']}" in names
    env = dict(os.environ, PYTHONPATH=str(target), TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-c", PRESET],
        cwd=tmp_path,  # outside the checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert f"FILE {target}" in next(line for line in lines if line.startswith("FILE "))
    assert float(lines[-1].split()[1]) > 0.9
