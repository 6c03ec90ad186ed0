"""`kerazoo.data.from_source`: the user's own data (arrays, tf.data, an image folder, a CSV
table, a text folder or file) as disjoint, seeded splits + DatasetInfo, all real data."""

from __future__ import annotations

import re

import numpy as np
import pytest
import realdata

from kerazoo.data import describe_source, from_source, images, loader, tabular
from kerazoo.data.registry import register_dataset, unregister_dataset


def _rows(a) -> set[bytes]:
    if a.dtype == object:
        return {str(v).encode() for v in a}
    return {r.tobytes() for r in np.ascontiguousarray(a)}


def _assert_disjoint_and_complete(splits, info, n):
    parts = [_rows(splits.x_train), _rows(splits.x_val), _rows(splits.x_test)]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    sizes = (len(splits.x_train), len(splits.x_val), len(splits.x_test))
    assert sizes == (info.n_train, info.n_val, info.n_test) and sum(sizes) == n
    assert min(sizes) >= 3


def _uint8_images(n=300):
    """n real Fashion-MNIST test images (n, 28, 28) uint8 as a user holds them, classes mixed."""
    x, y = realdata._fashion_test()  # read once per session
    keep = np.random.default_rng(0).permutation(len(x))[:n]
    return x[keep], y[keep]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return realdata.image_folder(tmp_path_factory.mktemp("images"), classes=3, per_class=40)


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    return realdata.csv_table(tmp_path_factory.mktemp("csv"))


# --- arrays ----------------------------------------------------------------------------------


def test_uint8_image_arrays_keep_uint8_and_get_a_channel():
    x, y = _uint8_images()
    splits, info = from_source((x, y))
    assert splits.x_train.dtype == np.uint8 and splits.x_train.shape[1:] == (28, 28, 1)
    assert info.kind == "image" and info.task == "classification" and info.name == "arrays"
    assert info.class_names == [str(k) for k in range(10)] and info.num_classes == 10
    assert splits.y_train.dtype == np.int64
    _assert_disjoint_and_complete(splits, info, 300)
    assert (info.n_test, info.seed, info.validation_split) == (60, 0, 0.1)
    assert "arrays x (300, 28, 28) uint8" in info.source and "fixed seed 0" in info.source
    # Labels travel with their images.
    row = {x[i].tobytes(): y[i] for i in range(len(x))}
    assert all(
        row[a[..., 0].tobytes()] == b for a, b in zip(splits.x_test, splits.y_test, strict=True)
    )


def test_same_seed_same_split_other_seed_moves_validation_only():
    x, y = _uint8_images()
    a, _ = from_source((x, y), seed=1)
    b, _ = from_source([x, y], seed=1)
    c, _ = from_source((x, y), seed=2)
    for key in ("x_train", "x_val", "x_test", "y_train"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    np.testing.assert_array_equal(a.x_test, c.x_test)  # the test part never moves
    assert _rows(a.x_val) != _rows(c.x_val)
    assert _rows(a.x_train) | _rows(a.x_val) == _rows(c.x_train) | _rows(c.x_val)


def test_float_images_and_given_class_names():
    x, y = _uint8_images(200)
    x = x[..., None].astype(np.float32) / 255.0
    names = list(images.FASHION_MNIST_CLASSES)
    splits, info = from_source((x, y), class_names=names, name="clothes")
    assert splits.x_train.dtype == np.float32 and info.input_shape == (28, 28, 1)
    assert info.class_names[9] == "Ankle boot" and info.name == "clothes"
    with pytest.raises(ValueError, match=r"uint8 0\.\.255 or floats in \[0, 1\].*x_range="):
        from_source((x * 255, y))


def test_string_arrays_are_texts_vectorized_on_the_training_part():
    texts, labels = realdata.fortunes(60, ("en", "de"))
    names = np.asarray(["en", "de"])[labels]  # labels as names
    splits, info = from_source((np.asarray(texts), names), vocab_size=300, sequence_length=20)
    assert info.kind == "text" and info.class_names == ["de", "en"]  # sorted names
    assert splits.x_train.dtype == np.int32 and splits.x_train.shape[1:] == (20,)
    assert info.input_dtype == "int32" and info.vocab_size == len(info.vocabulary) <= 300
    assert info.vectorizer is not None and info.vocabulary[:2] == ["", "[UNK]"]
    assert info.n_train + info.n_val + info.n_test == 120
    # The same index split as every dataset; the vocabulary knows the training words only.
    raw = loader._split_train_val_test(np.asarray(texts, dtype=object), names, 0.1, 0)
    np.testing.assert_array_equal(splits.y_test, (raw.y_test == "en").astype(np.int64))

    def words(part):
        return {w for t in part for w in re.sub(r"[^\w\s]", " ", t.lower()).split()}

    only_test = words(raw.x_test) - words(raw.x_train)
    assert only_test and not only_test & set(info.vocabulary)
    np.testing.assert_array_equal(splits.x_test, info.vectorizer(list(raw.x_test)).numpy())


def test_tables_standardized_with_the_training_part():
    x, y, _ = tabular.breast_cancer()
    splits, info = from_source((x, y))
    assert info.kind == "table" and info.task == "classification" and info.num_classes == 2
    assert splits.x_train.dtype == np.float32 and info.feature_names[0] == "x0"
    np.testing.assert_allclose(splits.x_train.mean(axis=0), 0, atol=1e-5)
    assert abs(float(splits.x_test.mean())) > 1e-4  # test statistics were not used
    x, y, _ = tabular.diabetes()
    splits, info = from_source((x, y))
    assert info.task == "regression" and info.class_names is None
    assert info.target_std > 10 and abs(float(splits.y_train.mean())) < 1e-5


def test_registered_arrays_and_from_source_share_one_path():
    def reader(seed, validation_split, options):
        x, y, _ = tabular.breast_cancer()
        return x, y

    register_dataset("bc_again", kind="table", task="classification", reader=reader)
    try:
        registered, info_r = loader.load_arrays("bc_again", seed=4)
    finally:
        unregister_dataset("bc_again")
    x, y, _ = tabular.breast_cancer()
    own, info_o = from_source((x, y), seed=4)
    for key in ("x_train", "y_train", "x_val", "x_test"):
        np.testing.assert_array_equal(getattr(registered, key), getattr(own, key))
    assert info_r.mean == info_o.mean and info_r.kind == info_o.kind == "table"


def test_builtin_readers_set_the_kind():
    assert loader.load_arrays("breast_cancer")[1].kind == "table"
    assert loader.load_arrays("sunspots")[1].kind == "series"
    info = loader.load_arrays("fashion_mnist", max_examples=10, scale=False)[1]
    assert info.kind == "image" and info.as_dict()["kind"] == "image"


def test_series_windows_and_task_override():
    x, y = realdata.windows(realdata.sunspots(), 24)
    splits, info = from_source((x, y))
    assert info.kind == "series" and info.task == "regression" and info.input_shape == (24, 1)
    assert splits.x_train.dtype == np.float32 and splits.y_train.shape[1:] == (1,)
    _assert_disjoint_and_complete(splits, info, len(x))
    # Integer labels as a regression target, integral floats as classes.
    digits, labels = _uint8_images(100)
    _, info = from_source((digits, labels), task="regression")
    assert info.task == "regression" and info.class_names is None
    splits, info = from_source((digits, labels.astype(np.float32)), task="classification")
    assert info.num_classes == 10 and splits.y_train.dtype == np.int64


def test_given_validation_and_test_parts_are_kept():
    x, y = _uint8_images(400)
    val, test = (x[300:350], y[300:350]), (x[350:], y[350:])
    splits, info = from_source((x[:300], y[:300]), validation_data=val, test_data=test)
    np.testing.assert_array_equal(splits.x_val[..., 0], val[0])
    np.testing.assert_array_equal(splits.y_test, test[1])
    assert (info.n_train, info.n_val, info.n_test) == (300, 50, 50)
    assert "validation: arrays" in info.source and "test: arrays" in info.source
    # Only the test part given: validation carved from data with the seed, all of data used.
    splits, info = from_source((x[:300], y[:300]), test_data=test, seed=3)
    assert info.n_train + info.n_val == 300 and info.n_val == 30 and info.n_test == 50
    assert "carved with seed 3" in info.source
    # Only validation given: the test part held out from data with the fixed seed.
    splits, info = from_source((x[:300], y[:300]), validation_data=val, seed=3)
    assert (info.n_train, info.n_val, info.n_test) == (240, 50, 60)


# --- tf.data ---------------------------------------------------------------------------------


def test_tf_dataset_batched_or_not_gives_the_array_split():
    import tensorflow as tf

    x, y = _uint8_images(200)
    expected, _ = from_source((x, y), seed=5)
    for ds in (
        tf.data.Dataset.from_tensor_slices((x, y)),
        tf.data.Dataset.from_tensor_slices((x, y)).batch(32),
        tf.data.Dataset.from_tensor_slices((x, y)).batch(40, drop_remainder=True),
    ):
        splits, info = from_source(ds, seed=5)
        np.testing.assert_array_equal(splits.x_train, expected.x_train)
        np.testing.assert_array_equal(splits.y_test, expected.y_test)
        assert info.name == "dataset" and "tf.data.Dataset (200 examples)" in info.source
    texts, labels = realdata.fortunes(30)
    _, info = from_source(tf.data.Dataset.from_tensor_slices((texts, labels)).batch(8))
    assert info.kind == "text" and info.vocab_size > 50
    with pytest.raises(ValueError, match="repeats forever.*Received: cardinality=infinite"):
        from_source(tf.data.Dataset.from_tensor_slices((x, y)).repeat())
    with pytest.raises(ValueError, match=r"\(inputs, labels\) pairs.*Received: element_spec="):
        from_source(tf.data.Dataset.from_tensor_slices(x))


# --- an image folder -------------------------------------------------------------------------


def test_image_folder_by_class(folder):
    splits, info = from_source(folder)
    assert info.class_names == sorted(realdata.fashion_folder_names(3))
    assert info.kind == "image" and info.name == "fashion" and info.input_shape == (28, 28, 1)
    assert splits.x_train.dtype == np.uint8  # grayscale PNGs stay one channel, uint8
    _assert_disjoint_and_complete(splits, info, 120)
    assert "first image's size, 28x28" in info.source and str(folder) in info.source
    # Every image is the real Fashion-MNIST picture of its folder's class, pixel for pixel.
    x, y = realdata._fashion_test()
    for image, label in zip(splits.x_test, splits.y_test, strict=True):
        name = info.class_names[label]
        real = images.FASHION_MNIST_CLASSES[realdata.fashion_folder_names(10).index(name)]
        k = images.FASHION_MNIST_CLASSES.index(real)
        assert any(np.array_equal(image[..., 0], x[i]) for i in np.flatnonzero(y == k)[:40])
    again, _ = from_source(str(folder))
    np.testing.assert_array_equal(splits.x_val, again.x_val)
    assert describe_source(folder) == f"image folder {folder} (3 classes)"


def test_image_folder_size_and_colour(folder, tmp_path):
    splits, info = from_source(folder, image_size=(14, 20), name="small")
    assert splits.x_train.shape[1:] == (14, 20, 1) and splits.x_train.dtype == np.uint8
    assert "resized to 14x20" in info.source and info.name == "small"
    from PIL import Image

    # RGB files (the same real images in colour) read as three channels.
    for path in sorted(folder.rglob("*.png"))[::2]:
        out = tmp_path / "rgb" / path.parent.name / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.open(path).convert("RGB").save(out)
    splits, info = from_source(tmp_path / "rgb")
    assert splits.x_train.shape[1:] == (28, 28, 3) and info.n_train + info.n_val + info.n_test == 60


def test_image_folder_errors(folder, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    bad = broken / "trouser" / "0005.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match=re.escape(f"Received: file='{bad}'")):
        from_source(broken)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no class folders.*Received: data="):
        from_source(tmp_path / "empty")
    (tmp_path / "one" / "cat").mkdir(parents=True)
    (tmp_path / "one" / "dog").mkdir()
    shutil.copy(next(folder.rglob("*.png")), tmp_path / "one" / "cat" / "a.png")
    with pytest.raises(
        ValueError, match=r"without any image file.*Received: empty_classes=\['dog'\]"
    ):
        from_source(tmp_path / "one")
    with pytest.raises(ValueError, match=r"no such file or folder.*Received: data="):
        from_source(tmp_path / "nowhere")


# --- a CSV table -----------------------------------------------------------------------------


def test_csv_table_with_a_named_target(csv):
    splits, info = from_source(csv, target=realdata.CSV_TARGET)
    assert info.kind == "table" and info.name == "breast_cancer"
    assert info.class_names == ["benign", "malignant"] and info.task == "classification"
    assert info.feature_names[:2] == ["mean radius", "mean texture"] and len(info.mean) == 30
    _assert_disjoint_and_complete(splits, info, 569)
    y = np.concatenate([splits.y_train, splits.y_val, splits.y_test])
    assert np.bincount(y).tolist() == [357, 212]  # benign, malignant: the real counts
    assert f"target '{realdata.CSV_TARGET}' (2 classes)" in info.source
    # A float column as the target is a regression; an integer-valued one gives classes.
    import pandas as pd

    frame = pd.read_csv(csv).drop(columns=[realdata.CSV_TARGET])
    _, info = from_source(frame, target="mean area")
    assert info.task == "regression" and info.target_std > 100
    frame["grade"] = (frame["mean radius"] // 5).astype(int) * 5  # 5, 10, 15, 20, 25
    splits, info = from_source(frame.drop(columns=["mean radius"]), target="grade")
    assert info.class_names == ["5", "10", "15", "20", "25"]  # numeric order
    _, info = from_source(frame, target="grade", task="regression")
    assert info.task == "regression"


def test_csv_errors_name_the_fix(csv, tmp_path):
    with pytest.raises(ValueError, match=r"target=COLUMN.*mean radius.*Received: target=None"):
        from_source(csv)
    with pytest.raises(ValueError, match=r"Did you mean: diagnosis.*Received: target='diagnose'"):
        from_source(csv, target="diagnose")
    import pandas as pd

    frame = pd.read_csv(csv)
    frame["hospital"] = np.where(frame["mean radius"] > 14, "north", "south")
    path = tmp_path / "with_text.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(
        ValueError, match=r"get_dummies.*Received: non_numeric_columns=\['hospital'\]"
    ):
        from_source(path, target=realdata.CSV_TARGET)
    frame = pd.read_csv(csv)
    frame.loc[[3, 7], "mean texture"] = np.nan
    frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"2 rows have missing.*mean texture.*dropna"):
        from_source(path, target=realdata.CSV_TARGET)
    numbers = pd.read_csv(csv).drop(columns=[realdata.CSV_TARGET])
    with pytest.raises(ValueError, match=r"non-integer numbers.*Received: task='classification'"):
        from_source(numbers, target="mean area", task="classification")
    with pytest.raises(ValueError, match=r"numeric target.*Received: task='regression'"):
        from_source(csv, target=realdata.CSV_TARGET, task="regression")


# --- texts -----------------------------------------------------------------------------------


def test_text_folder_and_text_file(tmp_path):
    root = realdata.text_folder(tmp_path, per_class=40, languages=("en", "de", "it"))
    splits, info = from_source(root, sequence_length=32)
    assert info.kind == "text" and info.class_names == ["de", "en", "it"]
    assert splits.x_train.dtype == np.int32 and splits.x_train.shape[1:] == (32,)
    assert info.n_train + info.n_val + info.n_test == 120 and info.name == "fortunes"
    assert describe_source(root) == f"text folder {root} (3 classes)"
    lines = realdata.text_lines(tmp_path, per_class=40)
    splits, info = from_source(lines)
    assert info.class_names == ["de", "en"] and info.name == "fortunes_lines"
    assert info.n_train + info.n_val + info.n_test == 80
    lines.write_text(lines.read_text() + "no tab on this line\n")
    with pytest.raises(ValueError, match=r"line 81: every line must be label<TAB>text"):
        from_source(lines)


# --- bad input -------------------------------------------------------------------------------


def test_bad_arrays_and_arguments():
    x, y = _uint8_images(100)
    with pytest.raises(ValueError, match=r"Too few examples.*Received: examples=12"):
        from_source((x[:12], y[:12]))
    many, labels = _uint8_images(1000)
    with pytest.raises(ValueError, match=r"at least two classes.*Received: classes=\['0'\]"):
        from_source((many[labels == 0], labels[labels == 0]))
    with pytest.raises(ValueError, match=r"as many of each.*Received: shapes="):
        from_source((x, y[:99]))
    with pytest.raises(ValueError, match=r"not one-hot.*Received: y_shape=\(100, 10\)"):
        from_source((x, np.eye(10)[y]))
    with pytest.raises(
        ValueError, match=r"must be \(x, y\) NumPy arrays.*Received: data=<dict object>"
    ):
        from_source({"x": x})
    with pytest.raises(ValueError, match=r"CSV file or DataFrame.*Received: target='label'"):
        from_source((x, y), target="label")
    with pytest.raises(ValueError, match="Received: task='generation'"):
        from_source((x, y), task="generation")
    with pytest.raises(ValueError, match="Received: validation_split=1.5"):
        from_source((x, y), validation_split=1.5)
    with pytest.raises(ValueError, match="Received: image_size=0"):
        from_source((x, y), image_size=0)
    with pytest.raises(ValueError, match=r"Received: x_shape=\(100,\)"):
        from_source((y.astype(np.float32), y))
    assert describe_source((x, y)) == "arrays x (100, 28, 28) uint8, y (100,) int64"
    assert describe_source(42) == "int object"
