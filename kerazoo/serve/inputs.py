"""Request bodies checked and turned into the model's batch, outputs into JSON.

Everything a client sends is checked here before the model sees it, so a bad request gets a
`RequestError` (a ValueError with an HTTP status) naming the problem, never a Keras error
from inside the model.
"""

from __future__ import annotations

import numpy as np

MAX_INSTANCES = 256  # per request: the batcher joins requests, a client need not
MAX_TEXT_CHARS = 20_000  # per text instance (the model reads 64-ish tokens of it anyway)
MAX_SIDE = 2048  # pixels per side of an image instance
MAX_PIXELS = 1 << 22  # pixels of one image (4 Mpx), for JSON arrays and decoded files alike


class RequestError(ValueError):
    """A bad request: its message names the problem; `status` is the HTTP status (4xx)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def instances_of(body) -> tuple[list, str]:
    """`(instances, key)` of a TF Serving predict body: the row format `{"instances": [...]}`
    or the columnar one `{"inputs": [...]}` (one input, so both are a list of examples).

    Raises:
        RequestError: for a body that is not such an object.
    """
    if not isinstance(body, dict):
        raise RequestError(
            'The body must be a JSON object {"instances": [...]}, one entry per input. '
            f"Received: body={_short(body)}"
        )
    keys = [k for k in ("instances", "inputs") if k in body]
    if len(keys) != 1:
        raise RequestError(
            'The body needs exactly one of "instances" (a list, one entry per input) or '
            f'"inputs". Received: keys={sorted(body)}'
        )
    key = keys[0]
    instances = body[key]
    if not isinstance(instances, list):
        raise RequestError(
            f'"{key}" must be a list with one entry per input. Received: {key}={_short(instances)}'
        )
    if not instances:
        raise RequestError(f'"{key}" is empty: send at least one input. Received: {key}=[]')
    if len(instances) > MAX_INSTANCES:
        raise RequestError(
            f"At most {MAX_INSTANCES} inputs per request (send more requests; the server "
            f"batches them). Received: {len(instances)} inputs"
        )
    return instances, key


def _texts(instances: list) -> np.ndarray:
    for i, text in enumerate(instances):
        if not isinstance(text, str):
            raise RequestError(
                f"This model classifies text: every instance must be a string. "
                f"Received: instances[{i}]={_short(text)}"
            )
        if not text.strip():
            raise RequestError(f"Instance {i} is an empty text. Received: instances[{i}]={text!r}")
        if len(text) > MAX_TEXT_CHARS:
            raise RequestError(
                f"Instance {i} is {len(text):,} characters; at most {MAX_TEXT_CHARS:,}. "
                f"Received: len(instances[{i}])={len(text)}"
            )
    return np.asarray(instances, dtype=object)


def _numbers(instances: list) -> np.ndarray:
    try:
        x = np.asarray(instances)
    except ValueError:  # ragged nesting
        raise RequestError(
            "The instances are nested lists of different lengths; every instance must have "
            "the same shape (send inputs of different sizes in separate requests)."
            f" Received: instances={_short(instances)}"
        ) from None
    if x.dtype.kind not in "biuf":
        raise RequestError(
            "This model takes numbers: every instance must be a (nested) list of numbers. "
            f"Received: instances={_short(instances)}"
        )
    return x


def _describe_shape(shape: list) -> str:
    return "(" + ", ".join("any" if d is None else str(d) for d in shape) + ")"


def to_batch(instances: list, spec: dict) -> np.ndarray:
    """The model's input batch for a request's instances.

    Args:
        instances: the request's list (see `instances_of`).
        spec: the servable's input: `{"dtype", "shape"}` of one instance (None: any size).

    Returns:
        A NumPy batch: strings (object), uint8 images or float32 arrays.

    Raises:
        RequestError: naming what is wrong (type, shape, range) and what the model takes.
    """
    shape, dtype = list(spec["shape"]), spec["dtype"]
    if dtype == "string":
        return _texts(instances)
    x = _numbers(instances)
    # A grayscale image may come without its channel axis: (h, w) for (h, w, 1).
    if dtype == "uint8" and x.ndim == len(shape) and shape[-1] == 1:
        x = x[..., None]
    if x.ndim != len(shape) + 1 or any(
        want is not None and got != want for got, want in zip(x.shape[1:], shape, strict=True)
    ):
        raise RequestError(
            f"Each instance must have shape {_describe_shape(shape)}. "
            f"Received: instances of shape {tuple(x.shape[1:])}"
        )
    if dtype == "uint8":
        height, width = x.shape[1:3]
        if min(height, width) < 1 or max(height, width) > MAX_SIDE or height * width > MAX_PIXELS:
            raise RequestError(
                f"Images must be 1 to {MAX_SIDE} pixels a side and at most {MAX_PIXELS:,} "
                f"pixels. Received: images of {height}x{width}"
            )
        if x.dtype.kind == "f" and not np.all(np.isfinite(x) & (x == np.round(x))):
            raise RequestError(
                "Pixel values must be whole numbers 0..255 (uint8). Received: fractional values"
            )
        if x.size and (x.min() < 0 or x.max() > 255):
            raise RequestError(
                "Pixel values must be whole numbers 0..255 (uint8). "
                f"Received: values from {x.min()} to {x.max()}"
            )
        return x.astype("uint8")
    x = x.astype("float32")
    if not np.all(np.isfinite(x)):
        raise RequestError("Every value must be a finite number. Received: NaN or infinity")
    return x


def to_json(outputs, n: int) -> list:
    """The model's outputs for `n` instances as TF Serving's `predictions` list."""
    if isinstance(outputs, dict):
        columns = {k: np.asarray(v) for k, v in outputs.items()}
        return [{k: v[i].tolist() for k, v in columns.items()} for i in range(n)]
    if isinstance(outputs, list | tuple):
        columns = [np.asarray(v) for v in outputs]
        return [{f"output_{j}": c[i].tolist() for j, c in enumerate(columns)} for i in range(n)]
    return np.asarray(outputs)[:n].tolist()
