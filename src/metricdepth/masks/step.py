"""Step 2: subject masks for a colour video, written as `X_mask.mkv`.

    paths = create_mask(MaskConfig(color_video="clip.mp4", points="320,200"))

Frames are streamed; the mask video is written frame by frame (atomically: under a
temporary name until complete). With `separate`, every prompted object also gets its own
mask video, `X_mask_1.mkv`, `X_mask_2.mkv`, ... (object numbers: boxes first, then
points, in the order given).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..config import option
from ..errors import InputError
from ..io.atomic import check_writable
from ..io.depth_video import DepthVideoReader
from ..io.mask_video import MaskVideoWriter, encode_mask
from ..io.naming import DEPTH, MASK, output_path, sidecar_beside
from ..io.source_frames import check_every_frame
from ..io.video import VideoInfo, VideoReader, VideoWriter, probe
from ..options import max_depth_option
from ..progress import progress
from . import AUTO, BACKENDS, PROMPTED, resolve_backend
from .combine import SUBJECT_LEVEL, moving_subject
from .draw import overlay_mask
from .motion import MODELS, MotionSettings, motion_masks
from .parallax import ParallaxMasker, masks_at_working_size
from .prompts import BoxPrompt, ObjectPrompt, group_objects, parse_boxes, parse_points
from .rembg import DEFAULT_MODEL, RembgMatter, rembg_mattes
from .rembg import MODELS as REMBG_MODELS

log = logging.getLogger(__name__)

VISUALIZATION = "_visualization.mkv"  # appended to the mask file's name
AUTO_FRAMES = 30  # --auto looks for moving content in the first this many frames
AUTO_MIN_AREA = 0.002  # ... in connected parts covering at least this fraction of the frame
CENTRE_BOX = 0.5  # no motion found: a centred box this fraction of the frame's size
MAX_SMOOTH = 31  # frames; longer averages smear a moving subject
DEFAULT_SMOOTH = 5  # frames: steadies u2netp's flicker on the real clips
MAX_DILATE_PX = 1000  # the disc's kernel is (2 n + 1)^2 bytes and its cost per pixel grows with it


@dataclass
class MaskConfig:
    """Settings of step 2 (flags of create_video_mask.py)."""

    color_video: str = option(None, "the colour video (any format FFmpeg reads)", required=True)
    backend: str = option(
        AUTO,
        "rembg (learned salient-object matte, MDVT's default; needs "
        "its ONNX file), motion (no weights: what moves independently of the "
        "camera), motion+rembg (the learned subject where it moves), sam2 "
        "(SAM 2.1, needs weights and prompts), sam (SAM 1, needs "
        "segment-anything and torchvision), auto (sam2 when prompted and its "
        "weights are here, else rembg if its model file is here, else motion)",
        choices=(AUTO,) + BACKENDS,
    )
    points: str | None = option(
        None,
        "sam/sam2: positive points 'x,y[,frame] ...' (pixels; "
        "frame defaults to 0); together one object unless --separate",
    )
    negative_points: str | None = option(None, "sam/sam2: negative points 'x,y[,frame] ...'")
    box: str | None = option(None, "sam/sam2: boxes 'x0,y0,x1,y1[,frame] ...' (pixels), one object each")
    auto: bool = option(
        False,
        "sam/sam2: prompt with boxes around what moves in the first "
        f"{AUTO_FRAMES} frames (motion backend), else a centred box",
    )
    separate: bool = option(False, "also write each object's mask as X_mask_<n>.mkv")
    depth_video: str | None = option(
        None,
        "motion: step 1's depth video (default: "
        "X_depth.mkv beside the colour video, if there); with it, "
        "motion is judged against the camera's motion through "
        "that depth",
    )
    max_depth: float = max_depth_option()
    motion_model: str = option("auto", "motion without depth: camera-motion model", choices=MODELS)
    motion_threshold: float = option(
        0.5,
        "motion without depth: pixels a point must disagree with the camera's motion by to count as moving",
        gt=0,
    )
    rembg_model: str = option(
        DEFAULT_MODEL,
        "rembg: model, as rembg names it (file <model>.onnx in --checkpoint, $U2NET_HOME or ~/.u2net)",
        choices=tuple(REMBG_MODELS),
    )
    rembg_smooth: int = option(
        DEFAULT_SMOOTH,
        "rembg: average each matte with its neighbours over this many frames (odd; 1 = off, as MDVT)",
        ge=1,
        le=MAX_SMOOTH,
    )
    dilate: int = option(0, "grow the mask by this many pixels", ge=0, le=MAX_DILATE_PX)
    invert: bool = option(False, "write the background instead of the subject")
    batch_size: int = option(
        8,
        "the older toolbox's frames per model call",
        ge=1,
        le=4096,
        inert="frames go through the model one at a time",
    )
    max_frames: int | None = option(
        None, "process only the first N frames (default: all; -1: all)", ge=1, none_value=-1
    )
    save_visualization_video: bool = option(
        False, "also write the video with the mask overlaid, as X_mask.mkv_visualization.mkv"
    )
    overwrite: bool = option(False, "replace existing outputs")
    device: str = option("cpu", "torch device for sam/sam2 (cpu, cuda, cuda:1)")
    checkpoint: str | None = option(
        None,
        "sam2: model folder (default: facebook/sam2.1-hiera-tiny "
        "from the Hugging Face cache); sam: .pth checkpoint; "
        "rembg: .onnx file",
    )
    sam_model_type: str = option(
        "vit_b", "sam: model type of the checkpoint", choices=("vit_b", "vit_l", "vit_h")
    )


def _objects(config: MaskConfig, info: VideoInfo, count: int) -> list[ObjectPrompt]:
    w, h = info.width, info.height
    points = parse_points(config.points, "--points", True, w, h, count) + parse_points(
        config.negative_points, "--negative_points", False, w, h, count
    )
    boxes = parse_boxes(config.box, "--box", w, h, count)
    if config.auto:
        if points or boxes:
            raise InputError("--auto", "give either --auto or prompts (--points/--box), not both")
        boxes = _auto_boxes(info, min(count, AUTO_FRAMES))
    objects = group_objects(points, boxes, config.separate)
    if not any(p.positive for o in objects for p in o.points) and not any(o.box for o in objects):
        raise InputError(
            "--points",
            "the sam and sam2 backends need a subject: give --points, "
            "--box or --auto (or use --backend motion)",
        )
    return objects


def _auto_boxes(info: VideoInfo, frames: int) -> list[BoxPrompt]:
    """Boxes around the moving parts of the first frame that has any (motion backend), or
    a centred box when nothing moves."""

    def open_frames() -> Iterator[np.ndarray]:
        return VideoReader(info.path, info).frames(0, frames)

    for index, mask in enumerate(motion_masks(open_frames, frames)):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
        big = [s for s in stats[1:] if s[cv2.CC_STAT_AREA] >= AUTO_MIN_AREA * mask.size]
        if big:
            log.info("--auto: %d moving parts in frame %d", len(big), index)
            return [
                BoxPrompt(float(x), float(y), float(x + bw - 1), float(y + bh - 1), index)
                for x, y, bw, bh, _ in big
            ]
    log.info("--auto: nothing moves; prompting with a centred box")
    w, h = info.width, info.height
    return [
        BoxPrompt(
            (1 - CENTRE_BOX) / 2 * w,
            (1 - CENTRE_BOX) / 2 * h,
            (1 + CENTRE_BOX) / 2 * w,
            (1 + CENTRE_BOX) / 2 * h,
            0,
        )
    ]


def _validate(config: MaskConfig) -> None:
    if config.max_frames is not None and config.max_frames < 1:
        raise InputError("--max_frames", f"must be at least 1, got {config.max_frames}")
    if config.dilate < 0:
        raise InputError("--dilate", f"must be >= 0 pixels, got {config.dilate}")
    if config.motion_threshold <= 0:
        raise InputError("--motion_threshold", f"must be > 0 pixels, got {config.motion_threshold}")
    if not 1 <= config.rembg_smooth <= MAX_SMOOTH or config.rembg_smooth % 2 == 0:
        raise InputError(
            "--rembg_smooth",
            f"must be an odd number of frames from 1 to {MAX_SMOOTH}, got {config.rembg_smooth}",
        )


def _object_streams(
    config: MaskConfig, backend: str, info: VideoInfo, count: int, objects: list[ObjectPrompt]
) -> Iterator[np.ndarray]:
    """Load the prompted backend's model now (so a missing model fails before any output
    is opened); return an iterator of (K, H, W) bool masks per frame."""
    frames = VideoReader(info.path, info).frames(0, count)
    if backend == "sam2":
        from .sam2 import Sam2VideoMasker, load_sam2

        masker = Sam2VideoMasker(load_sam2(config.checkpoint, config.device), config.device)
        return masker.run(frames, objects, info.width, info.height)
    from .sam import load_sam, sam_masks

    predictor = load_sam(config.checkpoint, config.device, config.sam_model_type)
    return sam_masks(predictor, frames, objects, info.width, info.height)


def finish_mask(mask: np.ndarray, dilate: int, invert: bool) -> np.ndarray:
    """(H, W) mask grown by `dilate` pixels (a disc), then inverted if asked. Bool masks
    stay bool; uint8 mattes (255 = subject) stay uint8, grown by a grey dilation (soft
    edges kept) and inverted as 255 - value."""
    soft = mask.dtype == np.uint8
    if dilate:
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate + 1, 2 * dilate + 1))
        grown = cv2.dilate(mask.astype(np.uint8), disc)
        mask = grown if soft else grown > 0
    if not invert:
        return mask
    return 255 - mask if soft else ~mask


def matte_pixels(matte: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 bgr0 pixels of an (H, W) uint8 matte or bool mask, grey replicated
    to B, G, R (255 = subject): the mask video's format, soft edges kept."""
    if matte.dtype != np.uint8:
        return encode_mask(matte)
    words = matte.astype("<u4") * np.uint32(0x00010101)  # one pixel a word: bytes B, G, R, 0
    return words.view(np.uint8).reshape(*matte.shape, 4)


def _depth_for_motion(config: MaskConfig, info: VideoInfo, backend: str) -> DepthVideoReader | None:
    """The depth video the motion backends use: --depth_video, else step 1's X_depth.mkv
    beside the colour video when it exists (checked against the colour video either way)."""
    path = config.depth_video
    if path is None and "motion" in backend:
        found = sidecar_beside(config.color_video, DEPTH)
        path = str(found) if found is not None else None
    if path is None:
        return None
    depth = DepthVideoReader(path, config.max_depth)
    check_every_frame(info, depth.info)
    if "motion" not in backend:
        log.warning("--depth_video is used by the motion backends only; %s ignores it", backend)
        return None
    log.info(
        "motion: depth video %s (%s)",
        path,
        "--depth_video" if config.depth_video else "found beside the colour video",
    )
    return depth


def _motion_stream(
    config: MaskConfig, info: VideoInfo, count: int, depth: DepthVideoReader | None
) -> Iterator[np.ndarray]:
    """(H, W) bool masks of what moves independently of the camera, per frame."""

    def frames() -> Iterator[np.ndarray]:
        return VideoReader(info.path, info).frames(0, count)

    if depth is not None:
        log.info(
            "motion: depth-aware path (the camera's motion through the depth video "
            "against dense optical flow)"
        )
        if config.motion_model != "auto" or config.motion_threshold != 0.5:
            log.warning(
                "--motion_model and --motion_threshold apply to the colour-only path; "
                "the depth-aware path ignores them"
            )
        return masks_at_working_size(
            ParallaxMasker(), frames(), depth.frames(0, count), info.width, info.height
        )
    log.info(
        "motion: colour-only path (no depth video: point tracks against a homography "
        "or fundamental-matrix camera model)"
    )
    settings = MotionSettings(model=config.motion_model, threshold=config.motion_threshold)
    return motion_masks(frames, count, settings)


def _learned_stream(
    config: MaskConfig, info: VideoInfo, count: int, backend: str, depth: DepthVideoReader | None
) -> Iterator[np.ndarray]:
    """(H, W) uint8 mattes of the rembg backends (the model is loaded now, so a missing
    or broken file fails before any output is opened)."""
    matter = RembgMatter(config.rembg_model, config.checkpoint)
    log.info("rembg: model %s (%s)", config.rembg_model, matter.path)
    mattes = rembg_mattes(matter, VideoReader(info.path, info).frames(0, count), config.rembg_smooth)
    if backend == "rembg":
        return mattes
    return (
        moving_subject(m, moving) for m, moving in zip(mattes, _motion_stream(config, info, count, depth))
    )


def create_mask(config: MaskConfig) -> list[Path]:
    """Make the mask video(s) for `config.color_video`; return the paths written."""
    _validate(config)
    info = probe(config.color_video)
    count = info.frame_count if config.max_frames is None else min(config.max_frames, info.frame_count)
    prompted = bool(config.points or config.box or config.negative_points or config.auto)
    backend = resolve_backend(config.backend, config.checkpoint, config.rembg_model, prompted)
    depth = _depth_for_motion(config, info, backend)
    objects = _objects(config, info, count) if backend in PROMPTED else []
    if backend not in PROMPTED and prompted:
        log.warning("the %s backend takes no prompts; --points/--box/--auto are ignored", backend)
    if "rembg" not in backend and (
        config.rembg_model != DEFAULT_MODEL or config.rembg_smooth != DEFAULT_SMOOTH
    ):
        log.warning("--rembg_model and --rembg_smooth apply to the rembg backends only")

    out = check_writable(output_path(config.color_video, MASK), config.overwrite)
    separate = (
        [
            check_writable(
                output_path(config.color_video, MASK.replace(".mkv", f"_{o.object_id}.mkv")), config.overwrite
            )
            for o in objects
        ]
        if config.separate
        else []
    )
    if config.separate and not objects:
        log.warning("--separate needs prompted objects (sam/sam2); %s writes one mask", backend)
    vis = output_path(out, VISUALIZATION)
    if config.save_visualization_video:
        check_writable(vis, config.overwrite)
    log.info("masking %d frames of %s with %s", count, info.path, backend)

    if backend == "motion":
        stream: Iterator[np.ndarray] = (m[None] for m in _motion_stream(config, info, count, depth))
    elif backend in ("rembg", "motion+rembg"):
        stream = (m[None] for m in _learned_stream(config, info, count, backend, depth))
    else:
        stream = _object_streams(config, backend, info, count, objects)

    size = (info.width, info.height, info.fps)
    writers: list[VideoWriter] = [
        MaskVideoWriter(out, *size, overwrite=config.overwrite, expected_frames=count)
    ]
    writers += [
        MaskVideoWriter(p, *size, overwrite=config.overwrite, expected_frames=count) for p in separate
    ]
    preview = (
        VideoWriter(vis, *size, overwrite=config.overwrite, expected_frames=count)
        if config.save_visualization_video
        else None
    )
    frames = VideoReader(info.path, info).frames(0, count) if preview is not None else None
    try:
        for masks in progress(stream, total=count, desc=f"masks ({backend})"):
            merged = finish_mask(masks.max(axis=0), config.dilate, config.invert)
            writers[0].write_bgr0(matte_pixels(merged))
            for writer, mask in zip(writers[1:], masks):
                writer.write_bgr0(matte_pixels(finish_mask(mask, config.dilate, config.invert)))
            if preview is not None and frames is not None:
                shown = merged >= SUBJECT_LEVEL if merged.dtype == np.uint8 else merged
                preview.write(overlay_mask(next(frames), shown))
    except BaseException:
        for writer in writers + ([preview] if preview else []):
            writer.abort()
        raise
    return [writer.close() for writer in writers + ([preview] if preview else [])]
