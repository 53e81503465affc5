"""Step 8 as a library function: `compress(config) -> [path written]`.

Encodes a side-by-side stereo video (S or S_infilled.mkv) with x265 or x264 through
PyAV, in the layout and container asked for, adds the original colour video's audio,
writes the stereo metadata players read (Matroska StereoMode; MP4 'st3d', plus 'sv3d'
for VR180), and checks the result before it gets its final name.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from ..config import option
from ..errors import InputError
from ..io.atomic import AtomicFile
from ..io.mp4 import tag_bt709
from ..io.naming import output_path
from ..io.video import VideoInfo, VideoReader, probe
from ..progress import progress
from .audio import AudioSource, video_time
from .layouts import LAYOUTS, MVHEVC_TAG, VR180_TAG, Layout
from .mp4boxes import add_video_boxes, st3d, sv3d_vr180
from .mvhevc import encode_mvhevc, require_multiview_tools

log = logging.getLogger(__name__)

CODECS = {"x265": "libx265", "x264": "libx264"}
CONTAINERS = {"mp4": "mp4", "mkv": "matroska"}


@dataclass
class CompressConfig:
    """Settings of compress_video.py (every field is a flag of the same name)."""

    sbs_color_video: Path = option(None, "the side-by-side stereo video (S or S_infilled.mkv, "
                                   "left eye left)", required=True)
    color_video: Path | None = option(None, "the original colour video whose audio is added "
                                      "(copied; re-encoded to AAC if the container cannot "
                                      "hold it)")
    codec: str = option("x265", "video encoder: x265 (HEVC) or x264 (H.264, plays everywhere)",
                        choices=tuple(CODECS))
    crf: int = option(18, "constant rate factor: lower = better and larger (18: visually "
                      "lossless for most content)")
    preset: str = option("medium", "encoder speed preset (ultrafast .. veryslow)")
    ten_bit: bool = option(False, "x265: encode 10-bit (yuv420p10le): less banding in skies")
    layout: str = option("sbs", "sbs: full side by side; half_sbs: each eye squeezed to half "
                         "width; tb / half_tb: left eye on top", choices=tuple(LAYOUTS))
    container: str = option("mp4", "mp4 (headsets, phones) or mkv", choices=tuple(CONTAINERS))
    vr180: bool = option(False, "mark the file as VR180 (half-sphere equirectangular per "
                         "eye; only for videos rendered in that projection)")
    mvhevc: bool = option(False, "write MV-HEVC spatial video (Apple Vision Pro) instead; needs "
                          "an x265 with multiview support and MP4Box (says what to install)")
    output: Path | None = option(None, "output file; default: the input's name + the layout "
                                 "tag players detect, e.g. S_LRF_Full_SBS.mp4")
    overwrite: bool = option(False, "replace an existing output")


def default_output(config: CompressConfig, layout: Layout) -> Path:
    if config.mvhevc:
        return output_path(config.sbs_color_video, MVHEVC_TAG + ".mp4")
    tag = (VR180_TAG if config.vr180 else "") + layout.tag
    return output_path(config.sbs_color_video, f"{tag}.{config.container}")


def _check_inputs(config: CompressConfig) -> tuple[VideoInfo, VideoInfo | None]:
    stereo = probe(config.sbs_color_video)
    if stereo.width % 2:
        raise InputError(stereo.path, f"is {stereo.width} pixels wide, an odd width: not a "
                         "side-by-side stereo video (two eyes of equal width)")
    if not 0 <= config.crf <= 51:
        raise InputError("--crf", f"must be in [0, 51], got {config.crf}")
    if config.ten_bit and config.codec != "x265":
        raise InputError("--ten_bit", "10-bit needs --codec x265")
    colour = None
    if config.color_video is not None:
        colour = probe(config.color_video)
        if abs(colour.duration - stereo.duration) > 1 / float(stereo.fps):
            raise InputError(colour.path, f"lasts {colour.duration:.3f} s, but "
                             f"{stereo.path.name} lasts {stereo.duration:.3f} s: not its source")
        if not colour.has_audio:
            log.warning("%s has no audio; the output will have none", colour.path)
            colour = None
    return stereo, colour


def _even(n: int) -> int:
    return n + (n % 2)


def _encode(config: CompressConfig, layout: Layout, stereo: VideoInfo, colour: VideoInfo | None,
            tmp: Path) -> str:
    """Encode into `tmp`; return a description of the audio written."""
    width, height = layout.frame_size(stereo.width // 2, stereo.height)
    width, height = _even(width), _even(height)  # 4:2:0 needs even sizes
    pix_fmt = "yuv420p10le" if config.ten_bit else "yuv420p"
    out = av.open(str(tmp), "w", format=CONTAINERS[config.container])
    audio = None
    try:
        video = out.add_stream(CODECS[config.codec], rate=stereo.fps)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        params = {"crf": str(config.crf), "preset": config.preset}
        if config.codec == "x265":
            params["x265-params"] = "log-level=error"
            if config.container == "mp4":
                video.codec_tag = "hvc1"  # what Apple and Quest players expect for HEVC
        video.options = params
        tag_bt709(video.codec_context)
        if config.container == "mkv":
            video.metadata["stereo_mode"] = layout.matroska_stereo_mode
        if colour is not None:
            audio = AudioSource(colour.path, out, config.container, stereo.duration)
        with VideoReader(stereo.path, stereo) as reader:
            for index, frame in enumerate(progress(reader, total=stereo.frame_count, desc="encode")):
                arranged = layout.arrange(frame)
                if arranged.shape[:2] != (height, width):
                    arranged = _pad(arranged, height, width)
                av_frame = av.VideoFrame.from_ndarray(arranged, format="rgb24").reformat(
                    format=pix_fmt, dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
                av_frame.pts, av_frame.time_base = index, 1 / Fraction(stereo.fps)
                if audio is not None:
                    audio.mux_until(video_time(index, stereo.fps))
                for packet in video.encode(av_frame):
                    out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        if audio is not None:
            audio.mux_until(None)
    finally:
        out.close()
        if audio is not None:
            audio.close()
    if config.container == "mp4":
        add_video_boxes(tmp, st3d(layout.st3d_mode) + (sv3d_vr180() if config.vr180 else b""))
    return "none" if audio is None else audio.codec


def _pad(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w, 3) frame grown to (height, width) by repeating its last row/column."""
    return np.pad(frame, ((0, height - frame.shape[0]), (0, width - frame.shape[1]), (0, 0)), mode="edge")


def check_result(path: Path, stereo: VideoInfo, want_audio: bool) -> VideoInfo:
    """Frame count equal to the source's, duration within one frame of it, audio present
    when the source had audio. Raises RuntimeError (a failed encode) otherwise."""
    info = probe(path)
    frame = 1 / float(stereo.fps)
    if info.frame_count != stereo.frame_count:
        raise RuntimeError(f"{path}: {info.frame_count} frames written, the source has "
                           f"{stereo.frame_count}")
    with av.open(str(path)) as container:
        seconds = container.duration / av.time_base if container.duration else info.duration
    if abs(seconds - stereo.duration) > frame:
        raise RuntimeError(f"{path}: lasts {seconds:.3f} s, the source {stereo.duration:.3f} s")
    if want_audio and not info.has_audio:
        raise RuntimeError(f"{path}: the audio stream is missing")
    return info


def _compress_mvhevc(config: CompressConfig, stereo: VideoInfo, target: AtomicFile) -> None:
    """Both eyes as Y4M files, encoded by x265 as two layers and put into an MP4."""
    require_multiview_tools()
    with tempfile.TemporaryDirectory(dir=target.final.parent) as work:
        work = Path(work)
        views = [work / "left.y4m", work / "right.y4m"]
        outputs = [av.open(str(v), "w", format="yuv4mpegpipe") for v in views]
        streams = []
        for out in outputs:
            s = out.add_stream("rawvideo", rate=stereo.fps)
            s.width, s.height, s.pix_fmt = stereo.width // 2, stereo.height, "yuv420p"
            streams.append(s)
        with VideoReader(stereo.path, stereo) as reader:
            for index, frame in enumerate(progress(reader, total=stereo.frame_count, desc="views")):
                half = stereo.width // 2
                for out, s, eye in zip(outputs, streams, (frame[:, :half], frame[:, half:])):
                    f = av.VideoFrame.from_ndarray(eye, format="rgb24").reformat(format="yuv420p")
                    f.pts = index
                    for packet in s.encode(f):
                        out.mux(packet)
        for out, s in zip(outputs, streams):
            for packet in s.encode(None):
                out.mux(packet)
            out.close()
        encode_mvhevc(views[0], views[1], target.tmp, stereo.fps, config.crf, work)


def compress(config: CompressConfig) -> list[Path]:
    """Encode the stereo video of `config`; return [the file written]."""
    layout = LAYOUTS[config.layout]
    stereo, colour = _check_inputs(config)
    final = Path(config.output) if config.output else default_output(config, layout)
    if config.mvhevc:
        require_multiview_tools()
    target = AtomicFile(final, config.overwrite)
    try:
        if config.mvhevc:
            _compress_mvhevc(config, stereo, target)
            check_result(target.tmp, stereo, want_audio=False)
            log.info("%s: MV-HEVC, %d frames (no audio: MP4Box muxing only)", final, stereo.frame_count)
        else:
            audio = _encode(config, layout, stereo, colour, target.tmp)
            check_result(target.tmp, stereo, want_audio=colour is not None)
            log.info("%s: %s, %s, audio %s, %d frames", final, config.codec, layout.name, audio,
                     stereo.frame_count)
    except BaseException:
        target.abort()
        raise
    return [target.commit()]
