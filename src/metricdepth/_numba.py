"""numba, with its compiled-code cache in the user's cache folder, never in the package.

Every module with `@numba.njit(cache=True)` imports numba from here
(``from .._numba import numba``). numba's own default writes the cache into the
package's ``__pycache__`` at run time, which fails on a read-only install and mixes
build products into the source tree. Here the cache goes to
``<user cache folder>/metricdepth/numba`` (platformdirs: ``~/.cache/metricdepth/numba``
on Linux, honouring ``XDG_CACHE_HOME``), unless the user has set ``NUMBA_CACHE_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

CACHE_ENV = "NUMBA_CACHE_DIR"


def default_cache_dir() -> Path:
    """Where compiled numba functions are cached when `NUMBA_CACHE_DIR` is not set."""
    return Path(user_cache_dir("metricdepth", appauthor=False)) / "numba"


os.environ.setdefault(CACHE_ENV, str(default_cache_dir()))

import numba  # noqa: E402  (after the cache folder is set)

numba.config.reload_config()  # numba may have been imported before us

__all__ = ["CACHE_ENV", "default_cache_dir", "numba"]
