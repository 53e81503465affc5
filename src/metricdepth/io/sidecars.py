"""JSON sidecars: point tracks, camera poses and per-frame fields of view.

Formats (docs/formats.md, compatible with the metric_depth_video_toolbox):
- tracking: a list with one entry per frame; each entry a list of [id, x, y]
  (pixels, sub-pixel floats; integers accepted). A point absent from a frame is
  not visible there.
- transformations: a list of 4x4 camera-to-world matrices (row-major nested
  lists), one per frame, frame 0 = identity.
- xfovs: a list of per-frame full horizontal fields of view in degrees.

Readers validate structure and values and raise InputError naming the file. Every JSON
file a user hands us is read through `read_json`: at most MAX_JSON_BYTES, nested at most
as deep as Python's parser manages (a deeper file is refused, not a crash). Python's
parser accepts the bare ``NaN`` tokens the older toolbox writes (its convergence files).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..camera import FOV_RANGE_DEG
from ..errors import InputError
from .atomic import atomic_output

log = logging.getLogger(__name__)

TRACK_DECIMALS = 3  # pixels are written to 1/1000 px
MAX_JSON_BYTES = 2 << 30  # 2 GiB: tracks of 10k frames x 5k points fit several times over
POSE_ORTHONORMAL_TOL = 1e-4
MAX_TRANSLATION_M = 1e6  # camera positions farther than this are a unit or file mistake


def _write_json(path: str | Path, payload: Any, overwrite: bool) -> Path:
    with atomic_output(path, overwrite) as tmp:
        with open(tmp, "w") as f:
            json.dump(payload, f, separators=(",", ":"))
    return Path(path)


def read_json(path: str | Path, what: str = "file") -> Any:
    """The parsed JSON of a user's file; InputError naming it when it is missing, too big,
    nested too deep or not JSON. `what` names the file's role in the not-found message."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"{what} not found")
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise InputError(
            path, f"{size / 2**20:.0f} MB is too big for a JSON sidecar (at most {MAX_JSON_BYTES >> 20} MB)"
        )
    try:
        return json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid JSON ({exc})") from None
    except RecursionError:
        raise InputError(path, "not one of our JSON files: lists nested too deep") from None


def _check_length(path: Path, items: list, what: str, expected: int | None) -> None:
    if expected is not None and len(items) != expected:
        raise InputError(path, f"has {len(items)} {what}, the video has {expected} frames")


# --- tracking --------------------------------------------------------------------


@dataclass(frozen=True)
class FrameTracks:
    """The tracked points visible in one frame.

    ids: (N,) int64 track ids; xy: (N, 2) float64 pixels (x, y).
    """

    ids: np.ndarray
    xy: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def write_tracking(
    path: str | Path, frames: list[FrameTracks], overwrite: bool = False, integer_pixels: bool = False
) -> Path:
    """Write one FrameTracks per video frame; `integer_pixels` rounds x, y to whole pixels
    (the older toolbox's readers index images with them as they are)."""

    def pixel(value: float) -> float | int:
        return int(round(value)) if integer_pixels else round(value, TRACK_DECIMALS)

    payload = [[[int(i), pixel(float(x)), pixel(float(y))] for i, (x, y) in zip(f.ids, f.xy)] for f in frames]
    return _write_json(path, payload, overwrite)


def read_tracking(
    path: str | Path, frame_count: int | None = None, size: tuple[int, int] | None = None
) -> list[FrameTracks]:
    """Read a tracking file; check its length against `frame_count` and, with
    `size` = (width, height), that every point lies inside the image."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, list):
        raise InputError(path, "tracking file must be a list with one entry per frame")
    _check_length(path, data, "frames of tracks", frame_count)
    frames = []
    for index, entry in enumerate(data):
        try:
            rows = np.asarray(entry, dtype=np.float64) if entry != [] else np.zeros((0, 3))
        except (ValueError, TypeError):
            rows = None
        if not isinstance(entry, list) or rows is None or rows.ndim != 2 or rows.shape[1] != 3:
            raise InputError(path, f"frame {index}: must be a list of [id, x, y] numbers")
        if not np.isfinite(rows).all():
            raise InputError(path, f"frame {index}: NaN or infinite coordinates")
        ids = rows[:, 0]
        if (ids != np.round(ids)).any():
            raise InputError(path, f"frame {index}: track ids must be integers")
        if len(np.unique(ids)) != len(ids):
            raise InputError(path, f"frame {index}: a track id appears twice")
        xy = rows[:, 1:]
        if size is not None and len(xy):
            width, height = size
            outside = (
                (xy[:, 0] < -0.5) | (xy[:, 0] > width - 0.5) | (xy[:, 1] < -0.5) | (xy[:, 1] > height - 0.5)
            )
            if outside.any():
                x, y = xy[np.argmax(outside)]
                raise InputError(
                    path, f"frame {index}: point ({x:g}, {y:g}) lies outside the {width}x{height} image"
                )
        frames.append(FrameTracks(ids.astype(np.int64), xy))
    return frames


# --- transformations -------------------------------------------------------------


def write_transformations(path: str | Path, world_from_cam: np.ndarray, overwrite: bool = False) -> Path:
    """Write (N, 4, 4) camera-to-world poses; frame 0 must be the identity."""
    poses = np.asarray(world_from_cam, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (4, 4):
        raise ValueError(f"poses must be (N, 4, 4), got {poses.shape}")
    if len(poses) and not np.allclose(poses[0], np.eye(4), atol=1e-9):
        raise ValueError("frame 0 must be the identity (world = camera of frame 0)")
    return _write_json(path, poses.tolist(), overwrite)


def read_transformations(path: str | Path, frame_count: int | None = None) -> np.ndarray:
    """Read camera-to-world poses as (N, 4, 4) float64, checking that each is a rigid
    transform (orthonormal rotation, bottom row 0 0 0 1)."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, list):
        raise InputError(path, "transformations file must be a list of 4x4 matrices")
    if frame_count is not None and len(data) == frame_count + 1 and _is_identity(data[0]):
        log.info(
            "%s: %d poses for %d frames: the first is the extra identity that MDVT's "
            "sam_track_video.py (MegaSaM) puts before frame 0; it is dropped",
            path.name,
            len(data),
            frame_count,
        )
        data = data[1:]
    elif frame_count is not None and len(data) == frame_count + 1:
        raise InputError(
            path,
            f"has {len(data)} poses for {frame_count} frames, like the file "
            "of MDVT's sam_track_video.py (MegaSaM), but its first pose is not the "
            "identity that tool adds: remove the one extra pose and run again",
        )
    _check_length(path, data, "poses", frame_count)
    try:
        poses = np.asarray(data, dtype=np.float64)
    except (ValueError, TypeError):
        raise InputError(path, "every pose must be a 4x4 list of numbers") from None
    if poses.ndim != 3 or poses.shape[1:] != (4, 4):
        raise InputError(path, f"poses must be 4x4 matrices, got shape {poses.shape[1:]}")
    for index, pose in enumerate(poses):
        rotation = pose[:3, :3]
        if not np.isfinite(pose).all():
            raise InputError(path, f"pose {index} has NaN or infinite values")
        if not np.allclose(pose[3], [0, 0, 0, 1]):
            raise InputError(path, f"pose {index}: bottom row must be 0 0 0 1")
        if np.abs(pose[:3, 3]).max() > MAX_TRANSLATION_M:
            raise InputError(
                path,
                f"pose {index}: translation {pose[:3, 3].tolist()} is beyond "
                f"{MAX_TRANSLATION_M:g} m (a file in other units?)",
            )
        if (
            not np.allclose(rotation @ rotation.T, np.eye(3), atol=POSE_ORTHONORMAL_TOL)
            or np.linalg.det(rotation) < 0
        ):
            raise InputError(path, f"pose {index}: rotation part is not a rotation")
    return poses


def _is_identity(item: Any) -> bool:
    try:
        return bool(np.allclose(np.asarray(item, dtype=np.float64), np.eye(4)))
    except (ValueError, TypeError):
        return False


# --- fields of view --------------------------------------------------------------


def write_frame_values(path: str | Path, values: np.ndarray, overwrite: bool = False) -> Path:
    """Write (N,) per-frame numbers as a JSON list (FOVs, convergence distances)."""
    return _write_json(path, [float(v) for v in np.asarray(values).ravel()], overwrite)


def write_xfovs(path: str | Path, xfovs: np.ndarray, overwrite: bool = False) -> Path:
    """Write (N,) per-frame full horizontal FOVs in degrees."""
    return write_frame_values(path, xfovs, overwrite)


def _read_numbers(path: Path, frame_count: int | None, kind: str, unit: str, items: str) -> np.ndarray:
    """A JSON list of per-frame numbers as (N,) float64, its length checked."""
    data = read_json(path)
    if not isinstance(data, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in data
    ):
        raise InputError(path, f"{kind} file must be a list of numbers ({unit})")
    _check_length(path, data, items, frame_count)
    return np.asarray(data, dtype=np.float64)


def read_xfovs(path: str | Path, frame_count: int | None = None) -> np.ndarray:
    """Read per-frame horizontal FOVs as (N,) float64 degrees, each in (1, 179)."""
    path = Path(path)
    fovs = _read_numbers(path, frame_count, "FOV", "degrees", "FOVs")
    lo, hi = FOV_RANGE_DEG
    bad = ~((fovs > lo) & (fovs < hi))
    if bad.any():
        index = int(np.argmax(bad))
        raise InputError(
            path, f"frame {index}: field of view {fovs[index]:g} degrees is outside ({lo:g}, {hi:g})"
        )
    return fovs


def read_depth_scales(path: str | Path, frame_count: int | None = None) -> np.ndarray:
    """Read step 4's per-frame depth scales (true depth ~ scale * the depth video's) as
    (N,) float64, each positive and finite."""
    path = Path(path)
    scales = _read_numbers(path, frame_count, "depth scales", "true depth / the depth video's", "scales")
    bad = ~(np.isfinite(scales) & (scales > 0))
    if bad.any():
        index = int(np.argmax(bad))
        raise InputError(path, f"frame {index}: depth scale {scales[index]:g} is not a positive number")
    return scales
