"""The catalogue (kerazoo/catalog.json) and docs/models.md match what the factories build."""

import json
import sys
from pathlib import Path

# The generators live in the checkout's tools/ (not installed with the package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kerazoo import registry  # noqa: E402
from tools import catalog  # noqa: E402


def test_catalog_and_docs_are_fresh():
    # Fails after a model is added or changed without `make catalog`.
    assert catalog.main(["--check"]) == 0, "run `make catalog` (python -m tools.catalog)"


def test_docs_list_every_model():
    text = catalog.DOCS_PATH.read_text(encoding="utf-8")
    for name in registry.list_models():
        assert f"`{name}`" in text
    assert "| `lenet5` | cnn | classification | 61,706 |" in text


def test_the_catalogue_records_each_models_inputs_and_metrics():
    entries = json.loads(registry.CATALOG_PATH.read_text(encoding="utf-8"))["models"]
    by_name = {e["name"]: e for e in entries}
    assert by_name["lstm_classifier"]["inputs"] == ["vocab_size", "sequence_length", "num_classes"]
    assert by_name["gru_forecaster"]["inputs"] == ["input_shape", "horizon"]
    assert by_name["dcgan"]["inputs"] == ["image_shape"]
    assert by_name["mnist_cnn"]["metrics"] == ["accuracy"] and by_name["vae"]["metrics"] == []
    info = registry.model_info("regression_mlp")  # read from the catalogue
    assert info.inputs == ("input_shape",) and info.metrics == ("mae",)
