"""kerazoo: the Keras 3 model zoo for deep-learning basics.

```python
from kerazoo import mnist_cnn, list_models, create_model, model_info

model = mnist_cnn()                  # a compiled keras.Model
list_models("resnet*")               # ['resnet8', 'resnet14', ...]
model_info("lenet5").params          # 61706
```

`import kerazoo` is cheap: it does not import Keras or TensorFlow. They are imported the
first time a model is built (or a model factory such as `kerazoo.mnist_cnn` is looked up).
"""

from __future__ import annotations

import importlib
import os

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) drowns the zoo's own
# output; keep warnings and errors. Set before TensorFlow is ever imported; a user's own
# setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kerazoo import registry  # noqa: E402  (after the environment is set)
from kerazoo.registry import (  # noqa: E402
    ModelInfo,
    create_model,
    list_models,
    model_info,
    register_model,
)

__version__ = "0.1.0"

# The zoo's own models register themselves when kerazoo.models is imported (on first use).
registry.add_builtin_modules("kerazoo.models")

# Public names that live in modules importing Keras; loaded on first access.
_LAZY = {
    "load_model": "kerazoo.saving",
    "register_dataset": "kerazoo.data.registry",
    "train": "kerazoo.training.run",
    "evaluate": "kerazoo.training.evaluate",
    "predict": "kerazoo.training.predict",
    "plot": "kerazoo.viz.diagrams",
    "tune": "kerazoo.tuning.search",
    "hypermodel": "kerazoo.tuning.hypermodel",
    "TransformerEncoder": "kerazoo.models.layers",
    "TokenAndPositionEmbedding": "kerazoo.models.layers",
}
_LAZY_MODULES = {
    "models": "kerazoo.models",
    "data": "kerazoo.data",
    "distribute": "kerazoo.training.distribute",
    "callbacks": "kerazoo.training.callbacks",
}

__all__ = [
    "ModelInfo",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
    *_LAZY,
    *_LAZY_MODULES,
]


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name])
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    # Every registered model is also a top-level factory: `from kerazoo import mnist_cnn`.
    if name in list_models():
        from kerazoo.registry import get_spec

        return get_spec(name).fn
    raise AttributeError(f"module 'kerazoo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(list_models()))
