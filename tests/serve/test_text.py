"""`kerazoo serve` on a run folder of a text classifier: real quotations in, the run's own
`model.keras` answers out (the run is trained here: tiny, one epoch, real fortunes)."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from conftest import running
from realdata import fortunes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    from kerazoo.training import run

    result = run.train(
        "lstm_classifier",
        "fortunes_lang",
        out=tmp_path_factory.mktemp("runs") / "text",
        epochs=1,
        max_examples=300,
        plots=False,  # the server draws the diagram itself then
        verbose=0,
        data_options={"vocab_size": 2000, "sequence_length": 32},
        overrides={"embedding_dim": 16, "units": (16,)},
    )
    return result.run_dir


@pytest.fixture(scope="module")
def text_server(text_run, tmp_path_factory):
    with running(str(text_run), "lstm_classifier", tmp_path_factory.mktemp("serve")) as server:
        yield server


@pytest.fixture(scope="module")
def quotations():
    texts, _ = fortunes(n_per_lang=6, languages=("en", "de", "es", "it"))
    return texts


def test_predictions_equal_the_runs_model_on_real_quotations(text_run, text_server, quotations):
    from kerazoo.saving import load_model

    model = load_model(text_run / "model.keras", compile=False)
    expected = model.predict(np.asarray(quotations, dtype=object), verbose=0)
    url = f"{text_server.url}/v1/models/lstm_classifier:predict"
    response = httpx.post(url, json={"instances": quotations}, timeout=120)
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(response.json()["predictions"], expected, atol=1e-5)

    form = httpx.post(f"{text_server.url}/api/classify", data={"text": quotations[0]}, timeout=120)
    names = ["en", "de", "es", "it"]
    assert form.json()["label"] == names[int(expected[0].argmax())]
    card = httpx.get(f"{text_server.url}/api/card", timeout=60).json()
    assert card["page"] == "text" and card["dataset"] == "fortunes_lang"
    assert card["metric"]["name"] == "test_accuracy"
    assert httpx.get(f"{text_server.url}/api/diagram.png", timeout=60).status_code == 200


@pytest.mark.parametrize(
    ("instances", "says"),
    [
        ([["a", "nested", "list"]], "must be a string"),
        (["   "], "empty text"),
        ([42], "must be a string"),
        (["x" * 20_001], "at most 20,000"),
    ],
)
def test_bad_text_gets_a_400(text_server, instances, says):
    url = f"{text_server.url}/v1/models/lstm_classifier:predict"
    response = httpx.post(url, json={"instances": instances}, timeout=120)
    assert response.status_code == 400 and says in response.json()["error"], response.text
