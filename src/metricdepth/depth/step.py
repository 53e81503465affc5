"""Step 1: a colour video -> its metric depth video ``X_depth.mkv``, streamed and resumable.

    paths = convert(DepthConfig(color_video="clip.mp4", backend="vda_metric"))

Frames are decoded, run through the backend and encoded chunk by chunk
(`metricdepth.io.chunked.ChunkedJob`), so memory does not grow with the video. After
each chunk the state needed to continue (the backend's temporal state, the stabiliser's
reference, the metric fit, the FOV estimates so far) is saved with it; `--resume`
continues after the last finished chunk and gives the same bytes as an uninterrupted run.

Per output frame: backend -> stabiliser (per-frame backends) -> metric alignment
(relative backends) -> depth clipped to [0, max_depth] (farther, sky and unknown depth
are written as max_depth; pixels the backend marks as without depth, such as the 0s of
imported sensor depth, are filled from their surroundings and recorded in the mask video
``X_depth.mkv_filledmask.mkv``, committed with the depth video as one job, see
`depth/missing.py`). Relative backends are fitted once, on the first chunk: its
frames are held until the anchor frames (every `anchor_every`-th) have been measured
by the anchor model or read from the reference depth video.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from ..camera import Intrinsics
from ..config import validate_config
from ..errors import InputError
from ..io import naming
from ..io.atomic import check_writable
from ..io.checks import check_matching
from ..io.chunked import Chunk, ChunkedJob, check_outputs
from ..io.depth_video import DepthVideoReader, DepthVideoWriter
from ..io.mask_video import MaskVideoWriter
from ..io.sidecars import write_xfovs
from ..io.source_frames import TAG_SOURCE_FRAMES, source_frames_tag
from ..io.text_list import read_lines
from ..io.video import VideoInfo, VideoReader, probe
from ..progress import progress
from .base import BackendOptions, DepthBackend, DepthFrame, resolve_device
from .config import DepthConfig
from .exports import ExportSettings, check_exports, export_paths, write_exports
from .max_res import cap_frames, restore_size
from .metric_align import SKY_FRACTION, MetricAligner
from .missing import FILLED_MASK_TAG, FILLED_RULE, FILLED_TAG, fill_missing_depth, filled_pixels
from .registry import BACKENDS, build_backend, published_checkpoint
from .sampling import SAMPLE_KEYFRAMES, Selection, blank_frames, select_frames, selected_frames
from .stabilise import DEFAULT_SMOOTHING_LAG, Stabiliser

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


def _check_config(config: DepthConfig, videos: list[Path]) -> None:
    """What the declared option ranges (checked by validate_config) cannot say alone."""
    if config.xfov is not None and config.yfov is not None:
        raise InputError("--yfov", "give --xfov or --yfov, not both")
    if len(videos) > 1 and (config.depth_video or config.depth_frames):
        raise InputError(
            "--color_video",
            "a list of videos cannot share one --depth_video or "
            "--depth_frames; convert those videos one at a time",
        )
    _check_model_flags(config)
    if config.sample == SAMPLE_KEYFRAMES and config.target_fps is not None:
        raise InputError("--target_fps", "give --target_fps or --sample keyframes, not both")
    if config.palette != "turbo" and not config.save_vis:
        log.warning("--palette %s has no effect without --save_vis", config.palette)


def _check_model_flags(config: DepthConfig) -> None:
    """--model, --max_res and --smoothing against the backend, before any work."""
    if config.model is not None:
        if config.checkpoint is not None:
            raise InputError(
                "--model", "give --model (published weights) or --checkpoint (your own), not both"
            )
        published_checkpoint(config.backend, config.model)
    patch = BACKENDS[config.backend].patch
    if config.max_res is not None:
        if patch is None:
            raise InputError(
                "--max_res", f"backend {config.backend} runs no network; --max_res does not apply"
            )
        if config.max_res < patch:
            raise InputError(
                "--max_res",
                f"{config.max_res} px is below the network's patch size ({patch} px for {config.backend})",
            )
    if config.smoothing != DEFAULT_SMOOTHING_LAG and not config.stabilise:
        log.warning("--smoothing has no effect with --no-stabilise")


def filled_mask_path(config: DepthConfig, depth_video: Path) -> Path | None:
    """The mask video in which step 1 records the pixels it filled, beside `depth_video`
    (a second output of the same job), or None when `config`'s backend marks no pixels
    as without depth."""
    if not BACKENDS[config.backend].marks_missing:
        return None
    return naming.output_path(depth_video, naming.FILLED_MASK)


# -- backends -----------------------------------------------------------------------------


def _xfov_given(config: DepthConfig, info: VideoInfo) -> float | None:
    """The horizontal FOV from --xfov or --yfov, or None."""
    if config.xfov is not None:
        return config.xfov
    if config.yfov is not None:
        return Intrinsics.from_fov(info.width, info.height, yfov=config.yfov).xfov
    return None


def _options(config: DepthConfig, info: VideoInfo) -> BackendOptions:
    return BackendOptions(
        device=config.device,
        fp32=config.fp32,
        input_size=config.input_size,
        batch=config.batch,
        xfov=_xfov_given(config, info),
        depth_frames=Path(config.depth_frames) if config.depth_frames else None,
        depth_scale=config.depth_scale,
        frame_count=info.frame_count,
        frame_size=(info.width, info.height),
        model_size=config.model,
        extra={"vda_streaming": config.vda_streaming},
    )


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
        self.model = build_backend(
            config.anchor_backend, config.anchor_checkpoint, replace(_options(config, info), model_size=None)
        )
        if type(self.model).infer is DepthBackend.infer:
            raise InputError(
                "--anchor_backend",
                f"{config.anchor_backend} is a video model; "
                "choose a per-frame metric model (da2, da2_outdoor, depthpro)",
            )
        if not self.model.metric:
            raise InputError(
                "--anchor_backend",
                f"{config.anchor_backend} with these weights is "
                "not metric; choose a metric anchor model or give --depth_video",
            )
        self.description = f"anchor:{self.model.description}"

    def depth(self, number: int, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, float]:
        if self.reference is not None:
            return self.reference.read(number), None, SKY_FRACTION * self.reference.max_depth
        assert self.model is not None  # without a reference video, an anchor model
        result = self.model.infer(frame[None], np.array([number]))[0]
        cap = getattr(getattr(getattr(self.model, "model", None), "config", None), "max_depth", None)
        sky = SKY_FRACTION * cap if cap else math.inf
        return result.depth, result.invalid, sky


# -- the step -----------------------------------------------------------------------------


def convert(config: DepthConfig) -> list[Path]:
    """Run step 1 on every video of `config.color_video`; return the paths written."""
    validate_config(config)
    videos = video_list(config.color_video)
    _check_config(config, videos)
    written: list[Path] = []
    for video in videos:
        written.extend(_convert_video(config, video, many=len(videos) > 1))
    return written


def _convert_video(config: DepthConfig, video: Path, many: bool) -> list[Path]:
    info = probe(video)
    selection = select_frames(
        info,
        start=config.start,
        duration=config.duration,
        target_fps=config.target_fps,
        preview=config.preview,
        max_frames=config.max_frames,
        sample=config.sample,
    )
    depth_path = naming.output_path(video, naming.DEPTH)
    exr = (
        None
        if config.save_exr is None
        else (Path(config.save_exr) / video.name if many else Path(config.save_exr))
    )
    exports = export_paths(
        video,
        depth_path,
        exr,
        npz=config.save_npz,
        png16=config.save_png16,
        vis=config.save_vis,
        ply=config.save_ply_every > 0,
        depth_zip=config.save_depth_zip,
        ndjson=config.save_ndjson,
        csv=config.save_csv_every > 0,
    )
    check_exports(exports, config.overwrite)
    check_outputs([depth_path], config.overwrite)

    backend = build_backend(config.backend, config.checkpoint, _options(config, info))
    xfov = _xfov_given(config, info)
    write_fovs = backend.estimates_fov and xfov is None
    xfovs_path = naming.output_path(depth_path, naming.XFOVS) if write_fovs else None
    if xfovs_path is not None:
        check_writable(xfovs_path, config.overwrite)
    for flag, every in (
        ("--save_ply_every", config.save_ply_every),
        ("--save_csv_every", config.save_csv_every),
    ):
        if every and xfov is None and not backend.estimates_fov:
            raise InputError(
                flag,
                "point clouds need a field of view: give --xfov or --yfov "
                "(or use a backend that estimates it, e.g. depthpro)",
            )
    filled_path = filled_mask_path(config, depth_path)
    anchor = None if backend.metric else _Anchor(config, info)
    stabiliser = (
        Stabiliser(relative=not backend.metric, smoothing=config.smoothing)
        if config.stabilise and not backend.temporal
        else None
    )
    if backend.temporal and config.smoothing != DEFAULT_SMOOTHING_LAG:
        log.warning("--smoothing has no effect: %s is temporal by itself (no stabiliser)", config.backend)

    settings = {
        **asdict(config),
        "color_video": str(video),
        "overwrite": None,
        "resume": None,
        "save_exr": None,
        "save_npz": None,
        "save_png16": None,
        "save_vis": None,
        "save_ply_every": None,
        "palette": None,
        "save_depth_zip": None,
        "save_ndjson": None,
        "save_csv_every": None,
        "device": resolve_device(config.device),
        "backend_weights": backend.description,
        "anchor": anchor.description if anchor else None,
        "selection": [selection.first, selection.stop, selection.stride, selection.count],
    }
    chunk = math.ceil(config.chunk_frames / config.batch) * config.batch
    job = ChunkedJob(
        depth_path,
        selection.count,
        chunk,
        settings,
        overwrite=config.overwrite,
        resume=config.resume,
        extra_outputs=[filled_path] if filled_path else [],
    )
    run = _Run(config, info, selection, backend, stabiliser, anchor, job)
    with job:  # a failure before the first chunk is done leaves nothing
        fovs = run.execute()
        final = job.finish()
    written = list(job.finals)  # the depth video (and its filled-pixel mask)
    if xfovs_path is not None:
        written.append(write_xfovs(xfovs_path, fovs, overwrite=config.overwrite))
    ply_fovs = np.full(selection.count, xfov) if xfov is not None else fovs
    export_settings = ExportSettings(
        palette=config.palette,
        video_name=video.name,
        frame_indices=tuple(selection.indices()),
        ply_every=config.save_ply_every,
        csv_every=config.save_csv_every,
        xfovs=ply_fovs,
    )
    with VideoReader(video, info) as reader:
        written += write_exports(
            final,
            exports,
            config.overwrite,
            colour_frames=(f for _, f in selected_frames(reader, selection)),
            settings=export_settings,
        )
    log.info("%s: wrote %s", video, ", ".join(str(p) for p in written))
    return written


class _Run:
    """One video's chunk loop (see the module docstring)."""

    def __init__(
        self,
        config: DepthConfig,
        info: VideoInfo,
        selection: Selection,
        backend: DepthBackend,
        stabiliser: Stabiliser | None,
        anchor: _Anchor | None,
        job: ChunkedJob,
    ):
        self.config, self.info, self.selection = config, info, selection
        self.backend, self.stabiliser, self.anchor, self.job = backend, stabiliser, anchor, job
        self.aligner = MetricAligner() if anchor is not None else None
        self.tags = {
            "backend": backend.description,
            TAG_SOURCE_FRAMES: source_frames_tag(selection.indices()),
        }
        self.records_filled = len(job.finals) > 1  # the mask of filled pixels is the second output
        if self.records_filled:
            self.tags[FILLED_TAG] = FILLED_RULE
            self.tags[FILLED_MASK_TAG] = job.finals[1].name

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

    def _metres(self, depth: np.ndarray, result: DepthFrame) -> np.ndarray:
        """(H, W) float32 metres in [0, max_depth], pixels without depth filled."""
        if self.aligner is not None:
            depth = self.aligner.apply(depth)
        max_depth = self.config.max_depth
        depth = np.clip(np.nan_to_num(depth, nan=max_depth, posinf=max_depth), 0, max_depth)
        if result.invalid is not None:  # not at max_depth: step 6 would draw them at infinity
            depth = fill_missing_depth(depth, result.invalid)
        return depth.astype(np.float32)

    def _filled(self, result: DepthFrame) -> np.ndarray:
        """(H, W) bool: the pixels `_metres` filled for `result`."""
        if result.invalid is None:
            return np.zeros((self.info.height, self.info.width), bool)
        return filled_pixels(result.invalid)

    def _writers(
        self, chunk: Chunk, stack: contextlib.ExitStack
    ) -> tuple[DepthVideoWriter, MaskVideoWriter | None]:
        """The chunk's depth writer and, when filled pixels are recorded, its mask writer."""
        frame = (self.info.width, self.info.height, self.selection.fps)  # size and rate
        depth = stack.enter_context(
            DepthVideoWriter(
                chunk.path,
                *frame,
                max_depth=self.config.max_depth,
                overwrite=True,
                expected_frames=chunk.length,
                tags=self.tags,
            )
        )
        if not self.records_filled:
            return depth, None
        mask = MaskVideoWriter(
            chunk.paths[1],
            *frame,
            overwrite=True,
            expected_frames=chunk.length,
            tags={FILLED_TAG: FILLED_RULE},
        )
        return depth, stack.enter_context(mask)

    def _fit_on_first_chunk(self, outputs, colours, length: int):
        """Hold the first chunk, measure its anchor frames, fit the metric alignment;
        return the held (result, relative) pairs."""
        assert self.anchor is not None and self.aligner is not None  # a relative model's run
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
        with VideoReader(self.info.path, self.info) as source:
            size = (self.info.width, self.info.height)
            # one decode: the colour frames wait in the tee's buffer (a backend window at
            # most) until the chunk loop pairs them with the backend's outputs
            if self.backend.reads_colour:
                to_backend, colours = itertools.tee(selected_frames(source, self.selection, done))
                frames = cap_frames(to_backend, self.config.max_res)
            else:  # imported depth: nothing looks at the colour pixels, none is decoded
                frames, colours = itertools.tee(blank_frames(self.selection, size, done))
            outputs = (restore_size(result, size) for result in self.backend.stream(frames))
            for chunk in self.job.pending():
                held = None
                if self.aligner is not None and self.aligner.fit is None:
                    held = self._fit_on_first_chunk(outputs, colours, chunk.length)
                with contextlib.ExitStack() as stack:
                    writer, filled = self._writers(chunk, stack)
                    for _ in range(chunk.length):
                        if held is not None:
                            result, relative = next(held)
                        else:
                            result = next(outputs)
                            relative = self._relative(result, next(colours)[1])
                        writer.write(self._metres(relative, result))
                        if filled is not None:
                            filled.write(self._filled(result))
                        if result.xfov is not None:
                            fovs.append(result.xfov)
                        bar.update(1)
                self.job.complete(chunk, self._state(fovs))
        bar.close()
        return np.array(fovs, np.float64)
