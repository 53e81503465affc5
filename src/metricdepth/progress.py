"""Progress bars for long work, silenced by the scripts' -q flag.

The library shows progress through `progress(...)`; only a script decides whether
bars are shown at all (`set_enabled`; docs/contributing.md, "The library logs; the
script decides how loud").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
_enabled = True


def set_enabled(enabled: bool) -> None:
    """Show (True) or hide (False) every progress bar from now on."""
    global _enabled
    _enabled = enabled


def progress(
    iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "", unit: str = "frame"
) -> tqdm:
    """A tqdm bar showing count, rate (units per second) and time left; hidden when
    progress is disabled or stderr is not a terminal-like stream tqdm can draw on."""
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        disable=not _enabled or None,
        dynamic_ncols=True,
        smoothing=0.1,
    )
