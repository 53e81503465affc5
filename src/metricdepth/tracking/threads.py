"""Work split over the CPUs in a thread pool, for code that releases the GIL (numba
kernels compiled with `nogil=True`, OpenCV functions).

The pool's threads sleep while they wait. numba's own parallel loops keep their threads
spinning between loops; on a busy 2-core machine those took turns with OpenCV's threads
(the LK tracker made 6-9 frames/s with them against 10-13 with no threads at all).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .._numba import numba


def threads() -> int:
    """How many threads work is split over: numba's thread count (the CPUs, or the user's
    NUMBA_NUM_THREADS)."""
    return int(numba.config.NUMBA_NUM_THREADS)


@functools.cache
def pool() -> ThreadPoolExecutor:
    """This process's thread pool (a forked child starts its own: its parent's threads
    are not copied)."""
    return ThreadPoolExecutor(threads(), thread_name_prefix="metricdepth-tracking")


os.register_at_fork(after_in_child=pool.cache_clear)


def split_points(
    kernel: Callable[..., tuple[np.ndarray, ...]],
    per_point: tuple[np.ndarray, ...],
    shared: tuple[Any, ...],
    min_per_thread: int,
) -> tuple[np.ndarray, ...]:
    """`kernel(*per_point, *shared)` with its points (the first axis of the `per_point`
    arrays and of every output) split over the threads, at least `min_per_thread` each."""
    n = len(per_point[0])
    parts = min(threads(), n // min_per_thread)
    if parts <= 1:
        return kernel(*per_point, *shared)
    bounds = np.linspace(0, n, parts + 1).astype(int)
    futures = [
        pool().submit(kernel, *(a[lo:hi] for a in per_point), *shared)
        for lo, hi in zip(bounds[:-1], bounds[1:])
    ]
    results = [future.result() for future in futures]
    return tuple(np.concatenate(outputs) for outputs in zip(*results))


def split_rows(
    function: Callable[[np.ndarray], np.ndarray], image: np.ndarray, halo: int, min_rows: int
) -> np.ndarray:
    """`function(image)` for a function whose output row y depends on the input rows
    within `halo` of y only (a filter): computed on horizontal strips of at least
    `min_rows` rows, over the threads, each strip with `halo` more rows on either side
    that are cut off again. The same as on the whole image up to rounding (the order of
    sums may differ); the image's own top and bottom stay its borders."""
    h = image.shape[0]
    parts = min(threads(), h // min_rows)
    if parts <= 1:
        return function(image)
    bounds = np.linspace(0, h, parts + 1).astype(int)

    def strip(lo: int, hi: int) -> np.ndarray:
        first, last = max(lo - halo, 0), min(hi + halo, h)
        return function(image[first:last])[lo - first : hi - first]

    futures = [pool().submit(strip, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return np.concatenate([future.result() for future in futures])
