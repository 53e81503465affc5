"""Synthetic scenes with exact ground truth, for testing every step of the toolbox.

`make_scene(seed)` renders a `SyntheticClip`: colour, z-depth, camera poses (world =
camera of frame 0), the moving object's mask and surface ids, all exact, plus methods to
render any other view (`render`, `sample`, `second_eye`) of the same scene.
`plan_scene(seed)` gives the same clip as a `SyntheticShot` that renders frames on demand.
"""

from .render import Scene, SceneObject, SyntheticView
from .scene import SyntheticClip, SyntheticShot, make_scene, plan_scene

__all__ = [
    "Scene",
    "SceneObject",
    "SyntheticClip",
    "SyntheticShot",
    "SyntheticView",
    "make_scene",
    "plan_scene",
]
