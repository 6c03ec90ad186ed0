"""The `kerazoo` command: listing, describing, building, and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KERAZOO = [sys.executable, "-m", "kerazoo.cli"]


def run(*args, cwd=None):
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [*KERAZOO, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_help_lists_the_commands():
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("list", "info", "build"):
        assert command in proc.stdout


def test_list_prints_a_table():
    proc = run("list", "resnet*")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["name", "family", "task", "params", "input"]
    rows = [ln.split() for ln in lines[2:] if ln.startswith("resnet")]
    assert [r[0] for r in rows] == [
        "resnet8",
        "resnet14",
        "resnet20",
        "resnet32",
        "resnet44",
        "resnet56",
    ]
    assert all(r[1] == "resnet" and r[2] == "classification" for r in rows)
    assert "6 models" in proc.stdout


def test_list_by_family():
    proc = run("list", "--family", "gan")
    assert proc.returncode == 0
    assert "dcgan" in proc.stdout and "resnet20" not in proc.stdout


def test_info_prints_facts_and_summary():
    proc = run("info", "lenet5")
    assert proc.returncode == 0, proc.stderr
    assert "parameters:   61,706" in proc.stdout
    assert "LeCun" in proc.stdout
    assert 'Model: "lenet5"' in proc.stdout and "Total params" in proc.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["info", "lenet"], "Unknown model name. Did you mean: lenet5"),
        (["list", "--family", "nope"], "Received: family='nope'"),
        (["build", "lenet5", "--set", "input_shape=(8, 8, 1)"], "input_shape"),
        (["build", "mnist_cnn", "--set", "dropout=1.5"], "Received: dropout=1.5"),
        (["build", "mnist_cnn", "--set", "nokey"], "--set takes key=value"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    proc = run(*args, "--out", str(tmp_path / "out")) if args[0] == "build" else run(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_build_writes_model_and_diagram(tmp_path):
    out = tmp_path / "mlp"
    proc = run("build", "binary_mlp", "--set", "hidden_units=(8,)", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "model.keras").stat().st_size > 0
    assert (out / "architecture.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in proc.stdout and "Total params" in proc.stdout
    assert not any(p.name.startswith(".tmp-") for p in out.iterdir())
    import warnings

    from kerazoo import load_model

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. an optimizer that does not restore
        model = load_model(out / "model.keras")
    assert model.layers[-2].units == 8
    assert Path(out / "model.keras").exists()


@pytest.mark.parametrize(
    "name, parts", [("dcgan", ("generator", "discriminator")), ("vae", ("encoder", "decoder"))]
)
def test_info_summarises_every_part_of_two_part_models(name, parts):
    proc = run("info", name)
    assert proc.returncode == 0, proc.stderr
    for part in parts:
        assert f'Model: "{part}"' in proc.stdout


# ---------------------------------------------------------------------------------------------
# The one error-to-exit table (kerazoo.cli.errors), for every command alike


def _raises(err):
    def command(args):
        raise err

    return command


@pytest.mark.parametrize(
    "make_error, status, line",
    [
        (lambda: ValueError("bad\n  input"), 2, "kerazoo cmd: error: bad input"),
        (lambda: ImportError("pip install x"), 2, "kerazoo cmd: error: pip install x"),
        (lambda: _error("kerazoo.tuning.engine", "SearchStopped", "3 failed"), 1,
         "kerazoo cmd: stopped: 3 failed"),
        (lambda: _error("kerazoo.training.run", "TrainingDiverged", "loss is nan"), 1,
         "kerazoo cmd: loss is nan"),
        (lambda: KeyboardInterrupt(), 130, "interrupted"),
    ],
)  # fmt: skip
def test_the_error_table_maps_each_error_to_one_line_and_a_status(make_error, status, line, capsys):
    from kerazoo.cli import errors

    assert errors.run_command("cmd", _raises(make_error()), None) == status
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == line + "\n"


def _error(module: str, name: str, message: str):
    import importlib

    return getattr(importlib.import_module(module), name)(message)


def test_other_errors_keep_their_traceback():
    from kerazoo.cli import errors

    with pytest.raises(RuntimeError, match="a bug"):
        errors.run_command("cmd", _raises(RuntimeError("a bug")), None)
    with pytest.raises(KeyError):
        errors.run_command("cmd", _raises(KeyError("x")), None)


def test_help_and_list_import_no_tensorflow_and_no_training_code():
    probe = (
        "import sys, contextlib, io\n"
        "from kerazoo.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['list'])\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'kerazoo.training.run', "
        "'kerazoo.tuning.search') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_python_dash_m_kerazoo_is_the_same_command():
    proc = subprocess.run(
        [sys.executable, "-m", "kerazoo", "info", "nope_model"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("kerazoo info: error: ") and proc.stderr.count("\n") == 1
