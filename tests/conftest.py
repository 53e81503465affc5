"""Shared fixtures: small generated videos and the real data folder."""

from __future__ import annotations

import hashlib
import json
import subprocess
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


def ffprobe(path: Path) -> dict:
    """ffprobe's JSON of `path`'s streams (packets counted) and format."""
    result = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_streams",
                             "-show_format", "-of", "json", str(path)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def streams(info: dict, kind: str) -> list[dict]:
    """The streams of ffprobe's `info` of one kind ("video", "audio")."""
    return [s for s in info["streams"] if s["codec_type"] == kind]


def side_data(stream: dict) -> dict[str, dict]:
    """A stream's side data by type (e.g. "Stereo 3D")."""
    return {d["side_data_type"]: d for d in stream.get("side_data_list", [])}


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not present")
    return SHARED_DATA
