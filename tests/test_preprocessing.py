"""Saved models take raw inputs: uint8 images, raw strings, raw table columns.

Each run here trains a real model for one epoch on a small real slice; the checks compare
what the saved (and exported) model gives for raw inputs with what the trained network
gives for the same inputs prepared as the training pipeline prepares them.
"""

import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerazoo
from kerazoo import preprocessing
from kerazoo.data import loader, text
from kerazoo.export import export, tflite_interpreter
from kerazoo.saving import load_model

TEXT_OPTIONS = {"vocab_size": 400, "sequence_length": 16}


def _train(tmp_path_factory, model, dataset, **settings):
    out = tmp_path_factory.mktemp(model) / "run"
    return kerazoo.train(
        model, dataset, out=out, epochs=1, max_examples=400, plots=False, verbose=0, **settings
    )


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    return _train(tmp_path_factory, "lenet5", "mnist_sample")


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    return _train(tmp_path_factory, "gru_classifier", "fortunes_lang", data_options=TEXT_OPTIONS)


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    return _train(tmp_path_factory, "regression_mlp", "diabetes")


@pytest.fixture(scope="module")
def test_digits():
    splits, _ = loader.load_arrays("mnist_sample", max_examples=400, scale=False)
    return splits.x_test, splits.y_test


def test_saved_image_model_takes_uint8_digits(digits_run, test_digits):
    x, y = test_digits
    assert x.dtype == np.uint8
    saved = keras.models.load_model(digits_run.run_dir / "model.keras")
    assert saved.inputs[0].dtype == "uint8"
    raw = saved.predict(x, verbose=0)
    prepared = digits_run.model.predict(x.astype("float32") / 255.0, verbose=0)
    np.testing.assert_allclose(raw, prepared, atol=1e-5)
    # The run's own test accuracy, reached from the raw digits.
    accuracy = float(np.mean(raw.argmax(-1) == y))
    assert accuracy == pytest.approx(digits_run.metrics["test_accuracy"], abs=1e-6)
    assert accuracy > 0.5


def test_saved_image_model_resizes_larger_images(digits_run, test_digits):
    x, _ = test_digits
    saved = load_model(digits_run.run_dir / "model.keras")
    large = np.kron(x[:100], np.ones((1, 2, 2, 1), dtype=np.uint8))  # 56x56 digits
    assert large.shape[1:] == (56, 56, 1)
    agree = np.mean(
        saved.predict(large, verbose=0).argmax(-1) == saved.predict(x[:100], verbose=0).argmax(-1)
    )
    assert agree >= 0.9


def test_dataset_json_declares_the_raw_input(digits_run, text_run):
    image = json.loads((digits_run.run_dir / "dataset.json").read_text())["raw_input"]
    assert image["kind"] == "image" and image["dtype"] == "uint8"
    words = json.loads((text_run.run_dir / "dataset.json").read_text())["raw_input"]
    assert words["dtype"] == "string"


def test_exported_image_model_takes_uint8(digits_run, test_digits, tmp_path):
    x, _ = test_digits
    x = x[:8]
    expected = digits_run.model.predict(x.astype("float32") / 255.0, verbose=0)
    saved_model = export(digits_run.run_dir, "saved_model", tmp_path / "digits_sm")
    loaded = tf.saved_model.load(str(saved_model))  # kept: its variables live in it
    np.testing.assert_allclose(loaded.serve(tf.constant(x)).numpy(), expected, atol=1e-5)

    interpreter = tflite_interpreter(export(digits_run.run_dir, "tflite", tmp_path / "d.tflite"))
    given = interpreter.get_input_details()[0]
    assert given["dtype"] == np.uint8
    interpreter.resize_tensor_input(given["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(given["index"], x)
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(got, expected, atol=1e-4)


def _raw_quotes(n=40):
    texts, _ = text.fortunes(("de", "es"))
    return list(texts[:n])


def test_saved_text_model_takes_raw_strings(text_run, tmp_path):
    quotes = _raw_quotes()
    info = text_run.info
    ids = keras.ops.convert_to_numpy(info.vectorizer(quotes))  # the training pipeline
    expected = text_run.model.predict(ids, verbose=0)
    saved = load_model(text_run.run_dir / "model.keras")
    assert saved.inputs[0].dtype == "string"
    got = saved.predict(np.asarray(quotes, dtype=object), verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)

    # No vocabulary.txt needed: predict reads the raw lines into the saved model.
    folder = tmp_path / "run"
    shutil.copytree(text_run.run_dir, folder)
    (folder / "vocabulary.txt").unlink()
    lines = tmp_path / "quotes.txt"
    lines.write_text("\n".join(q.replace("\n", " ") for q in quotes[:5]) + "\n")
    predictions = kerazoo.predict(folder, [lines])
    assert len(predictions) == 5
    assert {p.label for p in predictions} <= set(info.class_names)

    served = tf.saved_model.load(str(export(folder, "saved_model", tmp_path / "text_sm")))
    np.testing.assert_allclose(served.serve(tf.constant(quotes)).numpy(), expected, atol=1e-5)


def test_text_tflite_takes_ids_and_ships_the_vocabulary(text_run, tmp_path):
    with pytest.warns(UserWarning, match="no string ops"):
        export(text_run.run_dir, "tflite", tmp_path / "text.tflite")
    vocabulary = (tmp_path / "text.vocabulary.txt").read_text().split("\n")[:-1]
    assert vocabulary == text_run.info.vocabulary


def test_saved_table_model_takes_raw_columns_and_answers_in_units(table_run):
    info = table_run.info
    x, y, _ = kerazoo.data.tabular.diabetes()
    raw_rows = x[:20].astype("float32")
    prepared = (raw_rows - np.asarray(info.mean)) / np.asarray(info.std)
    expected = table_run.model.predict(prepared, verbose=0) * info.target_std + info.target_mean
    saved = load_model(table_run.run_dir / "model.keras")
    got = saved.predict(raw_rows, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-2)
    # Diabetes progression is 25..346; predictions in those units, not standardized ones.
    assert np.abs(got).mean() > 20


def test_run_folder_written_before_the_wrapper_still_evaluates_and_predicts(
    digits_run, test_digits, tmp_path
):
    folder = tmp_path / "old_run"
    shutil.copytree(digits_run.run_dir, folder)
    digits_run.model.save(folder / "model.keras")  # what model.keras held before
    assert not preprocessing.file_is_wrapped(folder / "model.keras")
    metrics = kerazoo.evaluate(folder)
    assert metrics["test_accuracy"] == pytest.approx(digits_run.metrics["test_accuracy"])
    x, _ = test_digits
    picture = tmp_path / "digit.png"
    keras.utils.save_img(picture, x[0])
    [prediction] = kerazoo.predict(folder, [picture])
    [new] = kerazoo.predict(digits_run.run_dir, [picture])
    assert prediction.label == new.label
    assert prediction.probability == pytest.approx(new.probability, abs=1e-4)


def test_weights_load_back_from_a_wrapped_file(digits_run):
    fresh = kerazoo.create_model("lenet5")
    assert preprocessing.file_is_wrapped(digits_run.run_dir / "model.keras")
    preprocessing.load_weights(fresh, digits_run.run_dir / "model.keras")
    for a, b in zip(fresh.get_weights(), digits_run.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
