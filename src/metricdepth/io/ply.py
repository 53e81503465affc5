"""PLY point clouds: positions, colours and track ids.

We write binary little-endian PLY with one ``vertex`` element and nothing else, which
Open3D, MeshLab, CloudCompare and the metric_depth_video_toolbox read::

    ply
    format binary_little_endian 1.0
    comment metricdepth: x y z in metres, world frame (camera of frame 0, OpenCV axes)
    element vertex N
    property float x
    property float y
    property float z
    property uchar red          } only when the cloud has colours
    property uchar green        }
    property uchar blue         }
    property int ids            only when the cloud has track ids
    end_header
    N packed records, 12 (+3) (+4) bytes each, in the order of the properties

Track ids are an optional property rather than always present: a cloud that does not
come from tracks (e.g. an averaged depth map) has no ``ids`` at all, and in a cloud that
mixes both, -1 marks a point without a track.

The reader takes our files and any vertex-only PLY (ascii, binary little- or big-endian,
e.g. as written by Open3D) whose first element is ``vertex`` with ``x y z`` and optional
``red green blue`` (uchar, or float in [0, 1]) and ``ids`` (any integer type); other
vertex properties (normals, ...) and elements after the vertices (faces) are ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import InputError
from .atomic import atomic_output

log = logging.getLogger(__name__)

# PLY type names (both spellings of the standard) -> numpy type codes, without byte order.
_PLY_TYPES = {
    "char": "i1",
    "int8": "i1",
    "uchar": "u1",
    "uint8": "u1",
    "short": "i2",
    "int16": "i2",
    "ushort": "u2",
    "uint16": "u2",
    "int": "i4",
    "int32": "i4",
    "uint": "u4",
    "uint32": "u4",
    "float": "f4",
    "float32": "f4",
    "double": "f8",
    "float64": "f8",
}
_BYTE_ORDERS = {"binary_little_endian": "<", "binary_big_endian": ">", "ascii": ""}
_POSITION = ("x", "y", "z")
_COLOUR = ("red", "green", "blue")
_IDS = "ids"
# Longest header line we accept; real header lines are a few dozen bytes.
_MAX_HEADER_LINE = 4096
_COMMENT = "metricdepth: x y z in metres, world frame (camera of frame 0, OpenCV axes)"


@dataclass(frozen=True)
class PointCloud:
    """Points with optional colours and track ids.

    points: (N, 3) float32, metres, world frame (camera of frame 0, OpenCV axes).
    colors: (N, 3) uint8 RGB, or None.
    ids: (N,) int32 track ids (-1 = not from a track), or None.

    Positions of another float type are converted to float32; colours must already be
    uint8 and ids an integer type within int32 (ValueError otherwise).
    """

    points: np.ndarray
    colors: np.ndarray | None = None
    ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        points = np.asarray(self.points)
        if points.ndim != 2 or points.shape[1] != 3 or not np.issubdtype(points.dtype, np.number):
            raise ValueError(f"points must be (N, 3) numbers, got {points.shape} {points.dtype}")
        object.__setattr__(self, "points", points.astype(np.float32, copy=False))
        count = len(points)
        if self.colors is not None:
            colors = np.asarray(self.colors)
            if colors.shape != (count, 3) or colors.dtype != np.uint8:
                raise ValueError(f"colors must be ({count}, 3) uint8, got {colors.shape} {colors.dtype}")
            object.__setattr__(self, "colors", colors)
        if self.ids is not None:
            object.__setattr__(self, "ids", _as_int32_ids(np.asarray(self.ids), count))

    def __len__(self) -> int:
        return len(self.points)


def _as_int32_ids(ids: np.ndarray, count: int) -> np.ndarray:
    if ids.shape != (count,) or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be ({count},) integers, got {ids.shape} {ids.dtype}")
    limits = np.iinfo(np.int32)
    if ids.size and (ids.min() < limits.min or ids.max() > limits.max):
        raise ValueError(f"ids must fit in int32, got range [{ids.min()}, {ids.max()}]")
    return ids.astype(np.int32, copy=False)


# -- writing ---------------------------------------------------------------------


def _record_fields(cloud: PointCloud) -> list[tuple[str, str, str]]:
    """(name, PLY type, numpy type) of each vertex property we write for `cloud`."""
    fields = [(axis, "float", "<f4") for axis in _POSITION]
    if cloud.colors is not None:
        fields += [(channel, "uchar", "u1") for channel in _COLOUR]
    if cloud.ids is not None:
        fields.append((_IDS, "int", "<i4"))
    return fields


def write_ply(path: str | Path, cloud: PointCloud, *, overwrite: bool = False) -> Path:
    """Write `cloud` as binary little-endian PLY (layout in the module docstring),
    atomically; refuses to replace an existing file unless `overwrite`.
    Returns the final path."""
    fields = _record_fields(cloud)
    records = np.empty(len(cloud), np.dtype([(name, code) for name, _, code in fields]))
    for i, axis in enumerate(_POSITION):
        records[axis] = cloud.points[:, i]
    if cloud.colors is not None:
        for i, channel in enumerate(_COLOUR):
            records[channel] = cloud.colors[:, i]
    if cloud.ids is not None:
        records[_IDS] = cloud.ids
    header = (
        "\n".join(
            [
                "ply",
                "format binary_little_endian 1.0",
                f"comment {_COMMENT}",
                f"element vertex {len(cloud)}",
                *(f"property {ply_type} {name}" for name, ply_type, _ in fields),
                "end_header",
            ]
        )
        + "\n"
    )
    with atomic_output(path, overwrite) as tmp, open(tmp, "wb") as file:
        file.write(header.encode("ascii"))
        file.write(records.tobytes())  # tofile's short write on a full disk has no errno
    log.debug("wrote %d points to %s", len(cloud), path)
    return Path(path)


# -- reading ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    byte_order: str  # "<", ">", or "" for ascii
    vertex_count: int
    properties: list[tuple[str, str]]  # (name, numpy type code without byte order)


def _header_line(file: BinaryIO, path: Path) -> list[str]:
    raw = file.readline(_MAX_HEADER_LINE)
    if not raw:
        raise InputError(path, "truncated PLY header (no end_header)")
    if not raw.endswith(b"\n"):
        raise InputError(path, "malformed PLY header (line too long or unterminated)")
    try:
        return raw.decode("ascii").split()
    except UnicodeDecodeError:
        raise InputError(path, "malformed PLY header (not ASCII text)") from None


def _read_header(file: BinaryIO, path: Path) -> _Header:
    """Parse the header up to and including ``end_header``; `file` is left at the data."""
    if file.readline(8).rstrip(b"\r\n") != b"ply":
        raise InputError(path, "not a PLY file (it does not start with 'ply')")
    byte_order: str | None = None
    element: str | None = None
    vertex_count = 0
    properties: list[tuple[str, str]] = []
    while (words := _header_line(file, path)) != ["end_header"]:
        keyword = words[0] if words else ""
        if keyword == "format":
            if len(words) != 3 or words[1] not in _BYTE_ORDERS:
                raise InputError(path, f"unsupported PLY format line {' '.join(words)!r}")
            byte_order = _BYTE_ORDERS[words[1]]
        elif keyword == "element":
            if element is None and words[1:2] != ["vertex"]:
                raise InputError(path, f"first PLY element is {words[1:2]}, expected 'vertex'")
            element = words[1]
            if element == "vertex":
                vertex_count = _count(words, path)
        elif keyword == "property" and element == "vertex":
            properties.append(_vertex_property(words, path))
        elif keyword not in ("comment", "obj_info", "property", ""):
            raise InputError(path, f"malformed PLY header line {' '.join(words)!r}")
    if byte_order is None:
        raise InputError(path, "PLY header has no format line")
    if element is None:
        raise InputError(path, "PLY file has no vertex element")
    names = [name for name, _ in properties]
    if not all(axis in names for axis in _POSITION):
        raise InputError(path, f"PLY vertices have no x, y, z (properties: {names})")
    if len(set(names)) != len(names):
        raise InputError(path, f"duplicate PLY vertex properties in {names}")
    return _Header(byte_order, vertex_count, properties)


def _count(words: list[str], path: Path) -> int:
    if len(words) != 3 or not words[2].isdigit():
        raise InputError(path, f"malformed PLY element line {' '.join(words)!r}")
    return int(words[2])


def _vertex_property(words: list[str], path: Path) -> tuple[str, str]:
    if len(words) >= 2 and words[1] == "list":
        raise InputError(path, "list properties in the vertex element are not supported")
    if len(words) != 3 or words[1] not in _PLY_TYPES:
        raise InputError(path, f"unsupported PLY property line {' '.join(words)!r}")
    return words[2], _PLY_TYPES[words[1]]


def _read_records(file: BinaryIO, path: Path, header: _Header) -> np.ndarray:
    """The vertex data as a structured array with one field per property."""
    order = header.byte_order or "<"
    dtype = np.dtype([(name, order + code) for name, code in header.properties])
    count = header.vertex_count
    if header.byte_order:
        data = file.read(count * dtype.itemsize)
        if len(data) < count * dtype.itemsize:
            raise InputError(
                path, f"PLY file is truncated: {len(data) // dtype.itemsize} of {count} vertices present"
            )
        return np.frombuffer(data, dtype, count)
    return _parse_ascii(file, path, dtype, count)


def _parse_ascii(file: BinaryIO, path: Path, dtype: np.dtype, count: int) -> np.ndarray:
    names = _field_names(dtype)
    tokens = file.read().split()
    needed = count * len(names)
    if len(tokens) < needed:
        raise InputError(
            path, f"PLY file is truncated: {len(tokens) // len(names)} of {count} vertices present"
        )
    try:
        values = np.array(tokens[:needed], dtype=np.float64).reshape(count, len(names))
    except ValueError:
        raise InputError(path, "PLY vertex data holds something that is not a number") from None
    records = np.empty(count, dtype)
    for i, name in enumerate(names):
        records[name] = values[:, i]
    return records


def _field_names(dtype: np.dtype) -> tuple[str, ...]:
    """The field names of a structured (record) dtype."""
    return dtype.names or ()


def _colors(records: np.ndarray, path: Path) -> np.ndarray | None:
    names = _field_names(records.dtype)
    if not all(channel in names for channel in _COLOUR):
        return None
    channels = np.stack([records[channel] for channel in _COLOUR], axis=1)
    if channels.dtype == np.uint8:
        return channels
    if np.issubdtype(channels.dtype, np.floating):  # colours in [0, 1]
        return np.round(np.clip(channels, 0.0, 1.0) * 255).astype(np.uint8)
    raise InputError(path, f"unsupported colour type {channels.dtype} (expected uchar or float)")


def _ids(records: np.ndarray, path: Path) -> np.ndarray | None:
    if _IDS not in _field_names(records.dtype):
        return None
    try:
        return _as_int32_ids(records[_IDS], len(records))
    except ValueError as exc:
        raise InputError(path, f"bad 'ids' property: {exc}") from None


def read_ply(path: str | Path) -> PointCloud:
    """Read the vertices of a PLY file (see the module docstring for what is accepted).

    Raises InputError naming the file for a missing file, a non-PLY, a truncated file, or
    vertices without x, y, z.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found" if not path.exists() else "not a file")
    with open(path, "rb") as file:
        header = _read_header(file, path)
        records = _read_records(file, path, header)
    points = np.stack([records[axis] for axis in _POSITION], axis=1).astype(np.float32)
    return PointCloud(points, _colors(records, path), _ids(records, path))
