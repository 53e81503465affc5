"""Step 1: a colour video -> its metric depth video ``X_depth.mkv``, streamed and resumable.

    paths = convert(DepthConfig(color_video="clip.mp4", backend="vda_metric"))

Frames are decoded, run through the backend and encoded chunk by chunk
(`metricdepth.io.chunked.ChunkedJob`), so memory does not grow with the video. After
each chunk the state needed to continue (the backend's temporal state, the stabiliser's
reference, the metric fit, the FOV estimates so far) is saved with it; `--resume`
continues after the last finished chunk and gives the same bytes as an uninterrupted run.

Per output frame: backend -> stabiliser (per-frame backends) -> metric alignment
(relative backends) -> depth clipped to [0, max_depth] (farther, sky and unknown depth
are written as max_depth). Relative backends are fitted once, on the first chunk: its
frames are held until the anchor frames (every `anchor_every`-th) have been measured
by the anchor model or read from the reference depth video.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..camera import Intrinsics, check_fov
from ..errors import InputError
from ..io import naming
from ..io.atomic import check_writable
from ..io.checks import check_matching
from ..io.chunked import ChunkedJob
from ..io.text_list import read_lines
from ..io.depth_video import DepthVideoReader, DepthVideoWriter
from ..io.sidecars import write_xfovs
from ..io.video import VideoInfo, VideoReader, probe
from ..progress import progress
from .base import BackendOptions, DepthBackend, DepthFrame, resolve_device
from .config import DepthConfig
from .exports import check_exports, export_paths, write_exports
from .metric_align import SKY_FRACTION, MetricAligner
from .registry import build_backend
from .stabilise import Stabiliser

log = logging.getLogger(__name__)

LIST_SUFFIX = ".txt"


# -- inputs -------------------------------------------------------------------------------

def video_list(color_video: str | Path) -> list[Path]:
    """The videos to convert: `color_video` itself, or the lines of a .txt list (paths
    relative to the list's folder; blank lines and # comments skipped)."""
    path = Path(color_video)
    if path.suffix.lower() != LIST_SUFFIX:
        return [path]
    lines = [line.split("#", 1)[0].strip() for line in read_lines(path, "list of videos")]
    videos = [path.parent / line for line in lines if line]
    if not videos:
        raise InputError(path, "lists no videos")
    return videos


@dataclass(frozen=True)
class Selection:
    """Which frames of the colour video become output frames: first, first + stride, ...
    (`count` of them, all before `stop`), shown at `fps`."""

    first: int
    stop: int
    stride: int
    count: int
    fps: Fraction

    def index(self, k: int) -> int:
        """Colour-video frame number of output frame k."""
        return self.first + k * self.stride


def select_frames(info: VideoInfo, config: DepthConfig) -> Selection:
    """Apply --start, --duration, --target_fps, --preview and --max_frames to `info`."""
    first = round(config.start * info.fps)
    if first >= info.frame_count:
        raise InputError("--start", f"{config.start} s is past the end of {info.path.name} "
                         f"({info.duration:.3f} s)")
    stop = info.frame_count
    if config.duration is not None:
        stop = min(stop, first + max(1, round(config.duration * info.fps)))
    stride = max(1, round(info.fps / Fraction(config.target_fps))) if config.target_fps else 1
    stride *= max(1, config.preview)
    count = len(range(first, stop, stride))
    if config.max_frames is not None:
        count = min(count, config.max_frames)
    return Selection(first, stop, stride, count, info.fps / stride)


def selected_frames(reader: VideoReader, selection: Selection,
                    start: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """(frame number, (H, W, 3) uint8 RGB) of output frames `start`, start + 1, ..."""
    if start >= selection.count:
        return
    last = selection.index(selection.count - 1)
    first = selection.index(start)
    for number, frame in enumerate(reader.frames(first, last + 1), first):
        if (number - selection.first) % selection.stride == 0:
            yield number, frame


def _check_config(config: DepthConfig, videos: list[Path]) -> None:
    positive = {"--max_depth": config.max_depth, "--batch": config.batch,
                "--chunk_frames": config.chunk_frames, "--anchor_every": config.anchor_every}
    for flag, value in positive.items():
        if not value > 0:
            raise InputError(flag, f"must be positive, got {value}")
    for flag, value in {"--max_frames": config.max_frames, "--target_fps": config.target_fps,
                        "--duration": config.duration, "--depth_scale": config.depth_scale,
                        "--input_size": config.input_size}.items():
        if value is not None and not value > 0:
            raise InputError(flag, f"must be positive, got {value}")
    for flag, value in {"--start": config.start, "--preview": config.preview,
                        "--save_ply_every": config.save_ply_every}.items():
        if value < 0:
            raise InputError(flag, f"must not be negative, got {value}")
    if config.xfov is not None and config.yfov is not None:
        raise InputError("--yfov", "give --xfov or --yfov, not both")
    if config.xfov is not None:
        check_fov(config.xfov, "--xfov")
    if config.yfov is not None:
        check_fov(config.yfov, "--yfov")
    if len(videos) > 1 and (config.depth_video or config.depth_frames):
        raise InputError("--color_video", "a list of videos cannot share one --depth_video or "
                         "--depth_frames; convert those videos one at a time")


# -- backends -----------------------------------------------------------------------------

def _xfov_given(config: DepthConfig, info: VideoInfo) -> float | None:
    """The horizontal FOV from --xfov or --yfov, or None."""
    if config.xfov is not None:
        return config.xfov
    if config.yfov is not None:
        return Intrinsics.from_fov(info.width, info.height, yfov=config.yfov).xfov
    return None


def _options(config: DepthConfig, info: VideoInfo) -> BackendOptions:
    return BackendOptions(device=config.device, fp32=config.fp32, input_size=config.input_size,
                          batch=config.batch, xfov=_xfov_given(config, info),
                          depth_frames=Path(config.depth_frames) if config.depth_frames else None,
                          depth_scale=config.depth_scale, frame_count=info.frame_count,
                          frame_size=(info.width, info.height),
                          extra={"vda_streaming": config.vda_streaming})


class _Anchor:
    """Metric depth for the anchor frames of a relative backend: a metric model or a
    reference depth video. `depth(number, frame)` -> ((H, W) metres, invalid, sky depth)."""

    def __init__(self, config: DepthConfig, info: VideoInfo):
        self.reference: DepthVideoReader | None = None
        self.model: DepthBackend | None = None
        if config.depth_video is not None:
            self.reference = DepthVideoReader(config.depth_video, config.max_depth)
            check_matching(info, self.reference.info, "reference depth video")
            self.description = f"depth_video:{config.depth_video}"
            return
        self.model = build_backend(config.anchor_backend, config.anchor_checkpoint,
                                   _options(config, info))
        if type(self.model).infer is DepthBackend.infer:
            raise InputError("--anchor_backend", f"{config.anchor_backend} is a video model; "
                             "choose a per-frame metric model (da2, da2_outdoor, depthpro)")
        if not self.model.metric:
            raise InputError("--anchor_backend", f"{config.anchor_backend} with these weights is "
                             "not metric; choose a metric anchor model or give --depth_video")
        self.description = f"anchor:{self.model.description}"

    def depth(self, number: int, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, float]:
        if self.reference is not None:
            return self.reference.read(number), None, SKY_FRACTION * self.reference.max_depth
        result = self.model.infer(frame[None], np.array([number]))[0]
        cap = getattr(getattr(getattr(self.model, "model", None), "config", None), "max_depth", None)
        sky = SKY_FRACTION * cap if cap else math.inf
        return result.depth, result.invalid, sky


# -- the step -----------------------------------------------------------------------------

def convert(config: DepthConfig) -> list[Path]:
    """Run step 1 on every video of `config.color_video`; return the paths written."""
    videos = video_list(config.color_video)
    _check_config(config, videos)
    written: list[Path] = []
    for video in videos:
        written.extend(_convert_video(config, video, many=len(videos) > 1))
    return written


def _convert_video(config: DepthConfig, video: Path, many: bool) -> list[Path]:
    info = probe(video)
    selection = select_frames(info, config)
    depth_path = naming.output_path(video, naming.DEPTH)
    exr = None if config.save_exr is None else (
        Path(config.save_exr) / video.name if many else Path(config.save_exr))
    exports = export_paths(video, depth_path, exr, config.save_npz, config.save_png16,
                           config.save_vis, config.save_ply_every > 0)
    check_exports(exports, config.overwrite)
    check_writable(depth_path, config.overwrite)

    backend = build_backend(config.backend, config.checkpoint, _options(config, info))
    xfov = _xfov_given(config, info)
    write_fovs = backend.estimates_fov and xfov is None
    xfovs_path = naming.output_path(depth_path, naming.XFOVS) if write_fovs else None
    if xfovs_path is not None:
        check_writable(xfovs_path, config.overwrite)
    if config.save_ply_every and xfov is None and not backend.estimates_fov:
        raise InputError("--save_ply_every", "point clouds need a field of view: give --xfov "
                         "or --yfov (or use a backend that estimates it, e.g. depthpro)")
    anchor = None if backend.metric else _Anchor(config, info)
    stabiliser = Stabiliser(relative=not backend.metric) \
        if config.stabilise and not backend.temporal else None

    settings = {**asdict(config), "color_video": str(video), "overwrite": None, "resume": None,
                "save_exr": None, "save_npz": None, "save_png16": None, "save_vis": None,
                "save_ply_every": None, "device": resolve_device(config.device),
                "backend_weights": backend.description,
                "anchor": anchor.description if anchor else None,
                "selection": [selection.first, selection.stop, selection.stride, selection.count]}
    chunk = math.ceil(config.chunk_frames / config.batch) * config.batch
    job = ChunkedJob(depth_path, selection.count, chunk, settings, overwrite=config.overwrite,
                     resume=config.resume)
    run = _Run(config, info, selection, backend, stabiliser, anchor, job)
    try:
        fovs = run.execute()
    except InputError:
        if job.frames_done == 0:  # bad input found before any chunk finished: leave nothing
            shutil.rmtree(job.work, ignore_errors=True)
        raise
    final = job.finish()
    written = [final]
    if xfovs_path is not None:
        written.append(write_xfovs(xfovs_path, fovs, overwrite=config.overwrite))
    ply_fovs = np.full(selection.count, xfov) if xfov is not None else fovs
    with VideoReader(video, info) as reader:
        written += write_exports(final, exports, config.overwrite,
                                 colour_frames=(f for _, f in selected_frames(reader, selection)),
                                 ply_every=config.save_ply_every, xfovs=ply_fovs)
    log.info("%s: wrote %s", video, ", ".join(str(p) for p in written))
    return written


class _Run:
    """One video's chunk loop (see the module docstring)."""

    def __init__(self, config: DepthConfig, info: VideoInfo, selection: Selection,
                 backend: DepthBackend, stabiliser: Stabiliser | None, anchor: _Anchor | None,
                 job: ChunkedJob):
        self.config, self.info, self.selection = config, info, selection
        self.backend, self.stabiliser, self.anchor, self.job = backend, stabiliser, anchor, job
        self.aligner = MetricAligner() if anchor is not None else None
        self.tags = {"backend": backend.description}

    def _restore(self) -> np.ndarray:
        state = self.job.last_state() or {}
        self.backend.restore(state)
        if self.stabiliser is not None:
            self.stabiliser.restore(state)
        if self.aligner is not None:
            self.aligner.restore(state)
        return np.asarray(state.get("xfovs", np.zeros(0)), np.float64)

    def _state(self, fovs: list[float]) -> dict:
        state = {**self.backend.state(), "xfovs": np.array(fovs, np.float64)}
        if self.stabiliser is not None:
            state.update(self.stabiliser.state())
        if self.aligner is not None:
            state.update(self.aligner.state())
        return state

    def _relative(self, result: DepthFrame, frame: np.ndarray) -> np.ndarray:
        """Backend output after the stabiliser: metres or relative inverse depth."""
        if self.stabiliser is None:
            return result.depth
        return self.stabiliser(frame, result.depth, result.invalid)

    def _metres(self, depth: np.ndarray, result: DepthFrame) -> tuple[np.ndarray, np.ndarray | None]:
        if self.aligner is not None:
            depth = self.aligner.apply(depth)
        max_depth = self.config.max_depth
        depth = np.clip(np.nan_to_num(depth, nan=max_depth, posinf=max_depth), 0, max_depth)
        return depth.astype(np.float32), result.invalid

    def _fit_on_first_chunk(self, outputs, colours, length: int):
        """Hold the first chunk, measure its anchor frames, fit the metric alignment;
        return the held (result, relative) pairs."""
        held = []
        for k in range(length):
            result = next(outputs)
            number, frame = next(colours)
            relative = self._relative(result, frame)
            held.append((result, relative))
            if k % self.config.anchor_every == 0:
                metric, invalid, sky = self.anchor.depth(number, frame)
                self.aligner.add(relative, metric, sky, invalid)
        self.aligner.solve()
        return iter(held)

    def execute(self) -> np.ndarray:
        """Write every pending chunk; return the (N,) per-frame FOV estimates (empty when
        the backend makes none)."""
        fovs = list(self._restore())
        done = self.job.frames_done
        bar = progress(total=self.selection.count, desc=Path(self.info.path).name)
        bar.update(done)
        with VideoReader(self.info.path, self.info) as source, \
                VideoReader(self.info.path, self.info) as colour_source:
            outputs = self.backend.stream(selected_frames(source, self.selection, done))
            colours = selected_frames(colour_source, self.selection, done)
            for chunk in self.job.pending():
                held = None
                if self.aligner is not None and self.aligner.fit is None:
                    held = self._fit_on_first_chunk(outputs, colours, chunk.length)
                with DepthVideoWriter(chunk.path, self.info.width, self.info.height,
                                      self.selection.fps, max_depth=self.config.max_depth,
                                      overwrite=True, expected_frames=chunk.length,
                                      tags=self.tags) as writer:
                    for _ in range(chunk.length):
                        if held is not None:
                            result, relative = next(held)
                        else:
                            result = next(outputs)
                            relative = self._relative(result, next(colours)[1])
                        depth, invalid = self._metres(relative, result)
                        writer.write(depth, invalid)
                        if result.xfov is not None:
                            fovs.append(result.xfov)
                        bar.update(1)
                self.job.complete(chunk, self._state(fovs))
        bar.close()
        return np.array(fovs, np.float64)
