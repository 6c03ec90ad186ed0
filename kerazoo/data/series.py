"""Time series: the yearly sunspot numbers 1700-2008 shipped with statsmodels."""

from __future__ import annotations

import numpy as np

from kerazoo.data.errors import DataNotFoundError


def sunspots() -> tuple[np.ndarray, np.ndarray]:
    """Yearly mean sunspot numbers (Wolf number), 309 values.

    Returns:
        (years int64 (309,), values float32 (309,)).
    """
    try:
        from statsmodels.datasets import sunspots as source
    except ImportError:
        raise DataNotFoundError(
            "The sunspot series ships in the 'statsmodels' package, which is not installed. "
            "Install it with `pip install statsmodels` (or run `make setup`)."
        ) from None
    frame = source.load_pandas().data
    return frame["YEAR"].to_numpy(np.int64), frame["SUNACTIVITY"].to_numpy(np.float32)


def windows(series: np.ndarray, window: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows: x (n, window, 1) -> y (n, horizon), the values that follow."""
    if window < 1 or horizon < 1:
        raise ValueError(
            f"window and horizon must be >= 1. Received: window={window}, horizon={horizon}"
        )
    n = len(series) - window - horizon + 1
    if n < 1:
        raise ValueError(
            f"The series ({len(series)} values) is too short for window={window} and "
            f"horizon={horizon}. Received: window={window}"
        )
    idx = np.arange(window)[None, :] + np.arange(n)[:, None]
    x = series[idx][..., None].astype(np.float32)
    y_idx = np.arange(window, window + horizon)[None, :] + np.arange(n)[:, None]
    return x, series[y_idx].astype(np.float32)
