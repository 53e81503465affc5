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
TUM_DESK = SHARED_DATA / "rgbd" / "tum_fr1_desk_9frames"  # real RGB-D: rgb/ and depth/ PNGs


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


def tum_desk_frames() -> tuple[np.ndarray, np.ndarray]:
    """The real TUM desk's (9, 480, 640, 3) uint8 RGB frames and (9, 480, 640) uint16 raw
    depth codes (0: no depth), in frame order; skips the test when the data is absent."""
    import cv2

    if not TUM_DESK.is_dir():
        pytest.skip("real TUM frames not present")
    rgb = np.stack([cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
                    for p in sorted((TUM_DESK / "rgb").glob("*.png"))])
    raw = np.stack([cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
                    for p in sorted((TUM_DESK / "depth").glob("*.png"))])
    return rgb, raw
