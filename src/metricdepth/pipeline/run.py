"""Run steps 1-8 on a video: `run_pipeline(PipelineConfig) -> PipelineResult`.

Complete steps are skipped, interrupted ones resumed (see `steps`), so after a crash the
same command finishes the job. With `split_scenes` every scene runs steps 1-7 as its own
clip (one after the other, or in parallel as Ray tasks with `ray_address`: `cluster`) and
the scenes' filled stereo videos are joined before step 8 adds the audio of the original
video.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError
from ..io.atomic import check_folder_writable
from ..io.chunked import WORK_SUFFIX, is_committing, remove_leftovers
from ..io.video import probe
from . import cluster, preview, scenes
from .commands import pipeline_commands
from .config import STEP_NAMES, PipelineConfig
from .rgbd import depth_frames_folder, import_rgbd
from .steps import STEPS, ClipFiles, Step
from .summary import BEFORE_FROM, RAN, RESUMED, SKIPPED, PipelineResult, StepRecord

log = logging.getLogger(__name__)

# Steps that need the field of view (camera, rescale, stereo, infill).
NEEDS_FOV = ("camera", "rescale", "stereo", "infill")
FOV_ESTIMATING_BACKENDS = ("depthpro",)
INFILL = STEP_NAMES.index("infill")
COMPRESS = STEP_NAMES.index("compress")


def run_pipeline(config: PipelineConfig) -> PipelineResult:
    """Run the steps `config` asks for; return what ran and where the outputs are."""
    if config.print_commands and config.split_scenes:
        raise InputError(
            "--print_commands",
            "prints one clip's commands; it cannot be combined "
            "with --split_scenes (every scene is its own clip)",
        )
    config, video = _prepare_video(config)
    if config.print_commands:
        return PipelineResult(video, commands=pipeline_commands(config, ClipFiles(video)))
    if config.preview:
        config, video = _preview(config, video)
    result = PipelineResult(video)
    first, last = STEP_NAMES.index(config.first_step), STEP_NAMES.index(config.last_step)
    if not config.split_scenes:
        files = ClipFiles(video)
        _run_steps(config, files, result, video.name, 0, last)
        if last == COMPRESS:
            result.final = result.records[-1].outputs[0]
        return result

    ranges = scenes.scene_ranges(video, config.scene_threshold, config.min_scene_frames)
    clips = scenes.cut_scenes(video, ranges, overwrite=False)
    result.scenes = len(clips)
    depth_frames: Sequence[Path | None] = [None] * len(clips)
    if config.depth_backend == "frames" and config.depth_frames is not None:
        depth_frames = scenes.split_depth_frames(Path(config.depth_frames), video, ranges)
    jobs = [
        cluster.Scene(
            clip,
            config if frames is None else dataclasses.replace(config, depth_frames=str(frames)),
            f"scene {index + 1}/{len(clips)}",
            min(last, INFILL),
        )
        for index, (clip, frames) in enumerate(zip(clips, depth_frames))
    ]
    for records in cluster.run_scenes(jobs, run_scene, config):
        result.records += records
    if last == COMPRESS:
        joined = scenes.joined_path(video)
        if first <= COMPRESS and (config.overwrite or not joined.exists()):
            start = time.perf_counter()
            scenes.join_videos(
                [ClipFiles(c).infilled for c in clips], joined, probe(video), overwrite=config.overwrite
            )
            result.records.append(
                StepRecord("all scenes", "join", "scenes joined", RAN, time.perf_counter() - start, [joined])
            )
        _run_steps(config, ClipFiles(video, joined=joined), result, video.name, COMPRESS, COMPRESS)
        result.final = result.records[-1].outputs[0]
    return result


def run_scene(scene: cluster.Scene) -> list[StepRecord]:
    """Steps 1 .. scene.last of one scene's clip (here, or on a Ray worker: `cluster`)."""
    result = PipelineResult(scene.clip)
    _run_steps(scene.config, ClipFiles(scene.clip), result, scene.label, 0, scene.last)
    return result.records


def with_rgbd_frames(config: PipelineConfig) -> PipelineConfig:
    """With --rgbd, the depth frames folder the import fills (beside the video)."""
    if config.rgbd is None or config.depth_frames is not None:
        return config
    return dataclasses.replace(config, depth_frames=str(depth_frames_folder(config.video_path)))


def _prepare_video(config: PipelineConfig) -> tuple[PipelineConfig, Path]:
    """The colour video (built from --rgbd frames when asked) and the config to run with;
    the options are checked first, so a refused run creates nothing."""
    video = config.video_path
    config = with_rgbd_frames(config)
    _check_options(config, ClipFiles(video))
    check_folder_writable(video.parent)  # every step writes beside the video
    if config.rgbd is not None:
        import_rgbd(config.rgbd, video, config.rgbd_fps, config.overwrite)
    probe(video)  # refuses a missing or unreadable video before any work
    return config, video


def _preview(config: PipelineConfig, video: Path) -> tuple[PipelineConfig, Path]:
    """The preview clip of `video` and the config to run it with (`preview.py`)."""
    clip = preview.make_preview(video, config.preview, config.overwrite)
    if config.depth_backend == "frames" and config.depth_frames is not None:
        frames = preview.preview_depth_frames(Path(config.depth_frames), video, clip, config.preview)
        config = dataclasses.replace(config, depth_frames=str(frames))
    log.info("%s: preview of every %d. frame in %s", video, config.preview, clip)
    return config, clip


def _check_options(config: PipelineConfig, files: ClipFiles) -> None:
    """Refuse settings that would fail halfway, before anything runs."""
    first, last = STEP_NAMES.index(config.first_step), STEP_NAMES.index(config.last_step)
    wanted = STEP_NAMES[first : last + 1]
    cluster.check_options(config)
    if config.preview == 1:
        raise InputError("--preview", "1 is every frame (the full run); give N >= 2, or 0 for none")
    for step in STEPS:  # every step's settings checked (config file included) before step 1
        step.settings(config, files)
    fov_given = config.xfov is not None or config.yfov is not None
    if (
        any(s in wanted for s in NEEDS_FOV)
        and not fov_given
        and not files.xfovs.exists()
        and config.depth_backend not in FOV_ESTIMATING_BACKENDS
    ):
        raise InputError(
            "--xfov",
            "no field of view: pass --xfov or --yfov (full angle, degrees: "
            "about 60-70 for phones and webcams, e.g. TUM RGB-D's Kinect 63.5), "
            "or estimate it with --depth_backend depthpro",
        )
    if (
        config.depth_backend == "frames"
        and config.depth_frames is None
        and "depth" in wanted
        and not files.depth.exists()
    ):
        raise InputError(
            "--depth_frames",
            "the frames backend imports depth images: give --depth_frames DIR (or --rgbd DIR)",
        )


def _run_steps(
    config: PipelineConfig, files: ClipFiles, result: PipelineResult, clip: str, lo: int, hi: int
) -> None:
    """Steps lo..hi (indices into STEPS) of one clip; steps before --from must be complete."""
    first = STEP_NAMES.index(config.first_step)
    for index in range(lo, hi + 1):
        step = STEPS[index]
        settings = step.settings(config, files)
        outputs = step.outputs(files, settings)
        for path in outputs:
            remove_leftovers(path)
        # a step stopped while committing its outputs is not complete: it runs again
        present = [p.exists() and not is_committing(p) for p in outputs]
        if index < first:
            if not all(present):
                missing = outputs[present.index(False)]
                raise InputError(
                    "--from",
                    f"{config.first_step}: the earlier step {step.name} of "
                    f"{clip} is not complete ({missing} is missing); run without --from",
                )
            result.records.append(StepRecord(clip, step.name, step.title, BEFORE_FROM, 0.0, outputs))
            continue
        if all(present) and not config.overwrite:
            log.info("%s: step %d %s is complete, skipped", clip, step.number, step.name)
            result.records.append(StepRecord(clip, step.name, step.title, SKIPPED, 0.0, outputs))
            continue
        if any(present) and not config.overwrite:
            absent = [str(p) for p, here in zip(outputs, present) if not here]
            log.warning(
                "%s: step %s stopped between its outputs (%s missing); running it again",
                clip,
                step.name,
                ", ".join(absent),
            )
            settings = dataclasses.replace(settings, overwrite=True)
        resumed = any(p.with_name(p.name + WORK_SUFFIX).is_dir() for p in outputs)
        log.info(
            "%s: step %d/%d %s (%s)%s",
            clip,
            step.number,
            len(STEPS),
            step.name,
            step.title,
            ", resuming" if resumed else "",
        )
        start = time.perf_counter()
        _call(step, settings, config)
        result.records.append(
            StepRecord(
                clip, step.name, step.title, RESUMED if resumed else RAN, time.perf_counter() - start, outputs
            )
        )


def _call(step: Step, settings, config: PipelineConfig) -> None:
    """Run one step; a missing depth model gets the pipeline's two ways out."""
    try:
        step.run(settings)
    except InputError as exc:
        if step.name == "depth" and exc.source == "--checkpoint" and config.depth_checkpoint is None:
            raise InputError(
                "--depth_backend",
                f"the weights of depth model "
                f"{config.depth_backend} are not on this machine ({exc.problem}). "
                "Two ways out: run ./install.sh --models small once while online "
                "(fetches the small default model), or import depth you have: "
                "--depth_backend frames --depth_frames DIR (or --rgbd DIR for "
                "an RGB-D recording)",
            ) from None
        raise
