"""MV-HEVC spatial video (Apple Vision Pro): both eyes in one HEVC stream, two layers.

FFmpeg (and PyAV's build) cannot encode MV-HEVC; the x265 command-line encoder can from
version 4.0 when built with multiview support (``-DENABLE_MULTIVIEW=ON``), and MP4Box
(GPAC) puts its stream and the audio into an MP4. Both are looked up on PATH. Flags this
path cannot honour are refused (`refuse_mvhevc_flags`); the audio is kept. Neither tool
writes Apple's spatial metadata, so `write_spatial_metadata` adds it to MP4Box's file
from the stereo video's tags (the eyes' baseline and field of view, step 6).
"""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import InputError
from ..io.atomic import AtomicFile
from ..io.stereo_tags import TAG_BASELINE, TAG_PUPILLARY_DISTANCE, TAG_XFOV
from ..io.video import VideoInfo, VideoReader
from ..progress import progress
from ..stereo.layouts import Layout
from .audio import AudioSource, audio_start
from .mp4boxes import Mp4Error, add_video_boxes, hfov, vexu

log = logging.getLogger(__name__)

MVHEVC_TAG = "_spatial"
INSTALL_HINT = (
    "MV-HEVC needs the x265 command-line encoder 4.0 or newer built with "
    "multiview support (cmake -DENABLE_MULTIVIEW=ON; 'x265 --help' then lists "
    "--multiview-config) and MP4Box from GPAC, both on PATH. Install them, or "
    "write side-by-side (the default) which headsets also play"
)
# Flags of step 8 this path cannot honour: (field, value that means "not given").
UNSUPPORTED = (
    ("encoder", "auto"),
    ("container", "mp4"),
    ("ten_bit", False),
    ("cq", None),
    ("nv_preset", None),
    ("sbs_w", None),
    ("sbs_h", None),
    ("height", None),
)


def refuse_mvhevc_flags(config: Any) -> None:
    """InputError naming the first flag given with --mvhevc that it cannot honour."""
    for field, unset in UNSUPPORTED:
        if getattr(config, field) != unset:
            raise InputError(
                f"--{field}",
                "cannot be used with --mvhevc (x265's multiview "
                "encoder writes full-size 8-bit HEVC eyes into an MP4)",
            )


def check_mvhevc_layouts(source: Layout, target: Layout) -> None:
    """InputError unless the input stores both eyes whole and no conversion is asked for."""
    if target != source:
        raise InputError(
            "--layout",
            f"cannot be used with --mvhevc to convert {source.name} "
            f"to {target.name} (MV-HEVC stores two full views)",
        )
    if not source.full_eyes or source.vr180:
        raise InputError(
            "--mvhevc", f"needs both eyes whole (full_sbs or top_bottom), the input is {source.name}"
        )


def find_multiview_tools() -> tuple[str, str] | None:
    """(x265, MP4Box) executables when x265 supports multiview and MP4Box exists."""
    x265, mp4box = shutil.which("x265"), shutil.which("MP4Box")
    if not x265 or not mp4box:
        return None
    try:
        help_text = subprocess.run([x265, "--fullhelp"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return (x265, mp4box) if "multiview-config" in help_text else None


def require_multiview_tools() -> tuple[str, str]:
    tools = find_multiview_tools()
    if tools is None:
        raise InputError("--mvhevc", INSTALL_HINT)
    return tools


def write_views(stereo: VideoInfo, layout: Layout, views: list[Path]) -> None:
    """Both eyes of every frame as two 8-bit 4:2:0 Y4M files."""
    outputs = [av.open(str(v), "w", format="yuv4mpegpipe") for v in views]
    try:
        streams = []
        for out in outputs:
            s = out.add_stream("rawvideo", rate=stereo.fps)
            s.width, s.height = layout.split(np.zeros((stereo.height, stereo.width, 1)))[0].shape[1::-1]
            s.pix_fmt = "yuv420p"
            streams.append(s)
        with VideoReader(stereo.path, stereo) as reader:
            for index, frame in enumerate(progress(reader, total=stereo.frame_count, desc="views")):
                for out, s, eye in zip(outputs, streams, layout.split(frame)):
                    f = av.VideoFrame.from_ndarray(np.ascontiguousarray(eye), format="rgb24")
                    f = f.reformat(format="yuv420p")
                    f.pts = index
                    for packet in s.encode(f):
                        out.mux(packet)
        for out, s in zip(outputs, streams):
            for packet in s.encode(None):
                out.mux(packet)
    finally:
        for out in outputs:
            out.close()


def write_audio_mp4(colour: VideoInfo, stereo: VideoInfo, path: Path) -> None:
    """The colour video's audio tracks alone in an MP4 (copied or AAC), for MP4Box: as
    long as `stereo`, from the time its first frame was taken."""
    with av.open(str(path), "w", format="mp4") as out:
        audio = AudioSource(colour.path, out, "mp4", stereo.duration, audio_start(stereo, colour))
        try:
            audio.mux_until(None)
        finally:
            audio.close()


def _positive_tag(tags: Mapping[str, str], key: str) -> float | None:
    """The tag `key` as a positive finite number, or None when absent or not one."""
    try:
        value = float(tags[key])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def write_spatial_metadata(path: str | Path, tags: Mapping[str, str]) -> str:
    """Add Apple's spatial video boxes to the sample entry of the MP4 `path`'s video track
    (`mp4boxes.vexu`, `mp4boxes.hfov`): both eyes, the left one the hero eye (x265's base
    layer), rectilinear; the camera baseline from the stereo video's `baseline_mm` tag
    (else `pupillary_distance_mm`) and 'hfov' from its `xfov_deg` tag, each left out when
    the tag is missing. Returns what was written, for the log; Mp4Error when the file's
    boxes cannot be extended."""
    baseline_mm = _positive_tag(tags, TAG_BASELINE) or _positive_tag(tags, TAG_PUPILLARY_DISTANCE)
    xfov = _positive_tag(tags, TAG_XFOV)
    boxes = vexu(None if baseline_mm is None else round(baseline_mm * 1000))
    if xfov is not None:
        boxes += hfov(round(xfov * 1000))
    add_video_boxes(path, boxes)
    baseline = "no baseline tag" if baseline_mm is None else f"baseline {baseline_mm:g} mm"
    fov = "no FOV tag" if xfov is None else f"horizontal FOV {xfov:g} degrees"
    return f"spatial metadata: stereo, left hero eye, rectilinear, {baseline}, {fov}"


def compress_mvhevc(
    config: Any, stereo: VideoInfo, layout: Layout, colour: VideoInfo | None, target: AtomicFile
) -> None:
    """Both eyes as Y4M files, encoded by x265 as two layers (left eye = base layer) and
    put into an MP4 with the audio, then Apple's spatial metadata added
    (`write_spatial_metadata`). Not run by the tests here (no multiview x265)."""
    x265, mp4box = require_multiview_tools()
    with tempfile.TemporaryDirectory(dir=target.final.parent) as folder:
        work = Path(folder)
        views = [work / "left.y4m", work / "right.y4m"]
        write_views(stereo, layout, views)
        stream = work / "views.hevc"
        (work / "multiview.cfg").write_text(
            f"--num-views 2\n--format 0\n--input {views[0]}\n--input {views[1]}\n"
        )
        subprocess.run(
            [
                x265,
                "--multiview-config",
                str(work / "multiview.cfg"),
                "--crf",
                str(config.crf),
                "--preset",
                config.preset or "medium",
                "--fps",
                str(Fraction(stereo.fps)),
                "--output",
                str(stream),
            ],
            check=True,
        )
        command = [mp4box, "-add", f"{stream}:fps={float(stereo.fps)}"]
        if colour is not None:
            write_audio_mp4(colour, stereo, work / "audio.mp4")
            command += ["-add", f"{work / 'audio.mp4'}#audio"]
        subprocess.run(command + ["-new", str(target.tmp)], check=True)
    try:
        log.info("%s: %s", target.final, write_spatial_metadata(target.tmp, stereo.tags))
    except Mp4Error as exc:
        raise InputError(
            target.final, f"encoded, but its spatial metadata could not be added ({exc})"
        ) from None
