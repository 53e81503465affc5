"""Step 8: the final, player-ready file (x265/x264/SVT-AV1/NVENC, original audio, stereo metadata)."""

from .step import CompressConfig, compress

__all__ = ["CompressConfig", "compress"]
