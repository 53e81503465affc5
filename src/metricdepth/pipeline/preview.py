"""`run_pipeline.py --preview N`: every Nth frame of the clip through every step, quickly.

The sampled frames (0, N, 2N, ...) become a clip of their own beside the video,
`VIDEO_previewN.mkv` (lossless FFV1 at fps / N, so it lasts as long as the video), and
the steps run on it as on any clip: tracks and camera poses come from the sampled
frames, and every output is named after the preview clip, so a preview never overwrites
or blocks the full run's outputs (and a second preview reuses the first one's). With the
frames backend the depth images are sampled alike (links to every Nth image).
"""

from __future__ import annotations

import math
from pathlib import Path

from ..depth.backends.frames import list_depth_frames
from ..errors import InputError
from ..io import naming
from ..io.video import VideoReader, VideoWriter, probe
from ..progress import progress
from .scenes import SCENE_DEPTH_FRAMES, link_depth_frames

PREVIEW_TAG = "_preview{every}.mkv"


def preview_clip(video: Path, every: int) -> Path:
    return naming.output_path(video, PREVIEW_TAG.format(every=every))


def make_preview(video: Path, every: int, overwrite: bool) -> Path:
    """The preview clip of `video` (frames 0, every, 2 * every, ...), written unless it
    exists already; returns its path."""
    clip = preview_clip(video, every)
    if clip.exists() and not overwrite:
        return clip
    info = probe(video)
    count = math.ceil(info.frame_count / every)
    with VideoWriter(
        clip,
        info.width,
        info.height,
        info.fps / every,
        overwrite=overwrite,
        expected_frames=count,
        tags={"source": video.name, "preview_every": str(every)},
    ) as writer:
        for index, frame in enumerate(
            progress(VideoReader(video, info), total=info.frame_count, desc=f"preview 1/{every}")
        ):
            if index % every == 0:
                writer.write(frame)
    return clip


def preview_depth_frames(depth_frames: Path, video: Path, clip: Path, every: int) -> Path:
    """A folder of links to every `every`-th depth image of `depth_frames` (one per frame
    of `video`), for the preview clip `clip`; reused when it exists."""
    files = list_depth_frames(depth_frames)
    frames = probe(video).frame_count
    if len(files) != frames:
        raise InputError(
            depth_frames, f"holds {len(files)} depth images, but {video.name} has {frames} frames"
        )
    return link_depth_frames(files[::every], naming.output_path(clip, SCENE_DEPTH_FRAMES))
