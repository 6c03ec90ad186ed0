"""`kerazoo serve`: a trained model behind TF Serving's REST API and a page, on localhost."""

from __future__ import annotations

import importlib.util

from kerazoo._quiet import quiet_stderr
from kerazoo.cli.notices import notice

# The `serve` extra: the import name and the distribution to install.
_NEEDS = (("starlette", "starlette"), ("uvicorn", "uvicorn"), ("multipart", "python-multipart"))
_PAGES = {
    "image": "draw a digit or upload a picture",
    "text": "type a sentence",
    "generate": "generate new samples",
    "forecast": "the forecast plot",
    "api": "the model card",
}


def _check_installed() -> None:
    missing = [dist for module, dist in _NEEDS if importlib.util.find_spec(module) is None]
    if missing:
        raise ImportError(
            f"kerazoo serve needs {', '.join(missing)}: pip install 'kerazoo[serve]'. "
            f"Received: missing={missing}"
        )


def run_serve(args) -> int:
    """Binds the port, loads the model, prints where it is served, serves until Ctrl-C."""
    _check_installed()
    from kerazoo.serve import server

    sock = server.bind(args.host, args.port)  # a port in use fails here, before TensorFlow
    try:
        from kerazoo.serve.app import create_app
        from kerazoo.serve.servable import load_servable

        with quiet_stderr(keep=(ValueError,)):  # TensorFlow's lines while loading and tracing
            servable = load_servable(args.model)
            server.warm_up(servable)
        app = create_app(servable, max_batch=args.max_batch, batch_wait_ms=args.batch_wait_ms)
        base = server.url(sock)
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            notice(f"listening on {args.host}: other machines can reach this server")
        print(f"serving {servable.name} ({servable.card['task']}) from {args.model}")
        print(f"  page: {base}/  ({_PAGES[servable.page]})")
        print(f"  API:  POST {base}/v1/models/{servable.name}:predict  (Ctrl-C stops)", flush=True)
        server.run(app, sock)
    finally:
        sock.close()
    return 0
