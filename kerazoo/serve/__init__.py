"""`kerazoo serve`: a trained model behind TF Serving's REST API and a page to try it.

    servable.py  load_servable(source): the model (taking raw inputs), its card and page
    inputs.py    request bodies checked and turned into the model's batch (RequestError)
    images.py    uploaded pictures decoded with limits (no decompression bombs)
    batcher.py   MicroBatcher: concurrent requests joined into one model call, off the loop
    app.py       create_app(servable): the Starlette app (API, page, errors as 4xx JSON)
    server.py    serve(source, host, port): bind, load, run under uvicorn
    static/      the page: index.html, serve.js, serve.css (no build step)

Needs the `serve` extra (`pip install 'kerazoo[serve]'`: starlette, uvicorn,
python-multipart). Importing this package imports none of them, nor TensorFlow.

```python
from kerazoo.serve import serve
serve("runs/demo", port=8500)   # http://127.0.0.1:8500/ and /v1/models/mnist_cnn:predict
```
"""

from __future__ import annotations


def serve(source, **kwargs) -> None:
    """Serves a model until Ctrl-C; see `kerazoo.serve.server.serve` for the arguments."""
    from kerazoo.serve.server import serve as _serve

    _serve(source, **kwargs)


__all__ = ["serve"]
