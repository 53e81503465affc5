"""Depth exports users ask for in step 1: EXR frames, NPZ, 16-bit PNG zip, colour preview,
and the formats of neighbouring tools: ImmichVR's 8-bit depth-frame zip, Annolid's
depth.ndjson and point-cloud CSVs.

Every writer takes depth one frame at a time, so nothing holds the whole video, and is a
context manager::

    with DepthExrWriter(folder, fps, expected_frames=n) as exr:
        for depth in frames:          # depth: (H, W) float32, metres, z-depth
            exr.write(depth)

Each writes under a temporary name beside the output and renames it only when `close()`
has checked the frame count (`expected_frames`, when given; at least one frame always).
Leaving the ``with`` block by an exception removes the temporary output and leaves the
final name as it was; an existing output is replaced only with ``overwrite=True``.

Input assumption: depth comes from our own decoder, so it is finite and >= 0. The
writers do not crash on anything else: NaN, negative and -inf values are written as 0
("no depth", logged once per output); +inf stays +inf in the float formats (EXR, NPZ)
and is clipped by the others like any far value.

Formats
-------
EXR folder (`DepthExrWriter`)
    ``<folder>/depth_frame_0001.exr``, ``depth_frame_0002.exr``, ... (1-based, at least 4
    digits). Each a single-part scanline OpenEXR with one channel ``Z`` (the OpenEXR name
    for depth), pixel type FLOAT (32-bit), ZIP compression (lossless: values come back
    bit-exact), header ``framesPerSecond`` = the exact fps as a rational.
NPZ (`DepthNpzWriter`)
    A zip that `numpy.load` opens: members ``depth_0000.npy``, ``depth_0001.npy``, ...
    (0-based like frame indices in this library, at least 4 digits), each an (H, W)
    float32 array in metres; plus ``fps`` (0-d str, exact fraction such as
    ``"30000/1001"``), ``max_depth`` (0-d float64, metres: the cap of the source depth),
    ``units`` (0-d str ``"metres"``) and ``frame_count`` (0-d int64). Members are stored
    uncompressed, as `numpy.savez` does (deflate saves about 13 % on float depth at
    several times the cost). ``np.load(path)[f"depth_{i:04d}"]`` is frame i.
16-bit PNG zip (`DepthPng16ZipWriter`)
    A zip with members ``depth_frame_0001.png``, ... (1-based, at least 4 digits), each a
    single-channel 16-bit PNG holding ``round(depth * units_per_metre)`` clipped to
    [0, 65535]; by default ``units_per_metre = 1000``: millimetres, so 65.535 m is the
    farthest representable depth and 0 means no depth. Member ``metadata.json`` records
    ``metres_per_unit`` (depth = value * metres_per_unit), ``max_depth_m``, ``fps``,
    ``frame_count``, ``width`` and ``height``.
Colour-mapped preview (`DepthPreviewWriter`, `colorize_depth`)
    H.264 MP4 (yuv420p, BT.709, CRF 18) at the exact fps, for people to look at. Inverse
    depth between `near` and `far` is mapped linearly onto a palette (`PALETTES`): turbo
    (near, and nearer, dark red; far dark blue), inferno (near yellow, far black) or grey
    (near white, far black); inverse depth spreads the colours over the nearby detail
    that matters to the eye. The range is fixed for the whole video (no flicker): given,
    or the 2nd-98th percentile of the first frame's positive depth. yuv420p needs even
    sizes: an odd-sized frame gets its last row and/or column repeated once.
8-bit depth-frame zip, ImmichVR's (`DepthFrames8ZipWriter`, `read_depth_frames8_zip`)
    A zip with members ``depth_frame_0001.png``, ... (1-based, at least 4 digits), each a
    single-channel 8-bit PNG: inverse depth normalised over the whole clip, ``code =
    round(255 * (1/d - 1/far) / (1/near - 1/far))``, near = 255 (white), far = 0, as
    Depth Anything's pictures and ImmichVR's player have it; `near` and `far` are the
    clip's nearest and farthest depth (given to the writer: a first pass over the clip).
    Pixels without depth (0, or ``no_depth`` and beyond) are 0. Member ``metadata.json``
    records ``near_m``, ``far_m``, ``mapping`` (the formula), ``fps`` and ``frame_count``;
    depth comes back to within half a code step of inverse depth.
Annolid NDJSON (`AnnolidNdjsonWriter`, `read_annolid_ndjson`)
    UTF-8 text, one JSON object per line and frame, Annolid's record: ``frame_index``
    (the colour-video frame number), ``video_name``, ``imageHeight``, ``imageWidth``,
    ``otherData.depth_map`` = {``image_data``: base64 of a single-channel 16-bit PNG,
    ``scale``: {``min``, ``max``} in metres, ``dtype``: ``"uint16"``}, plus Annolid's
    empty ``version``/``flags``/``shapes``/``imagePath``. ``depth = min + value / 65535 *
    (max - min)``: back to within (max - min) / 131070 of the written depth.
Point-cloud CSV (`write_point_csv`, `read_point_csv`), Annolid's
    Header ``x,y,z,intensity`` then ``red,green,blue`` when colours are given; one row per
    point, metres with 6 decimals (intensity = z, as Annolid writes it), colours 0-255.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import zipfile
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import OpenEXR

from ..errors import InputError
from .atomic import AtomicFile, AtomicFolder, CommitOnExit, atomic_output
from .depth_video import DEFAULT_MAX_DEPTH
from .mp4 import bt709_frame, encode, open_h264
from .video import TOOL_NAME, probe

log = logging.getLogger(__name__)

# -- names -------------------------------------------------------------------------

FRAME_STEM = "depth_frame_"  # + 1-based number, image sequences
NPZ_STEM = "depth_"  # + 0-based number, NPZ members
EXR_CHANNEL = "Z"
# Channel names other tools use for depth, in order of preference; matched case-insensitively
# against the last dot-separated part of a channel name ("ViewLayer.Depth.Z" -> "Z").
EXR_DEPTH_CHANNELS = ("z", "depth", "y", "r")
PNG_METADATA = "metadata.json"
PNG_UNITS_PER_METRE = 1000.0  # millimetres
PNG_MAX_CODE = np.iinfo(np.uint16).max

# -- preview settings ----------------------------------------------------------------

PREVIEW_PERCENTILES = (2.0, 98.0)  # robust range from the first frame's positive depth
PREVIEW_FALLBACK_RANGE_M = (1.0, 100.0)  # when that frame has no positive depth
PREVIEW_CRF = 18  # visually lossless for most eyes
PREVIEW_PRESET = "fast"
# Preview palettes: name -> OpenCV colour map (None: grey, the level itself).
PALETTES = ("turbo", "inferno", "grey")
_COLOUR_MAPS = {"turbo": cv2.COLORMAP_TURBO, "inferno": cv2.COLORMAP_INFERNO, "grey": None}

# -- neighbouring tools' formats ---------------------------------------------------------

EIGHT_BIT_MAX = 255
ANNOLID_MAX_CODE = 65535
ANNOLID_VERSION = "Depth-Anything"  # what Annolid writes in a record's "version"
CSV_DECIMALS = 6


def frame_file_name(index: int, extension: str) -> str:
    """Name of frame `index` (0-based) in an image sequence: ``depth_frame_0001.<extension>``
    for index 0."""
    return f"{FRAME_STEM}{index + 1:04d}.{extension}"


def _as_depth(depth: np.ndarray) -> tuple[np.ndarray, int]:
    """`depth` (H, W) float, metres -> (H, W) float32 with NaN, negatives and -inf set to 0,
    and how many values were changed. ValueError if it is not a 2-D float array (integer
    depth is refused: it is usually millimetres, not metres)."""
    depth = np.asarray(depth)
    if depth.ndim != 2 or depth.dtype.kind != "f":
        raise ValueError(f"depth must be an (H, W) float array in metres, got {depth.shape} {depth.dtype}")
    depth = depth.astype(np.float32, copy=False)
    bad = ~(depth >= 0)  # NaN compares False
    if not bad.any():
        return depth, 0
    return np.where(bad, np.float32(0), depth), int(bad.sum())


# -- shared writer bookkeeping -------------------------------------------------------


class DepthFramesWriter(CommitOnExit):
    """Frame bookkeeping shared by the export writers: input checks, frame count, atomic
    commit or abort, context management. Subclasses write one frame in `_write_frame`,
    finish their file in `_finish` and drop open handles in `_release`."""

    def __init__(self, target: AtomicFile | AtomicFolder, fps: Fraction | int, expected_frames: int | None):
        self.fps = Fraction(fps)
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.expected_frames = expected_frames
        self.frames_written = 0
        self.shape: tuple[int, int] | None = None  # (H, W) of the first frame
        self.path = target.final
        self._target = target
        self._open = True
        self._sanitised = 0

    def _frame_size(self) -> tuple[int, int]:
        """(H, W) of the frames written (known once one is)."""
        if self.shape is None:
            raise ValueError(f"{self.path}: no frame written yet")
        return self.shape

    def write(self, depth: np.ndarray) -> None:
        """Write the next frame. depth: (H, W) float32 (float64 is converted), metres,
        z-depth; every frame the same size."""
        if not self._open:
            raise RuntimeError(f"{self.path}: writer is closed")
        depth, changed = _as_depth(depth)
        if self.shape is None:
            self.shape = depth.shape
        elif depth.shape != self.shape:
            raise ValueError(
                f"{self.path}: frame {self.frames_written} is {depth.shape}, earlier frames are {self.shape}"
            )
        if changed and not self._sanitised:
            log.warning(
                "%s: frame %d has %d NaN or negative depth values; written as 0 "
                "(later frames are not reported)",
                self.path,
                self.frames_written,
                changed,
            )
        self._sanitised += changed
        self._write_frame(depth)
        self.frames_written += 1

    def close(self) -> Path:
        """Finish the output, check the frame count and rename it to its final name."""
        if not self._open:
            return self.path
        try:
            if self.frames_written == 0:
                raise RuntimeError(f"{self.path}: no frames were written")
            if self.expected_frames is not None and self.frames_written != self.expected_frames:
                raise RuntimeError(
                    f"{self.path}: wrote {self.frames_written} frames, expected {self.expected_frames}"
                )
            self._finish()
            final = self._target.commit()
        except BaseException:
            self.abort()
            raise
        self._open = False
        log.info("wrote %d depth frames to %s", self.frames_written, final)
        return final

    def abort(self) -> None:
        """Drop everything written; the final name is left as it was."""
        self._open = False
        self._release()
        self._target.abort()

    def _write_frame(self, depth: np.ndarray) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Complete the temporary output (flush, metadata); nothing by default."""

    def _release(self) -> None:
        """Close open handles without completing the output; nothing by default."""


# -- EXR -------------------------------------------------------------------------------


def write_depth_exr(
    path: str | Path, depth: np.ndarray, *, fps: Fraction | None = None, overwrite: bool = False
) -> Path:
    """Write one depth frame as a single-channel ``Z`` FLOAT EXR (ZIP, lossless), atomically.

    depth: (H, W) float32, metres, z-depth (see the module docstring for NaN/negatives).
    fps: recorded as the ``framesPerSecond`` header attribute when given.
    """
    return _write_exr(path, _as_depth(depth)[0], fps, overwrite)


def _write_exr(path: str | Path, depth: np.ndarray, fps: Fraction | None, overwrite: bool) -> Path:
    """`write_depth_exr` for depth (H, W) float32 metres already through `_as_depth`."""
    header = {
        "compression": OpenEXR.ZIP_COMPRESSION,
        "type": OpenEXR.scanlineimage,
        "comments": f"{TOOL_NAME}: {EXR_CHANNEL} = z-depth in metres",
    }
    if fps is not None:
        header["framesPerSecond"] = Fraction(fps)
    with atomic_output(path, overwrite) as tmp, OpenEXR.File(header, {EXR_CHANNEL: depth}) as exr:
        exr.write(str(tmp))
    return Path(path)


def _depth_channel(channels: dict[str, OpenEXR.Channel], path: Path) -> OpenEXR.Channel:
    by_name = {name.rsplit(".", 1)[-1].lower(): channel for name, channel in channels.items()}
    for name in EXR_DEPTH_CHANNELS:
        if name in by_name:
            return by_name[name]
    raise InputError(
        path,
        f"no depth channel in EXR (channels: {sorted(channels)}; "
        f"expected one of {[n.upper() for n in EXR_DEPTH_CHANNELS]})",
    )


def read_depth_exr(path: str | Path) -> np.ndarray:
    """Read the depth of an EXR file: (H, W) float32, in the file's units (metres in ours).

    Takes channel ``Z``, else ``depth``, ``Y`` or ``R`` (as other tools write them; case
    and layer prefixes such as ``ViewLayer.Depth.Z`` are ignored); half and uint channels
    are converted to float32. Raises InputError for a missing, unreadable or depth-less file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found" if not path.exists() else "not a file")
    try:
        with OpenEXR.File(str(path), separate_channels=True) as exr:
            pixels = _depth_channel(exr.channels(), path).pixels
    except RuntimeError as exc:
        raise InputError(path, f"not a readable EXR file ({exc})") from None
    return np.ascontiguousarray(pixels, dtype=np.float32)


class DepthExrWriter(DepthFramesWriter):
    """Writes a folder of EXR frames ``depth_frame_0001.exr`` ... (format in the module
    docstring). The folder is filled under ``<folder>.partial-<pid>`` and renamed when
    complete; each frame inside it is itself written atomically. With `overwrite`, an
    existing folder is replaced only if it holds nothing but ``depth_frame_*`` files."""

    def __init__(
        self,
        folder: str | Path,
        fps: Fraction | int,
        *,
        overwrite: bool = False,
        expected_frames: int | None = None,
    ):
        super().__init__(AtomicFolder(folder, overwrite, FRAME_STEM), fps, expected_frames)

    def _write_frame(self, depth: np.ndarray) -> None:
        if self.frames_written == 0:
            self._target.tmp.mkdir()
        name = frame_file_name(self.frames_written, "exr")
        _write_exr(self._target.tmp / name, depth, self.fps, overwrite=False)


# -- zip-based writers ---------------------------------------------------------------------


class _ZipDepthWriter(DepthFramesWriter):
    """A zip archive written member by member under a temporary name."""

    def __init__(self, path: str | Path, fps: Fraction | int, overwrite: bool, expected_frames: int | None):
        target = AtomicFile(path, overwrite)
        super().__init__(target, fps, expected_frames)
        self._zip = zipfile.ZipFile(target.tmp, "w", zipfile.ZIP_STORED, allowZip64=True)

    def _add_png(self, codes: np.ndarray) -> None:
        """The current frame as `frame_NNNN.png` (codes: (H, W) uint8 or uint16)."""
        ok, png = cv2.imencode(".png", codes)
        if not ok:
            raise RuntimeError(f"{self.path}: PNG encoding failed for frame {self.frames_written}")
        self._zip.writestr(frame_file_name(self.frames_written, "png"), png.tobytes())

    def _metadata(self) -> dict[str, str | bytes]:
        """Member name -> content of the members written after the frames."""
        raise NotImplementedError

    def _finish(self) -> None:
        for name, content in self._metadata().items():
            self._zip.writestr(name, content)
        self._zip.close()

    def _release(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._zip.close()


def _npy_bytes(value: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, value, allow_pickle=False)
    return buffer.getvalue()


class DepthNpzWriter(_ZipDepthWriter):
    """Writes an NPZ that `numpy.load` opens, one member per frame (layout in the module
    docstring). max_depth: metres, the cap of the source depth, recorded as metadata."""

    def __init__(
        self,
        path: str | Path,
        fps: Fraction | int,
        *,
        max_depth: float = DEFAULT_MAX_DEPTH,
        overwrite: bool = False,
        expected_frames: int | None = None,
    ):
        self.max_depth = float(max_depth)
        super().__init__(path, fps, overwrite, expected_frames)

    def _write_frame(self, depth: np.ndarray) -> None:
        with self._zip.open(f"{NPZ_STEM}{self.frames_written:04d}.npy", "w") as member:
            np.lib.format.write_array(member, depth, allow_pickle=False)

    def _metadata(self) -> dict[str, str | bytes]:
        values = {
            "fps": np.array(str(self.fps)),
            "max_depth": np.array(self.max_depth),
            "units": np.array("metres"),
            "frame_count": np.array(self.frames_written, np.int64),
        }
        return {f"{name}.npy": _npy_bytes(value) for name, value in values.items()}


class DepthPng16ZipWriter(_ZipDepthWriter):
    """Writes a zip of 16-bit PNG depth frames ``depth_frame_0001.png`` ... (layout in the
    module docstring). units_per_metre: PNG value per metre (1000: millimetres)."""

    def __init__(
        self,
        path: str | Path,
        fps: Fraction | int,
        *,
        units_per_metre: float = PNG_UNITS_PER_METRE,
        overwrite: bool = False,
        expected_frames: int | None = None,
    ):
        if not units_per_metre > 0:
            raise ValueError(f"units_per_metre must be positive, got {units_per_metre}")
        self.units_per_metre = float(units_per_metre)
        super().__init__(path, fps, overwrite, expected_frames)

    def _write_frame(self, depth: np.ndarray) -> None:
        scaled = np.multiply(depth, self.units_per_metre, dtype=np.float64)
        self._add_png(np.round(np.clip(scaled, 0, PNG_MAX_CODE)).astype(np.uint16))

    def _metadata(self) -> dict[str, str | bytes]:
        height, width = self._frame_size()
        metadata = {
            "tool": TOOL_NAME,
            "depth": "z-depth",
            "metres_per_unit": 1.0 / self.units_per_metre,
            "max_depth_m": PNG_MAX_CODE / self.units_per_metre,
            "fps": str(self.fps),
            "frame_count": self.frames_written,
            "width": width,
            "height": height,
        }
        return {PNG_METADATA: json.dumps(metadata, indent=2)}


# -- colour-mapped preview -----------------------------------------------------------------


def robust_depth_range(depth: np.ndarray) -> tuple[float, float]:
    """(near, far) in metres for colour mapping: the `PREVIEW_PERCENTILES` of the positive,
    finite values of depth (H, W) float, metres; `PREVIEW_FALLBACK_RANGE_M` when there are
    none. far > near always."""
    valid = depth[np.isfinite(depth) & (depth > 0)]
    if valid.size == 0:
        return PREVIEW_FALLBACK_RANGE_M
    near, far = (float(v) for v in np.percentile(valid, PREVIEW_PERCENTILES))
    return near, (far if far > near else near * 2)  # a flat frame still gets a range


def inverse_depth_levels(depth: np.ndarray, near: float, far: float) -> np.ndarray:
    """(H, W) float depth, metres -> (H, W) uint8: inverse depth from 1/far (0) to 1/near
    (255), linearly, rounded; `near` and nearer are 255, `far` and farther 0, NaN and
    values <= 0 count as nearest."""
    if not 0 < near < far:
        raise ValueError(f"need 0 < near < far, got near={near}, far={far}")
    depth = np.nan_to_num(np.asarray(depth, np.float32), nan=0.0)
    inverse = 1.0 / np.clip(depth, near, far)
    level = (inverse - 1.0 / far) * (EIGHT_BIT_MAX / (1.0 / near - 1.0 / far))
    return np.round(level).astype(np.uint8)


def colorize_depth(depth: np.ndarray, near: float, far: float, palette: str = "turbo") -> np.ndarray:
    """Colour-map depth for people: (H, W) float, metres -> (H, W, 3) uint8 RGB.

    Inverse depth from 1/far to 1/near goes linearly onto `palette` (`PALETTES`): with
    turbo `near` and nearer are dark red, `far` and farther dark blue; inferno: yellow to
    black; grey: white to black. NaN and values <= 0 count as nearest.
    """
    if palette not in _COLOUR_MAPS:
        raise ValueError(f"unknown palette {palette!r}; choose from {', '.join(PALETTES)}")
    level = inverse_depth_levels(depth, near, far)
    if _COLOUR_MAPS[palette] is None:
        return np.repeat(level[..., None], 3, axis=2)
    bgr = cv2.applyColorMap(level, _COLOUR_MAPS[palette])
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class DepthPreviewWriter(DepthFramesWriter):
    """Writes a colour-mapped H.264 MP4 of depth for people to look at (format in the
    module docstring).

    depth_range: (near, far) in metres, fixed for the whole video; None takes
    `robust_depth_range` of the first frame. palette: one of `PALETTES`.
    """

    def __init__(
        self,
        path: str | Path,
        fps: Fraction | int,
        *,
        depth_range: tuple[float, float] | None = None,
        palette: str = "turbo",
        overwrite: bool = False,
        expected_frames: int | None = None,
    ):
        if depth_range is not None and not 0 < depth_range[0] < depth_range[1]:
            raise ValueError(f"depth_range must be (near, far) with 0 < near < far, got {depth_range}")
        if palette not in _COLOUR_MAPS:
            raise ValueError(f"unknown palette {palette!r}; choose from {', '.join(PALETTES)}")
        self.depth_range = depth_range
        self.palette = palette
        super().__init__(AtomicFile(path, overwrite), fps, expected_frames)
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None

    def _start(self, depth: np.ndarray) -> None:
        """Open the video once the first frame fixes the size and, if not given, the range."""
        if self.depth_range is None:
            self.depth_range = robust_depth_range(depth)
        near, far = self.depth_range
        log.info("%s: %s colour range %.3g m (near) to %.3g m (far)", self.path, self.palette, near, far)
        height, width = depth.shape
        container, stream = open_h264(
            self._target.tmp, width, height, self.fps, preset=PREVIEW_PRESET, crf=PREVIEW_CRF
        )
        container.metadata["comment"] = (
            f"{TOOL_NAME} depth preview: {self.palette} map of "
            f"inverse depth, {near:.3g} m (near) to {far:.3g} m"
        )
        self._container, self._stream = container, stream

    def _write_frame(self, depth: np.ndarray) -> None:
        if self._container is None:
            self._start(depth)
        assert self.depth_range is not None  # set by _start
        near, far = self.depth_range
        colours = colorize_depth(depth, near, far, palette=self.palette)
        encode(self._container, self._stream, bt709_frame(colours, self.frames_written, self.fps))

    def _finish(self) -> None:
        assert self._container is not None  # opened with the first frame
        encode(self._container, self._stream, None)
        self._container.close()
        self._container = None
        written = probe(self._target.tmp).frame_count
        if written != self.frames_written:
            raise RuntimeError(
                f"{self.path}: file holds {written} frames, {self.frames_written} were written"
            )

    def _release(self) -> None:
        if self._container is not None:
            with contextlib.suppress(av.error.FFmpegError):
                self._container.close()
            self._container = None


# -- ImmichVR: 8-bit inverse depth, normalised over the clip ----------------------------------


def positive_depth_extent(depth: np.ndarray, no_depth: float) -> tuple[float, float] | None:
    """(smallest, largest) of the depth values in (0, no_depth) of `depth` (any shape,
    metres), or None when there are none."""
    valid = depth[(depth > 0) & (depth < no_depth)]
    return (float(valid.min()), float(valid.max())) if valid.size else None


class DepthFrames8ZipWriter(_ZipDepthWriter):
    """Writes ImmichVR's zip of 8-bit depth frames ``depth_frame_0001.png`` ... (layout in
    the module docstring).

    depth_range: (near, far) in metres, the clip's nearest and farthest depth (0 < near <
    far); no_depth: depth from which on a pixel counts as "no depth" (written as 0, like far).
    """

    def __init__(
        self,
        path: str | Path,
        fps: Fraction | int,
        *,
        depth_range: tuple[float, float],
        no_depth: float = np.inf,
        overwrite: bool = False,
        expected_frames: int | None = None,
    ):
        near, far = depth_range
        if not 0 < near < far:
            raise ValueError(f"depth_range must be (near, far) with 0 < near < far, got {depth_range}")
        self.near, self.far, self.no_depth = float(near), float(far), float(no_depth)
        super().__init__(path, fps, overwrite, expected_frames)

    def _write_frame(self, depth: np.ndarray) -> None:
        codes = inverse_depth_levels(depth, self.near, self.far)
        codes[(depth <= 0) | (depth >= self.no_depth)] = 0
        self._add_png(codes)

    def _metadata(self) -> dict[str, str | bytes]:
        height, width = self._frame_size()
        metadata = {
            "tool": TOOL_NAME,
            "depth": "z-depth",
            "near_m": self.near,
            "far_m": self.far,
            "mapping": "code = round(255 * (1/d - 1/far_m) / (1/near_m - 1/far_m)); "
            "0 also where there is no depth",
            "fps": str(self.fps),
            "frame_count": self.frames_written,
            "width": width,
            "height": height,
        }
        return {PNG_METADATA: json.dumps(metadata, indent=2)}


def read_depth_frames8_zip(path: str | Path) -> Iterator[np.ndarray]:
    """The frames of a `DepthFrames8ZipWriter` zip, in order: (H, W) float32 metres, code 0
    read as far. InputError for a zip without our metadata or a frame that is not an 8-bit
    single-channel PNG."""
    path = Path(path)
    with _open_zip(path) as archive:
        metadata = _zip_metadata(archive, path, ("near_m", "far_m", "frame_count"))
        near, far = float(metadata["near_m"]), float(metadata["far_m"])
        step = (1.0 / near - 1.0 / far) / EIGHT_BIT_MAX
        for index in range(int(metadata["frame_count"])):
            codes = _zip_png(archive, frame_file_name(index, "png"), path, np.uint8)
            yield (1.0 / (1.0 / far + codes.astype(np.float64) * step)).astype(np.float32)


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError(path, "not a zip file") from None


def _zip_metadata(archive: zipfile.ZipFile, path: Path, keys: Sequence[str]) -> dict:
    try:
        metadata = json.loads(archive.read(PNG_METADATA))
    except (KeyError, json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(path, f"no readable {PNG_METADATA} in the zip") from None
    missing = [key for key in keys if key not in metadata]
    if missing:
        raise InputError(path, f"{PNG_METADATA} lacks {', '.join(missing)}")
    return metadata


def _decode_png(data: bytes, dtype: type, where: str) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 2 or image.dtype != dtype:
        raise InputError(where, f"not a single-channel {np.dtype(dtype).itemsize * 8}-bit PNG")
    return image


def _zip_png(archive: zipfile.ZipFile, name: str, path: Path, dtype: type) -> np.ndarray:
    try:
        data = archive.read(name)
    except KeyError:
        raise InputError(path, f"member {name} is missing") from None
    return _decode_png(data, dtype, f"{path}:{name}")


# -- Annolid: depth.ndjson -----------------------------------------------------------------


class AnnolidNdjsonWriter(DepthFramesWriter):
    """Writes Annolid's depth.ndjson, one record per frame (layout in the module docstring).

    video_name: recorded in every record; frame_indices: the colour-video frame number of
    each frame written (default 0, 1, 2, ...).
    """

    def __init__(
        self,
        path: str | Path,
        fps: Fraction | int,
        *,
        video_name: str,
        frame_indices: Sequence[int] | None = None,
        overwrite: bool = False,
        expected_frames: int | None = None,
    ):
        target = AtomicFile(path, overwrite)
        super().__init__(target, fps, expected_frames)
        self.video_name = video_name
        self.frame_indices = frame_indices
        self._file = open(target.tmp, "w", encoding="utf-8")  # noqa: SIM115 (closed in _finish)

    def _write_frame(self, depth: np.ndarray) -> None:
        finite = depth[np.isfinite(depth)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        span = high - low
        scaled = (np.clip(depth, low, high) - low) * (ANNOLID_MAX_CODE / span if span else 0.0)
        ok, png = cv2.imencode(".png", np.round(scaled).astype(np.uint16))
        if not ok:
            raise RuntimeError(f"{self.path}: PNG encoding failed for frame {self.frames_written}")
        index = self.frames_written if self.frame_indices is None else self.frame_indices[self.frames_written]
        height, width = depth.shape
        record = {
            "version": ANNOLID_VERSION,
            "flags": {},
            "shapes": [],
            "imagePath": "",
            "imageHeight": height,
            "imageWidth": width,
            "otherData": {
                "depth_map": {
                    "image_data": base64.b64encode(png.tobytes()).decode("ascii"),
                    "scale": {"min": low, "max": high},
                    "dtype": "uint16",
                }
            },
            "frame_index": int(index),
            "video_name": self.video_name,
        }
        self._file.write(json.dumps(record) + "\n")

    def _finish(self) -> None:
        self._file.close()

    def _release(self) -> None:
        self._file.close()


def read_annolid_ndjson(path: str | Path) -> Iterator[tuple[int, str, np.ndarray]]:
    """(frame_index, video_name, (H, W) float32 depth) of each record of an Annolid
    depth.ndjson, in file order. InputError naming the line for a malformed record."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
                depth_map = record["otherData"]["depth_map"]
                low, high = float(depth_map["scale"]["min"]), float(depth_map["scale"]["max"])
                data = base64.b64decode(depth_map["image_data"], validate=True)
                index, name = int(record["frame_index"]), str(record["video_name"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise InputError(
                    where, f"not an Annolid depth record ({type(exc).__name__}: {exc})"
                ) from None
            codes = _decode_png(data, np.uint16, where)
            yield index, name, (low + codes * ((high - low) / ANNOLID_MAX_CODE)).astype(np.float32)


# -- Annolid: point-cloud CSV --------------------------------------------------------------

CSV_COLUMNS = ("x", "y", "z", "intensity")
CSV_COLOUR_COLUMNS = ("red", "green", "blue")


def write_point_csv(
    path: str | Path, points: np.ndarray, colours: np.ndarray | None = None, *, overwrite: bool = False
) -> Path:
    """Write points (N, 3) float, metres, and optional colours (N, 3) uint8 RGB as an
    Annolid point-cloud CSV (intensity = z), atomically."""
    points = np.asarray(points, np.float64).reshape(-1, 3)
    columns = [points, points[:, 2:3]]
    header = list(CSV_COLUMNS)
    formats = [f"%.{CSV_DECIMALS}f"] * 4
    if colours is not None:
        colours = np.asarray(colours).reshape(-1, 3)
        if len(colours) != len(points):
            raise ValueError(f"{len(colours)} colours for {len(points)} points")
        columns.append(colours.astype(np.float64))
        header += CSV_COLOUR_COLUMNS
        formats += ["%d"] * 3
    with atomic_output(path, overwrite) as tmp:
        np.savetxt(tmp, np.hstack(columns), fmt=formats, delimiter=",", header=",".join(header), comments="")
    return Path(path)


def read_point_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(points (N, 3) float64 metres, intensity (N,), colours (N, 3) uint8 or None) of an
    Annolid point-cloud CSV. InputError for another header or unreadable rows."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    with path.open(encoding="utf-8") as file:
        header = tuple(file.readline().strip().split(","))
        if header not in (CSV_COLUMNS, CSV_COLUMNS + CSV_COLOUR_COLUMNS):
            raise InputError(path, f"header {','.join(header)!r} is not x,y,z,intensity[,red,green,blue]")
        try:
            table = np.loadtxt(file, delimiter=",", ndmin=2).reshape(-1, len(header))
        except ValueError as exc:
            raise InputError(path, f"unreadable row ({exc})") from None
    colours = table[:, 4:7].astype(np.uint8) if len(header) == 7 else None
    return table[:, :3], table[:, 3], colours
