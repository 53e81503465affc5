"""Step 6: render the stereo video and its infill mask from a colour video and its depth.

    paths = stereo_rerender(StereoConfig(depth_video="clip.mp4_depth.mkv",
                                         color_video="clip.mp4", xfov=60))
    paths["stereo"], paths["infill_mask"]

Writes ``D_stereo.mkv`` and ``D_stereo.mkv_infillmask.mkv`` (D = the depth video's
path) in chunks that survive a crash (metricdepth.io.chunked): one job with both
outputs, so a chunk counts as done only when both of its files are, a re-run with
`resume` continues after the last chunk done, and the two are committed as one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..camera import Intrinsics
from ..config import option, validate_config
from ..errors import InputError
from ..fov import resolve_xfovs
from ..io import naming
from ..io.atomic import check_writable
from ..io.checks import check_matching
from ..io.chunked import ChunkedJob, check_outputs
from ..io.depth_video import DepthVideoReader, DepthVideoWriter
from ..io.mask_video import MaskVideoReader
from ..io.sidecars import read_transformations, write_frame_values
from ..io.source_frames import TAG_SOURCE_FRAMES, pair_frames, read_paired, source_frames_tag
from ..io.stereo_tags import (
    TAG_BASELINE,
    TAG_CONVERGENCE,
    TAG_LAYOUT,
    TAG_PUPILLARY_DISTANCE,
    TAG_STABILISED,
    TAG_XFOV,
)
from ..io.video import VideoInfo, VideoReader, VideoWriter, probe
from ..options import max_depth_option, xfov_file_option, xfov_option, yfov_option
from ..progress import progress
from .convergence import SubjectConvergence, convergence_shift_px, effective_baseline, parse_convergence
from .layouts import LAYOUT_HELP, LAYOUTS, compose, equirect_maps, frame_size, vr180_size
from .render import DEFAULT_CUT_PX, MAX_CUT_PX, EyeView, render_eyes, stereo_eyes
from .touchly import TOUCHLY1, write_touchly1

log = logging.getLogger(__name__)


@dataclass
class StereoConfig:
    """Settings of step 6 (each field is a flag of stereo_rerender.py)."""

    depth_video: Path = option(
        None, "depth video (metres, our 16-bit packing); the outputs are written beside it", required=True
    )
    color_video: Path = option(None, "the colour video the depth belongs to", required=True)
    max_depth: float = max_depth_option()
    xfov: float | None = xfov_option()
    yfov: float | None = yfov_option()
    xfov_file: Path | None = xfov_file_option()
    pupillary_distance: float = option(63.0, "distance between the eyes, millimetres", gt=0, le=1000)
    convergence: str = option(
        "",
        "depth at the screen plane: metres (0 = no shift: parallel "
        "eyes, infinity at the screen, right for headsets), or a JSON "
        "file with metres per frame (NaN or null = no subject: the last "
        "value holds); not given: the --mask_video subject's smoothed "
        "depth, else no shift",
        aliases=("--convergence_file",),
    )
    mask_video: Path | None = option(None, "subject mask video (255 = subject): converge on the subject")
    transformation_file: Path | None = option(
        None,
        "camera poses (JSON, camera-to-world per frame): "
        "render every frame from frame 0's camera (stabilised)",
    )
    master_xfov: float | None = option(
        None,
        "horizontal FOV the viewer's screen covers, "
        "degrees: disparities scale by tan(master_xfov/2) / "
        "tan(xfov/2) (docs/step6_stereo.md)",
        gt=1,
        lt=179,
    )
    layout: str = option("full_sbs", "frame layout: " + LAYOUT_HELP, choices=LAYOUTS)
    vr180: bool = option(False, "the same as --layout vr180 (the older toolbox's flag)")
    vr180_size: int = option(
        0,
        "vr180: pixels per side of each eye's image; 0 = pi * fx (the source's resolution at the centre)",
        ge=0,
        le=16384,
    )
    green_and_black_infill_mask: bool = option(
        False, "infill mask with holes green (0,255,0) and the rest black, no directions"
    )
    black_holes: bool = option(
        False,
        "leave holes black in the stereo video (default: the background next to a hole is stretched into it)",
    )
    cut_threshold: float = option(
        DEFAULT_CUT_PX,
        "pixels: neighbouring pixels whose "
        "parallax in an eye differs by more are not joined (the "
        "depth step becomes a hole)",
        gt=0,
        le=MAX_CUT_PX,
    )
    infill_mask: bool = option(
        False,
        "the older toolbox's switch to write the infill mask",
        inert="the infill mask is always written",
    )
    remove_edges: bool = option(
        False,
        "the older toolbox's switch to cut the surface at depth steps",
        inert="depth steps always become holes (see --cut_threshold)",
    )
    dont_remove_edges: bool = option(
        False,
        "the older toolbox's switch to keep surfaces joined across depth steps",
        inert="the renderer always cuts at depth steps (--cut_threshold sets where)",
    )
    dont_place_points_in_edges: bool = option(
        False,
        "the older toolbox's switch to leave its edge points out of the holes",
        inert="holes take the background stretched beside them, never edge points (--black_holes: black)",
    )
    render_as_pointcloud: bool = option(
        False,
        "the older toolbox's switch to draw points instead of a surface",
        inert="the eyes are always rendered from a surface",
    )
    compressed: bool = option(
        False,
        "the older toolbox's switch for an H.264 D_stereo.mp4",
        inert="the stereo video is lossless FFV1; compress_video.py makes the player file",
    )
    create_sbs_depth_video: bool = option(
        False,
        "also write D_stereo.mkv_depth.mkv: each "
        "eye's rendered depth side by side, packed like "
        "a depth video (holes at max_depth); full_sbs only",
    )
    touchly1: bool = option(
        False,
        "write D_Touchly1.mkv for the Touchly player instead: the "
        "colour frame above its depth as 8-bit grey (near = white), no "
        "stereo rendering",
    )
    touchly_min_depth: float = option(0.0, "--touchly1: depth drawn white, metres", ge=0, le=1e6)
    touchly_max_depth: float = option(5.0, "--touchly1: depth drawn black (and beyond), metres", gt=0, le=1e6)
    max_frames: int = option(-1, "render only the first N frames (-1: all)", ge=-1)
    device: str = option(
        "cpu", "cpu, or a torch device such as cuda (plain eyes; stabilised rendering runs on the CPU)"
    )
    chunk_frames: int = option(32, "frames per resumable chunk", ge=1, le=100_000)
    overwrite: bool = option(False, "replace existing outputs (and an interrupted job)")
    resume: bool = option(False, "continue an interrupted job with the same settings")

    def __post_init__(self) -> None:
        if self.vr180:
            if self.layout not in ("full_sbs", "vr180"):
                raise InputError("--vr180", f"contradicts --layout {self.layout}")
            self.layout = "vr180"


@dataclass(frozen=True)
class _Inputs:
    """What the checks found: everything the render loop needs."""

    frames: int
    width: int
    height: int
    fps: Fraction
    xfovs: np.ndarray  # (N,) degrees
    convergence: np.ndarray | None  # (N,) metres, 0 = no shift
    poses: np.ndarray | None  # (N, 4, 4) world_from_cam
    colour_numbers: list[int] | None  # the colour frame of each depth frame (None: the same)
    mask_numbers: list[int] | None  # the mask frame of each depth frame (None: the same)
    stereo: Path
    infill_mask: Path
    sbs_depth: Path | None  # --create_sbs_depth_video
    subject_file: Path | None  # with --mask_video: the convergence it gave, per frame
    max_depth: float  # the depth video's, for the SBS depth video


def _check(config: StereoConfig) -> _Inputs:
    """Validate every input and flag before anything is written."""
    validate_config(config)  # ranges of every number (pupillary distance, cut, FOVs, sizes)
    if config.max_frames == 0:
        raise InputError("--max_frames", "must be a positive number of frames (-1: all)")
    if config.device != "cpu":
        _check_device(config.device)
    colour = probe(config.color_video)
    depth = DepthVideoReader(config.depth_video, config.max_depth)
    colour_numbers = pair_frames(depth.info, colour, "colour video")
    next(depth.frames(0, 1))  # refuses a colour video given as depth before any output
    count = depth.info.frame_count
    frames = count if config.max_frames < 0 else min(config.max_frames, count)
    xfovs = resolve_xfovs(
        count,
        colour.width,
        colour.height,
        xfov=config.xfov,
        yfov=config.yfov,
        xfov_file=config.xfov_file or None,
        depth_video=depth.path,
    )
    mask_numbers = (
        pair_frames(depth.info, MaskVideoReader(config.mask_video).info, "mask video")
        if config.mask_video
        else None
    )
    convergence = parse_convergence(config.convergence, count)
    if convergence is not None and config.mask_video:
        raise InputError(
            "--convergence", "give --convergence or --mask_video (converge on the subject), not both"
        )
    poses = _poses(config, count, colour, colour_numbers)
    stereo = naming.output_path(depth.path, naming.STEREO)
    infill_mask = naming.output_path(stereo, naming.INFILL_MASK)
    sbs_depth = naming.output_path(stereo, naming.DEPTH) if config.create_sbs_depth_video else None
    if sbs_depth is not None and config.layout != "full_sbs":
        raise InputError("--create_sbs_depth_video", f"needs --layout full_sbs, not {config.layout}")
    subject_file = naming.output_path(depth.path, naming.CONVERGENCE) if config.mask_video else None
    check_outputs(
        [p for p in (stereo, infill_mask, sbs_depth, subject_file) if p is not None], config.overwrite
    )
    return _Inputs(
        frames,
        colour.width,
        colour.height,
        depth.info.fps,
        xfovs,
        convergence,
        poses,
        colour_numbers,
        mask_numbers,
        stereo,
        infill_mask,
        sbs_depth,
        subject_file,
        depth.max_depth,
    )


def _poses(
    config: StereoConfig, count: int, colour: VideoInfo, colour_numbers: list[int] | None
) -> np.ndarray | None:
    """(count, 4, 4) camera-to-world poses of the depth frames from --transformation_file:
    one per depth frame, or, for a sampled depth video, one per colour frame (picked)."""
    path = config.transformation_file
    if not path:
        return None
    if colour_numbers is None or len(read_transformations(path)) == count:
        return read_transformations(path, count)
    return read_transformations(path, colour.frame_count)[colour_numbers]


def _check_device(device: str) -> None:
    try:
        import torch
    except ImportError:
        raise InputError("--device", "needs torch (pip install .[depth])") from None
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise InputError("--device", f"{device!r} is not a torch device") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device", "CUDA is not available on this machine; use --device cpu")


def stereo_rerender(config: StereoConfig) -> dict[str, Path]:
    """Run step 6; returns {"stereo": path, "infill_mask": path} (with --touchly1
    {"touchly1": path})."""
    if config.touchly1:
        return {"touchly1": _touchly1(config)}
    inputs = _check(config)
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in ("overwrite", "resume")}
    job = ChunkedJob(
        inputs.stereo,
        inputs.frames,
        config.chunk_frames,
        settings,
        overwrite=config.overwrite,
        resume=config.resume,
        extra_outputs=[p for p in (inputs.infill_mask, inputs.sbs_depth) if p],
    )
    with job:
        _render(config, inputs, job)
        job.finish()
    written = {"stereo": inputs.stereo, "infill_mask": inputs.infill_mask}
    if inputs.sbs_depth is not None:
        written["sbs_depth"] = inputs.sbs_depth
    if inputs.subject_file is not None:
        written["convergence"] = _write_convergence(config, inputs, inputs.subject_file)
    return written


def _write_convergence(config: StereoConfig, inputs: _Inputs, path: Path) -> Path:
    """D_convergence_depths.json: the subject convergence the frames were rendered with,
    metres per frame (0 = no shift, before the subject first appears). Given back as
    --convergence it renders the same frames; MDVT reads it as its convergence file."""
    subject = SubjectConvergence(inputs.fps)
    depths = DepthVideoReader(config.depth_video, config.max_depth).frames(0, inputs.frames)
    assert config.mask_video is not None  # a subject file is made only with a mask
    masks = read_paired(MaskVideoReader(config.mask_video).frames, inputs.mask_numbers, 0, inputs.frames)
    values = [subject.update(depth, mask) for depth, mask in zip(depths, masks)]
    return write_frame_values(path, np.array(values), overwrite=config.overwrite)


def _touchly1(config: StereoConfig) -> Path:
    """D_Touchly1.mkv (see touchly.py), after the same input checks as the stereo video."""
    if config.touchly_max_depth <= config.touchly_min_depth:
        raise InputError(
            "--touchly_max_depth",
            f"{config.touchly_max_depth} m must be beyond --touchly_min_depth {config.touchly_min_depth} m",
        )
    colour = probe(config.color_video)
    depth = DepthVideoReader(config.depth_video, config.max_depth)
    check_matching(colour, depth.info, "depth video")
    next(depth.frames(0, 1))
    out = check_writable(naming.output_path(depth.path, TOUCHLY1), config.overwrite)
    frames = colour.frame_count if config.max_frames < 0 else min(config.max_frames, colour.frame_count)
    return write_touchly1(
        Path(config.color_video),
        depth,
        out,
        frames,
        config.touchly_min_depth,
        config.touchly_max_depth,
        config.overwrite,
    )


def _camera_tags(config: StereoConfig, inputs: _Inputs) -> dict[str, str]:
    """The eyes' baseline (mm) and, for pinhole eyes, their horizontal FOV (degrees), at
    the median frame's FOV: what players' spatial metadata describes (step 8 --mvhevc)."""
    xfov = float(np.median(inputs.xfovs))
    baseline_m = effective_baseline(config.pupillary_distance / 1000.0, xfov, config.master_xfov)
    tags = {TAG_BASELINE: f"{baseline_m * 1000:.6g}"}
    if config.layout != "vr180":
        tags[TAG_XFOV] = f"{xfov:.6g}"
    return tags


def _render(config: StereoConfig, inputs: _Inputs, job: ChunkedJob) -> None:
    """Render the chunks `job` has not done yet, both outputs of each."""
    state = job.last_state()
    subject = SubjectConvergence.from_state(inputs.fps, state) if config.mask_video else None
    renderer = _FrameRenderer(config, inputs)
    out_w, out_h = frame_size(config.layout, inputs.width, inputs.height, renderer.eye_side)
    # Recorded so that later steps can tell plain parallel eyes from shifted or
    # stabilised ones (step 7's background-from-other-frames assumes plain eyes).
    tags = {
        TAG_LAYOUT: config.layout,
        TAG_PUPILLARY_DISTANCE: f"{config.pupillary_distance:g}",
        "source": Path(config.color_video).name,
        TAG_CONVERGENCE: config.convergence or "0",
        TAG_STABILISED: "1" if config.transformation_file else "0",
        **_camera_tags(config, inputs),
    }
    if inputs.colour_numbers is not None:  # step 8 starts the audio at the first
        tags[TAG_SOURCE_FRAMES] = source_frames_tag(inputs.colour_numbers[: inputs.frames])
    with progress(total=inputs.frames, desc="stereo") as bar:
        bar.update(job.frames_done)
        for chunk in job.pending():
            with contextlib.ExitStack() as stack:
                stereo_out, mask_out = (
                    stack.enter_context(
                        VideoWriter(
                            path,
                            out_w,
                            out_h,
                            inputs.fps,
                            overwrite=True,
                            expected_frames=chunk.length,
                            tags=tags,
                        )
                    )
                    for path in chunk.paths[:2]
                )
                depth_out = (
                    None
                    if inputs.sbs_depth is None
                    else stack.enter_context(
                        DepthVideoWriter(
                            chunk.paths[2],
                            out_w,
                            out_h,
                            inputs.fps,
                            max_depth=inputs.max_depth,
                            overwrite=True,
                            expected_frames=chunk.length,
                            tags=tags,
                        )
                    )
                )
                for index, colour, depth, mask in _frames(config, inputs, chunk.start, chunk.stop):
                    if subject is not None:
                        convergence = subject.update(depth, mask)
                    elif inputs.convergence is not None:
                        convergence = float(inputs.convergence[index])
                    else:
                        convergence = 0.0
                    stereo_frame, mask_frame, eye_depth = renderer.render(index, colour, depth, convergence)
                    stereo_out.write(stereo_frame)
                    mask_out.write(mask_frame)
                    if depth_out is not None and eye_depth is not None:
                        depth_out.write(*eye_depth)
                    bar.update(1)
            job.complete(chunk, subject.state() if subject is not None else {})


def _frames(config: StereoConfig, inputs: _Inputs, start: int, stop: int):
    """(index, colour (H, W, 3) uint8, depth (H, W) float32 metres, mask (H, W) bool or
    None) for depth frames start .. stop - 1, each with its colour and mask frame."""
    colours = read_paired(VideoReader(config.color_video).frames, inputs.colour_numbers, start, stop)
    depths = DepthVideoReader(config.depth_video, config.max_depth).frames(start, stop)
    masks = (
        read_paired(MaskVideoReader(config.mask_video).frames, inputs.mask_numbers, start, stop)
        if config.mask_video
        else itertools.repeat(None)
    )
    yield from zip(range(start, stop), colours, depths, masks)


class _FrameRenderer:
    """Renders one frame's two eyes and packs them into the layout."""

    def __init__(self, config: StereoConfig, inputs: _Inputs):
        self.config, self.inputs = config, inputs
        self._intrinsics: dict[float, Intrinsics] = {}
        self._maps: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        first = self.intrinsics(0)
        self.eye_side = (config.vr180_size or vr180_size(first)) if config.layout == "vr180" else 0

    def intrinsics(self, index: int) -> Intrinsics:
        xfov = float(self.inputs.xfovs[index])
        if xfov not in self._intrinsics:
            w, h = self.inputs.width, self.inputs.height
            self._intrinsics[xfov] = Intrinsics.from_fov(w, h, xfov=xfov)
        return self._intrinsics[xfov]

    def render(
        self, index: int, colour: np.ndarray, depth: np.ndarray, convergence_m: float
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Frame `index` -> (stereo frame, infill mask frame: (h, w, 3) uint8 each; with
        --create_sbs_depth_video the eyes' depth, see `_side_by_side_depth`)."""
        config, intr = self.config, self.intrinsics(index)
        baseline = effective_baseline(config.pupillary_distance / 1000.0, intr.xfov, config.master_xfov)
        shift = convergence_shift_px(intr.fx, baseline, convergence_m)
        poses = self.inputs.poses
        eyes = (
            stereo_eyes(intr, baseline, shift)
            if poses is None
            else stereo_eyes(intr, baseline, shift, poses[index], poses[0])
        )
        left, right = render_eyes(
            colour,
            depth,
            intr,
            eyes,
            cut_px=config.cut_threshold,
            green_and_black=config.green_and_black_infill_mask,
            black_holes=config.black_holes,
            device=config.device,
        )
        maps = None
        if config.layout == "vr180":
            if intr.fx not in self._maps:
                self._maps[intr.fx] = equirect_maps(intr, self.eye_side)
            maps = self._maps[intr.fx]
        return (
            compose(config.layout, left.colour, right.colour, False, maps),
            compose(config.layout, left.mask, right.mask, True, maps),
            _side_by_side_depth(left, right) if self.inputs.sbs_depth else None,
        )


def _side_by_side_depth(left: EyeView, right: EyeView) -> tuple[np.ndarray, np.ndarray]:
    """Both eyes' rendered z-depth side by side: (H, 2W) float32 metres, and (H, 2W) bool
    holes (no surface: written as max_depth)."""
    inverse = np.concatenate([left.inverse_depth, right.inverse_depth], axis=1)
    holes = inverse == 0
    return np.float32(1.0) / np.where(holes, np.float32(1.0), inverse), holes
