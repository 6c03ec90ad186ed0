"""The catalogue (kerazoo/catalog.json) and docs/models.md match what the factories build."""

from kerazoo import catalog, registry


def test_catalog_and_docs_are_fresh():
    # Fails after a model is added or changed without `make catalog`.
    assert catalog.main(["--check"]) == 0, "run `make catalog` (python -m kerazoo.catalog)"


def test_docs_list_every_model():
    text = catalog.DOCS_PATH.read_text(encoding="utf-8")
    for name in registry.list_models():
        assert f"`{name}`" in text
    assert "| `lenet5` | cnn | classification | 61,706 |" in text
