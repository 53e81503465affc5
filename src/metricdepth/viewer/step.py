"""The viewer as a step: `view_3d(config)` validates the inputs, then exports PLY files,
renders headless, or opens the playback window, and returns the paths it wrote."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .config import ViewerConfig
from .source import FrameSource


def view_3d(config: ViewerConfig) -> list[Path]:
    """Run the viewer (see ViewerConfig); raises InputError naming the file or flag for bad
    input before anything is written or drawn. Returns the files written (screenshots
    taken in the window are logged, not returned)."""
    if config.render is not None and config.export_ply is not None:
        raise InputError("--render/--export_ply", "give one of them per run")
    for flag, value in (("--point_size", config.point_size), ("--speed", config.speed),
                        ("--edge_angle", config.edge_angle)):
        if not value > 0:
            raise InputError(flag, f"must be positive, got {value}")
    source = FrameSource(config)
    if config.export_ply is not None:
        from .export import export_ply
        return export_ply(source)
    if config.render is not None:
        from .render import render_to_file
        return [render_to_file(source)]
    from .playback import Player
    with Player(source) as player:
        player.run()
    return []
