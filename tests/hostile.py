"""Hostile model files, written by the tests themselves (tests/test_saving.py).

Each function writes one technique an attacker can use against a `.keras` loader: a
decompression bomb, an HDF5 shape bomb, function references in a config, an HDF5/zip
polyglot, code-running layers, damaged archives. `write_zip` writes zip archives byte by
byte, because Python's zipfile cannot write a member whose declared size is a lie or a
second member with the same name.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

MiB = 1 << 20
GiB = 1 << 30
_ZIP64 = 0xFFFFFFFF


def deflated_zeros(size: int) -> bytes:
    """A raw deflate stream that inflates to `size` zero bytes (a multiple of 1 MiB).

    Built from one fully flushed 1 MiB block repeated, so a 5 GiB bomb takes milliseconds
    to write (deflate's limit is about 1032:1, so 5 GiB is about 5 MB).
    """
    assert size % MiB == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(MiB)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    return first + block * (size // MiB - 1) + compressor.flush()


def write_zip(path, members, *, prepend: bytes = b"") -> Path:
    """Writes a zip archive member by member.

    `members`: (name, data) for a stored member, or (name, data, declared_size) for a
    deflated one whose `data` is a raw deflate stream said to inflate to `declared_size`
    (its CRC is left 0: a bomb is refused, or kills its reader, before any CRC check).
    Sizes from 4 GiB on are written in ZIP64 extra fields.
    """
    body, directory = bytearray(prepend), bytearray()
    for member in members:
        name, data = member[0].encode(), member[1]
        if len(member) == 3:
            method, size, crc = 8, member[2], 0
        else:
            method, size, crc = 0, len(data), zlib.crc32(data)
        big = size >= _ZIP64 or len(data) >= _ZIP64
        extra = struct.pack("<HHQQ", 1, 16, size, len(data)) if big else b""
        sizes = (_ZIP64, _ZIP64) if big else (len(data), size)
        offset = len(body)
        body += struct.pack("<4s5H3I2H", b"PK\x03\x04", 45, 0, method, 0, 0, crc, *sizes,
                            len(name), len(extra)) + name + extra + data  # fmt: skip
        directory += struct.pack(
            "<4s6H3I5HII", b"PK\x01\x02", 45, 45, 0, method, 0, 0, crc, *sizes, len(name),
            len(extra), 0, 0, 0, 0, offset,
        ) + name + extra  # fmt: skip
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(directory), len(body), 0)  # fmt: skip
    path = Path(path)
    path.write_bytes(bytes(body + directory + end))
    return path


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def config_of(path) -> dict:
    return json.loads(members(path)["config.json"])


def rewrite(source, target, *, config: dict | None = None, replace: dict | None = None):
    """`source` with its config and members replaced (`{name: bytes}`, None removes one),
    written as Keras writes archives (stored members)."""
    contents = members(source)
    if config is not None:
        contents["config.json"] = json.dumps(config).encode()
    for name, data in (replace or {}).items():
        if data is None:
            contents.pop(name, None)
        else:
            contents[name] = data
    return write_zip(target, list(contents.items()))


def with_function(source, target, module: str, name: str, argument, *, as_class=False):
    """`source` (a functional model) with an Activation layer added whose activation is the
    function `module.name`; Keras rebuilds the layer by calling it with `argument`, as
    plain Keras 3.15.1 does (the call's keyword `inputs` is taken from the file)."""
    config = config_of(source)
    if as_class:  # the same function named where Keras expects a class
        activation = {"module": module, "class_name": name, "config": {}, "registered_name": None}
    else:
        activation = {"module": module, "class_name": "function", "config": name,
                      "registered_name": "function"}  # fmt: skip
    config["config"]["layers"].append(
        {
            "module": "keras.layers",
            "class_name": "Activation",
            "config": {
                "name": "hostile",
                "trainable": True,
                "dtype": "float32",
                "activation": activation,
            },  # fmt: skip
            "registered_name": None,
            "name": "hostile",
            "inbound_nodes": [{"args": [], "kwargs": {"inputs": argument}}],
        }
    )
    return rewrite(source, target, config=config)


def with_class(source, target, class_name: str, module: str, registered_name=None):
    """`source` with its first Dense layer's class replaced."""
    config = config_of(source)
    layer = next(x for x in config["config"]["layers"] if x["class_name"] == "Dense")
    layer.update(class_name=class_name, module=module, registered_name=registered_name)
    return rewrite(source, target, config=config)


def h5_weights(source, replace: dict | None = None, **create_kwargs) -> bytes:
    """`source`'s weights file, with datasets replaced: `{path: array}`, or with
    `create_kwargs` (shape, dtype, chunks, compression) for a dataset declared and never
    written (HDF5 stores nothing but the fill value for it)."""
    import h5py

    buffer = io.BytesIO(members(source)["model.weights.h5"])
    with h5py.File(buffer, "r+") as weights:
        for key, array in (replace or {}).items():
            del weights[key]
            if array is None:
                weights.create_dataset(key, **create_kwargs)
            else:
                weights.create_dataset(key, data=array)
    return buffer.getvalue()


def weight_paths(source) -> list[str]:
    import h5py

    found = []
    with h5py.File(io.BytesIO(members(source)["model.weights.h5"]), "r") as weights:
        weights.visititems(lambda n, o: found.append(n) if isinstance(o, h5py.Dataset) else None)
    return found
