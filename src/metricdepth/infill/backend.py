"""What every infill backend is given and returns, one chunk of frames at a time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

State = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class ChunkInput:
    """Frames `start` .. `start + n - 1` of a stereo video and its infill mask.

    stereo: (n, H, 2W, 3) uint8 RGB, side by side, left eye in the left half.
    mask: (n, H, 2W, 3) uint8 RGB infill mask (holes and directions, `holes.py`).
    """

    start: int
    stereo: np.ndarray
    mask: np.ndarray

    @property
    def stop(self) -> int:
        return self.start + len(self.stereo)


class InfillBackend(Protocol):
    """Fills the holes of a chunk. `carries_state`: the next chunk needs the state this
    chunk returns (chunks must then run in order); otherwise chunks are independent and
    the state is empty."""

    name: str
    carries_state: bool

    def infill_chunk(
        self, chunk: ChunkInput, state: State | None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Return the filled frames (n, H, 2W, 3) uint8 RGB and the state for the next chunk."""
        ...
