"""Step 1's optional exports, written from the finished depth video.

Reading back the final `X_depth.mkv` (rather than exporting while the model runs) keeps
the exports consistent with it, and lets an interrupted, resumed run produce them in
full. Values therefore carry the depth video's quantisation (1.55 mm at max_depth 100).
Formats: `metricdepth.io.exports` (EXR, NPZ, 16-bit PNG zip, preview; ImmichVR's 8-bit
zip, Annolid's NDJSON and point-cloud CSVs) and `metricdepth.io.ply` (point clouds).
Point clouds (PLY and CSV) are one per Nth frame, in that frame's camera: x right, y
down, z forward, metres; pixels at max_depth, i.e. without depth, are left out. The
8-bit zip is normalised over the clip, so its range is found by a first pass.
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
from ..io.exports import (
    PREVIEW_FALLBACK_RANGE_M,
    AnnolidNdjsonWriter,
    DepthExrWriter,
    DepthFrames8ZipWriter,
    DepthFramesWriter,
    DepthNpzWriter,
    DepthPng16ZipWriter,
    DepthPreviewWriter,
    positive_depth_extent,
    write_point_csv,
)
from ..io.ply import PointCloud, write_ply
from ..progress import progress

PLY_STEM = "frame_"  # + 1-based number + .ply inside the point-cloud folder
CSV_STEM = "point_"  # + 0-based output frame number (4 digits) + .csv, as Annolid names them
DEPTH_FRAMES_ZIP = "_depth_frames.zip"  # beside the colour video: ImmichVR's 8-bit frames
DEPTH_NDJSON = "_depth.ndjson"  # beside the colour video: Annolid's records
POINT_CSVS = "_pointclouds_csv"  # a folder beside the depth video


@dataclass(frozen=True)
class ExportPaths:
    """Where each requested export goes (None: not requested)."""

    exr: Path | None = None
    npz: Path | None = None
    png16: Path | None = None
    vis: Path | None = None
    ply: Path | None = None
    depth_zip: Path | None = None
    ndjson: Path | None = None
    csv: Path | None = None

    def requested(self) -> list[Path]:
        return [
            p
            for p in (
                self.exr,
                self.npz,
                self.png16,
                self.vis,
                self.ply,
                self.depth_zip,
                self.ndjson,
                self.csv,
            )
            if p is not None
        ]


def export_paths(
    video: Path,
    depth: Path,
    exr: Path | None,
    npz: bool = False,
    png16: bool = False,
    vis: bool = False,
    ply: bool = False,
    depth_zip: bool = False,
    ndjson: bool = False,
    csv: bool = False,
) -> ExportPaths:
    """The export paths for colour video `video` and its depth video `depth`."""

    def beside(wanted: bool, source: Path, suffix: str) -> Path | None:
        return naming.output_path(source, suffix) if wanted else None

    return ExportPaths(
        exr=exr,
        npz=beside(npz, video, naming.DEPTH_NPZ),
        png16=beside(png16, video, naming.DEPTH_PNG16_ZIP),
        vis=beside(vis, video, naming.DEPTH_VIS),
        ply=beside(ply, depth, naming.POINT_CLOUDS),
        depth_zip=beside(depth_zip, video, DEPTH_FRAMES_ZIP),
        ndjson=beside(ndjson, video, DEPTH_NDJSON),
        csv=beside(csv, depth, POINT_CSVS),
    )


def check_exports(paths: ExportPaths, overwrite: bool) -> None:
    """Refuse before any work when an export exists (unless `overwrite`)."""
    for path in paths.requested():
        check_writable(path, overwrite)


@dataclass(frozen=True)
class ExportSettings:
    """How the exports are made.

    palette: preview colours (`metricdepth.io.exports.PALETTES`); video_name: the colour
    video's file name (NDJSON records); frame_indices: colour-video frame number of each
    depth frame (NDJSON; None: 0, 1, ...); ply_every / csv_every: N for a point cloud of
    every Nth frame; xfovs: (N,) full horizontal FOV in degrees per frame (point clouds).
    """

    palette: str = "turbo"
    video_name: str = ""
    frame_indices: tuple[int, ...] | None = None
    ply_every: int = 0
    csv_every: int = 0
    xfovs: np.ndarray | None = None


def clip_depth_range(reader: DepthVideoReader) -> tuple[float, float]:
    """(near, far) in metres over every frame of the depth video: its smallest and largest
    depth with depth (in (0, max_depth)); far > near always."""
    extents = [
        e
        for depth in progress(reader, total=reader.frame_count, desc="depth range")
        if (e := positive_depth_extent(depth, reader.max_depth)) is not None
    ]
    if not extents:
        return PREVIEW_FALLBACK_RANGE_M
    near, far = min(e[0] for e in extents), max(e[1] for e in extents)
    return near, (far if far > near else near * 2)  # a flat clip still gets a range


def write_exports(
    depth_video: Path,
    paths: ExportPaths,
    overwrite: bool,
    *,
    colour_frames=None,
    settings: ExportSettings = ExportSettings(),
) -> list[Path]:
    """Stream `depth_video` into every requested export; return the paths written.

    colour_frames: iterator of the (H, W, 3) uint8 RGB frames matching the depth frames
    (point-cloud colours), needed for point clouds.
    """
    if not paths.requested():
        return []
    reader = DepthVideoReader(depth_video)
    n, fps = reader.frame_count, reader.fps
    with contextlib.ExitStack() as stack:
        writers: list[DepthFramesWriter] = []
        if paths.exr is not None:
            writers.append(
                stack.enter_context(DepthExrWriter(paths.exr, fps, overwrite=overwrite, expected_frames=n))
            )
        if paths.npz is not None:
            writers.append(
                stack.enter_context(
                    DepthNpzWriter(
                        paths.npz, fps, max_depth=reader.max_depth, overwrite=overwrite, expected_frames=n
                    )
                )
            )
        if paths.png16 is not None:
            writers.append(
                stack.enter_context(
                    DepthPng16ZipWriter(paths.png16, fps, overwrite=overwrite, expected_frames=n)
                )
            )
        if paths.vis is not None:
            writers.append(
                stack.enter_context(
                    DepthPreviewWriter(
                        paths.vis, fps, palette=settings.palette, overwrite=overwrite, expected_frames=n
                    )
                )
            )
        if paths.depth_zip is not None:
            writers.append(
                stack.enter_context(
                    DepthFrames8ZipWriter(
                        paths.depth_zip,
                        fps,
                        depth_range=clip_depth_range(reader),
                        no_depth=reader.max_depth,
                        overwrite=overwrite,
                        expected_frames=n,
                    )
                )
            )
        if paths.ndjson is not None:
            writers.append(
                stack.enter_context(
                    AnnolidNdjsonWriter(
                        paths.ndjson,
                        fps,
                        video_name=settings.video_name,
                        frame_indices=settings.frame_indices,
                        overwrite=overwrite,
                        expected_frames=n,
                    )
                )
            )
        folders = [
            (AtomicFolder(path, overwrite, stem), every, writer)
            for path, every, stem, writer in (
                (paths.ply, settings.ply_every, PLY_STEM, _write_ply_cloud),
                (paths.csv, settings.csv_every, CSV_STEM, _write_csv_cloud),
            )
            if path is not None
        ]
        try:
            for index, depth in enumerate(progress(reader, total=n, desc="exports")):
                for writer in writers:
                    writer.write(depth)
                colour = next(colour_frames) if folders else None
                for folder, every, write_cloud in folders:
                    if index % every == 0:
                        folder.tmp.mkdir(exist_ok=True)
                        # point clouds need colour frames and FOVs: read with the folders
                        assert colour is not None and settings.xfovs is not None
                        intr = Intrinsics.from_fov(
                            depth.shape[1], depth.shape[0], xfov=float(settings.xfovs[index])
                        )
                        keep = depth < reader.max_depth
                        write_cloud(folder.tmp, index, unproject_depth(depth, intr)[keep], colour[keep])
            for folder, _, _ in folders:
                folder.commit()
        except BaseException:
            for folder, _, _ in folders:
                folder.abort()
            raise
    return paths.requested()


def _write_ply_cloud(folder: Path, index: int, points: np.ndarray, colours: np.ndarray) -> None:
    """Output frame `index`'s points (N, 3) metres and colours (N, 3) uint8 as PLY."""
    write_ply(folder / f"{PLY_STEM}{index + 1:04d}.ply", PointCloud(points, colours))


def _write_csv_cloud(folder: Path, index: int, points: np.ndarray, colours: np.ndarray) -> None:
    """Output frame `index`'s points (N, 3) metres and colours (N, 3) uint8 as Annolid's CSV."""
    write_point_csv(folder / f"{CSV_STEM}{index:04d}.csv", points, colours)
