"""The page's other panels, through the app in this process (httpx's ASGI transport): a
VAE preset generates new digits; the sunspot forecaster plots its held-out forecast."""

from __future__ import annotations

import asyncio
import base64
import io

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow


class _Client:
    """A few requests to the app of `source`, served in this process."""

    def __init__(self, source: str):
        from kerazoo.serve.app import create_app
        from kerazoo.serve.servable import load_servable

        self.app = create_app(load_servable(source, diagram=False))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.app.state.batcher.close()

    def _send(self, method: str, path: str, **kwargs):
        import httpx

        async def send():
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://serve") as c:
                return await c.request(method, path, **kwargs)

        return asyncio.run(send())

    def get(self, path: str, **kwargs):
        return self._send("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self._send("POST", path, **kwargs)


_client = _Client


def _pixels(url: str) -> np.ndarray:
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)))


def test_vae_generates_new_digit_images():
    with _client("vae:mnist") as client:
        assert client.get("/api/card").json()["page"] == "generate"
        first = client.post("/api/generate", json={"n": 6, "seed": 1}).json()["images"]
        again = client.post("/api/generate", json={"n": 6, "seed": 1}).json()["images"]
        other = client.post("/api/generate", json={"n": 6, "seed": 2}).json()["images"]
        bad = client.post("/api/generate", json={"n": 1000})
    images = [_pixels(u) for u in first]
    assert len(images) == 6 and all(i.shape == (28, 28) for i in images)
    assert all(i.max() > 128 and i.mean() < 128 for i in images)  # light strokes on black
    assert first == again and first != other  # a seed repeats its samples
    assert bad.status_code == 400 and "1..64" in bad.json()["error"]


def test_sunspot_forecaster_plots_its_held_out_forecast():
    from kerazoo import pretrained

    with _client("lstm_forecaster:sunspots") as client:
        assert client.get("/api/card").json()["page"] == "forecast"
        forecast = client.get("/api/forecast").json()
    actual, predicted = np.asarray(forecast["actual"]), np.asarray(forecast["predicted"])
    assert len(forecast["years"]) == len(actual) == len(predicted) == 57
    assert forecast["years"][-1] == 2008
    mae = np.abs(actual - predicted).mean()  # the card's test MAE, in sunspots
    card = pretrained.get_card("lstm_forecaster", "sunspots")
    assert mae == pytest.approx(card["metric"]["value"], rel=0.02)
