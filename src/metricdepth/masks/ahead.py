"""An iterator run ahead of its consumer on a thread of its own.

    for item in run_ahead(decode_and_prepare(frames), depth=2):
        ...   # the next items are being made meanwhile

Work that releases the GIL (FFmpeg decoding, OpenCV, large numpy operations) then overlaps
the consumer's. The items arrive in order; an exception of the iterator is raised in the
consumer where the items stop.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar, cast

T = TypeVar("T")
POLL_S = 0.1  # seconds between checks, while the queue is full, for a consumer gone
_END = object()


def run_ahead(items: Iterator[T], depth: int, name: str = "run-ahead") -> Iterator[T]:
    """The items of `items`, made on a thread named `name` at most `depth` items ahead of
    the consumer. Closing the returned iterator early (or an exception in the consumer)
    stops the thread after the item in hand; `items` is closed on that thread."""
    ready: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(depth)
    stop = threading.Event()

    def put(entry: tuple[object, BaseException | None]) -> bool:
        """Queue `entry`; False if the consumer went away meanwhile."""
        while not stop.is_set():
            try:
                ready.put(entry, timeout=POLL_S)
                return True
            except queue.Full:
                pass
        return False

    def produce() -> None:
        error: BaseException | None = None
        try:
            for item in items:
                if not put((item, None)):
                    return
        except BaseException as exc:  # raised again in the consumer
            error = exc
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        put((_END, error))

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, error = ready.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield cast(T, item)
    finally:
        stop.set()
        thread.join()
