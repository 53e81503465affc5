"""Metric depth, masks, tracks, camera poses and VR stereo from ordinary 2D video."""

__version__ = "0.1.0"
