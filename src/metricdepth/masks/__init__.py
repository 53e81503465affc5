"""Subject-mask backends behind one registry (step 2, `create_video_mask.py`).

- `rembg`: a learned salient-object matte per frame (rembg's ONNX models through
  onnxruntime, MDVT's default; `rembg.py`).
- `motion`: no weights: what moves independently of the camera; with a depth video
  judged against the camera's motion through that depth (`parallax.py`), else from point
  tracks (`motion.py`).
- `motion+rembg`: the learned subject where it moves (`combine.py`).
- `sam2`: SAM 2.1 video segmentation (transformers' Sam2VideoModel), from prompts or
  `--auto`; needs its weights (`sam2.py`).
- `sam`: Segment Anything 1 per frame with prompts carried along; needs segment-anything
  and a working torchvision (`sam.py`).

`auto` picks `sam2` when prompted and its weights are present, else `rembg` when its
model file is present, else `motion`.
"""

from __future__ import annotations

BACKENDS = ("rembg", "motion", "motion+rembg", "sam2", "sam")
PROMPTED = ("sam2", "sam")  # the backends that take --points/--box/--auto
AUTO = "auto"


def resolve_backend(
    name: str, checkpoint: str | None = None, rembg_model: str = "u2netp", prompted: bool = False
) -> str:
    """The backend `name` stands for ("auto": sam2 when prompted and its weights are here,
    else rembg if `rembg_model`'s file is here, else motion); refuses unknown names with
    the list of valid ones."""
    from ..errors import InputError
    from .rembg import rembg_weights_available
    from .sam2 import sam2_weights_available

    if name == AUTO:
        if prompted and sam2_weights_available(checkpoint):
            return "sam2"
        return "rembg" if rembg_weights_available(rembg_model, checkpoint) else "motion"
    if name not in BACKENDS:
        raise InputError(
            "--backend", f"unknown mask backend {name!r}; choose one of {', '.join((AUTO,) + BACKENDS)}"
        )
    return name
