"""The viewer as a step: `view_3d(config)` validates the inputs, then exports PLY files,
renders headless, or opens the playback window, and returns the paths it wrote."""

from __future__ import annotations

import logging
from pathlib import Path

from ..config import validate_config
from ..errors import InputError
from .config import ViewerConfig
from .source import FrameSource
from .window import NO_DISPLAY, has_display

log = logging.getLogger(__name__)


def view_3d(config: ViewerConfig) -> list[Path]:
    """Run the viewer (see ViewerConfig); raises InputError naming the file or flag for bad
    input before anything is written or drawn. Returns the files written (screenshots
    taken in the window are logged, not returned)."""
    if config.render is not None and config.export_ply is not None:
        raise InputError("--render/--export_ply", "give one of them per run")
    validate_config(config)
    source = FrameSource(config)
    if config.export_ply is not None:
        from .export import export_ply

        return export_ply(source)
    if config.render is not None:
        from .render import render_to_file

        return [render_to_file(source)]
    if not has_display():
        log.warning(NO_DISPLAY)
        return []
    if any(v is not None for v in (config.x, config.y, config.z, config.look_at)):
        log.warning(
            "--x/--y/--z/--look_at place the camera only with --render; the window "
            "starts at the recorded camera (drag to move)"
        )
    from .playback import Player

    with Player(source) as player:
        player.run()
    return []
