"""Step 3: track points through a colour video and write `X_tracking.json`.

    paths = track_points(TrackConfig(color_video="clip.mp4"))

Frames are streamed (constant memory in the frames; the tracks themselves are kept, as
the JSON holds them all). Points inside the mask video, when one is given, are dropped
and never seeded; with a depth video (lk), points on depth edges are not seeded and a
point whose depth jumps is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import option, validate_config
from ..errors import InputError
from ..io import naming
from ..io.atomic import check_writable
from ..io.checks import check_matching
from ..io.depth_video import DepthVideoReader
from ..io.mask_video import MaskVideoReader
from ..io.naming import TRACKING, output_path
from ..io.sidecars import FrameTracks, write_tracking
from ..io.video import VideoReader, VideoWriter, probe
from ..progress import progress
from . import AUTO, BACKENDS, resolve_backend
from .cotracker import CoTrackerSettings, WindowedTracker, load_cotracker
from .draw import TrackPainter
from .lk import LKSettings, LKTracker

log = logging.getLogger(__name__)

VISUALIZATION = "_visualization.mkv"  # appended to the tracking file's name


@dataclass
class TrackConfig:
    """Settings of step 3 (flags of track_points_in_video.py)."""

    color_video: str = option(None, "the colour video (any format FFmpeg reads)", required=True)
    mask_video: str | None = option(
        None, "mask video (255 = subject): points on the subject are dropped and none are seeded there"
    )
    depth_video: str | None = option(
        None,
        "depth video from step 1 (lk only): points on "
        "depth edges are not seeded, and a point whose depth "
        "jumps is dropped (default: X_depth.mkv beside the "
        "colour video, if it exists)",
    )
    backend: str = option(
        AUTO,
        "tracker: cotracker (needs the cotracker package or its "
        "torch.hub cache), lk (no weights), auto (cotracker if present, else lk)",
        choices=(AUTO,) + BACKENDS,
    )
    max_frames: int | None = option(
        None, "track only the first N frames (default: all; -1: all)", ge=1, none_value=-1
    )
    save_visualization_video: bool = option(
        False,
        "also write the video with the tracks drawn, as X_tracking.json_visualization.mkv",
        aliases=("--save_visulization_video",),
    )
    integer_pixels: bool = option(
        False,
        "write whole-pixel positions, as the older toolbox "
        "(MDVT) writes and its readers need (default: 1/1000 px)",
    )
    overwrite: bool = option(False, "replace existing outputs")
    device: str = option("cpu", "torch device for cotracker (cpu, cuda, cuda:1)")
    checkpoint: str | None = option(
        None, "cotracker weights (.pth); default: the package's or torch.hub's cache"
    )
    grid_spacing: int = option(16, "pixels between seeding grid points (lk: grid cell side)", ge=2, le=4096)
    lk_window: int = option(15, "lk: side of the tracking window, pixels (odd)", ge=5, le=255)
    fb_threshold: float = option(2.0, "lk: largest forward-backward error, pixels", gt=0, le=1000)
    min_ncc: float = option(
        0.985,
        "lk: smallest patch correlation with the point's anchor "
        "patch after affine alignment (lower keeps more, less exact points)",
        ge=-1,
        le=1,
    )
    steps_between_track_init: int = option(
        16,
        "cotracker: frames between seeding rounds",
        aliases=("--steps_bewtwen_track_init",),
        ge=1,
        le=100_000,
    )
    nr_iterations: int = option(1, "cotracker: shifted seeding grids per round (more: denser)", ge=1, le=64)
    downscale: int = option(1, "cotracker: shrink frames by this integer factor first", ge=1, le=64)
    window_frames: int = option(32, "cotracker: frames per network call", ge=2, le=10_000)
    overlap: int = option(8, "cotracker: frames shared by consecutive windows", ge=0, le=10_000)


COTRACKER_ONLY = (
    "steps_between_track_init",
    "nr_iterations",
    "downscale",
    "window_frames",
    "overlap",
    "checkpoint",
    "device",
)


def _validate(config: TrackConfig) -> None:
    validate_config(config)
    if config.lk_window % 2 == 0:
        raise InputError("--lk_window", f"must be odd, got {config.lk_window}")


def _warn_unused(config: TrackConfig, names: tuple[str, ...], why: str) -> None:
    """One warning naming the flags set away from their defaults that the chosen backend
    does not use."""
    defaults = TrackConfig(color_video=config.color_video)
    given = [f"--{n}" for n in names if getattr(config, n) != getattr(defaults, n)]
    if given:
        log.warning("%s: %s", ", ".join(given), why)


def _tracker(
    config: TrackConfig, backend: str
) -> Callable[[Iterator, Iterator | None, Iterator | None], Iterator[FrameTracks]]:
    """The backend, loaded now (a missing model fails before any output is opened), as a
    function from frame, mask and depth iterators to per-frame tracks (cotracker does not
    use depth)."""
    if backend == "lk":
        tracker = LKTracker(
            LKSettings(
                window=config.lk_window,
                fb_threshold=config.fb_threshold,
                cell=config.grid_spacing,
                min_ncc=config.min_ncc,
            )
        )

        def lk(
            frames: Iterator[np.ndarray],
            masks: Iterator[np.ndarray] | None,
            depths: Iterator[np.ndarray] | None,
        ) -> Iterator[FrameTracks]:
            for frame in frames:
                yield tracker.update(
                    frame,
                    next(masks) if masks is not None else None,
                    depth=next(depths) if depths is not None else None,
                )

        return lk
    settings = CoTrackerSettings(
        window=config.window_frames,
        overlap=config.overlap,
        steps_between_track_init=config.steps_between_track_init,
        grid_spacing=config.grid_spacing,
        nr_iterations=config.nr_iterations,
        downscale=config.downscale,
    )
    model = load_cotracker(config.checkpoint, config.device)
    windowed = WindowedTracker(model, settings, config.device)

    def cotracker(
        frames: Iterator[np.ndarray], masks: Iterator[np.ndarray] | None, depths: Iterator[np.ndarray] | None
    ) -> Iterator[FrameTracks]:
        if depths is not None:
            log.info("cotracker does not use the depth video")
        return windowed.track(frames, masks)

    return cotracker


def track_points(config: TrackConfig) -> list[Path]:
    """Track points through `config.color_video`; write the tracking JSON (and the
    visualisation video on request). Returns the paths written."""
    _validate(config)
    info = probe(config.color_video)
    count = info.frame_count if config.max_frames is None else min(config.max_frames, info.frame_count)
    masks = None
    if config.mask_video is not None:
        mask_reader = MaskVideoReader(config.mask_video)
        check_matching(info, mask_reader.info, "mask video")
        masks = mask_reader.frames(0, count)
    depths = None
    backend = resolve_backend(config.backend)
    depth_path = (
        naming.find_sidecar(config.depth_video, config.color_video, naming.DEPTH, "--depth_video")
        if backend == "lk"
        else config.depth_video
    )
    if depth_path is not None:
        depth_reader = DepthVideoReader(depth_path)
        check_matching(info, depth_reader.info, "depth video")
        depths = depth_reader.frames(0, count)
    out = check_writable(output_path(config.color_video, TRACKING), config.overwrite)
    vis_path = output_path(out, VISUALIZATION)
    if config.save_visualization_video:
        check_writable(vis_path, config.overwrite)
    log.info("tracking %d frames of %s with %s", count, info.path, backend)
    if backend == "lk":
        _warn_unused(config, COTRACKER_ONLY, "cotracker only; lk ignores")

    stream = _tracker(config, backend)
    frames = VideoReader(info.path, info).frames(0, count)
    tracks: list[FrameTracks] = []
    writer = None
    painter = TrackPainter()
    if config.save_visualization_video:
        writer = VideoWriter(
            vis_path, info.width, info.height, info.fps, overwrite=config.overwrite, expected_frames=count
        )
    try:
        shown = _FrameTee(frames, writer is not None)
        for frame_tracks in progress(
            stream(shown.frames(), masks, depths), total=count, desc=f"tracking ({backend})"
        ):
            tracks.append(frame_tracks)
            if writer is not None:
                writer.write(painter.draw(shown.pop(), frame_tracks))
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    written = [write_tracking(out, tracks, overwrite=config.overwrite, integer_pixels=config.integer_pixels)]
    if writer is not None:
        written.append(writer.close())
    ids = set().union(*(f.ids.tolist() for f in tracks)) if tracks else set()
    log.info(
        "%d tracks, %.0f points per frame on average",
        len(ids),
        np.mean([len(f) for f in tracks]) if tracks else 0,
    )
    return written


class _FrameTee:
    """Passes frames to a tracker and keeps those not yet drawn (a windowed tracker
    yields its results some frames after it has read them)."""

    def __init__(self, frames: Iterator[np.ndarray], keep: bool):
        self._frames, self._keep = frames, keep
        self._pending: list[np.ndarray] = []

    def frames(self) -> Iterator[np.ndarray]:
        for frame in self._frames:
            if self._keep:
                self._pending.append(frame)
            yield frame

    def pop(self) -> np.ndarray:
        return self._pending.pop(0)
