"""`kerazoo.load_model` against hostile model files, and every zoo model still loading.

The corpus is written by the tests (tests/hostile.py): decompression and HDF5 shape bombs,
configs naming Keras functions that change the process (`set_floatx`, `set_max_epochs`,
`set_random_seed`, `plot_model`), an HDF5/zip polyglot, prepended data, a member stored
twice, code-running and foreign classes, and damaged archives. Each is refused in one
`ValueError` line naming the file, leaving the process as it was and no file behind. The
bombs run in a child process under a memory cap, and three CLI commands as a user runs
them (one line on stderr, exit 2). About 95 s on two shared cores: the 48 zoo loads take
about 60 s, the three CLI processes about 20 s.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

import hostile
import keras
import numpy as np
import pytest
from hostile import GiB

import kerazoo.saving
from kerazoo import registry
from kerazoo.saving import load_model, read_config

ONE_LINE = r"^[^\n]*Received: \w+=[^\n]+$"


def _base_model():
    inputs = keras.Input((4,), name="features")
    outputs = keras.layers.Dense(2, name="dense")(inputs)
    model = keras.Model(inputs, outputs, name="base")
    model.compile(optimizer="adam", loss="mse")
    return model


def _lambda_model():
    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))


def _legacy_h5_with_lambda(path: Path) -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns that .h5 is legacy
        _lambda_model().save(path)
    return path


def _corpus(folder: Path) -> dict[str, tuple[Path, str]]:
    """{technique: (file, what the one-line refusal says)}."""
    base = folder / "base.keras"
    _base_model().save(base)
    contents = hostile.members(base)
    kernel = next(p for p in hostile.weight_paths(base) if p.endswith("vars/0"))
    files = {}

    def add(name, path, expected):
        files[name] = (Path(path), expected)

    def replaced(name, **members):
        return hostile.rewrite(base, folder / f"{name}.keras", replace=members)

    # Bombs: 5 GiB (Keras's own guard refuses it too) and 1 GiB of weights, under Keras's
    # 4 GiB floor, which plain Keras reads into memory.
    bomb = [("config.json", hostile.deflated_zeros(5 * GiB), 5 * GiB)]
    add("zip_bomb_5gib", hostile.write_zip(folder / "zip_bomb.keras", bomb), "decompression bomb")
    bomb = [*list(contents.items())[:2], ("model.weights.h5", hostile.deflated_zeros(GiB), GiB)]
    path = hostile.write_zip(folder / "weights_bomb.keras", bomb)
    add("zip_bomb_weights_1gib", path, "decompression bomb")
    # 3.35 GiB declared (under Keras's 4 GiB floor), nothing stored.
    declared = {"shape": (30_000, 30_000), "dtype": "float32", "chunks": (1000, 1000)}
    weights = hostile.h5_weights(base, {kernel: None}, compression="gzip", **declared)
    add("h5_shape_bomb", replaced("shape_bomb", **{"model.weights.h5": weights}), "shape bomb")
    weights = _with_external_link(base)
    path = replaced("external", **{"model.weights.h5": weights})
    add("h5_external_link", path, "point outside the file")
    path = replaced("large_config", **{"config.json": b" " * (17 << 20) + b"{}"})
    add("config_too_large", path, "config.json (at most")

    # Function references that plain Keras 3.15.1 resolves and calls with the file's values.
    for module, name, argument in (
        ("keras.config", "set_floatx", "float16"),
        ("keras.config", "set_max_epochs", 1),
        ("keras.utils", "set_random_seed", 1234),
        ("keras.utils", "plot_model", "model.png"),
        ("builtins", "deserialize", {"class_name": "ReLU", "config": {}}),  # keras.*.deserialize
    ):
        path = hostile.with_function(base, folder / f"{name}.keras", module, name, argument)
        reference = name if module == "builtins" else f"{module}.{name}"
        add(f"function_{name}", path, f"names the function {reference}")
    path = hostile.with_function(
        base, folder / "as_class.keras", "keras.config", "set_floatx", "float16", as_class=True
    )
    add("class_set_floatx", path, "where a class is expected")

    # Formats and layouts that another reader resolves differently.
    h5 = _legacy_h5_with_lambda(folder / "lambda.h5")
    for suffix in (".h5", ".keras"):
        polyglot = folder / f"polyglot{suffix}"
        polyglot.write_bytes(h5.read_bytes() + base.read_bytes())
        add(f"h5_zip_polyglot{suffix}", polyglot, "HDF5 file")
    add("legacy_h5", h5, "HDF5 file")
    prepended = folder / "prepended.keras"
    prepended.write_bytes(b"#!/bin/sh\n" * 100 + base.read_bytes())
    add("prepended_data", prepended, "data before its first zip member")
    evil = hostile.config_of(base)
    evil["config"]["layers"][1]["class_name"] = "Lambda"
    twice = [*contents.items(), ("config.json", json.dumps(evil).encode())]
    add("duplicate_member", hostile.write_zip(folder / "twice.keras", twice), "twice")
    outside = [*contents.items(), ("../../escaped.txt", b"x")]
    add("member_outside", hostile.write_zip(folder / "outside.keras", outside), "outside")

    # Classes: code-running layers and foreign modules (refused before this issue too).
    _lambda_model().save(folder / "lambda.keras")
    add("lambda", folder / "lambda.keras", "contains a Lambda layer")
    path = hostile.with_class(base, folder / "tfsm.keras", "TFSMLayer", "keras.layers")
    add("tfsm_layer", path, "contains a TFSMLayer layer")
    path = hostile.with_class(base, folder / "foreign.keras", "Popen", "subprocess")
    add("foreign_module", path, "neither Keras's nor kerazoo's")
    path = hostile.with_class(
        base, folder / "misused.keras", "DCGAN", "kerazoo.models.gan", "kerazoo>DCGAN"
    )
    add("zoo_class_misused", path, "could not be loaded by Keras")
    path = hostile.with_class(base, folder / "unknown.keras", "NoSuchLayer", "keras.layers")
    add("unknown_layer", path, "where a class is expected")

    # Damaged files: Keras's own failures, and what never reaches Keras.
    data = base.read_bytes()
    for name, cut in (("truncated_half", len(data) // 2), ("truncated_head", 100)):
        (folder / f"{name}.keras").write_bytes(data[:cut])
        add(name, folder / f"{name}.keras", "corrupt")
    corrupt = bytearray(data)
    directory = data.rindex(b"PK\x01\x02")
    corrupt[directory : directory + 4] = b"XXXX"
    (folder / "corrupt.keras").write_bytes(bytes(corrupt))
    add("corrupt_directory", folder / "corrupt.keras", "corrupt")
    for name, config, expected in (
        ("bad_json", b"{not json", "unreadable config.json"),
        ("deep_json", b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        ("config_not_a_dict", b"[]", "not a model config"),
        ("no_config", None, "has no config.json"),
    ):
        add(name, replaced(name, **{"config.json": config}), expected)
    add("no_weights", replaced("no_weights", **{"model.weights.h5": None}), "by Keras")
    weights = hostile.h5_weights(base, {kernel: np.zeros((3, 3), "float32")})
    add("wrong_weight_shape", replaced("wrong_shape", **{"model.weights.h5": weights}), "by Keras")
    (folder / "notes.keras").write_text("not a model\n")
    add("not_zip", folder / "notes.keras", "Not a Keras model file")
    (folder / "empty.keras").write_bytes(b"")
    add("empty", folder / "empty.keras", "is empty")
    (folder / "folder.keras").mkdir()
    add("directory", folder / "folder.keras", "is a folder")
    add("missing", folder / "missing.keras", "not found")
    return files


def _with_external_link(base) -> bytes:
    import io

    import h5py

    buffer = io.BytesIO(hostile.members(base)["model.weights.h5"])
    with h5py.File(buffer, "r+") as weights:
        weights["leak"] = h5py.ExternalLink("/etc/passwd", "/")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return folder, _corpus(folder)


FILES = [
    "zip_bomb_5gib", "zip_bomb_weights_1gib", "h5_shape_bomb", "h5_external_link",
    "config_too_large", "function_set_floatx", "function_set_max_epochs",
    "function_set_random_seed", "function_plot_model", "function_deserialize",
    "class_set_floatx", "h5_zip_polyglot.h5", "h5_zip_polyglot.keras", "legacy_h5",
    "prepended_data", "duplicate_member", "member_outside", "lambda", "tfsm_layer",
    "foreign_module", "zoo_class_misused", "truncated_half", "truncated_head",
    "corrupt_directory", "bad_json", "deep_json", "config_not_a_dict", "no_config",
    "no_weights", "wrong_weight_shape", "unknown_layer", "not_zip", "empty", "directory",
    "missing",
]  # fmt: skip


@pytest.fixture
def quiet_tmp(tmp_path, monkeypatch):
    """A private temporary folder for the loader's copies, and a working folder to watch."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return scratch, work


@pytest.mark.parametrize("technique", FILES)
def test_a_hostile_file_is_refused_in_one_line_and_changes_nothing(technique, corpus, quiet_tmp):
    _, files = corpus
    path, expected = files[technique]
    scratch, work = quiet_tmp
    floatx, max_epochs = keras.config.floatx(), keras.config.max_epochs()
    seed_draw = np.random.get_state()[1][:4].copy()
    with pytest.raises(ValueError, match=ONE_LINE) as err:
        load_model(path)
    message = str(err.value)
    assert expected in message and str(path) in message, message
    assert keras.config.floatx() == floatx == "float32"
    assert keras.config.max_epochs() == max_epochs
    assert np.array_equal(np.random.get_state()[1][:4], seed_draw)  # no set_random_seed
    assert list(work.iterdir()) == [] and list(scratch.iterdir()) == []


def test_the_corpus_covers_every_technique(corpus):
    assert sorted(corpus[1]) == sorted(FILES)


@pytest.mark.skipif(
    keras.__version__ != "3.15.1",
    reason="records what plain keras 3.15.1 does with such a file; another Keras may differ, "
    "and kerazoo's own refusal is tested for every version above",
)
def test_plain_keras_calls_the_functions_a_file_names(corpus):
    """The threat is real: plain Keras 3.15.1 calls `set_floatx('float16')` from the file."""
    _, files = corpus
    try:
        keras.saving.load_model(files["function_set_floatx"][0], safe_mode=True)
        assert keras.config.floatx() == "float16"
    finally:
        keras.config.set_floatx("float32")


def test_the_bombs_are_refused_fast_under_a_memory_cap(corpus):
    """In a child capped at 384 MiB of address space: each bomb is refused in well under a
    second, before Keras or TensorFlow is imported."""
    _, files = corpus
    script = textwrap.dedent(
        """
        import json, resource, sys, time
        resource.setrlimit(resource.RLIMIT_AS, (384 << 20, 384 << 20))
        from kerazoo.saving import load_model
        results = {}
        for name, path in json.loads(sys.argv[1]).items():
            start = time.perf_counter()
            try:
                load_model(path)
                results[name] = "loaded"
            except ValueError as err:
                results[name] = [str(err), time.perf_counter() - start]
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        peak = int(status["VmHWM"].split()[0]) >> 10  # this process's peak, in MiB
        print(json.dumps({"results": results, "peak_mib": peak,
                          "tensorflow": "tensorflow" in sys.modules}))
        """
    )
    bombs = ["zip_bomb_5gib", "zip_bomb_weights_1gib", "h5_shape_bomb", "config_too_large"]
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps({b: str(files[b][0]) for b in bombs})],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in bombs:
        message, seconds = report["results"][name]
        assert files[name][1] in message and seconds < 1.0, (name, message, seconds)
    assert report["peak_mib"] < 384 and not report["tensorflow"]


def test_a_file_swapped_after_the_check_is_not_what_loads(corpus, tmp_path, monkeypatch):
    """The check and Keras read one private copy: swapping the file once it is copied
    (here, while the references are checked) changes nothing that loads."""
    folder, files = corpus
    target = tmp_path / "model.keras"
    target.write_bytes((folder / "base.keras").read_bytes())
    check, given = kerazoo.saving._check_references, []

    def swap_then_check(config, source):
        target.write_bytes(files["lambda"][0].read_bytes())  # a Lambda model now
        return check(config, source)

    def record(path, **kwargs):
        given.append(Path(path))
        return plain_load(path, **kwargs)

    plain_load = keras.saving.load_model
    monkeypatch.setattr(kerazoo.saving, "_check_references", swap_then_check)
    monkeypatch.setattr(keras.saving, "load_model", record)
    model = load_model(target)
    assert [layer.name for layer in model.layers] == ["features", "dense"]
    assert given[0] != target and not given[0].exists()  # the copy, removed after loading
    expected = keras.saving.load_model(folder / "base.keras").get_weights()
    for got, want in zip(model.get_weights(), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="contains a Lambda layer"):
        load_model(target)  # the swapped file itself is refused


def test_the_polyglot_really_is_both_formats(corpus):
    _, files = corpus
    path = files["h5_zip_polyglot.h5"][0]
    assert zipfile.is_zipfile(path) and path.read_bytes()[:4] == b"\x89HDF"


def test_read_config_is_bounded_like_the_loader(corpus):
    folder, files = corpus
    assert read_config(folder / "base.keras")["class_name"] == "Functional"
    for name in ("zip_bomb_5gib", "config_too_large", "h5_zip_polyglot.keras", "missing"):
        with pytest.raises(ValueError, match=ONE_LINE):
            read_config(files[name][0])


def test_keras_functions_and_the_zoos_registered_ones_still_load(tmp_path):
    """Functions Keras serializes as references (a loss, a metric) and a function registered
    under the zoo's package load; only references outside those are refused."""

    def scaled_tanh(x):
        return 2.0 * keras.ops.tanh(x)

    registered = keras.saving.register_keras_serializable(package="kerazoo")(scaled_tanh)
    try:
        inputs = keras.Input((4,))
        outputs = keras.layers.Dense(1, activation=registered)(keras.layers.Dense(3)(inputs))
        model = keras.Model(inputs, outputs)
        model.compile(loss=keras.losses.mean_squared_error,
                      metrics=[keras.metrics.mean_absolute_error])  # fmt: skip
        path = tmp_path / "functions.keras"
        model.save(path)
        functions = {
            e["config"] for e, _ in kerazoo.saving._entries(hostile.config_of(path))
            if e.get("class_name") == "function"
        }  # fmt: skip
        assert functions == {"kerazoo>scaled_tanh", "mean_squared_error", "mean_absolute_error"}
        loaded = load_model(path)
        assert loaded.layers[-1].activation is registered
        assert loaded.loss is keras.losses.mean_squared_error
    finally:
        keras.saving.get_custom_objects().pop("kerazoo>scaled_tanh", None)


# --- every registered model still loads ------------------------------------------------

registry._load_builtin_models()
NAMES = [n for n in registry.list_models() if registry.get_spec(n).builtin]


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "uncompiled"])
@pytest.mark.parametrize("name", NAMES)
def test_every_zoo_model_loads_with_equal_predictions(name, compiled, tmp_path):
    from models.test_zoo import model_inputs  # the zoo battery's real inputs per model

    spec = registry.get_spec(name)
    model = registry.create_model(name, **(spec.tiny | {"compile": compiled}))
    x = model_inputs(name, model, 8, **spec.tiny)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = load_model(path, compile=compiled)
    assert type(loaded) is type(model)
    # Called eagerly: `predict` would trace each model twice, for the same numbers.
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)),
        atol=1e-6,
    )


# --- the CLI as a user runs it --------------------------------------------------------

_CAP = 3 << 30  # TensorFlow alone maps about 2.2 GiB; the bombs need 1 to 5 GiB more


def _capped():
    resource.setrlimit(resource.RLIMIT_AS, (_CAP, _CAP))


@pytest.mark.slow
@pytest.mark.parametrize(
    "command, technique",
    [
        ("diagram", "function_plot_model"),
        ("evaluate", "zip_bomb_5gib"),
        ("predict", "h5_shape_bomb"),
    ],
)
def test_the_cli_refuses_in_one_line_under_a_memory_cap(command, technique, corpus, tmp_path):
    _, files = corpus
    path = files[technique][0]
    args = [command, str(path)]
    if command == "predict":
        notes = tmp_path / "input.txt"
        notes.write_text("a line to classify\n")
        args.append(str(notes))
    work = tmp_path / "cwd"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "kerazoo", *args], capture_output=True, text=True, cwd=work,
        env=os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}, preexec_fn=_capped, timeout=300,
    )  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith(f"kerazoo {command}: error: "), lines
    assert files[technique][1] in lines[0] and str(path) in lines[0]
    assert list(work.iterdir()) == []  # no model.png, no diagrams/ folder
