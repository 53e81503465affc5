"""masks/ahead.py: an iterator run ahead on a thread keeps its order, hands its errors
to the consumer and stops (closing the source) when the consumer stops early."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from metricdepth.masks.ahead import run_ahead


def test_items_arrive_in_order_from_another_thread() -> None:
    makers: list[str] = []

    def items() -> Iterator[int]:
        for i in range(50):
            makers.append(threading.current_thread().name)
            yield i

    assert list(run_ahead(items(), 3, "maker")) == list(range(50))
    assert set(makers) == {"maker"}


def test_an_error_is_raised_in_the_consumer_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("frame 2 is damaged")

    got = []
    with pytest.raises(ValueError, match="frame 2 is damaged"):
        for item in run_ahead(items(), 2):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_ends_the_thread_and_closes_the_source() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    ahead = run_ahead(items(), 2, "endless")
    assert [next(ahead) for _ in range(5)] == [0, 1, 2, 3, 4]
    ahead.close()
    assert closed.is_set()
    assert "endless" not in {t.name for t in threading.enumerate()}
