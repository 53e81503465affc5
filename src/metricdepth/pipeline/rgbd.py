"""RGB-D recordings (TUM RGB-D layout) as pipeline input: a colour video from the RGB
frames and a folder of the depth images paired with them, for step 1's frames backend.

TUM layout: `rgb/*.png`, `depth/*.png` (16-bit, value / 5000 = metres, 0 = none) and
`associate.txt`, whose lines `t_rgb rgb/NAME.png t_depth depth/NAME.png` pair each colour
frame with its depth frame (colour and depth are captured at slightly different times).
When it does not list every colour image (the 9-frame TUM sample lists 2), each colour
image takes the depth image nearest in time (file names are timestamps), as TUM's
associate.py does.
"""

from __future__ import annotations

import logging
import shutil
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..depth.backends.frames import read_depth_frame
from ..errors import InputError, OutputExistsError
from ..io import naming
from ..io.atomic import AtomicFolder, check_writable
from ..io.text_list import read_lines
from ..io.video import VideoWriter

log = logging.getLogger(__name__)

ASSOCIATIONS = "associate.txt"
MAX_TIME_DIFFERENCE_S = 0.02  # TUM associate.py's default: colour and depth this close pair
DEPTH_FRAMES = "_depth_frames"  # folder beside the built video: the paired depth images
DEPTH_FRAME_NAME = "depth_{:06d}.png"


def depth_frames_folder(video: Path) -> Path:
    return naming.output_path(video, DEPTH_FRAMES)


def _stamp(path: Path) -> float | None:
    try:
        return float(path.stem)
    except ValueError:
        return None


def _listed_pairs(folder: Path, listing: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for number, line in enumerate(read_lines(listing, "association list"), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 4:
            raise InputError(
                listing, f"line {number}: expected 't_rgb rgb_file t_depth depth_file', got {line!r}"
            )
        pairs.append((folder / words[1], folder / words[3]))
    return pairs


def _nearest_pairs(folder: Path, colour: list[Path], depth: list[Path]) -> list[tuple[Path, Path]]:
    """Each colour image with the depth image nearest in time (names are timestamps), as
    TUM's associate.py does; names that are not numbers are paired in sorted order."""
    colour_t, depth_t = [_stamp(p) for p in colour], [_stamp(p) for p in depth]
    if None in colour_t or None in depth_t or not depth:
        if len(colour) != len(depth):
            raise InputError(
                folder,
                f"rgb/ holds {len(colour)} images, depth/ {len(depth)}; "
                f"name them by timestamp or add an {ASSOCIATIONS} for every frame",
            )
        return list(zip(colour, depth))
    times = np.array(depth_t)
    pairs = []
    for path, t in zip(colour, colour_t):
        nearest = int(np.argmin(np.abs(times - t)))
        if abs(times[nearest] - t) > MAX_TIME_DIFFERENCE_S:
            raise InputError(path, f"no depth image within {MAX_TIME_DIFFERENCE_S} s of it")
        pairs.append((path, depth[nearest]))
    return pairs


def rgbd_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """(colour image, depth image) per frame, in time order: every image of `rgb/`, paired
    by `associate.txt` when it lists them all, else by nearest timestamp."""
    if not folder.is_dir():
        raise InputError(folder, "RGB-D folder not found")
    colour = sorted((folder / "rgb").glob("*.png"), key=lambda p: (_stamp(p) or 0.0, p.name))
    depth = sorted((folder / "depth").glob("*.png"), key=lambda p: (_stamp(p) or 0.0, p.name))
    if not colour:
        raise InputError(folder, "no RGB-D frames (expected rgb/*.png and depth/*.png)")
    listing = folder / ASSOCIATIONS
    pairs = _listed_pairs(folder, listing) if listing.is_file() else []
    if len(pairs) < len(colour):
        if pairs:
            log.info(
                "%s lists %d of %d colour frames; pairing by timestamp instead",
                listing,
                len(pairs),
                len(colour),
            )
        pairs = _nearest_pairs(folder, colour, depth)
    for pair in pairs:
        for path in pair:
            if not path.is_file():
                raise InputError(path, "listed in the RGB-D folder but missing")
    return pairs


def import_rgbd(
    folder: str | Path, video: str | Path, fps: int | Fraction, overwrite: bool = False
) -> tuple[Path, Path]:
    """Build `video` (FFV1) from the colour frames of `folder` and a folder of its paired
    depth images beside it; return (video, depth folder). Every image is checked (readable,
    depth 16-bit and the colour frames' size) while both are written under temporary
    names, so a bad one leaves nothing; the folder is committed first and the video last,
    so a video with its folder beside it is complete and kept, and a video without one is
    not ours and is refused (unless `overwrite`)."""
    folder, video = Path(folder), Path(video)
    depth_dir = depth_frames_folder(video)
    if video.exists() and not overwrite:
        if depth_dir.is_dir():  # built by an earlier run (the video is written last)
            return video, depth_dir
        raise OutputExistsError(video)
    check_writable(video, overwrite)
    pairs = rgbd_pairs(folder)
    first = cv2.imread(str(pairs[0][0]), cv2.IMREAD_COLOR)
    if first is None:
        raise InputError(pairs[0][0], "not a readable image")
    height, width = first.shape[:2]
    target = AtomicFolder(depth_dir, overwrite=True, member_prefix="depth_")
    target.tmp.mkdir()
    try:
        with VideoWriter(
            video,
            width,
            height,
            fps,
            overwrite=overwrite,
            expected_frames=len(pairs),
            tags={"source": str(folder)},
        ) as writer:
            for index, (colour, depth) in enumerate(pairs):
                bgr = cv2.imread(str(colour), cv2.IMREAD_COLOR)
                if bgr is None or bgr.shape[:2] != (height, width):
                    raise InputError(colour, f"not a readable {width}x{height} image")
                if read_depth_frame(depth, 1.0)[0].shape != (height, width):
                    raise InputError(depth, f"depth image is not {width}x{height} like the colour images")
                writer.write(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                shutil.copyfile(depth, target.tmp / DEPTH_FRAME_NAME.format(index + 1))
            target.commit()  # inside the block: the video is committed after its folder
    except BaseException:
        target.abort()
        if depth_dir.is_dir() and not video.exists():  # the video failed as it closed
            shutil.rmtree(depth_dir, ignore_errors=True)
        raise
    log.info("%s: %d frames from %s; depth images in %s", video, len(pairs), folder, depth_dir)
    return video, depth_dir
