"""Preprocessing inside saved models: a trained network wrapped to take raw inputs.

kerazoo trains a network on prepared inputs (images scaled to [0, 1], text as token ids,
standardized table columns and series values); the `model.keras` it saves takes the raw
inputs a user has instead, with the preparation as the model's first layers:

| inputs | the saved model takes                     | layers before the network      |
|--------|-------------------------------------------|--------------------------------|
| image  | uint8 0..255 `(n, h, w, c)`, any h and w  | Rescaling(1/255), Resizing     |
| text   | raw strings `(n,)`                        | TextVectorization (vocabulary) |
| table  | raw columns `(n, features)`               | Normalization (train stats)    |
| series | raw values `(n, window, 1)`               | Rescaling (train stats)        |

A regression model also gives its predictions back in the data's own units (a Rescaling
after the network). Only Keras's own layers are used, so `keras.models.load_model` reads the
file without kerazoo, and `Model.export` carries the same layers into SavedModel and TFLite.

The wrapper's input layer is named `raw_input` (`is_wrapped`); the trained network is its one
nested model (`unwrap`). Run folders written before this wrapper existed hold the network
itself; every reader here accepts both.
"""

from __future__ import annotations

from pathlib import Path

RAW_INPUT = "raw_input"

# What each kind of raw input is, for dataset.json and the README.
_TAKES = {
    "image": "uint8 images 0..255 of shape (n, height, width, {channels}); any size is resized "
    "to {height}x{width}",
    "text": "raw strings of shape (n,)",
    "table": "raw feature columns of shape (n, {features}), in the training file's units",
    "series": "raw values of shape (n, {window}, 1), in the series' own units",
}


def input_kind(info) -> str | None:
    """The kind of a dataset's inputs: `"image"`, `"text"`, `"table"`, `"series"` or None.

    Read from `info.kind` where the loader set it, else from what the info holds.
    """
    kind = getattr(info, "kind", None)
    if kind:
        return kind
    if getattr(info, "vocabulary", None) is not None:
        return "text"
    if getattr(info, "window", None) is not None:
        return "series"
    if getattr(info, "feature_names", None) is not None:
        return "table"
    if len(tuple(info.input_shape)) == 3:
        return "image"
    return None


def describe(info, *, image_dtype: str = "uint8") -> dict | None:
    """What the saved model takes, for dataset.json: `{"kind", "dtype", "takes"}` or None
    when the inputs are saved as the network takes them."""
    kind = input_kind(info)
    if kind not in _TAKES or (kind == "image" and image_dtype != "uint8"):
        return None
    # Data given already prepared (token ids without a vocabulary, a series or table
    # without its statistics) is what the saved model takes, as the network does.
    if kind == "text" and getattr(info, "vocabulary", None) is None:
        return None
    if kind in ("table", "series") and getattr(info, "mean", None) is None:
        return None
    shape = tuple(info.input_shape)
    facts = {
        "channels": shape[-1],
        "height": shape[0],
        "width": shape[1] if len(shape) > 1 else None,
        "features": shape[0],
        "window": shape[0],
    }
    dtype = {"image": "uint8", "text": "string"}.get(kind, "float32")
    return {"kind": kind, "dtype": dtype, "takes": _TAKES[kind].format(**facts)}


def with_preprocessing(net, info, *, image_dtype: str = "uint8"):
    """`net` behind the layers that prepare raw inputs as its training data was prepared.

    Args:
        net: the trained network (its weights are shared, not copied).
        info: the `DatasetInfo` of the data it was trained on (vocabulary, statistics).
        image_dtype: the dtype of the dataset's images before the pipeline scaled them;
            only uint8 images get the Rescaling layer.

    Returns:
        A functional `keras.Model` named like `net` whose input layer is `raw_input`, or `net`
        itself when its inputs need no preparation (a GAN's latent vectors, float images).
    """
    import keras

    kind = input_kind(info)
    shape = tuple(info.input_shape)
    if describe(info, image_dtype=image_dtype) is None or tuple(net.input_shape[1:]) != shape:
        return net
    post = None
    if kind == "image":
        raw = keras.Input((None, None, shape[-1]), dtype="uint8", name=RAW_INPUT)
        x = keras.layers.Rescaling(1.0 / 255, name="preprocess_scale")(raw)
        x = keras.layers.Resizing(shape[0], shape[1], name="preprocess_resize")(x)
    elif kind == "text":
        raw = keras.Input((), dtype="string", name=RAW_INPUT)
        vectorizer = keras.layers.TextVectorization(
            vocabulary=list(info.vocabulary),
            output_sequence_length=info.sequence_length,
            name="preprocess_vectorize",
        )
        x = vectorizer(raw)
    elif kind == "table":
        import numpy as np

        raw = keras.Input(shape, name=RAW_INPUT)
        std = np.asarray(info.std, dtype="float64")
        x = keras.layers.Normalization(
            mean=list(info.mean), variance=list(std**2), name="preprocess_normalize"
        )(raw)
        if info.target_std is not None:
            post = (info.target_std, info.target_mean)
    else:  # series: one mean and std for inputs and targets
        raw = keras.Input(shape, name=RAW_INPUT)
        x = keras.layers.Rescaling(
            1.0 / info.std, offset=-info.mean / info.std, name="preprocess_standardize"
        )(raw)
        post = (info.std, info.mean)
    out = net(x)
    if post is not None:
        out = keras.layers.Rescaling(post[0], offset=post[1], name="postprocess_units")(out)
    return keras.Model(raw, out, name=net.name)


def is_wrapped(model) -> bool:
    """Whether `model` is a network behind `with_preprocessing`'s layers."""
    layers = getattr(model, "layers", None) or []
    return bool(layers) and layers[0].name == RAW_INPUT


def unwrap(model):
    """The trained network inside a wrapped model; any other model as it is."""
    import keras

    if not is_wrapped(model):
        return model
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def save(model, path: str | Path) -> None:
    """Saves `model` to `path` atomically (a temporary file beside it, renamed over it), so
    a kill leaves the old file or the new one."""
    import os

    path = Path(path)
    network = unwrap(model)
    optimizer = getattr(network, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        # A network that has not stepped since it was built (a resumed run testing its
        # saved best) has an unbuilt optimizer; saved so, its file would load with Keras's
        # "skipping variable loading for optimizer" warning.
        optimizer.build(network.trainable_variables)
    temporary = path.with_name(f".saving-{path.name}")
    model.save(temporary)
    os.replace(temporary, path)


def file_is_wrapped(path: str | Path) -> bool:
    """Whether the `.keras` file at `path` holds a wrapped network (read from its config)."""
    from kerazoo.saving import read_config

    layers = read_config(path).get("config", {}).get("layers") or [{}]
    return isinstance(layers[0], dict) and layers[0].get("name") == RAW_INPUT


def load_weights(net, path: str | Path) -> None:
    """Loads the network weights saved in `path` (wrapped or not) into `net`."""
    if not file_is_wrapped(path):
        net.load_weights(path)
        return
    from kerazoo.saving import load_model

    net.set_weights(unwrap(load_model(path, compile=False)).get_weights())
