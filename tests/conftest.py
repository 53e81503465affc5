"""Shared fixtures: small generated videos and the real data folder."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from metricdepth.io.video import VideoWriter

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def pattern_frames(count: int, width: int, height: int, seed: int = 0) -> np.ndarray:
    """(count, H, W, 3) uint8 frames: random noise, so any decoding mistake shows."""
    return np.random.default_rng(seed).integers(0, 256, (count, height, width, 3), dtype=np.uint8)


def write_video(path: Path, frames: np.ndarray, fps: Fraction | int = 30) -> Path:
    with VideoWriter(path, frames.shape[2], frames.shape[1], fps) as writer:
        writer.write_frames(frames)
    return path


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not present")
    return SHARED_DATA
