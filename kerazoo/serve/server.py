"""`serve(source)`: bind the port, load the model, run the app under uvicorn.

The port is bound first, before TensorFlow loads: a port in use is reported at once, and no
other process can take the port while the model loads. uvicorn starts listening on that
socket once the app is ready, so a client connecting early is refused rather than kept
waiting on a server that cannot answer yet.
"""

from __future__ import annotations

import errno
import socket

import numpy as np

from kerazoo.serve.servable import Servable, load_servable

DEFAULT_HOST = "127.0.0.1"  # this machine only; anything else is the user's explicit choice
DEFAULT_PORT = 8500  # TF Serving's REST port is 8501; 8500 is its gRPC one, unused here


def bind(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> socket.socket:
    """A TCP socket bound to `host:port`, not yet listening.

    Raises:
        ValueError: for a port out of range, a port in use, one that needs privileges,
            or a host that is not an address of this machine.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be a whole number 0..65535. Received: port={port!r}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError) as err:
        raise ValueError(
            f"Cannot resolve the host {host!r} ({err}). Received: host={host!r}"
        ) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart over TIME_WAIT
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            problem = "is in use (another server?); pick another with --port"
        elif err.errno == errno.EACCES:
            problem = "needs root (ports below 1024); pick one above 1023 with --port"
        else:
            problem = f"cannot be used ({err.strerror or err}); check --host and --port"
        raise ValueError(f"Port {port} on {host} {problem}. Received: port={port}") from None
    return sock


def warm_up(servable: Servable) -> None:
    """One call on a blank input of the model's kind, so the first request does not pay for
    tracing the model's graph."""
    spec = servable.input
    if spec["dtype"] == "string":
        x = np.asarray(["warm up"], dtype=object)
    elif "size" in spec:
        x = np.zeros((1, *spec["size"], spec["shape"][-1]), dtype="uint8")
    elif None in spec["shape"]:
        return
    else:
        x = np.zeros((1, *spec["shape"]), dtype=spec["dtype"])
    servable.model.predict_on_batch(x)


def run(app, sock: socket.socket) -> None:
    """Serves `app` on the bound `sock` until Ctrl-C (uvicorn, quiet: no access log)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


def url(sock: socket.socket) -> str:
    """`http://host:port` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def serve(
    source,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    max_batch: int = 64,
    batch_wait_ms: float = 2.0,
) -> None:
    """Serves a trained model: TF Serving's REST API and a page, until Ctrl-C.

    Args:
        source: a run folder, a `.keras` file or a pretrained preset `"NAME:WEIGHTS"`.
        host: the address to listen on; the default answers this machine only.
        port: the TCP port.
        max_batch: most inputs per model call when requests are batched; 1: no batching.
        batch_wait_ms: how long a request waits for others to join its batch.

    Raises:
        ValueError: for a port that cannot be used, or a model that cannot be loaded.

    Example:

    ```python
    kerazoo.serve.serve("runs/demo", port=8500)  # then open http://127.0.0.1:8500/
    ```
    """
    from kerazoo.serve.app import create_app

    sock = bind(host, port)
    try:
        servable = load_servable(source)
        warm_up(servable)
        app = create_app(servable, max_batch=max_batch, batch_wait_ms=batch_wait_ms)
        print(f"kerazoo serve: {servable.name} at {url(sock)}/", flush=True)
        run(app, sock)
    finally:
        sock.close()
