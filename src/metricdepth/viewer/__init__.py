"""Open3D viewer: plays colour + depth video as a moving point cloud or mesh, renders it
headless, exports PLY (docs/viewer.md).

`view_3d(ViewerConfig(...))` is the step; `FrameSource` validates and reads the inputs,
`geometry` builds points, meshes and camera frustums as plain arrays, `headless` renders
them without a display, `playback` is the interactive window.
"""

from .config import ViewerConfig
from .step import view_3d

__all__ = ["ViewerConfig", "view_3d"]
