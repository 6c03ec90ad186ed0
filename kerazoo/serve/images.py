"""Uploaded pictures decoded with limits: Pillow, a few formats, bounded pixels.

A compressed image can declare far more pixels than it stores (a "decompression bomb"): the
size in the header is checked before any pixel is decoded, and Pillow's own bomb warning is
an error here as well.
"""

from __future__ import annotations

import io
import warnings

import numpy as np

from kerazoo.serve.inputs import MAX_PIXELS, RequestError

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")


def decode_image(data: bytes, channels: int) -> np.ndarray:
    """An uploaded picture as a uint8 array `(height, width, channels)`, MNIST-style.

    Like `kerazoo predict`, a picture whose border is lighter than its middle (a dark
    figure on light paper) is inverted, as the zoo's digits and clothes are light on dark.

    Args:
        data: the file's bytes.
        channels: 1 (grayscale) or 3 (RGB), as the model takes.

    Returns:
        The image, not resized (the served model resizes it).

    Raises:
        RequestError: for an empty upload, a format other than `FORMATS`, a damaged file or
            one declaring more than `MAX_PIXELS` pixels.
    """
    from PIL import Image

    if not data:
        raise RequestError("The uploaded file is empty. Received: 0 bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise RequestError(
                    f"The image is {width}x{height} pixels; at most {MAX_PIXELS:,} pixels are "
                    f"decoded. Received: {width}x{height}",
                    status=413,
                )
            image = image.convert("L" if channels == 1 else "RGB")  # decodes, bounded above
    except RequestError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        raise RequestError(
            f"The image declares more pixels than are decoded here (at most {MAX_PIXELS:,}); "
            f"it may be a decompression bomb. Received: {err}",
            status=413,
        ) from None
    except Image.UnidentifiedImageError:
        raise RequestError(
            f"The upload is not a picture in a format read here ({', '.join(FORMATS)}). "
            f"Received: {len(data):,} bytes starting {data[:8]!r}",
            status=415,
        ) from None
    except Exception as err:  # Pillow raises many kinds for damaged files
        raise RequestError(
            f"Cannot decode the picture ({type(err).__name__}: {err}); it may be damaged. "
            f"Received: {len(data):,} bytes starting {data[:8]!r}"
        ) from None
    x = np.asarray(image, dtype="uint8").reshape(height, width, channels)
    border = np.concatenate([x[0].ravel(), x[-1].ravel(), x[:, 0].ravel(), x[:, -1].ravel()])
    if border.mean() > x.mean():  # dark figure on a light background: make it like MNIST
        x = 255 - x
    return x


def encode_png(image: np.ndarray) -> bytes:
    """A float image in [0, 1] `(h, w, c)` as PNG bytes (grayscale or RGB)."""
    from PIL import Image

    pixels = (np.clip(np.asarray(image), 0.0, 1.0) * 255).round().astype("uint8")
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()
