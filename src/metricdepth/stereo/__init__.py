"""Step 6: two-eye rendering from colour and depth, the infill mask, output layouts.

`render_eyes` renders any eyes of one frame (render.py); `stereo_rerender` runs the
step on videos (step.py). See docs/step6_stereo.md.
"""

from .render import Eye, EyeView, eye_at, render_eyes, stereo_eyes
from .step import StereoConfig, stereo_rerender

__all__ = ["Eye", "EyeView", "StereoConfig", "eye_at", "render_eyes", "stereo_eyes", "stereo_rerender"]
