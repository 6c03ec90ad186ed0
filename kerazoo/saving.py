"""Loading `.keras` files safely.

A `.keras` file carries a config that Keras turns into objects when loading, so a file from
somewhere else is code. `load_model` reads it the way a careful reader would:

1. The file is copied once into a private temporary folder; everything below reads that
   copy and Keras loads that copy, so a file swapped after the check cannot slip through.
2. The copy must be a zip archive, as Keras writes it, and nothing else: an HDF5 file (a
   legacy `.h5` model) or a file that is both is refused, and so is prepended data.
3. Sizes are bounded before anything is unpacked or parsed: the archive's declared unpacked
   size, `config.json`, and the arrays the weights file declares (a zip or HDF5 "bomb"
   stores next to nothing and declares gigabytes).
4. The config may name only Keras's own classes and the zoo's registered ones (Lambda and
   TFSMLayer, which run code stored outside the weights, are refused), and its function
   references only functions from `keras.activations`, `keras.losses`, `keras.metrics` or
   the zoo's registered objects. Keras 3.15.1 resolves any public Keras function a config
   names (`keras.config.set_floatx`, `keras.utils.plot_model`, ...) and calls it while
   rebuilding the model, with arguments from the file.
5. Keras loads the copy with `safe_mode=True`, its own guards on; any failure of its loader
   becomes one `ValueError` line naming the file.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import stat
import struct
import sys
import tempfile
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path

# Layers that execute code stored in (or pointed at by) the file.
_REFUSED = {"Lambda", "TFSMLayer"}

# Keras's own guards (keras 3.15.1 saving_lib: 4 GiB floor, 100x expansion per member or
# dataset) let a 3.9 GiB member or array through; kerazoo's models are megabytes, so the
# bounds here are far lower. Keras stores an archive's members uncompressed and its weights
# as plain contiguous arrays (declared bytes == stored bytes), so the expansion allowed above
# the floor is generous; bombs declare hundreds or thousands of times what they store.
_MAX_FILE_BYTES = 4 << 30
_MAX_CONFIG_BYTES = 16 << 20
_MAX_MEMBERS = 10_000
_UNPACKED_FLOOR = 64 << 20
_MAX_EXPANSION = 20

_CONFIG = "config.json"
_WEIGHTS_H5 = "model.weights.h5"
_WEIGHTS_NPZ = "model.weights.npz"
_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")  # a zip local file header, 30 bytes

# Config entries that are data, not references (keras 3.15.1 deserialize_keras_object).
_DATA_CLASSES = {
    "__keras_tensor__",
    "__tensor__",
    "__numpy__",
    "__bytes__",
    "__ellipsis__",
    "__slice__",
}
# The namespaces Keras searches for a function saved with module "builtins" (keras 3.15.1
# serialization_lib.BUILTIN_MODULES), and those whose functions a model file may name.
_BUILTIN_NAMESPACES = (
    "activations",
    "constraints",
    "initializers",
    "losses",
    "metrics",
    "optimizers",
    "regularizers",
)
_FUNCTION_NAMESPACES = ("activations", "losses", "metrics")
_NOT_MODELING = {"get", "serialize", "deserialize"}


def _received(path) -> str:
    return f"Received: path={str(path)!r}"


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


# --- reading the file once --------------------------------------------------------------


def _open_regular_file(path: Path) -> tuple[int, int]:
    """`(fd, size)` of a regular, non-empty file; one ValueError line for anything else.

    Opened non-blocking so that a FIFO named as a model cannot hang the loader.
    """
    try:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ValueError(f"Model file not found. {_received(path)}") from None
    except OSError as err:
        raise ValueError(
            f"Cannot open the model file ({err.strerror or err}). {_received(path)}"
        ) from None
    info = os.fstat(fd)
    problem = None
    if stat.S_ISDIR(info.st_mode):
        problem = "is a folder, not a .keras model file"
    elif not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file"
    elif info.st_size == 0:
        problem = "is empty (0 bytes)"
    elif info.st_size > _MAX_FILE_BYTES:
        problem = f"is {_mib(info.st_size)}, more than the {_mib(_MAX_FILE_BYTES)} allowed"
    if problem:
        os.close(fd)
        raise ValueError(f"{path} {problem}. {_received(path)}")
    return fd, info.st_size


@contextlib.contextmanager
def _private_copy(path: Path) -> Iterator[Path]:
    """A copy of `path` in a private temporary folder, removed on exit.

    The checks and Keras's loader both read this copy, never `path` again.
    """
    fd, _ = _open_regular_file(path)
    with os.fdopen(fd, "rb") as source, tempfile.TemporaryDirectory(prefix="kerazoo-") as tmp:
        copy = Path(tmp) / "model.keras"
        try:
            with open(copy, "xb") as target:
                copied = 0
                while chunk := source.read(1 << 20):
                    copied += len(chunk)
                    if copied > _MAX_FILE_BYTES:  # it grew while being copied
                        raise ValueError(
                            f"{path} grew past {_mib(_MAX_FILE_BYTES)} while being read. "
                            f"{_received(path)}"
                        )
                    target.write(chunk)
        except OSError as err:
            raise ValueError(
                f"Cannot copy {path} into a private temporary folder to check it "
                f"({err.strerror or err}). {_received(path)}"
            ) from None
        yield copy


# --- the archive ------------------------------------------------------------------------


class _Window(io.RawIOBase):
    """A read-only, seekable view of `length` bytes at `start` of an open file.

    An uncompressed zip member opened this way is read in place: Python 3.11's zipfile
    re-reads a member from its start on every backward seek, which h5py makes often.
    """

    def __init__(self, file, start: int, length: int):
        self._file, self._start, self._length, self._pos = file, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self._length - self._pos))
        self._file.seek(self._start + self._pos)
        data = self._file.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _data_span(file, info: zipfile.ZipInfo) -> tuple[int, int]:
    """`(start, end)` of a member's stored bytes, from its local header."""
    file.seek(info.header_offset)
    header = file.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != _ZIP_MAGIC:
        raise zipfile.BadZipFile(f"bad local header for {info.filename!r}")
    fields = _LOCAL_HEADER.unpack(header)
    start = info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1]
    return start, start + info.compress_size


def _check_layout(file, archive: zipfile.ZipFile, size: int, source) -> dict:
    """Refuses archives that another reader could read differently, or that unpack to far
    more than they store. Returns each member's stored-data span."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    problem = None
    if len(infos) > _MAX_MEMBERS:
        problem = f"has {len(infos)} members (at most {_MAX_MEMBERS})"
    elif len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        problem = f"holds the member {twice[0]!r} twice, which zip readers resolve differently"
    elif any(n.startswith(("/", "\\")) or ".." in n.split("/") or "\\" in n for n in names):
        problem = "has a member whose name points outside the archive"
    if problem:
        raise ValueError(f"{source} {problem}. {_received(source)}")
    spans = {info.filename: _data_span(file, info) for info in infos}
    if infos and min(info.header_offset for info in infos) != 0:
        raise ValueError(
            f"{source} has data before its first zip member (another format glued to a zip); "
            f"refusing an ambiguous file. {_received(source)}"
        )
    # HDF5 looks for its signature at 0, 512, 1024, 2048, ...: one that no zip member
    # holds means the file is also an HDF5 file, which HDF5 readers would load instead.
    offset = 0
    while offset + len(_HDF5_MAGIC) <= size:
        file.seek(offset)
        if file.read(len(_HDF5_MAGIC)) == _HDF5_MAGIC and not any(
            start <= offset < end for start, end in spans.values()
        ):
            raise ValueError(
                f"{source} is both a zip archive and an HDF5 file (signature at byte "
                f"{offset}); refusing an ambiguous file. {_received(source)}"
            )
        offset = 512 if offset == 0 else offset * 2
    declared = sum(info.file_size for info in infos)
    if declared > _UNPACKED_FLOOR + _MAX_EXPANSION * size:
        raise ValueError(
            f"{source} declares {_mib(declared)} of contents in {_mib(size)} (a "
            f"decompression bomb?); refusing to unpack it. {_received(source)}"
        )
    return spans


def _read_config(archive: zipfile.ZipFile, source) -> dict:
    try:
        info = archive.getinfo(_CONFIG)
    except KeyError:
        raise ValueError(
            f"{source} has no {_CONFIG}; it is not a Keras model archive. {_received(source)}"
        ) from None
    if info.file_size > _MAX_CONFIG_BYTES:
        raise ValueError(
            f"{source} has a {_mib(info.file_size)} {_CONFIG} (at most "
            f"{_mib(_MAX_CONFIG_BYTES)}). {_received(source)}"
        )
    try:
        config = json.loads(archive.read(_CONFIG))
    except RecursionError:
        raise ValueError(
            f"{source} has a {_CONFIG} nested too deeply to read. {_received(source)}"
        ) from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise ValueError(
            f"{source} has an unreadable {_CONFIG} ({err}). {_received(source)}"
        ) from None
    if not isinstance(config, dict):
        raise ValueError(
            f"{source} has a {_CONFIG} that is not a model config (a JSON "
            f"{type(config).__name__}). {_received(source)}"
        )
    return config


def _check_h5_weights(fileobj, stored: int, source) -> None:
    """Refuses HDF5 weights declaring far more bytes than they store, or pointing outside
    the file (external or virtual datasets, soft and external links)."""
    import h5py

    declared = 0
    refused = None

    def visit(name, link):
        nonlocal declared, refused
        if isinstance(link, h5py.SoftLink | h5py.ExternalLink):
            refused = refused or f"a {type(link).__name__} at {name!r}"
            return
        obj = weights.get(name)
        if isinstance(obj, h5py.Dataset):
            if obj.external or obj.is_virtual:
                refused = refused or f"an external or virtual dataset at {name!r}"
            else:
                declared += obj.size * obj.dtype.itemsize

    with h5py.File(fileobj, "r") as weights:
        weights.visititems_links(visit)
    if refused:
        raise ValueError(
            f"{source} has weights with {refused}, which point outside the file. "
            f"{_received(source)}"
        )
    if declared > _UNPACKED_FLOOR + _MAX_EXPANSION * stored:
        raise ValueError(
            f"{source} has weights declaring {_mib(declared)} of arrays in {_mib(stored)} "
            f"(a shape bomb?); refusing to load them. {_received(source)}"
        )


def _check_npz_weights(fileobj, stored: int, source) -> None:
    """Refuses `.npz` weights whose arrays declare far more bytes than they store."""
    import numpy as np

    declared = 0
    with zipfile.ZipFile(fileobj) as npz:
        for info in npz.infolist():
            with npz.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(member)
            declared += int(np.prod(shape, dtype=object)) * dtype.itemsize
    if declared > _UNPACKED_FLOOR + _MAX_EXPANSION * stored:
        raise ValueError(
            f"{source} has weights declaring {_mib(declared)} of arrays in {_mib(stored)} "
            f"(a shape bomb?); refusing to load them. {_received(source)}"
        )


def _check_weights(file, archive: zipfile.ZipFile, spans: dict, source) -> None:
    names = set(spans)
    name = _WEIGHTS_H5 if _WEIGHTS_H5 in names else _WEIGHTS_NPZ if _WEIGHTS_NPZ in names else None
    if name is None:
        return  # Keras says which file it expected
    info = archive.getinfo(name)
    if info.compress_type == zipfile.ZIP_STORED:
        start, end = spans[name]
        fileobj = io.BufferedReader(_Window(file, start, end - start))
    else:
        fileobj = archive.open(info)
    try:
        check = _check_h5_weights if name == _WEIGHTS_H5 else _check_npz_weights
        check(fileobj, info.compress_size, source)
    except ValueError as err:
        if "Received: path=" in str(err):
            raise
        raise ValueError(f"{source} has unreadable weights ({err}). {_received(source)}") from None
    except (OSError, KeyError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(
            f"{source} has unreadable weights ({type(err).__name__}: {err}). {_received(source)}"
        ) from None


def _read_archive(path: Path, source, *, weights: bool) -> dict:
    """The config of the `.keras` archive at `path`, after the layout, size and (with
    `weights`) weights checks; `source` is the file named in the messages."""
    fd, size = _open_regular_file(path)
    with os.fdopen(fd, "rb") as file:
        head = file.read(len(_HDF5_MAGIC))
        if head == _HDF5_MAGIC:
            raise ValueError(
                f"{source} is an HDF5 file (a legacy Keras .h5 model), not a .keras archive; "
                "kerazoo loads .keras files only (load a trusted .h5 with Keras and save it "
                f"as .keras). {_received(source)}"
            )
        if head[:4] != _ZIP_MAGIC:
            if zipfile.is_zipfile(file):  # a zip is read from its end: something precedes it
                raise ValueError(
                    f"{source} has data before its first zip member (another format glued "
                    f"to a zip); refusing an ambiguous file. {_received(source)}"
                )
            raise ValueError(
                "Not a Keras model file (a .keras file is a zip archive; this one is corrupt, "
                f"truncated or another format). {_received(source)}"
            )
        try:
            with zipfile.ZipFile(file) as archive:
                spans = _check_layout(file, archive, size, source)
                config = _read_config(archive, source)
                if weights:
                    _check_weights(file, archive, spans, source)
                return config
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as err:
            raise ValueError(
                f"{source} is a damaged zip archive ({err}); it is corrupt or truncated. "
                f"{_received(source)}"
            ) from None


def read_config(path: str | Path) -> dict:
    """The model config stored in a `.keras` file, without building anything.

    The archive's layout and sizes are checked first, as `load_model` does.

    Raises:
        ValueError: if the file is missing, not a `.keras` archive, or has no valid config.
    """
    return _read_archive(Path(path), path, weights=False)


# --- the config -------------------------------------------------------------------------


def _entries(config) -> Iterator[tuple[dict, str]]:
    """Every dict with a `class_name` in a config tree, with the layer it sits in.

    Iterative, so that a deeply nested config cannot exhaust the stack.
    """
    stack = [(config, "the model")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            if "class_name" in node:
                inner = node.get("config")
                if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                    where = f"{node['class_name']} {inner['name']!r}"
                yield node, where
            stack.extend((value, where) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, where) for value in node)


def _check_classes(config: dict, source) -> None:
    """Refuses code-running layers and classes from outside Keras and kerazoo."""
    for entry, _ in _entries(config):
        class_name, module = entry.get("class_name"), entry.get("module")
        registered_name = entry.get("registered_name")
        if class_name in _REFUSED or class_name == "__lambda__":
            raise ValueError(
                f"{source} contains a {class_name} layer, which runs code stored outside the "
                f"model's weights; kerazoo refuses to load it. Received: class_name={class_name!r}"
            )
        if module is None or not isinstance(module, str):
            continue
        if module.split(".")[0] in ("keras", "kerazoo", "builtins"):
            continue
        if isinstance(registered_name, str) and registered_name.startswith("kerazoo>"):
            continue
        raise ValueError(
            f"{source} uses the class {class_name!r} from module {module!r}, which is neither "
            f"Keras's nor kerazoo's; only those are loaded. Received: module={module!r}"
        )


def _allowed_functions() -> set:
    import keras

    allowed = set()
    for namespace in _FUNCTION_NAMESPACES:
        for name, value in vars(getattr(keras, namespace)).items():
            if isinstance(value, types.FunctionType) and name not in _NOT_MODELING:
                allowed.add(value)
    return allowed


def _keras_symbol(module: str, name: str):
    """What `module.name` is among the Keras modules already imported, or None.

    Keras resolves `module.name` through its export table, else by importing `module`;
    every legitimate reference names an object whose module is already imported, so no
    module is imported on a file's say-so.
    """
    if module != "keras" and not module.startswith("keras."):
        return None
    if module in _TORCH_OPTIMIZERS and module not in sys.modules:
        import keras

        if keras.backend.backend() == "torch":
            # A model compiled on torch saves its optimizer as torch's own class
            # (keras.src.backend.torch.optimizers.torch_adam.Adam, keras 3.15.1), whose
            # module Keras imports on the first optimizer made: one of this fixed list.
            importlib.import_module(module)
    return getattr(sys.modules.get(module), name, None)


_TORCH_OPTIMIZERS = {
    f"keras.src.backend.torch.optimizers.torch_{name}"
    for name in (
        "adadelta",
        "adagrad",
        "adam",
        "adamax",
        "adamw",
        "lion",
        "nadam",
        "rmsprop",
        "sgd",
    )
}


def _resolve_function(entry: dict) -> tuple[str, object]:
    """`(the reference as written, what Keras would call)`; None where Keras finds nothing.

    Mirrors keras 3.15.1 `serialization_lib._retrieve_class_or_fn` for functions: the
    registered objects first, then the Keras namespace named, then, for "builtins", the
    namespaces Keras serializes its own functions from.
    """
    import keras

    name, module = entry.get("config"), entry.get("module")
    if not isinstance(name, str):
        return repr(name), None
    registered = keras.saving.get_registered_object(name)
    if registered is not None:
        return name, registered if name.startswith("kerazoo>") else None
    if module == "builtins":
        found = [getattr(getattr(keras, ns), name, None) for ns in _BUILTIN_NAMESPACES]
        found = [obj for obj in found if obj is not None]
        allowed = _allowed_functions()
        # Keras takes the first namespace (of an unordered set) that has the name.
        return name, found[0] if found and all(obj in allowed for obj in found) else None
    if isinstance(module, str):
        return f"{module}.{name}", _keras_symbol(module, name)
    return name, None


def _check_references(config: dict, source) -> None:
    """Refuses function references outside Keras's activations, losses and metrics and the
    zoo's registered objects, and class references that name anything but a class."""
    import keras

    import kerazoo.models  # noqa: F401  (registers the zoo's serializable classes)

    allowed = _allowed_functions()
    for entry, where in _entries(config):
        class_name = entry.get("class_name")
        if class_name in _DATA_CLASSES:
            continue
        if class_name == "function":
            reference, obj = _resolve_function(entry)
            registered = reference.startswith("kerazoo>") and obj is not None
            if registered or obj in allowed:
                continue
            raise ValueError(
                f"{source} names the function {reference} (in {where}); a model file may name "
                "only functions from keras.activations, keras.losses and keras.metrics or the "
                f"zoo's registered objects. Received: function={reference!r}"
            )
        if class_name == "__typespec__":
            class_name = entry.get("spec_name")
        if not isinstance(class_name, str):
            continue  # Keras refuses it
        registered_name = entry.get("registered_name", class_name)
        registered = (
            keras.saving.get_registered_object(registered_name)
            if isinstance(registered_name, str)
            else None
        )
        module = entry.get("module")
        if registered is not None:
            if registered_name.startswith("kerazoo>"):
                continue
            reference, obj = registered_name, None
        elif isinstance(module, str) and module.split(".")[0] == "keras":
            reference, obj = f"{module}.{class_name}", _keras_symbol(module, class_name)
            if isinstance(obj, type):
                continue
        else:
            continue  # not Keras's: Keras finds only registered classes there, and refuses
        raise ValueError(
            f"{source} names {reference} (in {where}) where a class is expected; a model file "
            "may name only Keras's classes and the zoo's registered ones. "
            f"Received: class_name={reference!r}"
        )


def check_config(config: dict, *, source: str = "the model file") -> None:
    """Refuses configs with code-running layers, classes from outside Keras and kerazoo, or
    function references outside Keras's activations, losses, metrics and the zoo's
    registered objects (the last check imports Keras)."""
    _check_classes(config, source)
    _check_references(config, source)


# --- loading ----------------------------------------------------------------------------


def load_model(path: str | Path, *, compile: bool = True):
    """Loads a `.keras` model saved from a kerazoo (or plain Keras) model.

    The file is copied once; the copy is checked (layout, sizes, classes, function
    references) and the copy is what Keras loads, with `safe_mode=True`.

    Args:
        path: the `.keras` file.
        compile: restore the optimizer, loss and metrics as saved.

    Returns:
        The `keras.Model`, with the same predictions as the saved one.

    Raises:
        ValueError: in one line naming the file, if it is missing, empty, corrupt, not a
            Keras model, too large for what it stores, names classes or functions a model
            file may not name, or is refused by Keras's own loader.

    Example:

    ```python
    model = kerazoo.load_model("runs/mnist_cnn/model.keras")
    ```
    """
    path = Path(path)
    with _private_copy(path) as copy:
        config = _read_archive(copy, path, weights=True)
        _check_classes(config, path)  # before Keras is imported: refusals stay quick
        import keras

        _check_references(config, path)
        try:
            return keras.saving.load_model(copy, compile=compile, safe_mode=True)
        except Exception as err:  # noqa: BLE001  (any failure of Keras's loader: one line)
            reason = " ".join(str(err).replace(str(copy), str(path)).split())
            if len(reason) > 300:  # Keras appends whole configs to some messages
                reason = reason[:300] + "..."
            raise ValueError(
                f"{path} could not be loaded by Keras ({type(err).__name__}: {reason}). "
                f"{_received(path)}"
            ) from None
