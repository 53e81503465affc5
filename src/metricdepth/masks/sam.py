"""Segment Anything (SAM 1) image predictor, prompts carried from frame to frame (the
`sam` backend).

Each frame is segmented on its own. On a frame with user prompts an object uses them;
on the others it is prompted from its previous mask: the mask's bounding box (grown by
`BOX_MARGIN` of its size) and a positive point at the mask's most interior pixel. An
object whose mask vanishes stays empty until it is prompted again.

Needs the `segment-anything` package and a working torchvision, which this toolbox does
not install (torchvision breaks transformers here); elsewhere use `sam2` or `motion`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from .prompts import ObjectPrompt

MODEL_TYPES = ("vit_b", "vit_l", "vit_h")
BOX_MARGIN = 0.1  # the carried box is the previous mask's box grown by this fraction per side
HINT = (
    "the sam backend needs the segment-anything package and torchvision (pip install "
    "segment-anything torchvision) and a checkpoint (--checkpoint sam_vit_b_01ec64.pth); "
    "use --backend sam2 or --backend motion instead"
)


def load_sam(checkpoint: str | Path | None, device: str, model_type: str = "vit_b"):
    """A `SamPredictor` for `checkpoint`; InputError with what to install when the packages
    are missing or torchvision does not import."""
    if importlib.util.find_spec("segment_anything") is None:
        raise InputError("--backend sam", f"segment-anything is not installed: {HINT}")
    try:
        import torchvision  # noqa: F401  (segment-anything imports it)
        from segment_anything import SamPredictor, sam_model_registry
    except Exception as exc:  # a broken torchvision fails in many ways
        raise InputError(
            "--backend sam", f"torchvision does not import ({exc.__class__.__name__}: {exc}): {HINT}"
        ) from None
    if model_type not in MODEL_TYPES:
        raise InputError("--sam_model_type", f"must be one of {MODEL_TYPES}, got {model_type!r}")
    if checkpoint is None or not Path(checkpoint).is_file():
        raise InputError(checkpoint or "--checkpoint", f"SAM checkpoint file not found: {HINT}")
    model = sam_model_registry[model_type](checkpoint=str(checkpoint)).to(device).eval()
    return SamPredictor(model)


def carried_prompt(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(box (4,) x0 y0 x1 y1, point (1, 2) x y) pixels from a previous (H, W) bool mask,
    or None when it is empty."""
    if not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    mx, my = BOX_MARGIN * (x1 - x0 + 1), BOX_MARGIN * (y1 - y0 + 1)
    h, w = mask.shape
    box = np.array([max(0, x0 - mx), max(0, y0 - my), min(w - 1, x1 + mx), min(h - 1, y1 + my)])
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(inside)), mask.shape)
    return box, np.array([[x, y]], np.float64)


def sam_masks(
    predictor, frames: Iterator[np.ndarray], objects: list[ObjectPrompt], width: int, height: int
) -> Iterator[np.ndarray]:
    """Yield (K, H, W) bool masks per (H, W, 3) uint8 RGB frame, K = len(objects)."""
    previous = np.zeros((len(objects), height, width), bool)
    for index, frame in enumerate(frames):
        predictor.set_image(frame)
        masks = np.zeros_like(previous)
        for k, obj in enumerate(objects):
            points = [p for p in obj.points if p.frame == index]
            box = obj.box if obj.box is not None and obj.box.frame == index else None
            if points or box:
                coords = np.array([[p.x, p.y] for p in points]) if points else None
                labels = np.array([int(p.positive) for p in points]) if points else None
                box_xy = np.array([box.x0, box.y0, box.x1, box.y1]) if box else None
            elif index > obj.first_frame and (carried := carried_prompt(previous[k])) is not None:
                box_xy, coords = carried
                labels = np.ones(1, int)
            else:
                continue
            result, scores, _ = predictor.predict(
                point_coords=coords, point_labels=labels, box=box_xy, multimask_output=False
            )
            masks[k] = result[0].astype(bool)
        previous = masks
        yield masks
