"""`from_source`: the user's own data as `(Splits, DatasetInfo)`, as for a registered dataset.

A source is read into arrays (`_Part`), its kind of inputs and its task are inferred (or
given), and the arrays go through the same path as every registered dataset
(`loader._split_parts`, `loader._dataset`): disjoint seeded splits, uint8 images kept uint8,
tables standardized and texts vectorized with the training part only.

Sources: `(x, y)` NumPy arrays; a `tf.data.Dataset` of `(x, y)` elements; a pandas
DataFrame or a CSV file with a target column; a folder of images or of `.txt` files by
class (`root/<class>/<file>`); a text file of `label<TAB>text` lines.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import sys
from pathlib import Path

import numpy as np

from kerazoo.data import loader
from kerazoo.data.loader import DatasetInfo, Splits

KINDS = ("image", "text", "series", "table")
TASKS = ("classification", "regression")
# The suffixes keras.utils.image_dataset_from_directory / text_dataset_from_directory read.
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
TEXT_SUFFIXES = (".txt",)
CSV_SUFFIXES = (".csv", ".csv.gz")
LINES_SUFFIXES = (".txt", ".tsv")
_ACCEPTED = (
    "(x, y) NumPy arrays, a tf.data.Dataset of (x, y) elements, a pandas DataFrame or a CSV "
    "file with target=COLUMN, a folder of images or .txt files by class (root/<class>/...), "
    "or a text file of label<TAB>text lines"
)


@dataclasses.dataclass
class _Part:
    """One part of a source as read, before its labels are encoded.

    Attributes:
        x: the inputs, one row per example.
        y: the labels as read: numbers, or names (strings) when `class_names` is set.
        what: the source in words, for `info.source`.
        name: the dataset name the source suggests (a file or folder stem).
        kind: the kind of inputs where the source says it (folders, tables).
        class_names: the class names the source declares, in label order.
        feature_names: tables only; column names.
        image_size: image folders only; `(height, width)` the images were read at.
    """

    x: np.ndarray
    y: np.ndarray
    what: str
    name: str
    kind: str | None = None
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    image_size: tuple[int, int] | None = None


def from_source(
    data,
    *,
    target: str | None = None,
    task: str | None = None,
    kind: str | None = None,
    class_names: list[str] | None = None,
    validation_data=None,
    test_data=None,
    seed: int = 0,
    validation_split: float = 0.1,
    image_size: int | tuple[int, int] | None = None,
    vocab_size: int = 10000,
    sequence_length: int = 64,
    name: str | None = None,
) -> tuple[Splits, DatasetInfo]:
    """Reads the user's own data into disjoint, seeded splits and a `DatasetInfo`.

    Accepted sources:
    - `(x, y)` NumPy arrays (a tuple or list). The kind of inputs is inferred from `x`:
      uint8 `(n, h, w)` / `(n, h, w, c)` or any 4-D array: images (uint8 kept, a channel
      axis added; float images must lie in [0, 1]); 1-D strings: texts; 2-D numbers: a
      table; 3-D floats `(n, steps, features)`: a series. `kind=` overrides.
    - a `tf.data.Dataset` of `(x, y)` elements, batched (first dimension unknown, as after
      `ds.batch(n)`) or not: read whole into memory (it must fit), then as arrays.
    - a pandas DataFrame or a path to a CSV file, with `target=COLUMN`: the other columns are
      the (numeric) features, standardized with the training part's statistics.
    - a path to a folder of images by class, `root/<class>/*.png|jpg|jpeg|gif|bmp`, read with
      `keras.utils.image_dataset_from_directory` in the first image's colour mode (grayscale
      stays one channel) at `image_size` (default: the first image's size); kept uint8.
    - a path to a folder of texts by class, `root/<class>/*.txt` (one example per file, as
      `keras.utils.text_dataset_from_directory` reads it), or to a `.txt` / `.tsv` file of
      `label<TAB>text` lines.

    Labels: names (strings; folder names; a non-numeric or integer-valued CSV column) and
    integers are classes, floats regression targets; `task=` overrides. Integer labels must
    be 0..k-1 (class names "0".."k-1" unless `class_names` is given); named classes are
    sorted (folder names in keras's order).

    Splits: a part not given is carved from `data` as for the zoo's own datasets: the test
    part (20%) with the fixed `loader.TEST_SEED`, so it never moves with the training seed,
    then validation (`validation_split` of the rest) with `seed`. Texts are vectorized with a
    `TextVectorization` adapted on the training part only (`info.vectorizer`,
    `info.vocabulary`). Windows of one series overlap: a random split lets neighbouring
    windows fall on both sides, so give `validation_data` / `test_data` cut by time.

    Args:
        data: the training source (or all of it), one of the above.
        target: CSV / DataFrame only; the column holding the labels.
        task: `"classification"` or `"regression"`; default inferred from the labels.
        kind: `"image"`, `"text"`, `"series"` or `"table"`; default inferred from `x`.
        class_names: names of integer labels 0..k-1, or of named labels in label order.
        validation_data, test_data: optional parts given as their own sources (the same
            kinds as `data`); image folders are read at the training images' size.
        seed: carves the validation part, an integer >= 0.
        validation_split: share of the non-test part held out for validation, in (0, 1).
        image_size: image folders only; `(height, width)` (or one int) to resize to.
        vocab_size, sequence_length: raw texts only; tokens kept, tokens per example.
        name: `info.name`; default the file or folder stem in snake_case, "arrays" for
            arrays and "dataset" for a `tf.data.Dataset`.

    Returns:
        `(Splits, DatasetInfo)`, as `kerazoo.data.load_arrays(..., scale=False)` gives for a
        registered dataset: `info.kind`, `info.source` (what was read, how it was split),
        the split sizes, `seed` and `validation_split` recorded.

    Raises:
        ValueError: for a source of another type, a missing file or empty folder, an
            unreadable file, a missing or unknown target column, non-numeric feature columns
            or missing values, mismatched lengths, one class only, fewer than 3 examples in
            a split, or a bad argument; the message ends with "Received: ...".

    Example:
    ```python
    splits, info = from_source("~/pets", seed=1)  # ~/pets/cat/*.jpg, ~/pets/dog/*.jpg
    info.class_names  # ['cat', 'dog']
    splits, info = from_source("patients.csv", target="diagnosis")
    ```
    """
    loader._check_split_args(seed, validation_split)
    _check_options(task, kind, class_names, image_size, name)
    loader._check_text_args(vocab_size, sequence_length)  # before reading anything
    seed, validation_split = int(seed), float(validation_split)
    size = _image_size(image_size)
    train = _read(data, "data", target, task, size)
    kind = _kind(train, kind)
    task = _task(train, task)
    given = {
        role: _read(part, role, target, task, size or train.image_size)
        for role, part in (("validation_data", validation_data), ("test_data", test_data))
        if part is not None
    }
    parts = {"data": train} | given
    xs = {role: _inputs(part.x, kind, role) for role, part in parts.items()}
    ys, names = _labels(parts, task, class_names)
    pair = {role: (xs[role], ys[role]) for role in given}
    raw = loader._split_parts(
        xs["data"], ys["data"], validation_split, seed,
        validation=pair.get("validation_data"), test=pair.get("test_data"),
    )  # fmt: skip
    source = f"{train.what}; {_split_words(given, validation_split, seed)}"
    return loader._dataset(
        name or train.name, kind, task, raw, class_names=names, source=source, seed=seed,
        validation_split=validation_split, feature_names=train.feature_names,
        vocab_size=vocab_size, sequence_length=sequence_length,
    )  # fmt: skip


def describe_source(data) -> str:
    """One line naming a source, for start lines and errors; never raises.

    Example:
    ```python
    describe_source("~/pets")  # 'image folder ~/pets (3 classes)'
    ```
    """
    try:
        if isinstance(data, (str, os.PathLike)):
            path = Path(data).expanduser()
            if path.is_dir():
                kind, classes = _folder_kind(path)
                return f"{kind or 'empty'} folder {data} ({len(classes)} classes)"
            if path.name.lower().endswith(CSV_SUFFIXES):
                return f"CSV file {data}"
            if path.name.lower().endswith(LINES_SUFFIXES):
                return f"text file {data} (label<TAB>text lines)"
            return f"file {data}" if path.exists() else f"{data} (not found)"
        if _is_tf_dataset(data):
            return "tf.data.Dataset"
        if _is_frame(data):
            return f"pandas DataFrame ({len(data):,} rows, {data.shape[1]} columns)"
        if isinstance(data, (tuple, list)) and len(data) == 2:
            x, y = (np.asarray(a) for a in data)
            return f"arrays x {x.shape} {x.dtype}, y {y.shape} {y.dtype}"
    except Exception:  # a description must never be the thing that fails
        if isinstance(data, (str, os.PathLike)):
            return f"folder {data}"
    return f"{type(data).__name__} object"


# ---------------------------------------------------------------------------------------------
# Arguments


def _check_options(task, kind, class_names, image_size, name) -> None:
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} or None (inferred). Received: task={task!r}")
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS} or None (inferred). Received: kind={kind!r}")
    if class_names is not None and (
        isinstance(class_names, str) or not all(isinstance(c, str) for c in class_names)
    ):
        raise ValueError(
            f"class_names must be a list of strings. Received: class_names={class_names!r}"
        )
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValueError(f"name must be a non-empty string. Received: name={name!r}")


def _image_size(image_size) -> tuple[int, int] | None:
    if image_size is None:
        return None
    size = (image_size, image_size) if isinstance(image_size, int) else image_size
    ok = isinstance(size, (tuple, list)) and len(size) == 2
    if not ok or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in size):
        raise ValueError(
            "image_size must be (height, width) in pixels, or one int for a square. "
            f"Received: image_size={image_size!r}"
        )
    return int(size[0]), int(size[1])


def _snake(stem: str) -> str:
    """A dataset name from a file or folder stem: 'My Pets-2' -> 'my_pets_2'."""
    name = re.sub(r"[^0-9a-z]+", "_", stem.lower()).strip("_") or "data"
    return f"data_{name}" if name[0].isdigit() else name


# ---------------------------------------------------------------------------------------------
# Reading: every source becomes a _Part


def _read(data, role, target, task, image_size) -> _Part:
    if isinstance(data, (str, os.PathLike)):
        return _read_path(data, role, target, task, image_size)
    if target is not None and not _is_frame(data):
        raise ValueError(
            "target names the label column of a CSV file or DataFrame; other sources carry "
            f"their labels. Received: target={target!r}"
        )
    if image_size is not None and role == "data":
        raise ValueError(
            "image_size applies to image folders only (arrays are taken at their size). "
            f"Received: image_size={image_size!r}"
        )
    if _is_tf_dataset(data):
        return _read_tf_dataset(data, role)
    if _is_frame(data):
        return _read_frame(data, role, target, task, "pandas DataFrame", "dataframe")
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return _read_arrays(data, role)
    raise ValueError(f"{role} must be {_ACCEPTED}. Received: {role}={_short(data)}")


def _short(data) -> str:
    text = repr(data)
    return text if len(text) <= 80 else f"<{type(data).__name__} object>"


def _read_arrays(data, role) -> _Part:
    try:
        x, y = (np.asarray(a) for a in data)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{role} must be (x, y): two arrays of one row per example ({err}). "
            f"Received: {role}={_short(data)}"
        ) from None
    _check_lengths(x, y, role)
    return _Part(x, y, what=f"arrays x {x.shape} {x.dtype}, y {y.shape} {y.dtype}", name="arrays")


def _check_lengths(x, y, role) -> None:
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ValueError(
            f"{role}: x and y must hold one row per example, as many of each. "
            f"Received: shapes={[x.shape, y.shape]}"
        )


def _is_tf_dataset(data) -> bool:
    tf = sys.modules.get("tensorflow")  # a tf.data.Dataset means TensorFlow is imported
    return tf is not None and isinstance(data, tf.data.Dataset)


def _is_frame(data) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(data, pandas.DataFrame)


def _read_tf_dataset(ds, role) -> _Part:
    import tensorflow as tf

    spec = ds.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise ValueError(
            f"{role}: a tf.data.Dataset must yield (inputs, labels) pairs. "
            f"Received: element_spec={spec}"
        )
    if ds.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise ValueError(
            f"{role}: the tf.data.Dataset repeats forever; pass it without .repeat(). "
            "Received: cardinality=infinite"
        )
    x_shape, y_shape = spec[0].shape, spec[1].shape
    # `ds.batch(n)` leaves the first dimension unknown; with drop_remainder it is the batch
    # size, shared by inputs and labels.
    batched = (
        x_shape.rank is not None
        and x_shape.rank >= 1
        and (x_shape[0] is None or (y_shape.rank and y_shape[0] == x_shape[0]))
    )
    x, y = _materialize(ds, batched)
    _check_lengths(x, y, role)
    return _Part(x, y, what=f"tf.data.Dataset ({len(x):,} examples)", name="dataset")


def _materialize(ds, batched: bool) -> tuple[np.ndarray, np.ndarray]:
    """All `(x, y)` elements of a finite dataset as two arrays (bytes decoded to str)."""
    xs, ys = [], []
    for x, y in ds.as_numpy_iterator():
        xs.append(x)
        ys.append(y)
    if not xs:
        raise ValueError("The tf.data.Dataset is empty. Received: examples=0")
    join = np.concatenate if batched else np.stack
    return _decoded(join(xs)), _decoded(join(ys))


def _decoded(a: np.ndarray) -> np.ndarray:
    if a.dtype == object and a.size and isinstance(a.flat[0], bytes):
        return np.vectorize(lambda b: b.decode("utf-8", errors="replace"), otypes=[object])(a)
    return a


def _read_path(data, role, target, task, image_size) -> _Part:
    path = Path(data).expanduser()
    if not path.exists():
        raise ValueError(
            f"{role}: no such file or folder: {path}. Give {_ACCEPTED}. Received: {role}='{data}'"
        )
    lower = path.name.lower()
    table = path.is_file() and lower.endswith(CSV_SUFFIXES)
    if target is not None and not table:
        raise ValueError(
            f"target names the label column of a CSV file; {path} is not one (labels of "
            f"folders and text files come with them). Received: target={target!r}"
        )
    if image_size is not None and not path.is_dir():
        raise ValueError(
            f"image_size applies to image folders only. Received: image_size={image_size!r}"
        )
    if path.is_dir():
        kind, classes = _folder_kind(path)
        if kind == "image":
            return _read_image_folder(path, role, classes, image_size)
        if kind == "text":
            return _read_text_folder(path, role, classes)
        raise ValueError(
            f"{role}: {path} holds no class folders of images ({', '.join(IMAGE_SUFFIXES)}) or "
            f"texts (.txt): expected root/<class>/<file>, one folder per class. "
            f"Received: {role}='{data}'"
        )
    if table:
        import pandas as pd

        try:
            frame = pd.read_csv(path)
        except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
            raise ValueError(
                f"{role}: cannot read {path} as CSV ({str(err).strip()}). Received: {role}='{data}'"
            ) from None
        return _read_frame(frame, role, target, task, f"CSV file {path}", _snake(_stem(path)))
    if lower.endswith(LINES_SUFFIXES):
        return _read_lines(path, role)
    raise ValueError(
        f"{role}: cannot tell what {path.name} holds from its name; give a .csv file (with "
        f"target=COLUMN), a .txt/.tsv file of label<TAB>text lines or a folder by class. "
        f"Received: {role}='{data}'"
    )


def _stem(path: Path) -> str:
    return path.name.split(".")[0] or path.stem


def _folder_kind(root: Path) -> tuple[str | None, list[Path]]:
    """('image' | 'text' | None, class folders) of a folder by class.

    Raises:
        ValueError: for a folder mixing images and texts, or with an empty class folder.
    """
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    counts = {}
    for folder in classes:
        names = [f.name.lower() for f in folder.rglob("*") if f.is_file()]
        counts[folder] = (
            sum(n.endswith(IMAGE_SUFFIXES) for n in names),
            sum(n.endswith(TEXT_SUFFIXES) for n in names),
        )
    images = sum(c[0] for c in counts.values())
    texts = sum(c[1] for c in counts.values())
    if images and texts:
        raise ValueError(
            f"{root} mixes images ({images}) and text files ({texts}); a folder by class "
            f"holds one or the other. Received: data='{root}'"
        )
    if not images and not texts:
        return None, classes
    kind, column = ("image", 0) if images else ("text", 1)
    empty = [f.name for f, c in counts.items() if not c[column]]
    if empty:
        raise ValueError(
            f"Class folders without any {kind} file in {root}: {', '.join(empty)}. Remove "
            f"them or add examples. Received: empty_classes={empty}"
        )
    return kind, classes


def _read_image_folder(root: Path, role, classes, image_size) -> _Part:
    import keras
    import tensorflow as tf

    first = next(
        f
        for f in sorted(classes[0].rglob("*"))
        if f.is_file() and f.name.lower().endswith(IMAGE_SUFFIXES)
    )
    h, w, channels = _decode(first).shape
    # The first image decides: grayscale stays one channel, RGBA keeps its alpha channel.
    color_mode = {1: "grayscale", 2: "grayscale", 4: "rgba"}.get(channels, "rgb")
    size_words = "resized to" if image_size else "at the first image's size,"
    image_size = image_size or (h, w)
    ds = keras.utils.image_dataset_from_directory(
        root, labels="inferred", label_mode="int", color_mode=color_mode, batch_size=256,
        image_size=image_size, shuffle=False, verbose=False,
    )  # fmt: skip
    try:
        x, y = _materialize(ds, batched=True)
    except tf.errors.OpError:
        bad = next((f for f in ds.file_paths if not _decodes(f)), None)
        raise ValueError(
            f"{role}: cannot read image file {bad or 'in ' + str(root)} (damaged, or not a PNG, "
            "JPEG, GIF or BMP image): remove or replace it. "
            f"Received: file='{bad or root}'"
        ) from None
    # Resizing gives floats; pixel values stay 0..255, kept compact as uint8.
    x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    names = list(ds.class_names)
    what = (
        f"image folder {root}: {len(x):,} images in {len(names)} class folders, "
        f"{color_mode}, {size_words} {image_size[0]}x{image_size[1]}"
    )
    return _Part(
        x, np.asarray(names, dtype=object)[y], what=what, name=_snake(root.name), kind="image",
        class_names=names, image_size=tuple(image_size),
    )  # fmt: skip


def _decode(path):
    import tensorflow as tf

    try:
        return tf.io.decode_image(tf.io.read_file(str(path)), expand_animations=False)
    except tf.errors.OpError:
        raise ValueError(
            f"Cannot read image file {path} (damaged, or not a PNG, JPEG, GIF or BMP image): "
            f"remove or replace it. Received: file='{path}'"
        ) from None


def _decodes(path) -> bool:
    try:
        _decode(path)
    except ValueError:
        return False
    return True


def _read_text_folder(root: Path, role, classes) -> _Part:
    import keras

    ds = keras.utils.text_dataset_from_directory(
        root, labels="inferred", label_mode="int", batch_size=256, shuffle=False, verbose=False
    )
    x, y = _materialize(ds, batched=True)
    names = list(ds.class_names)
    what = f"text folder {root}: {len(x):,} .txt files (one example each) in {len(names)} classes"
    return _Part(
        x, np.asarray(names, dtype=object)[y], what=what, name=_snake(root.name), kind="text",
        class_names=names,
    )  # fmt: skip


def _read_lines(path: Path, role) -> _Part:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{role}: cannot read {path} as UTF-8 text ({err}). Received: {role}='{path}'"
        ) from None
    labels, texts = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        if not tab or not label.strip() or not text.strip():
            raise ValueError(
                f"{path}, line {number}: every line must be label<TAB>text. "
                f"Received: line={line[:60]!r}"
            )
        labels.append(label.strip())
        texts.append(text.strip())
    if not texts:
        raise ValueError(f"{path} holds no label<TAB>text lines. Received: {role}='{path}'")
    x, y = np.asarray(texts, dtype=object), np.asarray(labels, dtype=object)
    names = sorted(set(labels))
    what = f"text file {path}: {len(x):,} label<TAB>text lines, {len(names)} labels"
    return _Part(x, y, what=what, name=_snake(_stem(path)), kind="text", class_names=names)


def _read_frame(frame, role, target, task, what, name) -> _Part:
    import pandas as pd

    columns = [str(c) for c in frame.columns]
    if target is None or str(target) not in columns:
        close = difflib.get_close_matches(str(target), columns, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close and target is not None else ""
        raise ValueError(
            f"{role}: a table needs target=COLUMN, the column holding the labels.{hint} "
            f"Columns: {', '.join(columns)}. Received: target={target!r}"
        )
    frame, target = frame.rename(columns=str), str(target)
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise ValueError(
            f"{role}: the table has no feature column besides the target. "
            f"Received: columns={columns}"
        )
    text_columns = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if text_columns:
        raise ValueError(
            f"{role}: feature columns must be numbers; drop these or encode them as numbers "
            "(e.g. pandas.get_dummies) first. "
            f"Received: non_numeric_columns={text_columns}"
        )
    missing = frame.isna()
    if missing.any(axis=None):
        rows = int(missing.any(axis=1).sum())
        where = [c for c in frame.columns if missing[c].any()]
        raise ValueError(
            f"{role}: {rows} rows have missing values (columns {', '.join(where)}); fill them "
            "or drop those rows (pandas dropna) first. "
            f"Received: rows_with_missing_values={rows}"
        )
    x = features.to_numpy(np.float64)
    column = frame[target]
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    values = column.to_numpy()
    integral = numeric and bool(np.all(np.mod(values.astype(np.float64), 1) == 0))
    if task == "regression" or (task is None and numeric and not integral):
        if not numeric:
            raise ValueError(
                f"{role}: regression needs a numeric target; column {target!r} holds names. "
                f"Received: task={task!r}"
            )
        y, class_names = values.astype(np.float32), None
        said = f"regression target {target!r}"
    elif numeric and not integral:
        raise ValueError(
            f"{role}: classification needs class labels; column {target!r} holds non-integer "
            f"numbers (a regression target: pass task='regression'). Received: task={task!r}"
        )
    else:
        # Integer values become class names in numeric order ('2' before '10').
        order = np.unique(values.astype(np.int64)) if numeric else np.unique(values.astype(str))
        class_names = [str(v) for v in order]
        y = np.asarray([str(v) for v in (values.astype(np.int64) if numeric else values)])
        said = f"target {target!r} ({len(class_names)} classes)"
    what = f"{what}: {len(frame):,} rows, {x.shape[1]} numeric feature columns, {said}"
    return _Part(
        x, y, what=what, name=name, kind="table", class_names=class_names,
        feature_names=[str(c) for c in features.columns],
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Kind, task and labels


def _kind(part: _Part, kind: str | None) -> str:
    if kind is not None:
        return kind
    if part.kind is not None:
        return part.kind
    x = part.x
    if _is_texts(x):
        return "text"
    if x.ndim == 4 or (x.ndim == 3 and x.dtype == np.uint8):
        return "image"
    if x.ndim == 3:
        return "series"
    if x.ndim == 2:
        return "table"
    raise ValueError(
        "Cannot tell the kind of inputs: give images (n, h, w[, c]), texts (n,) strings, a "
        "table (n, features) or series windows (n, steps, features), or pass kind=. "
        f"Received: x_shape={x.shape}"
    )


def _inputs(x: np.ndarray, kind: str, role: str) -> np.ndarray:
    """`x` checked against `kind` and brought to the dtype the pipeline expects."""
    texts = _is_texts(x)
    expected = {
        "image": x.ndim in (3, 4),
        "text": texts or (x.ndim == 2 and x.dtype.kind in "iu"),
        "series": x.ndim == 3,
        "table": x.ndim == 2,
    }[kind]
    numeric = x.dtype.kind in "biuf"
    if not expected or (not texts and not numeric):
        shapes = {
            "image": "(n, h, w) or (n, h, w, c) numbers",
            "text": "(n,) strings or (n, length) integer token ids",
            "series": "(n, steps, features) numbers",
            "table": "(n, features) numbers",
        }
        raise ValueError(
            f"{role}: {kind} inputs must be {shapes[kind]}. "
            f"Received: x_shape={x.shape}, x_dtype={x.dtype}"
        )
    if numeric and x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError(
            f"{role}: the inputs hold NaN or infinite values; fill or drop those examples "
            f"first. Received: non_finite={int((~np.isfinite(x)).sum())}"
        )
    if kind == "image" and x.dtype != np.uint8 and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"{role}: images must be uint8 0..255 or floats in [0, 1]; pass 0..255 pixels "
            "as np.uint8 (kept compact, scaled per batch). "
            f"Received: x_range=[{float(x.min())}, {float(x.max())}]"
        )
    return loader._as_inputs(x, kind)


def _is_texts(x: np.ndarray) -> bool:
    if x.ndim != 1 or x.dtype.kind not in "OUS":
        return False
    return x.dtype.kind != "O" or all(isinstance(t, str) for t in x)


def _named(part: _Part) -> bool:
    return part.class_names is not None or part.y.dtype.kind in "OUSb"


def _task(part: _Part, task: str | None) -> str:
    if task is not None:
        return task
    y = part.y
    one_hot = (
        y.ndim == 2
        and y.shape[1] > 1
        and y.dtype.kind in "biuf"
        and np.isin(y, (0, 1)).all()
        and (y.sum(axis=1) == 1).all()
    )
    if one_hot:  # would pass for several regression targets: say so instead
        raise ValueError(
            "The labels look one-hot; classification needs one label per example, not "
            "one-hot rows: pass y.argmax(axis=-1) (or task='regression' for several "
            f"numeric targets). Received: y_shape={y.shape}"
        )
    if _named(part) or y.dtype.kind in "iu":
        return "classification"
    return "regression"


def _labels(parts: dict, task: str, class_names) -> tuple[dict, list[str] | None]:
    """Labels of every part as the model needs them (int64 0..k-1, or float32 targets) and
    the class names (None for regression)."""
    train = parts["data"]
    if task == "regression":
        out = {}
        for role, part in parts.items():
            if _named(part) or part.y.dtype.kind not in "iuf":
                raise ValueError(
                    f"{role}: regression needs numeric targets; these labels are names. "
                    f"Received: y_dtype={part.y.dtype}"
                )
            out[role] = part.y.astype(np.float32)
        return out, None
    for role, part in parts.items():
        if part.y.ndim > 1 and part.y.shape[1:] != (1,) * (part.y.ndim - 1):
            raise ValueError(
                f"{role}: classification needs one label per example, not one-hot rows; pass "
                f"y.argmax(axis=-1). Received: y_shape={part.y.shape}"
            )
    if _named(train):
        names = list(class_names or train.class_names or sorted({str(v) for v in train.y}))
        index = {n: i for i, n in enumerate(names)}
        out = {}
        for role, part in parts.items():
            labels = [str(v) for v in part.y.reshape(-1)]
            unknown = sorted(set(labels) - index.keys())
            if unknown:
                raise ValueError(
                    f"{role}: labels {unknown[:5]} are not among the classes {names}. "
                    f"Received: labels={unknown[:5]}"
                )
            out[role] = np.asarray([index[v] for v in labels], np.int64)
        return out, names
    out = {}
    for role, part in parts.items():
        y = part.y.reshape(-1)
        if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0)):
            raise ValueError(
                f"{role}: classification needs integer labels 0..k-1 or class names (pass "
                f"task='regression' for a numeric target). Received: y_dtype={y.dtype}"
            )
        if y.min() < 0:
            raise ValueError(
                f"{role}: integer labels must be 0..k-1 (or pass names as strings). "
                f"Received: y_min={y.min()!r}"
            )
        out[role] = y.astype(np.int64)
    k = max(int(y.max()) for y in out.values()) + 1
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    if len(names) < k:
        raise ValueError(
            f"class_names names {len(names)} classes but the labels go up to {k - 1}. "
            f"Received: class_names={names}"
        )
    return out, names


def _split_words(given: dict, validation_split: float, seed: int) -> str:
    test = (
        f"test: {given['test_data'].what}"
        if "test_data" in given
        else f"test: {loader.TEST_FRACTION:.0%} held out with the fixed seed {loader.TEST_SEED}"
    )
    validation = (
        f"validation: {given['validation_data'].what}"
        if "validation_data" in given
        else f"validation: {validation_split:.0%} of the rest carved with seed {seed}"
    )
    if "test_data" in given and "validation_data" not in given:
        validation = f"validation: {validation_split:.0%} of the data carved with seed {seed}"
    return f"{test}; {validation}"
