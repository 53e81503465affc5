"""SAM 2.1 video segmentation through transformers' `Sam2VideoModel` (the `sam2` backend).

The transformers processors for SAM 2 need torchvision, which this toolbox never
installs, so this adapter does their small jobs itself: frames are resized to the
model's square input and normalised with the ImageNet mean and deviation, prompt pixels
are scaled into that square, and the low-resolution mask logits are resized back to the
frame. Frames are streamed into an inference session one at a time; after each frame the
session forgets the frames and memories the model can no longer use (it attends to the
last `num_maskmem` frames and `max_object_pointers_in_encoder` object pointers, plus the
prompted frames), so memory stays bounded however long the video is.

Objects are prompted on the frame their prompts name; a frame before an object's first
prompt has no mask for it (propagation runs forward only, to stream).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from .prompts import ObjectPrompt

DEFAULT_MODEL = "facebook/sam2.1-hiera-tiny"
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
POSITIVE, NEGATIVE, BOX_TOP_LEFT, BOX_BOTTOM_RIGHT = 1, 0, 2, 3  # SAM point labels
INSTALL_HINT = "install the masks extra (pip install -e '.[masks]')"


def sam2_weights_available(checkpoint: str | Path | None = None) -> bool:
    """Whether SAM 2 weights are at `checkpoint` (a folder) or in the Hugging Face cache."""
    if checkpoint is not None:
        return Path(checkpoint).is_dir()
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    return isinstance(try_to_load_from_cache(DEFAULT_MODEL, "model.safetensors"), str)


def load_sam2(checkpoint: str | Path | None, device: str):
    """`Sam2VideoModel` from a local folder (`checkpoint`) or the Hugging Face cache
    (downloaded on first use when online; HF_HUB_OFFLINE=1 is respected)."""
    try:
        from transformers import Sam2VideoModel
    except ImportError:
        raise InputError("--backend sam2", f"transformers with SAM 2 is missing: {INSTALL_HINT}") from None
    if checkpoint is not None and not Path(checkpoint).is_dir():
        raise InputError(checkpoint, "checkpoint folder not found (a Hugging Face model folder)")
    source = str(checkpoint) if checkpoint is not None else DEFAULT_MODEL
    try:
        model = Sam2VideoModel.from_pretrained(source)
    except OSError as exc:
        raise InputError(
            source,
            f"SAM 2 weights cannot be loaded ({exc.__class__.__name__}); "
            "download them with install.sh --models, or use --backend motion",
        ) from None
    return model.to(device).eval()


class Sam2VideoMasker:
    """Streams frames through a `Sam2VideoModel` and yields per-object masks.

    >>> masker = Sam2VideoMasker(model)
    >>> for masks in masker.run(frames, objects, width, height):   # (K, H, W) bool
    ...     ...
    """

    def __init__(self, model, device: str = "cpu"):
        self.model, self.device = model, device
        size = model.config.image_size
        self.size = int(size if isinstance(size, int) else size[0])
        config = model.config
        self._keep_frames = max(config.num_maskmem, config.max_object_pointers_in_encoder) + 1

    def preprocess(self, frame: np.ndarray):
        """(H, W, 3) uint8 RGB -> (1, 3, S, S) float32 tensor, ImageNet-normalised."""
        import torch

        resized = cv2.resize(frame, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        pixels = (resized.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        return torch.from_numpy(pixels.transpose(2, 0, 1).copy())[None]

    def _point_inputs(self, obj: ObjectPrompt, frame: int, width: int, height: int) -> dict | None:
        """The model's point inputs for `obj` on `frame`, in the model's square pixels."""
        import torch

        coords, labels = [], []
        if obj.box is not None and obj.box.frame == frame:
            coords += [(obj.box.x0, obj.box.y0), (obj.box.x1, obj.box.y1)]
            labels += [BOX_TOP_LEFT, BOX_BOTTOM_RIGHT]
        for p in obj.points:
            if p.frame == frame:
                coords.append((p.x, p.y))
                labels.append(POSITIVE if p.positive else NEGATIVE)
        if not coords or frame < obj.first_frame:
            return None
        xy = np.array(coords, np.float32)
        xy[:, 0] = (xy[:, 0] + 0.5) * self.size / width - 0.5
        xy[:, 1] = (xy[:, 1] + 0.5) * self.size / height - 0.5
        return {
            "point_coords": torch.from_numpy(xy)[None, None],
            "point_labels": torch.tensor(labels, dtype=torch.int32)[None, None],
        }

    def run(
        self, frames: Iterator[np.ndarray], objects: list[ObjectPrompt], width: int, height: int
    ) -> Iterator[np.ndarray]:
        """Yield (K, H, W) bool masks per frame, K = len(objects), in `objects` order.

        frames: (H, W, 3) uint8 RGB, H x W = height x width."""
        import torch
        from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

        session = Sam2VideoInferenceSession(
            video_height=height,
            video_width=width,
            inference_device=self.device,
            inference_state_device="cpu",
            video_storage_device="cpu",
            dtype=torch.float32,
        )
        order = {obj.object_id: k for k, obj in enumerate(objects)}
        for index, frame in enumerate(frames):
            prompted = []
            for obj in objects:
                inputs = self._point_inputs(obj, index, width, height)
                if inputs is not None:
                    session.add_point_inputs(session.obj_id_to_idx(obj.object_id), index, inputs)
                    prompted.append(obj.object_id)
            session.obj_with_new_inputs = prompted
            masks = np.zeros((len(objects), height, width), bool)
            if session.get_obj_num() == 0:
                yield masks
                continue
            with torch.no_grad():
                out = self.model(session, frame_idx=index, frame=self.preprocess(frame))
                logits = torch.nn.functional.interpolate(
                    out.pred_masks.float(), (height, width), mode="bilinear", align_corners=False
                )
            for obj_id, logit in zip(out.object_ids, logits[:, 0].cpu().numpy()):
                masks[order[obj_id]] = logit > 0
            self._forget(session, index)
            yield masks

    def _forget(self, session, index: int) -> None:
        """Drop frames and memories older than the model can attend to (bounded memory)."""
        oldest = index - self._keep_frames
        for frame in [f for f in session.processed_frames if f < index]:
            del session.processed_frames[frame]
        for outputs in session.output_dict_per_obj.values():
            for frame in [f for f in outputs["non_cond_frame_outputs"] if f < oldest]:
                del outputs["non_cond_frame_outputs"][frame]
        for tracked in session.frames_tracked_per_obj.values():
            for frame in [f for f in tracked if f < oldest]:
                del tracked[frame]
