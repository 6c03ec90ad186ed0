"""Small real tables bundled with scikit-learn (no download)."""

from __future__ import annotations

import numpy as np


def breast_cancer() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Wisconsin diagnostic breast cancer: the 10 'mean' features, malignant vs benign.

    Returns:
        (x float32 (569, 10), y int64 (569,) with 1 = benign, feature names).
    """
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return (
        data.data[:, :10].astype(np.float32),
        data.target.astype(np.int64),
        list(data.feature_names[:10]),
    )


def diabetes() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Efron et al. 2004 diabetes progression: 10 baseline variables -> disease score.

    Returns:
        (x float32 (442, 10), y float32 (442,), feature names).
    """
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    return data.data.astype(np.float32), data.target.astype(np.float32), list(data.feature_names)
