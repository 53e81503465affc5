"""Step 8 as a library function: `compress(config) -> [path written]`.

Encodes a stereo video (S or S_infilled.mkv) through PyAV with the encoder asked for (x265,
x264, SVT-AV1 or NVIDIA NVENC), in the layout its `layout` tag names (or converted from a
full side-by-side / top-bottom one), optionally scaled, adds the original colour video's
audio tracks, writes the stereo metadata players read (Matroska StereoMode; MP4 'st3d',
plus 'sv3d' for VR180), and checks the result before it gets its final name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..config import option
from ..errors import InputError
from ..io.atomic import AtomicFile
from ..io.naming import output_path
from ..io.source_frames import check_within, source_frames
from ..io.stereo_tags import TAG_LAYOUT
from ..io.video import VideoInfo, VideoReader, probe
from ..logs import held_until_checked
from ..progress import progress
from ..stereo.layouts import LAYOUT_HELP, LAYOUTS, REGISTRY, Layout, compose
from .audio import AudioSource, audio_start, video_time
from .encoders import ENCODER_CHOICES, NV_PRESETS, X26X_PRESETS, Encoder, repair_dts, select_encoder
from .mp4boxes import Mp4Error, add_video_boxes, st3d, sv3d_vr180
from .mvhevc import MVHEVC_TAG, check_mvhevc_layouts, compress_mvhevc, refuse_mvhevc_flags
from .size import HEIGHT_PRESETS, fit, output_size

log = logging.getLogger(__name__)

CONTAINERS = {"mp4": "mp4", "mkv": "matroska"}
CONTAINER_EXTENSIONS = {"mp4": (".mp4", ".mov"), "mkv": (".mkv",)}
DEFAULT_NV_PRESET = "p5"
DEFAULT_PRESET = "medium"


@dataclass
class CompressConfig:
    """Settings of compress_video.py (every field is a flag of the same name)."""

    sbs_color_video: Path = option(
        None,
        "the stereo video (S or S_infilled.mkv); its "
        "'layout' tag (written by step 6) says how the eyes are "
        "packed",
        required=True,
    )
    color_video: Path | None = option(
        None,
        "the original colour video whose audio tracks are "
        "added (copied, or re-encoded to AAC where the "
        "container cannot hold them)",
    )
    no_audio: bool = option(False, "write no audio, even with --color_video")
    layout: str | None = option(
        None,
        "the output's layout: " + LAYOUT_HELP + ". Default: the "
        "input's tag. A full_sbs or top_bottom input can be written in "
        "any of the others but vr180; an input without a layout tag "
        "(not from step 6, or a mono video) is refused unless --layout "
        "says how its eyes are packed",
        choices=LAYOUTS,
    )
    encoder: str = option(
        "auto",
        "video encoder: auto (hevc_nvenc when an NVIDIA device "
        "answers, else libx265), libx265 (HEVC), libx264 (H.264, plays "
        "everywhere), hevc_nvenc / h264_nvenc (NVIDIA), libsvtav1 (AV1)",
        choices=ENCODER_CHOICES,
    )
    crf: int = option(
        18,
        "constant rate factor of libx265/libx264 (0-51) and libsvtav1 "
        "(0-63): lower = better and larger (18: visually lossless for most "
        "content); NVENC uses it as --cq unless --cq is given",
        ge=0,
        le=63,
    )
    cq: int | None = option(
        None, "NVENC constant quality (0-51, lower = better); default: --crf", ge=0, le=51
    )
    preset: str | None = option(
        None,
        "software encoder speed preset, ultrafast .. placebo "
        "(default medium; libsvtav1 maps it onto its 0-13)",
        choices=X26X_PRESETS,
    )
    nv_preset: str | None = option(
        None, "NVENC preset p1 (fastest) .. p7 (best), default p5", choices=NV_PRESETS
    )
    ten_bit: bool = option(
        False, "encode 10-bit (libx265, libsvtav1: yuv420p10le; hevc_nvenc: p010le): less banding in skies"
    )
    container: str = option("mp4", "mp4 (headsets, phones) or mkv", choices=tuple(CONTAINERS))
    sbs_w: int | None = option(
        None,
        "output frame width, pixels (even); the height follows the aspect ratio unless --sbs_h is given",
        ge=2,
    )
    sbs_h: int | None = option(None, "output frame height, pixels (even)", ge=2)
    height: int | None = option(
        None,
        "output frame height preset (720, 1080, 1440, 2160); the width follows the aspect ratio",
        choices=HEIGHT_PRESETS,
    )
    mvhevc: bool = option(
        False,
        "write MV-HEVC spatial video (Apple Vision Pro) instead; needs "
        "an x265 with multiview support and MP4Box (says what to install)",
    )
    output: Path | None = option(
        None,
        "output file; default: the input's name + the layout tag players detect, e.g. S_LRF_Full_SBS.mp4",
    )
    overwrite: bool = option(False, "replace an existing output")


def default_output(config: CompressConfig, layout: Layout) -> Path:
    """The input's name + the tag players detect `layout` by (+ the container)."""
    if config.mvhevc:
        return output_path(config.sbs_color_video, MVHEVC_TAG + ".mp4")
    return output_path(config.sbs_color_video, f"{layout.file_tag}.{config.container}")


def resolve_layouts(config: CompressConfig, stereo: VideoInfo) -> tuple[Layout, Layout]:
    """(the input's layout, the output's): the input's tag, or --layout for an input
    without a known tag (logged); InputError for such an input without --layout, or for
    a conversion that cannot be made."""
    tag = stereo.tags.get(TAG_LAYOUT)
    if tag not in REGISTRY:
        what = "no stereo layout tag" if tag is None else f"an unknown layout tag {tag!r}"
        if config.layout is None:
            raise InputError(
                stereo.path,
                f"has {what} (not written by step 6, or a mono video): "
                "give --layout to say how its eyes are packed",
            )
        log.info("%s has %s: taking it as %s, as --layout says", stereo.path, what, config.layout)
        return REGISTRY[config.layout], REGISTRY[config.layout]
    source = REGISTRY[tag]
    target = REGISTRY[config.layout or tag]
    if target != source and (not source.full_eyes or source.vr180 or target.vr180):
        raise InputError(
            "--layout",
            f"cannot make {target.name} from {stereo.path.name}'s "
            f"{source.name}; only full_sbs and top_bottom convert (to full_sbs, "
            "half_sbs, top_bottom, half_top_bottom or anaglyph)",
        )
    log.info(
        "%s: layout %s (its tag)%s",
        stereo.path,
        source.name,
        f", written as {target.name}" if target != source else "",
    )
    return source, target


def _check_packing(stereo: VideoInfo, layout: Layout) -> None:
    if layout.packing == "side_by_side" and stereo.width % 2:
        raise InputError(
            stereo.path,
            f"is {stereo.width} pixels wide, an odd width: not a "
            f"{layout.name} stereo video (two eyes of equal width)",
        )
    if layout.packing == "top_bottom" and stereo.height % 2:
        raise InputError(
            stereo.path,
            f"is {stereo.height} pixels high, an odd height: not a "
            f"{layout.name} stereo video (two eyes of equal height)",
        )


def _colour(config: CompressConfig, stereo: VideoInfo) -> VideoInfo | None:
    """The colour video whose audio is added, or None (no --color_video, --no_audio, or
    it has no audio)."""
    if config.color_video is None:
        return None
    colour = probe(config.color_video)
    numbers = source_frames(stereo)  # a stereo video of step 1's sampled depth
    if numbers:
        check_within(stereo, numbers, colour, "colour video")
    elif abs(colour.duration - stereo.duration) > 1 / float(stereo.fps):
        raise InputError(
            colour.path,
            f"lasts {colour.duration:.3f} s, but "
            f"{stereo.path.name} lasts {stereo.duration:.3f} s: not its source",
        )
    if config.no_audio:
        log.info("--no_audio: %s's audio is left out", colour.path)
        return None
    if not colour.has_audio:
        log.warning("%s has no audio; the output will have none", colour.path)
        return None
    return colour


def _quality(config: CompressConfig, encoder: Encoder) -> tuple[int, str, str]:
    """(CRF or CQ, preset, NVENC preset) for `encoder`; warns about flags it does not use."""
    if encoder.nvenc:
        if config.preset is not None:
            log.warning("--preset is for software encoders; %s uses --nv_preset", encoder.name)
        quality = config.cq if config.cq is not None else config.crf
    else:
        for flag, value in (("--cq", config.cq), ("--nv_preset", config.nv_preset)):
            if value is not None:
                log.warning("%s is for NVENC; %s uses --crf and --preset", flag, encoder.name)
        quality = config.crf
    if quality > encoder.max_quality:
        raise InputError(
            "--cq" if encoder.nvenc and config.cq is not None else "--crf",
            f"must be in [0, {encoder.max_quality}] for {encoder.name}, got {quality}",
        )
    return quality, config.preset or DEFAULT_PRESET, config.nv_preset or DEFAULT_NV_PRESET


@dataclass(frozen=True)
class _Plan:
    """Everything `_encode` needs, checked before anything is written."""

    stereo: VideoInfo
    colour: VideoInfo | None
    source: Layout
    target: Layout
    encoder: Encoder
    options: dict[str, str]
    pix_fmt: str
    size: tuple[int, int]  # (width, height) of the encoded frames, pixels


def _inputs(config: CompressConfig) -> tuple[VideoInfo, VideoInfo | None, Layout, Layout]:
    """(stereo video, colour video with audio or None, input layout, output layout)."""
    stereo = probe(config.sbs_color_video)
    source, target = resolve_layouts(config, stereo)
    _check_packing(stereo, source)
    return stereo, _colour(config, stereo), source, target


def plan(config: CompressConfig) -> _Plan:
    """Check the inputs and flags (InputError, nothing written) and settle the encode."""
    stereo, colour, source, target = _inputs(config)
    encoder = select_encoder(config.encoder)
    quality, preset, nv_preset = _quality(config, encoder)
    pix_fmt = "yuv420p"
    if config.ten_bit:
        if encoder.ten_bit_format is None:
            raise InputError(
                "--ten_bit", f"{encoder.name} has no 10-bit mode here; use libx265, hevc_nvenc or libsvtav1"
            )
        pix_fmt = encoder.ten_bit_format
    arranged = np.zeros((stereo.height, stereo.width, 3), np.uint8)
    height, width = _arrange(arranged, source, target).shape[:2]
    size = output_size(width, height, config.sbs_w, config.sbs_h, config.height)
    if target.vr180 and config.container == "mkv":
        log.warning(
            "MKV gets no VR180 projection metadata (FFmpeg cannot write it there); "
            "the name says _180. Use --container mp4 for players that need it"
        )
    return _Plan(
        stereo, colour, source, target, encoder, encoder.options(quality, preset, nv_preset), pix_fmt, size
    )


def _arrange(frame: np.ndarray, source: Layout, target: Layout) -> np.ndarray:
    """A (H, W, 3) uint8 frame of `source` as a frame of `target`."""
    if target == source:
        return frame
    left, right = source.split(frame)
    return np.ascontiguousarray(compose(target.name, left, right, is_mask=False))


def _encode(config: CompressConfig, p: _Plan, tmp: Path) -> str:
    """Encode into `tmp`; return a description of the audio written."""
    width, height = p.size
    # MP4: 'moov' first (+faststart), so players start before the whole file has arrived
    options = {"movflags": "+faststart"} if config.container == "mp4" else {}
    out = av.open(str(tmp), "w", format=CONTAINERS[config.container], options=options)
    audio = None
    try:
        video = out.add_stream(p.encoder.name, rate=p.stereo.fps)
        video.width, video.height, video.pix_fmt = width, height, p.pix_fmt
        if p.encoder.nvenc:
            video.bit_rate = 0  # constant quality, no bit-rate target
        if config.container == "mp4" and p.encoder.mp4_tag:
            video.codec_tag = p.encoder.mp4_tag  # hvc1: what Apple and Quest players expect
        video.options = p.options
        ctx = video.codec_context
        ctx.colorspace, ctx.color_primaries, ctx.color_trc = 1, 1, 1  # BT.709
        ctx.color_range = 1  # limited (TV) range
        if config.container == "mkv":
            video.metadata["stereo_mode"] = p.target.matroska_stereo_mode
        if p.colour is not None:
            audio = AudioSource(
                p.colour.path, out, config.container, p.stereo.duration, audio_start(p.stereo, p.colour)
            )
        with VideoReader(p.stereo.path, p.stereo) as reader:
            for index, frame in enumerate(progress(reader, total=p.stereo.frame_count, desc="encode")):
                arranged = fit(_arrange(frame, p.source, p.target), width, height)
                av_frame = av.VideoFrame.from_ndarray(arranged, format="rgb24").reformat(
                    format=p.pix_fmt, dst_colorspace="ITU709", dst_color_range=1
                )
                av_frame.pts, av_frame.time_base = index, 1 / Fraction(p.stereo.fps)
                if audio is not None:
                    audio.mux_until(video_time(index, p.stereo.fps))
                for packet in video.encode(av_frame):
                    out.mux(packet)
        for packet in video.encode(None):
            if p.stereo.frame_count == 1:  # the only frame's packet (see repair_dts)
                repair_dts(packet, p.stereo.fps)
            out.mux(packet)
        if audio is not None:
            audio.mux_until(None)
    finally:
        out.close()
        if audio is not None:
            audio.close()
    return "none" if audio is None else audio.description


def _check_extension(final: Path, container: str) -> None:
    """--output must end as its container does (a player goes by the extension)."""
    allowed = CONTAINER_EXTENSIONS[container]
    if final.suffix.lower() not in allowed:
        raise InputError(
            final,
            f"--output must end in {' or '.join(allowed)} for the "
            f"{container} container (--container mp4 or mkv)",
        )


def stereo_boxes(layout: Layout) -> bytes:
    """The MP4 sample-entry boxes that describe `layout` ('st3d', 'sv3d' for VR180)."""
    boxes = b"" if layout.st3d_mode is None else st3d(layout.st3d_mode)
    return boxes + (sv3d_vr180() if layout.vr180 else b"")


def check_result(path: Path, stereo: VideoInfo, audio_tracks: int) -> VideoInfo:
    """Frame count equal to the source's, duration within one frame of it, `audio_tracks`
    audio streams. Raises RuntimeError (a failed encode) otherwise."""
    info = probe(path)
    frame = 1 / float(stereo.fps)
    if info.frame_count != stereo.frame_count:
        raise RuntimeError(f"{path}: {info.frame_count} frames written, the source has {stereo.frame_count}")
    with av.open(str(path)) as container:
        seconds = container.duration / av.time_base if container.duration else info.duration
        tracks = len(container.streams.audio)
    if abs(seconds - stereo.duration) > frame:
        raise RuntimeError(f"{path}: lasts {seconds:.3f} s, the source {stereo.duration:.3f} s")
    if tracks != audio_tracks:
        raise RuntimeError(f"{path}: {tracks} audio streams written, expected {audio_tracks}")
    return info


def _audio_tracks(colour: VideoInfo | None) -> int:
    if colour is None:
        return 0
    with av.open(str(colour.path)) as container:
        return len(container.streams.audio)


def _add_stereo_boxes(path: Path, final: Path, layout: Layout) -> None:
    """The MP4 boxes of `layout` added to the encoded `path` (InputError naming `final`)."""
    boxes = stereo_boxes(layout)
    if not boxes:
        return
    try:
        add_video_boxes(path, boxes)
    except Mp4Error as exc:
        raise InputError(
            final, f"encoded, but its stereo metadata could not be added ({exc}); --container mkv avoids this"
        ) from None


def compress(config: CompressConfig) -> list[Path]:
    """Encode the stereo video of `config`; return [the file written]. Every check
    (inputs, flags, the output's name and folder) comes first; what they log is printed
    only when they all pass."""
    with held_until_checked():
        if config.mvhevc:
            refuse_mvhevc_flags(config)
            stereo, colour, source, layout = _inputs(config)
            check_mvhevc_layouts(source, layout)
        else:
            p = plan(config)
            stereo, colour, layout = p.stereo, p.colour, p.target
        final = Path(config.output) if config.output else default_output(config, layout)
        _check_extension(final, "mp4" if config.mvhevc else config.container)
        target = AtomicFile(final, config.overwrite)
    try:
        if config.mvhevc:
            compress_mvhevc(config, stereo, layout, colour, target)
            description = "MV-HEVC"
        else:
            audio = _encode(config, p, target.tmp)
            if config.container == "mp4":
                _add_stereo_boxes(target.tmp, final, layout)
            description = f"{p.encoder.name}, {layout.name}, {p.size[0]}x{p.size[1]}, audio {audio}"
        check_result(target.tmp, stereo, _audio_tracks(colour))
        log.info("%s: %s, %d frames", final, description, stereo.frame_count)
    except BaseException:
        target.abort()
        raise
    return [target.commit()]
