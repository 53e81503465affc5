"""Long films: find the cuts, make each scene its own clip, join the scenes' results.

A cut breaks everything that looks across frames (tracks, camera poses, temporal
smoothing), so each scene runs the steps as its own clip. Scenes are found with
PySceneDetect's ContentDetector, read through PyAV (the same decoder as ours), and cut
with exact frame boundaries: each scene is re-encoded to lossless FFV1 with our writer,
so a scene clip holds exactly the source's frames `start .. stop - 1`. The frame ranges
are stored in `X_scenes/scenes.json`, so a restart reuses them and skips finished
scenes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from ..depth.backends.frames import list_depth_frames
from ..errors import InputError
from ..io import chunked, naming
from ..io.atomic import AtomicFolder, atomic_output
from ..io.video import VideoInfo, VideoReader, VideoWriter, probe
from ..progress import progress

log = logging.getLogger(__name__)

SCENES_DIR = "_scenes"  # folder beside the video: the scene clips
SCENES_JSON = "scenes.json"  # [[start, stop], ...] frame ranges, stop exclusive
JOINED_STEREO = "_scenes_infilled.mkv"  # the scenes' filled stereo videos, joined
SCENE_DEPTH_FRAMES = "_depth_frames"  # frames backend: a scene's share of the depth images

SCENE_DETECT_BACKEND = "pyav"


def scenes_folder(video: Path) -> Path:
    return naming.output_path(video, SCENES_DIR)


def joined_path(video: Path) -> Path:
    return naming.output_path(video, JOINED_STEREO)


def detect_scenes(video: Path, threshold: float, min_scene_frames: int) -> list[tuple[int, int]]:
    """Frame ranges (start, stop) of the scenes of `video`, in order, covering every frame."""
    from scenedetect import ContentDetector, detect

    info = probe(video)
    found = detect(
        str(video),
        ContentDetector(threshold=threshold, min_scene_len=min_scene_frames),
        backend=SCENE_DETECT_BACKEND,
    )
    starts = sorted({start.frame_num for start, _ in found} | {0})
    ranges = [(a, b) for a, b in zip(starts, starts[1:] + [info.frame_count]) if b > a]
    log.info("%s: %d scene(s) at frames %s", video, len(ranges), [a for a, _ in ranges])
    return ranges


def scene_ranges(video: Path, threshold: float, min_scene_frames: int) -> list[tuple[int, int]]:
    """The stored scene ranges of `video`, or new ones (detected and stored)."""
    folder = scenes_folder(video)
    stored = folder / SCENES_JSON
    if stored.is_file():
        try:
            ranges = [tuple(r) for r in json.loads(stored.read_text())]
        except (json.JSONDecodeError, TypeError):
            raise InputError(stored, "damaged scene list; remove the folder or pass --overwrite") from None
        if not ranges or ranges[-1][1] != probe(video).frame_count:
            raise InputError(
                stored,
                f"does not cover {video.name}'s frames (another video?); "
                "remove the folder or pass --overwrite",
            )
        return ranges
    ranges = detect_scenes(video, threshold, min_scene_frames)
    folder.mkdir(exist_ok=True)
    with atomic_output(stored) as tmp:
        tmp.write_text(json.dumps(ranges))
    return ranges


def scene_clip(video: Path, index: int) -> Path:
    """Path of scene `index` (0-based) of `video`."""
    return scenes_folder(video) / f"scene_{index + 1:03d}.mkv"


def cut_scenes(video: Path, ranges: list[tuple[int, int]], overwrite: bool) -> list[Path]:
    """Write every scene of `video` as an FFV1 clip (skipping those written already);
    return their paths in order."""
    info = probe(video)
    clips = []
    for index, (start, stop) in enumerate(ranges):
        clip = scene_clip(video, index)
        clips.append(clip)
        if clip.exists() and not overwrite:
            continue
        with VideoWriter(
            clip, info.width, info.height, info.fps, overwrite=overwrite, expected_frames=stop - start
        ) as writer:
            for frame in progress(
                VideoReader(video, info).frames(start, stop),
                total=stop - start,
                desc=f"scene {index + 1}/{len(ranges)}",
            ):
                writer.write(frame)
    return clips


def split_depth_frames(depth_frames: Path, video: Path, ranges: list[tuple[int, int]]) -> list[Path]:
    """Per scene, a folder of links to its depth images (frames backend): the folder's
    images in frame order, cut like the video. Returns the folders in scene order."""
    files = list_depth_frames(depth_frames)
    if len(files) != ranges[-1][1]:
        raise InputError(
            depth_frames, f"holds {len(files)} depth images, but {video.name} has {ranges[-1][1]} frames"
        )
    return [
        link_depth_frames(files[start:stop], naming.output_path(scene_clip(video, index), SCENE_DEPTH_FRAMES))
        for index, (start, stop) in enumerate(ranges)
    ]


def link_depth_frames(files: list[Path], final: Path) -> Path:
    """The folder `final` of links to `files`, numbered in order (kept when it exists)."""
    if final.is_dir():
        return final
    target = AtomicFolder(final, overwrite=False, member_prefix="depth_")
    target.tmp.mkdir()
    for k, source in enumerate(files):
        (target.tmp / f"depth_{k + 1:06d}{source.suffix.lower()}").symlink_to(source.resolve())
    return target.commit()


def join_videos(parts: Iterable[Path], out: Path, info: VideoInfo, overwrite: bool) -> Path:
    """Join the scenes' FFV1 videos `parts` one after the other into `out` (packets copied,
    nothing re-encoded); the parts must have one size and `info`'s frame rate."""
    parts = list(parts)
    infos = [probe(p) for p in parts]
    sizes = {(i.width, i.height) for i in infos}
    if len(sizes) != 1:
        raise InputError(parts[0], f"scene videos differ in size ({sorted(sizes)}); cannot join")
    rates = {i.fps for i in infos}
    if rates != {info.fps}:
        raise InputError(parts[0], f"scene videos run at {sorted(rates)} fps, the source at {info.fps}")
    return chunked.join_videos(parts, out, overwrite=overwrite)
