"""Import depth that already exists: a folder of 16-bit PNG or EXR frames, no model.

RGB-D cameras, phones and other tools store depth as one image per frame. The folder
must hold exactly one depth image per colour-video frame (sorted by name, numbers
compared as numbers), all of the colour video's size. Each stored value v becomes
v * depth_scale metres: 16-bit PNG (e.g. TUM RGB-D: depth_scale 1/5000; ours and most
phones: millimetres, 0.001, the default), or float EXR (metres by default, channel Z,
depth, Y or R). A value of 0 means "no depth": step 1 fills it from the surroundings
(`depth/missing.py`) and tags the depth video so. NaN, infinite or negative depth is
refused with the file and pixel named.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from ...errors import InputError
from ...inputs import validate_depth
from ...io.exports import read_depth_exr
from ..base import BackendOptions, DepthBackend, DepthFrame

EXTENSIONS = (".png", ".exr")
DEFAULT_SCALE = {".png": 0.001, ".exr": 1.0}  # metres per stored unit


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def list_depth_frames(folder: Path) -> list[Path]:
    """The folder's depth images in frame order; InputError if none or mixed formats."""
    if not folder.is_dir():
        raise InputError(folder, "depth frame folder not found")
    files = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file()), key=_natural_key
    )
    if not files:
        raise InputError(folder, "holds no .png or .exr depth frames")
    kinds = {p.suffix.lower() for p in files}
    if len(kinds) > 1:
        raise InputError(folder, "mixes PNG and EXR frames; keep one kind per folder")
    return files


def read_depth_frame(path: Path, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """One stored depth image -> ((H, W) float32 metres, (H, W) bool no-depth mask)."""
    if path.suffix.lower() == ".exr":
        values = read_depth_exr(path)
    else:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise InputError(path, "not a readable PNG")
        if image.dtype != np.uint16 or image.ndim != 2:
            raise InputError(
                path,
                f"not a single-channel 16-bit PNG (got {image.dtype}, "
                f"{image.shape[2] if image.ndim == 3 else 1} channels)",
            )
        values = image
    depth = validate_depth(values.astype(np.float64) * scale, path)
    return depth, depth == 0


class FramesBackend(DepthBackend):
    name = "frames"
    metric = True
    temporal = True  # measured depth: no stabiliser
    estimates_fov = False
    reads_colour = False  # depth by frame number: the colour pixels are never looked at

    def __init__(self, folder: Path, options: BackendOptions):
        self.files = list_depth_frames(folder)
        kind = self.files[0].suffix.lower()
        self.scale = options.depth_scale if options.depth_scale is not None else DEFAULT_SCALE[kind]
        if not self.scale > 0:
            raise InputError("--depth_scale", f"must be positive, got {self.scale}")
        if options.frame_count is not None and len(self.files) != options.frame_count:
            raise InputError(
                folder, f"has {len(self.files)} depth frames, the colour video has {options.frame_count}"
            )
        super().__init__(options, f"frames:{folder} x {self.scale:g} m")

    def infer(self, frames: np.ndarray, indices: np.ndarray) -> list[DepthFrame]:
        paths = [self.files[int(index)] for index in indices]
        # the image libraries release the GIL while they decompress: a batch reads in parallel
        with ThreadPoolExecutor(min(len(paths), os.cpu_count() or 1)) as pool:
            read = list(pool.map(read_depth_frame, paths, [self.scale] * len(paths)))
        results = []
        for frame, path, (depth, invalid) in zip(frames, paths, read):
            if depth.shape != frame.shape[:2]:
                raise InputError(
                    path,
                    f"depth frame is {depth.shape[1]}x{depth.shape[0]}, the "
                    f"colour video is {frame.shape[1]}x{frame.shape[0]}",
                )
            results.append(DepthFrame(depth, invalid))
        return results


def build(checkpoint: str | None, options: BackendOptions) -> FramesBackend:
    if checkpoint is not None:
        raise InputError("--checkpoint", "the frames backend uses no weights; give --depth_frames")
    if options.depth_frames is None:
        raise InputError("--depth_frames", "the frames backend needs a folder of depth images")
    return FramesBackend(Path(options.depth_frames), options)
