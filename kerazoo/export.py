"""Export trained models for deployment: TensorFlow SavedModel, TFLite and (optionally) ONNX.

Every format goes through Keras's own `Model.export`, which traces the model's inference
call (`training=False`) into a standalone artifact that no longer needs kerazoo, Keras or
the model's Python code:

- `saved_model`: a TensorFlow SavedModel folder with a `serve` signature, for TF Serving,
  `tf.saved_model.load` or TensorFlow.js/TFLite converters.
- `tflite`: one `.tflite` flatbuffer for `tf.lite.Interpreter` / LiteRT on phones and
  small boards. Only TFLite's builtin ops are allowed, so the file runs on the plain
  interpreter (no Flex delegate). Recurrent models get a fixed batch of 1, because
  TFLite lowers their loops to builtin ops only for a static batch.
- `onnx`: one `.onnx` file for ONNX Runtime; needs the optional `tf2onnx` and `onnx`
  packages.

Whole models that make no sense as one inference function (a DCGAN: calling it runs only
its generator) are refused with a pointer to their parts; two-part models export a part
with `part="generator"`, `"discriminator"`, `"encoder"` or `"decoder"`.

Writing is atomic: the artifact is built in a hidden temporary sibling of `out` and renamed
into place, so a failure never leaves a half-written export behind.

TensorFlow is imported inside the functions: `import kerazoo.export` stays cheap.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path

from kerazoo import preprocessing

# User-facing name -> Keras's `Model.export` format. The aliases are Keras's own names.
FORMATS = {
    "saved_model": "tf_saved_model",
    "tf_saved_model": "tf_saved_model",
    "tflite": "litert",
    "litert": "litert",
    "onnx": "onnx",
}
PARTS = ("generator", "discriminator", "encoder", "decoder")
# What the default output path adds to the model file's stem, per canonical format.
_SUFFIXES = {"tf_saved_model": "_saved_model", "litert": ".tflite", "onnx": ".onnx"}
_FILE_SUFFIX = {"litert": ".tflite", "onnx": ".onnx"}


def _canonical_format(format) -> str:
    if not isinstance(format, str) or format.lower() not in FORMATS:
        raise ValueError(
            "format must be 'saved_model' (alias 'tf_saved_model'), 'tflite' (alias "
            f"'litert') or 'onnx'. Received: format={format!r}"
        )
    return FORMATS[format.lower()]


def _check_onnx_available() -> None:
    # Keras converts through tf2onnx (which needs onnx); neither is a kerazoo dependency.
    try:
        import onnx  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError:
        raise ImportError(
            "ONNX export needs the packages tf2onnx and onnx (and onnxruntime to run the "
            "file), which kerazoo does not install: `pip install tf2onnx onnx onnxruntime` "
            "(tested: tf2onnx 1.17.0, onnx 1.23.2, onnxruntime 1.31.1), or export "
            "format='saved_model' / 'tflite'. Received: format='onnx'"
        ) from None


def _is_gan(model) -> bool:
    import keras

    return isinstance(getattr(model, "generator", None), keras.Model) and isinstance(
        getattr(model, "discriminator", None), keras.Model
    )


def exportable_parts(model) -> tuple[str, ...]:
    """The parts of a two-part model that `export(..., part=...)` accepts.

    Args:
        model: a `keras.Model`.

    Returns:
        `("generator", "discriminator")` for a GAN, `("encoder", "decoder")` for a kerazoo
        autoencoder (VAE included), `()` for single-part models.

    Example:

    ```python
    exportable_parts(kerazoo.create_model("dcgan"))   # ('generator', 'discriminator')
    ```
    """
    from kerazoo.models.autoencoder import _sub_model

    if _is_gan(model):
        return ("generator", "discriminator")
    parts = []
    for part in ("encoder", "decoder"):
        try:
            _sub_model(model, part)
        except ValueError:
            continue
        parts.append(part)
    return tuple(parts)


def _select_part(model, part: str | None):
    """The model to export: the whole model, or the named part of a two-part model."""
    parts = exportable_parts(model)
    name = getattr(model, "name", type(model).__name__)
    if part is None:
        if _is_gan(model):
            raise ValueError(
                f"A GAN cannot be exported as a whole: calling {name!r} runs only its "
                "generator, and its discriminator and training step belong to no inference "
                "function. Export a part: the generator (latent vectors -> images) or the "
                "discriminator (images -> real/fake logit), with "
                "`kerazoo.export.export(gan.generator, ...)`, `export(path, ..., "
                "part='generator')` or `kerazoo export MODEL.keras --part generator`. "
                f"Received: model={name!r}, part=None"
            )
        return model
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS} or None. Received: part={part!r}")
    if part not in parts:
        accepted = f"it has the parts {parts}" if parts else "it has no parts; omit part"
        raise ValueError(
            f"The model {name!r} has no {part} to export ({accepted}). Received: part={part!r}"
        )
    if part in ("generator", "discriminator"):
        return getattr(model, part)
    from kerazoo.models.autoencoder import get_decoder, get_encoder

    return get_encoder(model) if part == "encoder" else get_decoder(model)


def _takes_strings(model) -> bool:
    return preprocessing.is_wrapped(model) and model.inputs[0].dtype == "string"


def _vocabulary(model) -> list[str]:
    layer = model.get_layer("preprocess_vectorize")
    return [str(word) for word in layer.get_vocabulary()]


def _default_out(path: Path, fmt: str, part: str | None) -> Path:
    stem = path.stem + (f"_{part}" if part else "")
    return path.with_name(stem + _SUFFIXES[fmt])


def _check_out(out: Path, fmt: str, overwrite: bool, source: Path | None) -> None:
    suffix = _FILE_SUFFIX.get(fmt)
    if suffix and out.suffix.lower() != suffix:
        # Keras's exporter insists on it, and deployment tools look for it.
        raise ValueError(
            f"A {fmt.replace('litert', 'TFLite').upper()} export is one file whose name ends "
            f"in {suffix}. Received: out={str(out)!r}"
        )
    if source is not None and out.resolve() == source.resolve():
        raise ValueError(
            f"out is the model file itself; choose another path. Received: out={str(out)!r}"
        )
    if (out.exists() or out.is_symlink()) and not overwrite:
        raise ValueError(
            f"{str(out)!r} already exists; pass overwrite=True (command line: --overwrite) "
            f"to replace it, or choose another out. Received: out={str(out)!r}"
        )


def _make_parent(out: Path) -> Path | None:
    """Creates out's missing parent folders; returns the topmost one created (to remove on
    failure), or None when the parent already existed."""
    parent = out.parent
    missing = None
    probe = parent
    while not probe.exists() and probe != probe.parent:
        missing = probe
        probe = probe.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        # FileExistsError / NotADirectoryError: a file sits where a folder must be.
        reason = (
            "a file is in the way"
            if isinstance(err, FileExistsError | NotADirectoryError)
            else err.strerror
        )
        raise ValueError(
            f"Cannot create the output folder {str(parent)!r} ({reason or err}); "
            f"choose an out in a writable folder. Received: out={str(out)!r}"
        ) from None
    return missing


def _batch_signature(model, batch_size: int):
    """An input signature like Keras's own, but with a fixed batch dimension."""
    import tensorflow as tf

    specs = [tf.TensorSpec((batch_size, *t.shape[1:]), t.dtype, name=t.name) for t in model.inputs]
    # A functional model takes one positional argument: its input, or the list of them.
    return [specs[0]] if len(specs) == 1 else [specs]


def _export_tflite(model, target: Path, batch_size: int | None) -> bool:
    """Keras's LiteRT export restricted to builtin ops; a fixed batch of 1 when the model
    converts to builtin ops only with a static batch (LSTM/GRU loops).

    Returns:
        True when it fell back to a fixed batch of 1.
    """
    import tensorflow as tf

    # Keras allows SELECT_TF_OPS by default, which makes the converter emit Flex ops that
    # the plain interpreter (also the one in the tensorflow wheel) cannot run. Builtins
    # only: a file that converts is a file that runs.
    builtins_only = {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}}
    signature = None if batch_size is None else _batch_signature(model, batch_size)
    try:
        model.export(
            str(target), format="litert", verbose=False, input_signature=signature, **builtins_only
        )
    except Exception as err:  # the converter raises ConverterError, among others
        if batch_size is not None or not model.inputs:
            raise
        # Recurrent layers trace to TensorList ops whose element shape includes the
        # batch; TFLite lowers them to builtin WHILE loops only when that shape is static.
        try:
            model.export(
                str(target),
                format="litert",
                verbose=False,
                input_signature=_batch_signature(model, 1),
                **builtins_only,
            )
        except Exception:
            raise err from None
        return True
    return False


def _export_onnx(model, target: Path) -> None:
    import numpy as np

    # Keras's ONNX path reads the input signature from a model that has been called once.
    dummy = [np.zeros((1, *t.shape[1:]), dtype=t.dtype) for t in model.inputs]
    model(dummy[0] if len(dummy) == 1 else dummy, training=False)
    with warnings.catch_warnings():
        # tf2onnx probes numpy attributes that numpy 2 warns about.
        warnings.simplefilter("ignore", FutureWarning)
        model.export(str(target), format="onnx", verbose=False)


def _load(model_or_path):
    import keras

    if isinstance(model_or_path, keras.Model):
        return model_or_path, None
    if isinstance(model_or_path, str | os.PathLike):
        from kerazoo.saving import load_model

        path = Path(model_or_path)
        try:
            return load_model(path, compile=False), path
        except ValueError:
            raise
        except Exception as err:
            # A readable archive whose config Keras cannot rebuild (hand-made, or from an
            # incompatible Keras): one clear error instead of a Keras-internal traceback.
            first = (str(err).strip().splitlines() or [""])[0][:300]
            raise ValueError(
                f"{str(path)!r} is not a loadable Keras model ({type(err).__name__}: "
                f"{first}). Received: model_or_path={str(path)!r}"
            ) from None
    raise ValueError(
        "model_or_path must be a keras.Model or the path of a .keras file. "
        f"Received: model_or_path={model_or_path!r}"
    )


def export(
    model_or_path,
    format: str = "saved_model",
    out: str | os.PathLike | None = None,
    *,
    part: str | None = None,
    overwrite: bool = False,
    batch_size: int | None = None,
) -> Path:
    """Exports a model (or one part of it) as a standalone artifact for inference.

    Built on Keras's `Model.export`; the artifact computes `model(x, training=False)`.

    Args:
        model_or_path: a `keras.Model`, the path of a `.keras` file (loaded safely with
            `kerazoo.load_model`) or a run folder holding `model.keras`.
        format: `"saved_model"` (a folder; alias `"tf_saved_model"`), `"tflite"` (one
            `.tflite` file of builtin ops; alias `"litert"`) or `"onnx"` (one `.onnx` file;
            needs the optional packages tf2onnx and onnx).
        out: where to write. Default, for a file `DIR/NAME.keras`: `DIR/NAME_saved_model/`,
            `DIR/NAME.tflite` or `DIR/NAME.onnx` (`NAME_PART...` with a part). Required when
            a model object is given. Missing parent folders are created.
        part: export one part of a two-part model: `"generator"` or `"discriminator"` of a
            GAN, `"encoder"` or `"decoder"` of an autoencoder or VAE.
        overwrite: replace an existing `out`.
        batch_size: fix the batch dimension of the artifact (TFLite and SavedModel). None:
            any batch size, except for TFLite models that convert to builtin ops only with
            a fixed batch (recurrent models), which get batch 1 and a UserWarning.

    Returns:
        The path written.

    Raises:
        ValueError: for a missing, corrupt or non-Keras model file, a model that cannot be
            exported whole (a GAN: use `part`), an unknown format or part, an existing
            `out` without `overwrite`, an unwritable `out`, or a failed conversion. Nothing
            is left at `out` then.
        ImportError: for `format="onnx"` without tf2onnx and onnx installed.

    Example:

    ```python
    from kerazoo.export import export
    export("runs/mnist_cnn/model.keras", "tflite")       # runs/mnist_cnn/model.tflite
    export(gan.generator, "saved_model", "gen_saved_model")
    export("runs/dcgan/model.keras", "tflite", part="generator")
    ```
    """
    # Cheap checks first, so bad input is answered before TensorFlow loads.
    fmt = _canonical_format(format)
    if part is not None and part not in PARTS:
        raise ValueError(f"part must be one of {PARTS} or None. Received: part={part!r}")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(
            f"batch_size must be a positive int or None. Received: batch_size={batch_size!r}"
        )
    if not isinstance(overwrite, bool):
        raise ValueError(f"overwrite must be True or False. Received: overwrite={overwrite!r}")
    source = Path(model_or_path) if isinstance(model_or_path, str | os.PathLike) else None
    if source is not None and source.is_dir():
        # A run folder (as `kerazoo train` writes it) holds its model as model.keras.
        if not (source / "model.keras").is_file():
            raise ValueError(
                f"{str(source)!r} is a folder without a model.keras; pass a .keras file or a "
                f"run folder. Received: model_or_path={str(source)!r}"
            )
        source = model_or_path = source / "model.keras"
    if out is None:
        if source is None:
            raise ValueError(
                "out is required when exporting a model object (only a .keras path has a "
                "default place next to it). Received: out=None"
            )
        out = _default_out(source, fmt, part)
    if not isinstance(out, str | os.PathLike) or not str(out):
        raise ValueError(f"out must be a path. Received: out={out!r}")
    out = Path(out)
    _check_out(out, fmt, overwrite, source)
    if fmt == "onnx":
        _check_onnx_available()

    model, _ = _load(model_or_path)
    # A model saved with its preprocessing exports whole, raw inputs included; its parts
    # are the network's.
    network = preprocessing.unwrap(model)
    target_model = _select_part(model if part is None else network, part)
    vocabulary = None
    if fmt == "litert" and target_model is model and _takes_strings(model):
        # TFLite's builtin ops have no string ops (and Flex ops do not run in the plain
        # interpreter), so a text model's TFLite file takes token ids; the vocabulary that
        # turns text into them is written beside it.
        target_model, vocabulary = network, _vocabulary(model)
    if batch_size is not None and fmt == "onnx":
        raise ValueError(
            "batch_size is for saved_model and tflite; an ONNX export keeps a dynamic batch. "
            f"Received: batch_size={batch_size!r}"
        )

    created = _make_parent(out)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as err:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise ValueError(
            f"Cannot write into {str(out.parent)!r} ({err.strerror or err}); choose an out "
            f"in a writable folder. Received: out={str(out)!r}"
        ) from None
    try:
        artifact = tmp / ("artifact" + _FILE_SUFFIX.get(fmt, ""))
        fixed_batch = False
        try:
            if fmt == "tf_saved_model":
                signature = (
                    None if batch_size is None else _batch_signature(target_model, batch_size)
                )
                target_model.export(
                    str(artifact), format=fmt, verbose=False, input_signature=signature
                )
            elif fmt == "litert":
                fixed_batch = _export_tflite(target_model, artifact, batch_size)
            else:
                _export_onnx(target_model, artifact)
        except Exception as err:
            first = (str(err).strip().splitlines() or [""])[0][:300]
            raise ValueError(
                f"Could not export {target_model.name!r} to {format}: "
                f"{type(err).__name__}: {first}. Received: format={format!r}"
            ) from err
        _move_into_place(artifact, out, tmp)
    except BaseException:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if vocabulary is not None:
        vocabulary_file = out.with_suffix(".vocabulary.txt")
        vocabulary_file.write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
        warnings.warn(
            f"TFLite has no string ops, so {out.name} takes token ids of shape "
            f"{_shape(target_model.input_shape)}, not raw strings (the SavedModel export "
            f"takes raw strings). {vocabulary_file.name} maps words to ids (line n = id n; "
            "0 padding, 1 unknown).",
            UserWarning,
            stacklevel=2,
        )
    if fixed_batch:  # after the finished move: a warning turned error keeps the file
        warnings.warn(
            f"{target_model.name} converts to TFLite builtin ops only with a fixed batch, "
            f"so {out.name} takes one example per call (input batch dimension 1; "
            "batch_size=N, on the command line --batch-size N, fixes another size).",
            UserWarning,
            stacklevel=2,
        )
    return out


def _move_into_place(artifact: Path, out: Path, tmp: Path) -> None:
    """Renames the finished artifact to `out` (same folder, so the rename is atomic); an
    existing `out` is first moved aside into `tmp` and put back if the rename fails."""
    old = None
    try:
        if out.exists() or out.is_symlink():
            old = tmp / "previous"
            os.replace(out, old)
        os.replace(artifact, out)
    except OSError as err:
        if old is not None and old.exists() and not out.exists():
            os.replace(old, out)
        raise ValueError(
            f"Cannot write {str(out)!r} ({err.strerror or err}). Received: out={str(out)!r}"
        ) from None


# --- what was written ---------------------------------------------------------------


def _shape(shape) -> str:
    return "(" + ", ".join("None" if d is None or d == -1 else str(int(d)) for d in shape) + ")"


def describe(path: str | os.PathLike) -> list[str]:
    """One line per input and output of an exported artifact, read by its own consumer.

    Args:
        path: a SavedModel folder (read with `tf.saved_model.load`), a `.tflite` file
            (read with `tf.lite.Interpreter`) or an `.onnx` file (read with `onnx`).

    Returns:
        Lines such as `"input  image (None, 28, 28, 1) float32"`.

    Example:

    ```python
    print("\\n".join(describe("runs/mnist_cnn/model.tflite")))
    ```
    """
    path = Path(path)
    lines = []
    if path.is_dir():
        import tensorflow as tf

        fn = tf.saved_model.load(str(path)).signatures["serving_default"]
        for name, spec in fn.structured_input_signature[1].items():
            lines.append(f"input  {name} {_shape(spec.shape)} {spec.dtype.name}")
        for name, spec in fn.structured_outputs.items():
            lines.append(f"output {name} {_shape(spec.shape)} {spec.dtype.name}")
    elif path.suffix == ".tflite":
        # The signature runner names inputs and outputs as the SavedModel does ("image",
        # "output_0", ...); the raw tensor lists are not in the model's output order.
        runner = tflite_interpreter(path).get_signature_runner("serving_default")
        for kind, details in (
            ("input ", runner.get_input_details()),
            ("output", runner.get_output_details()),
        ):
            for name, d in details.items():
                lines.append(f"{kind} {name} {_shape(d['shape_signature'])} {d['dtype'].__name__}")
    elif path.suffix == ".onnx":
        import onnx

        graph = onnx.load(str(path)).graph
        for kind, values in (("input ", graph.input), ("output", graph.output)):
            for v in values:
                dims = [d.dim_value or None for d in v.type.tensor_type.shape.dim]
                dtype = onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type)
                lines.append(f"{kind} {v.name} {_shape(dims)} {dtype}")
    return lines


def tflite_interpreter(path: str | os.PathLike):
    """A `tf.lite.Interpreter` for `path`, without TensorFlow's deprecation notice.

    TensorFlow 2.21 warns that `tf.lite.Interpreter` moves to the `ai_edge_litert`
    package; the interpreter itself works and is what these exports are tested with.
    """
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return tf.lite.Interpreter(model_path=str(path))
