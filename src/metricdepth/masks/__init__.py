"""Subject-mask backends behind one registry (step 2, `create_video_mask.py`).

- `sam2`: SAM 2.1 video segmentation (transformers' Sam2VideoModel), from prompts or
  `--auto`; needs its weights (`sam2.py`).
- `sam`: Segment Anything 1 per frame with prompts carried along; needs segment-anything
  and a working torchvision (`sam.py`).
- `motion`: no weights: what moves independently of the camera (`motion.py`).

`auto` picks `sam2` when its weights are present and `motion` otherwise.
"""

from __future__ import annotations

BACKENDS = ("sam2", "sam", "motion")
AUTO = "auto"


def resolve_backend(name: str, checkpoint: str | None = None) -> str:
    """The backend `name` stands for ("auto": sam2 if its weights are here, else motion);
    refuses unknown names with the list of valid ones."""
    from ..errors import InputError
    from .sam2 import sam2_weights_available

    if name == AUTO:
        return "sam2" if sam2_weights_available(checkpoint) else "motion"
    if name not in BACKENDS:
        raise InputError("--backend", f"unknown mask backend {name!r}; choose one of "
                         f"{', '.join((AUTO,) + BACKENDS)}")
    return name
