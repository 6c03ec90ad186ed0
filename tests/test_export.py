"""kerazoo.export: every artifact is checked by its real consumer on real data.

The SavedModel is loaded with `tf.saved_model.load` and called through its `serve`
function; the TFLite file runs in `tf.lite.Interpreter` (its `serving_default` signature
runner). Both must give the Keras model's predictions on real MNIST digits (or real
quotations, or the GAN's latent noise) within these tolerances: SavedModel runs the very
same TensorFlow kernels, TFLite its own float kernels.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
import realdata

import kerazoo
from kerazoo.cli import build_parser
from kerazoo.cli.deploy import run_export
from kerazoo.export import describe, export, exportable_parts

SAVED_MODEL_ATOL = 1e-5
TFLITE_ATOL = 1e-4
CNN_TINY = {"filters": (4, 8), "dense_units": (16,)}


def serve(path, x) -> list[np.ndarray]:
    """The SavedModel's predictions for x, through `tf.saved_model.load(...).serve`."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))  # keep a reference: it owns the variables
    return as_list(loaded.serve(x))


def run_tflite(path, x, *, batch: int | None = None) -> list[np.ndarray]:
    """The TFLite file's predictions for x, in the model's output order (`output_0`, ...).

    `batch`: feed that many examples per call (1 for fixed-batch exports)."""
    from kerazoo.export import tflite_interpreter

    runner = tflite_interpreter(path).get_signature_runner("serving_default")
    (name,) = runner.get_input_details()
    chunks = [x] if batch is None else [x[i : i + batch] for i in range(0, len(x), batch)]
    results = [runner(**{name: chunk}) for chunk in chunks]
    keys = sorted(results[0], key=lambda k: int(k.rsplit("_", 1)[1]))
    return [np.concatenate([r[k] for r in results]) for k in keys]


def as_list(y) -> list[np.ndarray]:
    return [np.asarray(t) for t in (y if isinstance(y, list | tuple) else [y])]


def max_diff(got: list, want) -> float:
    want = as_list(want)
    assert len(got) == len(want)
    return max(float(np.abs(g - w).max()) for g, w in zip(got, want, strict=True))


def leftovers(folder) -> list[str]:
    """Hidden temporary siblings an export may have left."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


@pytest.fixture(scope="module")
def cnn_file(tmp_path_factory):
    """A small mnist_cnn trained one epoch on 512 real digits, saved as model.keras."""
    import keras

    keras.utils.set_random_seed(0)
    x, y = realdata.mnist_digits(512)
    model = kerazoo.create_model("mnist_cnn", **CNN_TINY)
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    path = tmp_path_factory.mktemp("cnn") / "model.keras"
    model.save(path)
    return path, model


@pytest.fixture(scope="module")
def test_digits():
    x, _ = realdata.mnist_digits(64, offset=512)  # not seen in training
    return x


# --- real consumers, real data --------------------------------------------------------


def test_saved_model_serve_matches_keras(cnn_file, test_digits):
    path, model = cnn_file
    out = export(path, "saved_model")
    assert out == path.with_name("model_saved_model") and (out / "saved_model.pb").is_file()
    want = model.predict(test_digits, verbose=0)
    (got,) = serve(out, test_digits)
    assert max_diff([got], want) < SAVED_MODEL_ATOL
    assert (got.argmax(-1) == want.argmax(-1)).all()
    assert leftovers(path.parent) == []


def test_tflite_interpreter_matches_keras(cnn_file, test_digits):
    path, model = cnn_file
    out = export(path, "tflite")
    assert out == path.with_name("model.tflite")
    assert b"Flex" not in out.read_bytes()  # builtin ops only: runs on the plain interpreter
    want = model.predict(test_digits, verbose=0)
    (got,) = run_tflite(out, test_digits)  # dynamic batch: all 64 digits in one call
    assert max_diff([got], want) < TFLITE_ATOL
    assert (got.argmax(-1) == want.argmax(-1)).all()
    assert describe(out)[0] == "input  input (None, 28, 28, 1) float32"


def test_fixed_batch_size(cnn_file, test_digits, tmp_path):
    path, model = cnn_file
    out = export(path, "saved_model", tmp_path / "b4", batch_size=4)
    assert describe(out)[0] == "input  input (4, 28, 28, 1) float32"
    x = test_digits[:4]
    assert max_diff(serve(out, x), model.predict(x, verbose=0)) < SAVED_MODEL_ATOL


@pytest.mark.slow
def test_lstm_classifier_tflite_gets_fixed_batch_of_builtin_ops(tmp_path):
    # An LSTM converts to builtin ops only with a static batch; kerazoo falls back to a
    # batch of 1 (and says so) rather than emitting Flex ops the interpreter cannot run.
    texts, _ = realdata.fortunes(12)
    ids = realdata.token_ids(texts, vocab_size=2000, sequence_length=32)
    model = kerazoo.create_model(
        "lstm_classifier", vocab_size=2000, sequence_length=32, embedding_dim=16, units=(16,)
    )
    with pytest.warns(UserWarning, match="fixed batch"):
        out = export(model, "tflite", tmp_path / "lstm.tflite")
    assert b"Flex" not in out.read_bytes()
    assert describe(out)[0] == "input  input (1, 32) int32"
    got = run_tflite(out, ids, batch=1)
    assert max_diff(got, model.predict(ids, verbose=0)) < TFLITE_ATOL
    # The SavedModel keeps the dynamic batch.
    saved = export(model, "saved_model", tmp_path / "lstm_saved_model")
    assert max_diff(serve(saved, ids), model.predict(ids, verbose=0)) < SAVED_MODEL_ATOL


# Real inputs per kind of model: digits for images, quotations for token ids, sunspot
# windows for forecasters.
def real_inputs(model) -> np.ndarray:
    shape = model.input_shape[1:]
    if model.inputs[0].dtype.startswith("int"):
        texts, _ = realdata.fortunes(8)
        return realdata.token_ids(texts, vocab_size=2000, sequence_length=shape[0])
    if len(shape) == 2:
        return realdata.windows(realdata.sunspots(), shape[0])[0][:16]
    x, _ = realdata.mnist_digits(16, offset=512)
    return x if len(shape) == 3 else x.reshape(len(x), -1)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["mnist_mlp", "resnet8", "gru_forecaster", "transformer_classifier", "conv_autoencoder"]
)
def test_every_family_runs_in_the_tflite_interpreter(name, tmp_path):
    # One model per family not covered above (cnn, rnn classifier, vae and dcgan are).
    model = kerazoo.create_model(name, **kerazoo.registry.get_spec(name).tiny)
    x = real_inputs(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        out = export(model, "tflite", tmp_path / f"{name}.tflite")
    fixed = any("fixed batch" in str(w.message) for w in caught)
    assert fixed == (name == "gru_forecaster")  # only recurrent models need batch 1
    got = run_tflite(out, x, batch=1 if fixed else None)
    assert max_diff(got, model.predict(x, verbose=0)) < TFLITE_ATOL


def test_exportable_parts_of_every_registered_model():
    expected = {"gan": ("generator", "discriminator"), "autoencoder": ("encoder", "decoder")}
    for name in kerazoo.list_models():
        spec = kerazoo.registry.get_spec(name)
        if spec.family not in ("gan", "autoencoder", "mlp"):
            continue  # the rest build slowly and, like the mlps, are single-part
        model = kerazoo.create_model(name, **spec.tiny, compile=False)
        assert exportable_parts(model) == expected.get(spec.family, ()), name


# --- two-part models --------------------------------------------------------------------


@pytest.fixture(scope="module")
def gan_file(tmp_path_factory):
    gan = kerazoo.create_model("dcgan", **kerazoo.registry.get_spec("dcgan").tiny, compile=False)
    path = tmp_path_factory.mktemp("gan") / "gan.keras"
    gan.save(path)
    return path, gan


def test_dcgan_whole_is_refused_with_a_pointer_to_the_generator(gan_file, tmp_path):
    path, gan = gan_file
    assert exportable_parts(gan) == ("generator", "discriminator")
    for source in (gan, path):
        with pytest.raises(ValueError, match=r"--part generator.*Received: model='dcgan'"):
            export(source, "tflite", tmp_path / "gan.tflite")
    assert list(tmp_path.iterdir()) == []


def test_dcgan_parts_export_and_match(gan_file, test_digits):
    path, gan = gan_file
    out = export(path, "tflite", part="generator")
    assert out == path.with_name("gan_generator.tflite")
    # The generator's real input is latent noise: a fixed, seeded draw.
    z = np.random.default_rng(0).normal(size=(16, gan.latent_dim)).astype(np.float32)
    assert max_diff(run_tflite(out, z), gan.generator.predict(z, verbose=0)) < TFLITE_ATOL
    out = export(path, "saved_model", part="discriminator")
    assert out == path.with_name("gan_discriminator_saved_model")
    want = gan.discriminator.predict(test_digits, verbose=0)
    assert max_diff(serve(out, test_digits), want) < SAVED_MODEL_ATOL


def test_vae_whole_and_encoder_with_two_outputs(tmp_path, test_digits):
    vae = kerazoo.create_model("vae", **kerazoo.registry.get_spec("vae").tiny)
    assert exportable_parts(vae) == ("encoder", "decoder")
    # The whole VAE is exportable: outside training it decodes z_mean (deterministic).
    whole = export(vae, "tflite", tmp_path / "vae.tflite")
    assert max_diff(run_tflite(whole, test_digits), vae.predict(test_digits, verbose=0)) < (
        TFLITE_ATOL
    )
    # The encoder returns (z_mean, z_log_var): output_0 and output_1, in that order.
    encoder = export(vae, "tflite", tmp_path / "encoder.tflite", part="encoder")
    want = vae.encoder.predict(test_digits, verbose=0)
    assert max_diff(run_tflite(encoder, test_digits), want) < TFLITE_ATOL


def test_part_of_a_single_part_model_is_refused(cnn_file, tmp_path):
    path, model = cnn_file
    assert exportable_parts(model) == ()
    with pytest.raises(ValueError, match=r"no generator.*has no parts.*Received: part="):
        export(path, "tflite", tmp_path / "x.tflite", part="generator")
    with pytest.raises(ValueError, match=r"part must be one of.*Received: part='head'"):
        export(path, "tflite", tmp_path / "x.tflite", part="head")
    assert list(tmp_path.iterdir()) == []


# --- bad input: one clear error, nothing half-written ----------------------------------


@pytest.mark.parametrize("kind", ["missing", "truncated", "text"])
def test_bad_model_files(kind, cnn_file, tmp_path):
    path, _ = cnn_file
    bad = tmp_path / "bad.keras"
    if kind == "truncated":
        data = path.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    elif kind == "text":
        bad.write_text("this is a to-do list, not a model\n")
    with pytest.raises(ValueError, match=r"Received: path=.*bad\.keras"):
        export(bad, "tflite")
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        [] if kind == "missing" else ["bad.keras"]
    )


def test_unknown_format_and_bad_arguments(cnn_file, tmp_path):
    path, _ = cnn_file
    with pytest.raises(ValueError, match=r"format must be .*Received: format='coreml'"):
        export(path, "coreml", tmp_path / "x")
    with pytest.raises(ValueError, match=r"ends in \.tflite. Received: out="):
        export(path, "tflite", tmp_path / "model.bin")
    with pytest.raises(ValueError, match=r"batch_size must be .*Received: batch_size=0"):
        export(path, "tflite", tmp_path / "x.tflite", batch_size=0)
    with pytest.raises(ValueError, match=r"out is required .*Received: out=None"):
        export(kerazoo.create_model("mnist_cnn", **CNN_TINY), "tflite")
    with pytest.raises(ValueError, match=r"model_or_path must be .*Received: model_or_path=42"):
        export(42, "tflite", tmp_path / "x.tflite")
    assert list(tmp_path.iterdir()) == []


def test_onnx_without_tf2onnx_says_what_to_install(cnn_file, tmp_path, monkeypatch):
    path, _ = cnn_file
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # as on a machine without it
    with pytest.raises(ImportError, match=r"pip install tf2onnx onnx.*Received: format='onnx'"):
        export(path, "onnx", tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_existing_out_needs_overwrite_and_survives_a_failed_overwrite(
    cnn_file, tmp_path, test_digits, monkeypatch
):
    import keras

    path, model = cnn_file
    out = tmp_path / "model.tflite"
    out.write_bytes(b"an older export")
    with pytest.raises(ValueError, match=r"already exists; pass overwrite=True"):
        export(path, "tflite", out)
    assert out.read_bytes() == b"an older export"

    # A conversion that dies half-way (after writing part of its file) changes nothing.
    def broken_export(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"half a flatbuffer")
        raise RuntimeError("converter crashed")

    with monkeypatch.context() as patch:
        patch.setattr(keras.Model, "export", broken_export)
        with pytest.raises(ValueError, match=r"Could not export .*converter crashed"):
            export(path, "tflite", out, overwrite=True)
        with pytest.raises(ValueError, match=r"converter crashed"):
            export(path, "saved_model", tmp_path / "new" / "deep" / "sm")
    assert out.read_bytes() == b"an older export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tflite"]  # no "new/", no tmp

    export(path, "tflite", out, overwrite=True)
    assert max_diff(run_tflite(out, test_digits), model.predict(test_digits, verbose=0)) < (
        TFLITE_ATOL
    )
    assert leftovers(tmp_path) == []


def test_unwritable_output_path(cnn_file, tmp_path):
    path, _ = cnn_file
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    # (The tests run as root, for whom permission bits block nothing; a file in the way
    # fails the same way for everyone.)
    with pytest.raises(ValueError, match=r"Cannot create the output folder .*Received: out="):
        export(path, "tflite", blocker / "sub" / "model.tflite")
    with pytest.raises(ValueError, match=r"out is the model file itself"):
        export(path, "saved_model", path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder"]
    assert path.is_file()


# --- the command line -------------------------------------------------------------------


def parse(argv):
    return build_parser().parse_args(argv)


def test_cli_export_prints_what_was_written(cnn_file, tmp_path, capsys):
    path, _ = cnn_file
    out = tmp_path / "digits.tflite"
    args = parse(["export", str(path), "--format", "tflite", "--out", str(out)])
    assert args.func is run_export
    assert run_export(args) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"wrote {out} (file, ") and printed[0].endswith(" KB)")
    assert printed[1:] == [
        "  input  input (None, 28, 28, 1) float32",
        "  output output_0 (None, 10) float32",
    ]
    # Existing output, unknown format: ValueError, which kerazoo.cli's error table prints on one
    # line with exit status 2.
    with pytest.raises(ValueError, match="already exists"):
        run_export(parse(["export", str(path), "--format", "tflite", "--out", str(out)]))
    with pytest.raises(ValueError, match="Received: format='pb'"):
        run_export(parse(["export", str(path), "--format", "pb"]))
    with pytest.raises(ValueError, match="a folder without a model.keras"):
        run_export(parse(["export", str(tmp_path), "--format", "tflite"]))
    # A run folder stands for its model.keras; --overwrite replaces the earlier export.
    argv = ["export", str(path.parent), "--format", "tflite", "--out", str(out), "--overwrite"]
    assert run_export(parse(argv)) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out} ")


def test_onnx_runtime_matches_keras_where_tf2onnx_is_installed(cnn_file, test_digits, tmp_path):
    # ONNX is optional (tf2onnx, onnx and onnxruntime are not kerazoo dependencies);
    # where they are installed the export is checked by ONNX Runtime like the others.
    why = "ONNX export is optional: pip install -e '.[onnx]' adds tf2onnx and onnxruntime"
    pytest.importorskip("tf2onnx", reason=why)
    ort = pytest.importorskip("onnxruntime", reason=why)
    path, model = cnn_file
    out = export(path, "onnx", tmp_path / "model.onnx")
    session = ort.InferenceSession(str(out))
    (spec,) = session.get_inputs()
    got = session.run(None, {spec.name: test_digits})
    assert max_diff(got, model.predict(test_digits, verbose=0)) < TFLITE_ATOL


def test_kerazoo_export_command_end_to_end(gan_file, cnn_file, tmp_path):
    """Through the real `kerazoo` command: a file written, and a one-line refusal."""
    import os
    import subprocess

    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "kerazoo.cli", "export"]
    out = tmp_path / "digits.tflite"
    proc = subprocess.run(
        [*command, str(cnn_file[0]), "--format", "tflite", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith(f"wrote {out} ") and out.stat().st_size > 0
    proc = subprocess.run(
        [*command, str(gan_file[0]), "--format", "tflite", "--out", str(tmp_path / "gan.tflite")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--part generator" in lines[0]
    assert not (tmp_path / "gan.tflite").exists()
