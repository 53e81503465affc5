"""`--export_ply DIR`: each shown frame's points as a PLY file (metricdepth.io.ply).

DIR/frame_0001.ply, frame_0002.ply, ... numbered frame index + 1 (exported sequences are
1-based, docs/conventions.md), at least 4 digits; points in metres in the world frame
(with --transformation_file) or the frame's own camera frame, with their colours. The
folder is filled under a temporary name and appears only when every frame is written.
"""

from __future__ import annotations

from pathlib import Path

from ..io.atomic import AtomicFolder
from ..io.ply import PointCloud, write_ply
from ..progress import progress
from .source import FrameSource

PLY_STEM = "frame_"


def ply_name(index: int) -> str:
    """File name of frame `index` (0-based): frame_0001.ply for frame 0."""
    return f"{PLY_STEM}{index + 1:04d}.ply"


def export_ply(source: FrameSource) -> list[Path]:
    """Write every shown frame's points into config.export_ply; return the final paths."""
    config = source.config
    assert config.export_ply is not None  # view_3d calls this only with --export_ply
    folder = AtomicFolder(config.export_ply, config.overwrite, member_prefix=PLY_STEM)
    style = source.style(mesh=False)
    names = []
    try:
        folder.tmp.mkdir()
        with source.open() as reader:
            for index in progress(source.frame_indices, desc="export PLY"):
                cloud = reader.read(index).geometry(style).surface
                assert isinstance(cloud, PointCloud)  # style(mesh=False): points
                names.append(ply_name(index))
                write_ply(folder.tmp / names[-1], cloud)
        final = folder.commit()
    except BaseException:
        folder.abort()
        raise
    return [final / name for name in names]
