"""Step 8: the final, player-ready file (x265/x264, original audio, stereo metadata)."""

from .layouts import LAYOUTS, Layout
from .step import CompressConfig, compress

__all__ = ["LAYOUTS", "CompressConfig", "Layout", "compress"]
