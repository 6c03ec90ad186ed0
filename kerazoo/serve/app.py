"""The ASGI app: TF Serving's REST API, a convenience API for the page, and the page.

Built on Starlette (served by uvicorn): the small, well-kept ASGI toolkit FastAPI itself is
built on. FastAPI's additions do not fit here: its pydantic schemas cannot say what an
instance is (its shape and dtype depend on the model loaded), which `kerazoo.serve.inputs`
checks with NumPy instead, and its interactive docs page loads scripts from a CDN, which a
machine offline cannot reach.

    GET  /                              the page (model card, draw / type / generate / plot)
    GET  /v1/models/NAME                TF Serving's model status
    GET  /v1/models/NAME/metadata       TF Serving's signature metadata
    POST /v1/models/NAME:predict        {"instances": [...]} -> {"predictions": [...]}
    POST /api/classify                  a form with `file` (an image) or `text` -> labels
    POST /api/generate                  {"n": 8, "seed": 0} -> PNG images (VAE, GAN)
    GET  /api/card, /api/forecast, /api/diagram.png

Every error is a JSON `{"error": "..."}` with a 4xx status naming the problem; an unexpected
failure is a 500 with one line, its traceback in the server's log only. The server reads no
file a request names: the page's three files are read once, at start.
"""

from __future__ import annotations

import base64
import contextlib
import json
from importlib import resources

import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kerazoo.serve.batcher import MicroBatcher
from kerazoo.serve.images import decode_image, encode_png
from kerazoo.serve.inputs import RequestError, instances_of, to_batch, to_json
from kerazoo.serve.servable import MAX_SAMPLES, Servable

MAX_BODY_BYTES = 8 << 20  # a JSON batch of 256 digits is about 1 MB; an upload a few MB
# TF Serving's names of the dtypes whose name is not simply the NumPy one in capitals.
_TF_DTYPES = {"float32": "DT_FLOAT", "float64": "DT_DOUBLE", "string": "DT_STRING"}
_STATIC = {
    "index.html": "text/html; charset=utf-8",
    "serve.js": "text/javascript; charset=utf-8",
    "serve.css": "text/css; charset=utf-8",
}


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class BodyLimit:
    """ASGI middleware refusing request bodies over `max_bytes` with a 413, whether the
    size is declared (Content-Length) or only seen while the body streams in."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = (
            f"The request body is larger than the {self.max_bytes:,} bytes allowed. "
            "Received: {} bytes"
        )
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = _error(too_large.format(int(declared)), 413)
            return await response(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise RequestError(too_large.format(f"more than {seen:,}"), status=413)
            return message

        await self.app(scope, limited, send)


def _json_body(body: bytes, request: Request, *, optional: bool = False):
    content_type = request.headers.get("content-type", "")
    if optional and not body.strip():
        return {}
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise RequestError(
            "Send JSON with the header Content-Type: application/json. "
            f"Received: Content-Type={content_type or '(none)'}",
            status=415,
        )
    try:
        return json.loads(body)
    except ValueError as err:  # also bad UTF-8
        raise RequestError(f"The body is not valid JSON: {err}.") from None


def _probabilities(row) -> np.ndarray:
    row = np.asarray(row, dtype="float64").reshape(-1)
    return np.array([1.0 - row[0], row[0]]) if row.size == 1 else row  # one sigmoid unit


class _Handlers:
    """The routes' handlers over one servable and its batcher."""

    def __init__(self, servable: Servable, batcher: MicroBatcher):
        self.s = servable
        self.batcher = batcher
        self.static = {
            name: (resources.files("kerazoo.serve").joinpath("static", name).read_bytes(), kind)
            for name, kind in _STATIC.items()
        }

    # -- the page --------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        return self._file("index.html")

    async def static_file(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.static:  # only the three files read at start, never a path
            raise HTTPException(404, f"No such file. Received: /static/{name}")
        return self._file(name)

    def _file(self, name: str) -> Response:
        data, kind = self.static[name]
        return Response(data, media_type=kind, headers={"Cache-Control": "no-cache"})

    async def card(self, request: Request) -> Response:
        s = self.s
        return JSONResponse(
            {
                **s.card,
                "page": s.page,
                "class_names": s.class_names,
                "diagram": "/api/diagram.png" if s.diagram else None,
                "forecast": "/api/forecast" if s.forecast else None,
                "predict": f"/v1/models/{s.name}:predict",
                "max_samples": MAX_SAMPLES,
            }
        )

    async def diagram(self, request: Request) -> Response:
        if self.s.diagram is None:
            raise HTTPException(404, "This model has no architecture diagram.")
        return Response(self.s.diagram, media_type="image/png")

    async def forecast(self, request: Request) -> Response:
        if self.s.forecast is None:
            raise HTTPException(404, f"{self.s.name} has no forecast to plot.")
        return JSONResponse(self.s.forecast)

    # -- TF Serving's REST API -------------------------------------------------------------

    def _check_name(self, name: str) -> None:
        if name != self.s.name:
            raise HTTPException(
                404, f"No model named {name!r}; this server serves {self.s.name!r}."
            )

    async def status(self, request: Request) -> Response:
        name = request.path_params["name"]
        if ":" in name:  # GET /v1/models/NAME:predict
            raise HTTPException(405)
        self._check_name(name)
        state = {"error_code": "OK", "error_message": ""}
        return JSONResponse(
            {"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": state}]}
        )

    async def metadata(self, request: Request) -> Response:
        self._check_name(request.path_params["name"])
        model = self.s.model

        def tensor(t, name):
            dims = [{"size": str(-1 if d is None else int(d)), "name": ""} for d in t.shape]
            dtype = _TF_DTYPES.get(str(t.dtype), "DT_" + str(t.dtype).upper())
            return {
                "dtype": dtype,
                "tensor_shape": {"dim": dims, "unknown_rank": False},
                "name": name,
            }

        inputs = {t.name: tensor(t, t.name) for t in model.inputs}
        outputs = {f"output_{i}": tensor(t, f"output_{i}") for i, t in enumerate(model.outputs)}
        signature = {
            "inputs": inputs,
            "outputs": outputs,
            "method_name": "tensorflow/serving/predict",
        }
        return JSONResponse(
            {
                "model_spec": {"name": self.s.name, "signature_name": "", "version": "1"},
                "metadata": {"signature_def": {"signature_def": {"serving_default": signature}}},
            }
        )

    async def predict(self, request: Request) -> Response:
        name, _, verb = request.path_params["target"].partition(":")
        self._check_name(name)
        if verb != "predict":
            raise HTTPException(
                404,
                f"Unknown method {verb!r}: this server answers POST /v1/models/{name}:predict. "
                f"Received: {request.url.path}",
            )
        body = _json_body(await request.body(), request)
        instances, key = instances_of(body)
        x = to_batch(instances, self.s.input)
        outputs = await self.batcher.submit(x)
        result = to_json(outputs, len(x))
        return JSONResponse({"predictions" if key == "instances" else "outputs": result})

    # -- the page's convenience API --------------------------------------------------------

    async def classify(self, request: Request) -> Response:
        s = self.s
        if s.page not in ("image", "text"):
            raise RequestError(
                f"{s.name} is not an image or text classifier; use POST "
                f"/v1/models/{s.name}:predict. Received: page={s.page}",
                status=404,
            )
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
            raise RequestError(
                "Send a form (multipart/form-data) with a `file` (an image) or a `text` field. "
                f"Received: Content-Type={content_type or '(none)'}",
                status=415,
            )
        async with request.form(max_files=1, max_fields=4) as form:
            field = "file" if s.page == "image" else "text"
            value = form.get(field)
            if s.page == "image":
                if value is None or isinstance(value, str):
                    raise RequestError(
                        f"{s.name} classifies images: send the picture as a file field `file`. "
                        f"Received: fields={sorted(form.keys())}"
                    )
                x = decode_image(await value.read(), s.input["shape"][-1])[None]
                shown = None
            else:
                if not isinstance(value, str):
                    raise RequestError(
                        f"{s.name} classifies text: send it in a form field `text`. "
                        f"Received: fields={sorted(form.keys())}"
                    )
                x = to_batch([value], s.input)
                shown = value
        probabilities = _probabilities(np.asarray(await self.batcher.submit(x))[0])
        names = s.class_names or [str(i) for i in range(len(probabilities))]
        order = np.argsort(-probabilities)
        ranked = [
            {
                "label": names[i] if i < len(names) else str(i),
                "probability": float(probabilities[i]),
            }
            for i in order
        ]
        return JSONResponse(
            {"model": s.name, "label": ranked[0]["label"], "predictions": ranked, "text": shown}
        )

    async def generate(self, request: Request) -> Response:
        s = self.s
        if s.generate is None:
            raise RequestError(
                f"{s.name} does not generate images (a VAE or a GAN does). Received: page={s.page}",
                status=404,
            )
        body = _json_body(await request.body(), request, optional=True)
        if not isinstance(body, dict):
            raise RequestError(f'Send {{"n": 8, "seed": 0}}. Received: body={body!r:.60}')
        n, seed = body.get("n", 8), body.get("seed")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SAMPLES:
            raise RequestError(f"n must be a whole number 1..{MAX_SAMPLES}. Received: n={n!r:.30}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise RequestError(
                f"seed must be a whole number >= 0 or null. Received: seed={seed!r:.30}"
            )
        images = await self.batcher.run(s.generate, n, seed)
        urls = [
            "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")
            for image in images
        ]
        return JSONResponse({"model": s.name, "images": urls})


async def _request_error(request: Request, err: RequestError) -> Response:
    return _error(str(err), err.status)


async def _http_error(request: Request, err: HTTPException) -> Response:
    detail = err.detail if isinstance(err.detail, str) else str(err.detail)
    if err.status_code == 405:
        detail = f"Method {request.method} is not allowed for {request.url.path}."
    elif err.status_code == 404 and detail == "Not Found":
        detail = (
            f"No such endpoint: {request.url.path}. The page is at /, the API at "
            "/v1/models/NAME (:predict, /metadata)."
        )
    return _error(detail, err.status_code)


async def _server_error(request: Request, err: Exception) -> Response:
    # Starlette re-raises the error after this response, so uvicorn logs its traceback.
    return _error(f"The server failed on this request ({type(err).__name__}); see its log.", 500)


def _lifespan(batcher: MicroBatcher):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        batcher.close()

    return lifespan


def create_app(
    servable: Servable,
    *,
    max_batch: int = 64,
    batch_wait_ms: float = 2.0,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Starlette:
    """The ASGI app serving one loaded model (run it with uvicorn, or `serve`).

    Args:
        servable: the model, from `load_servable`.
        max_batch: most inputs per model call when requests are batched; 1: no batching.
        batch_wait_ms: how long a request waits for others to join its batch.
        max_body_bytes: larger request bodies get a 413.

    Returns:
        A Starlette app.

    Example:

    ```python
    app = create_app(load_servable("mnist_cnn:mnist"))
    uvicorn.run(app, host="127.0.0.1", port=8500)
    ```
    """
    model = servable.model
    batcher = MicroBatcher(model.predict_on_batch, max_batch=max_batch, wait_ms=batch_wait_ms)
    h = _Handlers(servable, batcher)
    routes = [
        Route("/", h.page, methods=["GET"]),
        Route("/static/{name}", h.static_file, methods=["GET"]),
        Route("/api/card", h.card, methods=["GET"]),
        Route("/api/diagram.png", h.diagram, methods=["GET"]),
        Route("/api/forecast", h.forecast, methods=["GET"]),
        Route("/api/classify", h.classify, methods=["POST"]),
        Route("/api/generate", h.generate, methods=["POST"]),
        Route("/v1/models/{name}", h.status, methods=["GET"]),
        Route("/v1/models/{name}/metadata", h.metadata, methods=["GET"]),
        Route("/v1/models/{target}", h.predict, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(BodyLimit, max_bytes=max_body_bytes)],
        exception_handlers={
            RequestError: _request_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        lifespan=_lifespan(batcher),
    )
    app.state.batcher = batcher
    return app
