"""`kerazoo serve` over HTTP: TF Serving's shapes, the model's own answers, 4xx errors.

A real server (a subprocess on a free localhost port) serves the pretrained `mnist_cnn`
preset; the requests carry real held-out MNIST digits.
"""

from __future__ import annotations

import asyncio
import io
import struct
import zlib

import httpx
import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow


def _post(server, path: str, **kwargs) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", timeout=120, **kwargs)


def _predict_path(server) -> str:
    return f"/v1/models/{server.name}:predict"


def test_predictions_equal_the_models_on_real_digits(digit_server, test_digits):
    pixels, labels, expected = test_digits
    response = _post(digit_server, _predict_path(digit_server), json={"instances": pixels.tolist()})
    assert response.status_code == 200, response.text
    predictions = np.asarray(response.json()["predictions"])
    assert predictions.shape == expected.shape  # one row of class probabilities per digit
    np.testing.assert_allclose(predictions, expected, atol=1e-4)
    assert (predictions.argmax(1) == labels).mean() >= 0.9  # the preset reads digits well


def test_grayscale_without_channel_axis_and_columnar_inputs(digit_server, test_digits):
    pixels, _, expected = test_digits
    two_d = _post(
        digit_server, _predict_path(digit_server), json={"instances": pixels[:3, :, :, 0].tolist()}
    )
    columnar = _post(
        digit_server, _predict_path(digit_server), json={"inputs": pixels[:3].tolist()}
    )
    np.testing.assert_allclose(two_d.json()["predictions"], expected[:3], atol=1e-4)
    np.testing.assert_allclose(columnar.json()["outputs"], expected[:3], atol=1e-4)


def test_tf_serving_status_and_metadata(digit_server):
    status = httpx.get(f"{digit_server.url}/v1/models/mnist_cnn", timeout=60).json()
    assert status == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    meta = httpx.get(f"{digit_server.url}/v1/models/mnist_cnn/metadata", timeout=60).json()
    assert meta["model_spec"]["name"] == "mnist_cnn"
    signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    (raw,) = signature["inputs"].values()
    assert raw["dtype"] == "DT_UINT8"  # the served model takes raw pixels
    assert [d["size"] for d in raw["tensor_shape"]["dim"]] == ["-1", "-1", "-1", "1"]
    (out,) = signature["outputs"].values()
    assert [d["size"] for d in out["tensor_shape"]["dim"]] == ["-1", "10"]


def test_card_and_page_files(digit_server):
    card = httpx.get(f"{digit_server.url}/api/card", timeout=60).json()
    assert card["page"] == "image" and card["dataset"] == "mnist_sample"
    assert card["metric"] == {"name": "test_accuracy", "value": pytest.approx(0.978)}
    assert card["class_names"] == [str(i) for i in range(10)]
    assert (
        httpx.get(f"{digit_server.url}/", timeout=60)
        .headers["content-type"]
        .startswith("text/html")
    )
    diagram = httpx.get(f"{digit_server.url}/api/diagram.png", timeout=60)
    assert diagram.content.startswith(b"\x89PNG")


def test_upload_a_dark_on_light_photo_of_a_digit(digit_server, test_digits):
    pixels, _, expected = test_digits
    picture = io.BytesIO()
    # Dark ink on white paper, four times the size: the server inverts and the model resizes.
    Image.fromarray(255 - pixels[5, :, :, 0]).resize((112, 112)).save(picture, format="JPEG")
    response = _post(
        digit_server,
        "/api/classify",
        files={"file": ("digit.jpg", picture.getvalue(), "image/jpeg")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["label"] == str(expected[5].argmax())
    assert [p["label"] for p in body["predictions"]][0] == body["label"]
    assert sum(p["probability"] for p in body["predictions"]) == pytest.approx(1.0, abs=1e-3)


def _png_declaring(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose header claims `width` x `height` (a decompression bomb's
    header: a few bytes that would decode to gigabytes)."""
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, format="PNG")
    data = bytearray(out.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


@pytest.mark.parametrize(
    ("what", "request_kwargs", "status", "says"),
    [
        (
            "text/plain body",
            dict(content=b'{"instances": []}', headers={"Content-Type": "text/plain"}),
            415,
            "Content-Type",
        ),
        (
            "malformed JSON",
            dict(content=b'{"instances": [', headers={"Content-Type": "application/json"}),
            400,
            "not valid JSON",
        ),
        ("no instances", dict(json={"examples": [1]}), 400, '"instances"'),
        ("empty instances", dict(json={"instances": []}), 400, "is empty"),
        ("instances not a list", dict(json={"instances": "seven"}), 400, "must be a list"),
        ("ragged images", dict(json={"instances": [[[1, 2], [3]]]}), 400, "same shape"),
        (
            "RGB for a grayscale model",
            dict(json={"instances": [[[[0, 0, 0]] * 28] * 28]}),
            400,
            "shape (any, any, 1)",
        ),
        ("pixels above 255", dict(json={"instances": [[[256] * 28] * 28]}), 400, "0..255"),
        ("text for an image model", dict(json={"instances": ["seven"]}), 400, "takes numbers"),
        ("too many instances", dict(json={"instances": [[[0]]] * 257}), 400, "At most 256"),
        (
            "body over the limit",
            dict(content=b" " * (9 << 20), headers={"Content-Type": "application/json"}),
            413,
            "larger than",
        ),
    ],
)
def test_bad_predict_requests_get_a_4xx_naming_the_problem(
    digit_server, what, request_kwargs, status, says
):
    response = _post(digit_server, _predict_path(digit_server), **request_kwargs)
    assert response.status_code == status, (what, response.text)
    assert response.headers["content-type"] == "application/json"
    assert says in response.json()["error"], (what, response.text)
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("what", "method", "path", "request_kwargs", "status", "says"),
    [
        (
            "unknown model",
            "POST",
            "/v1/models/resnet50:predict",
            dict(json={"instances": [[[0]]]}),
            404,
            "serves 'mnist_cnn'",
        ),
        ("GET on predict", "GET", "/v1/models/mnist_cnn:predict", {}, 405, "not allowed"),
        (
            "unknown method",
            "POST",
            "/v1/models/mnist_cnn:regress",
            dict(json={"instances": [[[0]]]}),
            404,
            ":predict",
        ),
        ("a file named by the request", "GET", "/static/..%2f..%2fsetup.cfg", {}, 404, "No such"),
        (
            "upload without a file",
            "POST",
            "/api/classify",
            dict(data={"text": "seven"}),
            400,
            "file field",
        ),
        (
            "JSON to the upload form",
            "POST",
            "/api/classify",
            dict(json={"file": "/etc/passwd"}),
            415,
            "multipart/form-data",
        ),
        (
            "not a picture",
            "POST",
            "/api/classify",
            dict(files={"file": ("a.png", b"#!/bin/sh\necho hi\n")}),
            415,
            "not a picture",
        ),
        (
            "decompression bomb",
            "POST",
            "/api/classify",
            dict(files={"file": ("bomb.png", _png_declaring(60000, 60000))}),
            413,
            "decompression bomb",
        ),
        (
            "too many pixels",
            "POST",
            "/api/classify",
            dict(files={"file": ("big.png", _png_declaring(3000, 3000))}),
            413,
            "3000x3000",
        ),
        (
            "generate on a classifier",
            "POST",
            "/api/generate",
            dict(json={"n": 4}),
            404,
            "does not generate",
        ),
    ],
)
def test_other_bad_requests(digit_server, what, method, path, request_kwargs, status, says):
    response = httpx.request(method, f"{digit_server.url}{path}", timeout=120, **request_kwargs)
    assert response.status_code == status, (what, response.text)
    assert says in response.json()["error"], (what, response.text)


def test_200_concurrent_requests_all_answered_each_with_its_own_digit(digit_server, test_digits):
    pixels, _, expected = test_digits
    n, concurrency = 200, 32

    async def client() -> list:
        limit = asyncio.Semaphore(concurrency)
        timeout = httpx.Timeout(300)
        async with httpx.AsyncClient(base_url=digit_server.url, timeout=timeout) as session:

            async def one(i: int):
                async with limit:
                    k = i % len(pixels)
                    body = {"instances": pixels[k : k + 1].tolist()}
                    response = await session.post(_predict_path(digit_server), json=body)
                    return i, response.status_code, response.json()

            return await asyncio.gather(*(one(i) for i in range(n)))

    answers = asyncio.run(client())
    assert sorted(i for i, _, _ in answers) == list(range(n))  # none lost
    assert all(status == 200 for _, status, _ in answers)
    for i, _, body in answers:  # batched together, yet each got its own digit's answer
        np.testing.assert_allclose(body["predictions"][0], expected[i % len(pixels)], atol=1e-4)
