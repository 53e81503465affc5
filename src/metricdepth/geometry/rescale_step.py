"""Step 5: depth corrected by triangulation (`rescale_depth`).

With the camera poses of step 4, every static track seen often enough and with enough
parallax is triangulated; the depth video is fitted to those points in inverse depth
(1 / z_true = a / z + b) per frame, the fits smoothed over time (or one fit for the whole
clip with --global_align), and applied to every pixel. Writes ``D_rescaled.mkv`` (same
size, frame rate and max_depth), ``D_triangulated.ply`` (the triangulated points) and
``D_avgmonodepth.ply`` (per track, the average of its depth-derived points), both with
colours from the colour video where there is one, and the track ids.

Run again on its own output, it says when a further pass would change nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import Intrinsics, unproject
from ..config import option
from ..errors import InputError
from ..io import naming
from ..io.atomic import check_writable
from ..io.chunked import ChunkedJob
from ..io.depth_video import DepthVideoReader, DepthVideoWriter
from ..io.mask_video import MaskVideoReader
from ..io.ply import PointCloud, read_ply, write_ply
from ..io.sidecars import read_depth_scales, read_transformations
from ..io.video import VideoReader
from ..options import max_depth_option, strict_mask_option, xfov_file_option, xfov_option, yfov_option
from ..progress import progress
from .inputs import find_sidecars, frames_to_use, read_tracks, resolve_intrinsics, single_frame
from .observations import INVALID_DEPTH_FRACTION, Observations, gather_observations
from .rescale import FrameFits, apply_fit, change_of_fit, fit_frames, fit_inverse
from .triangulate import Triangulation, TriangulationSettings, depth_in_frames, triangulate

log = logging.getLogger(__name__)

CHUNK_FRAMES = 64  # frames per resumable chunk of the output video
CONVERGED_CHANGE = 0.005  # a pass whose fits change the depth less than this has converged
AVERAGE_TINT = np.array([60, 90, 255], np.uint8)  # --show_both_point_clouds: averaged depth


@dataclass
class RescaleConfig:
    """Settings of step 5; each field is a command-line flag of rescale_depth.py."""

    depth_video: Path = option(None, "depth video to correct (metres, 16-bit packing)", required=True)
    track_file: Path | None = option(
        None, "tracking JSON from step 3 (default: X_tracking.json beside the colour video)"
    )
    transformation_file: Path | None = option(
        None,
        "camera poses from step 4 (default: "
        "D_transformations.json beside the depth video, "
        "or beside the video it was rescaled from)",
    )
    color_video: Path | None = option(
        None,
        "colour video X for the PLY colours and its "
        "sidecars (default: the depth video's name without "
        "_depth.mkv / _rescaled.mkv, if it exists)",
    )
    mask_video: Path | None = option(
        None,
        "mask video of moving objects (255 = moving); their "
        "tracks are not triangulated (default: X_mask.mkv beside "
        "the colour video, if it exists)",
    )
    xfov: float | None = xfov_option()
    yfov: float | None = yfov_option()
    xfov_file: Path | None = xfov_file_option()
    max_depth: float = max_depth_option()
    max_frames: int | None = option(
        None,
        "process only the first N frames (the poses file must then have N entries; -1: all)",
        ge=2,
        none_value=-1,
    )
    strict_mask: bool = strict_mask_option()
    global_align: bool = option(False, "one fit (a, b) for the whole video instead of one per frame")
    smooth: float = option(
        0.01,
        "expected change of the per-frame fit from one frame to the "
        "next (relative, 0.01 = 1 percent): smaller smooths more; "
        "well-measured frames keep their own fit; 0: no smoothing",
        ge=0,
        le=10,
    )
    min_points: int = option(
        12,
        "triangulated points a frame needs for its own fit; frames with fewer take their neighbours' values",
        ge=1,
    )
    min_parallax: float = option(
        2.0, "degrees between a track's first and last viewing rays needed to triangulate it", ge=0, lt=180
    )
    max_error: float = option(
        2.0, "RMS reprojection error in pixels above which a triangulated point is rejected", gt=0
    )
    triangulation_min_observations: int = option(
        2,
        "a track is triangulated only when more frames than this see it",
        aliases=("--tringulation_min_observations",),
        ge=1,
        le=100_000,
    )
    save_rescaled_depth: bool = option(
        True, "write D_rescaled.mkv (--no-save_rescaled_depth: only the two point clouds)"
    )
    use_triangulated_points: bool = option(
        False,
        "the older toolbox's switch to fit the depth to the triangulated points",
        inert="the fit always uses the triangulated points",
    )
    show_scene_point_clouds: bool = option(
        False, "open a window with the triangulated points in their colours (needs a display)"
    )
    show_both_point_clouds: bool = option(
        False,
        "open a window with both point clouds: "
        "triangulated (as recorded) and averaged depth "
        "(blue) (needs a display)",
    )
    resume: bool = option(False, "continue an interrupted run (same settings)")
    overwrite: bool = option(False, "replace existing outputs")


def output_paths(depth_video: Path) -> dict[str, Path]:
    """The files the step writes, by role."""
    return {
        "rescaled": naming.output_path(depth_video, naming.RESCALED),
        "triangulated": naming.output_path(depth_video, naming.TRIANGULATED_PLY),
        "avgmonodepth": naming.output_path(depth_video, naming.AVGMONODEPTH_PLY),
    }


def rescale_depth(config: RescaleConfig) -> dict[str, Path]:
    """Run step 5; returns the paths written by role (see `output_paths`)."""
    depth = DepthVideoReader(config.depth_video, config.max_depth)
    info = depth.info
    frames = frames_to_use(info.frame_count, config.max_frames)
    found = find_sidecars(info, config.color_video, config.mask_video, config.track_file)
    colour_path, mask_path, track_path = found.colour, found.mask, found.tracks
    if track_path is None:
        raise InputError(
            "--track_file",
            "no tracking file given and no X_tracking.json beside "
            "the colour video; run track_points_in_video.py first",
        )
    tracks = read_tracks(track_path, info.frame_count, info.width, info.height, frames)
    poses_path = naming.find_sidecar(
        config.transformation_file, config.depth_video, naming.TRANSFORMATIONS, "--transformation_file"
    )
    if poses_path is None:
        raise InputError(
            "--transformation_file",
            "no camera poses given and none beside the depth video; run camera_track.py first",
        )
    world_from_cam = read_transformations(poses_path, frames)
    depth_scales = _depth_scales(Path(config.depth_video), poses_path, frames)
    intr = resolve_intrinsics(
        info.width,
        info.height,
        info.frame_count,
        config.depth_video,
        config.xfov,
        config.yfov,
        config.xfov_file,
    )
    paths = output_paths(Path(config.depth_video))
    for role in ("triangulated", "avgmonodepth"):
        check_writable(paths[role], config.overwrite)
    if config.save_rescaled_depth and not config.resume:
        check_writable(paths["rescaled"], config.overwrite)

    mask = MaskVideoReader(mask_path) if mask_path is not None else None
    obs = gather_observations(
        tracks,
        progress(depth.frames(0, frames), total=frames, desc="sampling depth"),
        depth.max_depth,
        mask.frames(0, frames) if mask else None,
    )
    static = obs.subset(~(obs.masked_tracks() if config.strict_mask else obs.masked))
    settings = TriangulationSettings(
        min_observations=config.triangulation_min_observations + 1,
        min_parallax_deg=config.min_parallax,
        max_error_px=config.max_error,
    )
    tri = triangulate(static.frame, static.track, static.xy, obs.track_count, world_from_cam, intr, settings)
    log.info("triangulated %d of %d tracks", int(tri.ok.sum()), obs.track_count)
    written: dict[str, Path] = {}
    if config.save_rescaled_depth:
        if single_frame(frames):
            log.info("%s has one frame: nothing to triangulate, its depth is kept", info.path.name)
            fits = FrameFits(np.ones(1), np.zeros(1), np.zeros(1, np.int64))
        else:
            fits = _fit(static, tri, settings, world_from_cam, config, frames, depth_scales)
            _report_change(fits, static)
        written["rescaled"] = _write_rescaled(
            paths["rescaled"],
            depth,
            fits,
            frames,
            _job_settings(config, poses_path, track_path, mask_path),
            config,
        )

    colours = _track_colours(colour_path, static, obs.track_count, frames)
    ids = obs.track_ids
    ok = tri.ok
    written["triangulated"] = write_ply(
        paths["triangulated"],
        PointCloud(tri.points[ok], colours[ok] if colours is not None else None, ids[ok]),
        overwrite=config.overwrite,
    )
    average, has_average = _average_depth_points(static, world_from_cam, intr, obs.track_count)
    written["avgmonodepth"] = write_ply(
        paths["avgmonodepth"],
        PointCloud(
            average[has_average], colours[has_average] if colours is not None else None, ids[has_average]
        ),
        overwrite=config.overwrite,
    )
    _show_windows(config, written)
    return written


def _write_rescaled(
    path: Path,
    depth: DepthVideoReader,
    fits: FrameFits,
    frames: int,
    settings: dict[str, object],
    config: RescaleConfig,
) -> Path:
    """D_rescaled.mkv: every frame's depth through its fit, in resumable chunks."""
    info = depth.info
    job = ChunkedJob(path, frames, CHUNK_FRAMES, settings, overwrite=config.overwrite, resume=config.resume)
    with job:  # a failure before the first chunk is done leaves nothing
        for chunk in progress(list(job.pending()), desc="writing rescaled depth", unit="chunk"):
            with DepthVideoWriter(
                chunk.path,
                info.width,
                info.height,
                info.fps,
                max_depth=depth.max_depth,
                overwrite=True,
                expected_frames=chunk.length,
            ) as writer:
                for f, frame in enumerate(depth.frames(chunk.start, chunk.stop), chunk.start):
                    invalid = frame >= INVALID_DEPTH_FRACTION * depth.max_depth
                    writer.write(*apply_fit(frame, fits.a[f], fits.b[f], depth.max_depth, invalid))
            job.complete(chunk)
        return job.finish()


def _show_windows(config: RescaleConfig, written: dict[str, Path]) -> None:
    """--show_scene_point_clouds / --show_both_point_clouds: the point clouds just
    written, in one window (averaged depth tinted blue with --show_both_point_clouds)."""
    if not (config.show_scene_point_clouds or config.show_both_point_clouds):
        return
    from ..viewer.window import show_point_clouds

    clouds = [read_ply(written["triangulated"])]
    if config.show_both_point_clouds:
        average = read_ply(written["avgmonodepth"])
        clouds.append(PointCloud(average.points, np.tile(AVERAGE_TINT, (len(average), 1))))
    show_point_clouds(clouds, f"{Path(config.depth_video).name} - rescale_depth")


def _too_few_points(
    found: int, obs: Observations, tri: Triangulation, settings: TriangulationSettings, config: RescaleConfig
) -> InputError:
    """The error for too few triangulated points, blaming the check that rejected most
    tracks: too few views (short tracks), too little parallax, too big an error."""
    seen = np.bincount(obs.track, minlength=len(tri.ok)) >= settings.min_observations
    wide = seen & (tri.parallax_deg >= settings.min_parallax_deg)
    rejected = {
        "--triangulation_min_observations": (
            int((~seen).sum()),
            f"seen in fewer than {settings.min_observations} frames",
        ),
        "--min_parallax": (
            int((seen & ~wide).sum()),
            f"parallax below {settings.min_parallax_deg:g} degrees",
        ),
        "--max_error": (
            int((wide & ~tri.ok).sum()),
            f"reprojection error above {settings.max_error_px:g} px",
        ),
    }
    flag = max(rejected, key=lambda k: rejected[k][0])
    if rejected[flag][0] == 0:
        return InputError(
            config.track_file or "--track_file",
            f"only {found} observations of triangulated points (at least {config.min_points} needed)",
        )
    why = ", ".join(f"{n} {what}" for n, what in rejected.values() if n)
    return InputError(
        flag,
        f"only {found} observations of triangulated points (at least "
        f"{config.min_points} needed); of {len(tri.ok)} tracks {why}: the tracks "
        "are too short, the camera moves too little, or the threshold is too strict",
    )


def _depth_scales(depth_video: Path, poses_path: Path, frames: int) -> np.ndarray | None:
    """(frames,) step 4's depth scales of `depth_video`, when step 4 solved the poses
    `poses_path` on it (they share the poses' gauge), else None."""
    scales = naming.output_path(depth_video, naming.DEPTH_SCALES)
    if poses_path != naming.output_path(depth_video, naming.TRANSFORMATIONS) or not scales.is_file():
        return None
    return read_depth_scales(scales, frames)


def _fit(
    obs: Observations,
    tri: Triangulation,
    settings: TriangulationSettings,
    world_from_cam: np.ndarray,
    config: RescaleConfig,
    frames: int,
    depth_scales: np.ndarray | None,
) -> FrameFits:
    """Fits of the depth to the triangulated points, per frame or global; when no frame
    has `min_points` of its own (a short or sparsely sampled clip, e.g. a preview), step
    4's per-frame depth scales (`depth_scales`, None: none) instead."""
    points = tri.points
    usable = np.isfinite(points[obs.track]).all(axis=1) & np.isfinite(obs.depth)
    z_true = depth_in_frames(points, obs.frame[usable], obs.track[usable], world_from_cam)
    z = obs.depth[usable]
    frame = obs.frame[usable]
    front = z_true > 0
    z_true, z, frame = z_true[front], z[front], frame[front]
    own = np.bincount(frame, minlength=frames) >= config.min_points
    if depth_scales is not None and not config.global_align and not own.any():
        log.info(
            "no frame has %d triangulated points of its own (%d in all): "
            "step 4's per-frame depth scales are used",
            config.min_points,
            len(z),
        )
        return FrameFits(1.0 / depth_scales, np.zeros(frames), np.zeros(frames, np.int64))
    if len(z) < config.min_points:
        raise _too_few_points(len(z), obs, tri, settings, config)
    if config.global_align:
        (a, b), _ = fit_inverse(z_true, z)
        log.info("global fit: 1/z_true = %.4f/z + %.5f", a, b)
        return FrameFits(np.full(frames, a), np.full(frames, b), np.bincount(frame, minlength=frames))
    fits = fit_frames(frame, z_true, z, frames, config.min_points, config.smooth, float(np.median(z)))
    without = int((fits.points == 0).sum())
    if without:
        log.info(
            "%d of %d frames had fewer than %d points and took their neighbours' fits",
            without,
            frames,
            config.min_points,
        )
    return fits


def _report_change(fits: FrameFits, obs: Observations) -> None:
    typical = float(np.nanmedian(obs.depth)) if np.isfinite(obs.depth).any() else 1.0
    change = change_of_fit(fits.a, fits.b, typical)
    if change < CONVERGED_CHANGE:
        log.warning(
            "the fits change the depth by only %.2f%% (median): a further pass would change nothing",
            100 * change,
        )
    else:
        log.info("the fits change the depth by %.2f%% (median |a - 1|, |b| z)", 100 * change)


def _job_settings(
    config: RescaleConfig, poses_path: Path, track_path: Path, mask_path: Path | None
) -> dict[str, object]:
    """What changes the output video (for resuming)."""
    settings = {
        k: v
        for k, v in dataclasses.asdict(config).items()
        if k
        not in (
            "resume",
            "overwrite",
            "color_video",
            "show_scene_point_clouds",
            "show_both_point_clouds",
            "use_triangulated_points",
        )
    }
    settings.update(
        transformation_file=str(poses_path),
        track_file=str(track_path),
        mask_video=None if mask_path is None else str(mask_path),
    )
    return settings


def _track_colours(colour_path: Path | None, obs: Observations, count: int, frames: int) -> np.ndarray | None:
    """(count, 3) uint8 colour of each track at its first observation (None without video)."""
    if colour_path is None:
        log.info("no colour video: the PLY files have no colours")
        return None
    colours = np.zeros((count, 3), np.uint8)
    first = np.full(count, -1)
    order = np.argsort(obs.frame, kind="stable")[::-1]
    first[obs.track[order]] = order  # the last write wins: the earliest frame
    rows = first[first >= 0]
    by_frame = obs.frame[rows]
    last = int(by_frame.max(initial=-1)) + 1  # no frame after the last first sighting
    with VideoReader(colour_path) as video:
        # bgr0: our files' own layout, decoded without a colour conversion
        for f, image in enumerate(video.frames(0, min(frames, last), pixel_format="bgr0")):
            here = rows[by_frame == f]
            if len(here):
                x = np.clip(np.rint(obs.xy[here, 0]).astype(int), 0, image.shape[1] - 1)
                y = np.clip(np.rint(obs.xy[here, 1]).astype(int), 0, image.shape[0] - 1)
                colours[obs.track[here]] = image[y, x, 2::-1]
    return colours


def _average_depth_points(
    obs: Observations, world_from_cam: np.ndarray, intr: Intrinsics, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per track, the mean of its depth-derived world points: (count, 3) metres and
    (count,) bool where a track has any."""
    rows = np.isfinite(obs.depth)
    cam = unproject(obs.xy[rows], obs.depth[rows], intr)
    world = (
        np.einsum("mij,mj->mi", world_from_cam[obs.frame[rows], :3, :3], cam)
        + world_from_cam[obs.frame[rows], :3, 3]
    )
    sums = np.zeros((count, 3))
    np.add.at(sums, obs.track[rows], world)
    counts = np.bincount(obs.track[rows], minlength=count)
    has = counts > 0
    sums[has] /= counts[has, None]
    return sums, has
