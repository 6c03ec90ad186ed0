"""A small asyncio micro-batcher: many requests, one model call.

One model call on 32 inputs costs little more than a call on one, so requests that arrive
together are joined: the batcher takes the first waiting request, gathers more for at most
`wait_ms` (or until `max_batch` inputs), and runs the model once on their concatenation in
its worker thread, off the event loop, which keeps accepting requests meanwhile. Inputs
that cannot be concatenated (images of different sizes) are run in separate calls.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable

import numpy as np


class MicroBatcher:
    """Joins concurrent `submit` calls into batched calls of `fn`.

    Args:
        fn: `fn(batch) -> outputs`: the model call (an array, or a list/dict of arrays with
            one row per input).
        max_batch: most inputs per call; 1 turns batching off (one call per request).
        wait_ms: how long the first waiting request waits for others.

    Example:

    ```python
    batcher = MicroBatcher(model.predict_on_batch, max_batch=64, wait_ms=2)
    outputs = await batcher.submit(x)  # inside a request handler
    ```
    """

    def __init__(self, fn: Callable, *, max_batch: int = 64, wait_ms: float = 2.0):
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1. Received: max_batch={max_batch}")
        if wait_ms < 0:
            raise ValueError(f"wait_ms must be >= 0. Received: wait_ms={wait_ms}")
        self.fn = fn
        self.max_batch = max_batch
        self.wait_s = wait_ms / 1000.0
        # One thread: the model runs one call at a time, in order, never on the event loop.
        self.executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kerazoo-model")
        self.calls = 0  # model calls made (for tests and the benchmark)
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None

    async def submit(self, x: np.ndarray):
        """The outputs of `fn` for the inputs `x` (its rows only), computed in a batch."""
        if self._task is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.get_running_loop().create_task(self._loop())
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((x, future))
        return await future

    async def run(self, fn: Callable, *args):
        """`fn(*args)` in the model's thread (e.g. a generator's sampling), unbatched."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def _gather(self) -> list:
        items = [await self._queue.get()]
        count = len(items[0][0])
        deadline = asyncio.get_running_loop().time() + self.wait_s
        while count < self.max_batch:
            try:
                if self._queue.empty():
                    left = deadline - asyncio.get_running_loop().time()
                    if left <= 0:
                        break
                    item = await asyncio.wait_for(self._queue.get(), left)
                else:
                    item = self._queue.get_nowait()
            except TimeoutError:
                break
            items.append(item)
            count += len(item[0])
        return items

    async def _loop(self) -> None:
        while True:
            items = await self._gather()
            groups: dict = {}
            for x, future in items:
                groups.setdefault((x.shape[1:], x.dtype.str), []).append((x, future))
            for group in groups.values():
                await self._call(group)

    async def _call(self, group: list) -> None:
        group = [(x, f) for x, f in group if not f.cancelled()]  # a client gone away
        if not group:
            return
        batch = np.concatenate([x for x, _ in group]) if len(group) > 1 else group[0][0]
        self.calls += 1
        try:
            outputs = await self.run(self.fn, batch)
        except Exception as err:
            for _, future in group:
                if not future.done():
                    future.set_exception(err)
            return
        start = 0
        for x, future in group:
            rows = slice(start, start + len(x))
            start += len(x)
            if not future.done():
                future.set_result(_rows(outputs, rows))

    def close(self) -> None:
        """Stops the batching task and the model's thread."""
        if self._task is not None:
            self._task.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)


def _rows(outputs, rows: slice):
    if isinstance(outputs, dict):
        return {k: np.asarray(v)[rows] for k, v in outputs.items()}
    if isinstance(outputs, list | tuple):
        return [np.asarray(v)[rows] for v in outputs]
    return np.asarray(outputs)[rows]
