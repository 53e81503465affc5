"""Step 1's optional exports, written from the finished depth video.

Reading back the final `X_depth.mkv` (rather than exporting while the model runs) keeps
the exports consistent with it, and lets an interrupted, resumed run produce them in
full. Values therefore carry the depth video's quantisation (1.55 mm at max_depth 100).
Formats: `metricdepth.io.exports` (EXR, NPZ, 16-bit PNG zip, preview) and
`metricdepth.io.ply` (point clouds, one per Nth frame, in that frame's camera: x right,
y down, z forward, metres; pixels at max_depth, i.e. without depth, are left out).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import Intrinsics, unproject_depth
from ..io import naming
from ..io.atomic import AtomicFolder, check_writable
from ..io.depth_video import DepthVideoReader
from ..io.exports import DepthExrWriter, DepthNpzWriter, DepthPng16ZipWriter, DepthPreviewWriter
from ..io.ply import PointCloud, write_ply
from ..progress import progress

PLY_STEM = "frame_"  # + 1-based number + .ply inside the point-cloud folder


@dataclass(frozen=True)
class ExportPaths:
    """Where each requested export goes (None: not requested)."""

    exr: Path | None = None
    npz: Path | None = None
    png16: Path | None = None
    vis: Path | None = None
    ply: Path | None = None

    def requested(self) -> list[Path]:
        return [p for p in (self.exr, self.npz, self.png16, self.vis, self.ply) if p is not None]


def export_paths(video: Path, depth: Path, exr: Path | None, npz: bool, png16: bool,
                 vis: bool, ply: bool) -> ExportPaths:
    """The export paths for colour video `video` and its depth video `depth`."""
    return ExportPaths(exr=exr,
                       npz=naming.output_path(video, naming.DEPTH_NPZ) if npz else None,
                       png16=naming.output_path(video, naming.DEPTH_PNG16_ZIP) if png16 else None,
                       vis=naming.output_path(video, naming.DEPTH_VIS) if vis else None,
                       ply=naming.output_path(depth, naming.POINT_CLOUDS) if ply else None)


def check_exports(paths: ExportPaths, overwrite: bool) -> None:
    """Refuse before any work when an export exists (unless `overwrite`)."""
    for path in paths.requested():
        check_writable(path, overwrite)


def write_exports(depth_video: Path, paths: ExportPaths, overwrite: bool, *,
                  colour_frames=None, ply_every: int = 0,
                  xfovs: np.ndarray | None = None) -> list[Path]:
    """Stream `depth_video` into every requested export; return the paths written.

    colour_frames: iterator of the (H, W, 3) uint8 RGB frames matching the depth frames
    (point-cloud colours); ply_every: N for a point cloud of every Nth frame; xfovs: (N,)
    full horizontal FOV in degrees per frame (point clouds).
    """
    if not paths.requested():
        return []
    reader = DepthVideoReader(depth_video)
    n, fps = reader.frame_count, reader.fps
    with contextlib.ExitStack() as stack:
        writers = []
        if paths.exr is not None:
            writers.append(stack.enter_context(DepthExrWriter(paths.exr, fps, overwrite=overwrite,
                                                              expected_frames=n)))
        if paths.npz is not None:
            writers.append(stack.enter_context(DepthNpzWriter(
                paths.npz, fps, max_depth=reader.max_depth, overwrite=overwrite, expected_frames=n)))
        if paths.png16 is not None:
            writers.append(stack.enter_context(DepthPng16ZipWriter(
                paths.png16, fps, overwrite=overwrite, expected_frames=n)))
        if paths.vis is not None:
            writers.append(stack.enter_context(DepthPreviewWriter(
                paths.vis, fps, overwrite=overwrite, expected_frames=n)))
        folder = AtomicFolder(paths.ply, overwrite, PLY_STEM) if paths.ply is not None else None
        try:
            for index, depth in enumerate(progress(reader, total=n, desc="exports")):
                for writer in writers:
                    writer.write(depth)
                colour = next(colour_frames) if folder is not None else None
                if folder is not None and index % ply_every == 0:
                    folder.tmp.mkdir(exist_ok=True)
                    intr = Intrinsics.from_fov(depth.shape[1], depth.shape[0], xfov=float(xfovs[index]))
                    keep = depth < reader.max_depth
                    cloud = PointCloud(unproject_depth(depth, intr)[keep], colour[keep])
                    write_ply(folder.tmp / f"{PLY_STEM}{index + 1:04d}.ply", cloud)
            if folder is not None:
                folder.commit()
        except BaseException:
            if folder is not None:
                folder.abort()
            raise
    return paths.requested()
