"""The StereoCrafter video inpainting backend, on diffusers components.

Network (StereoCrafter, Zhao et al. 2024): the Stable Video Diffusion img2vid-xt-1.1 VAE
(`AutoencoderKLTemporalDecoder`) and CLIP image encoder (`CLIPVisionModelWithProjection`),
and StereoCrafter's fine-tuned `UNetSpatioTemporalConditionModel`, whose input is the noisy
latents, the latents of the frames with holes and the hole mask at latent resolution
(4 + 4 + 1 channels). Sampling follows StereoCrafter's inference: Euler steps, guidance
1.01 against an all-zero condition, time ids (fps 7 - 1, motion bucket 127, noise
augmentation 0), the CLIP embedding of the chunk's first frame.

Predictor (`StereoCrafterBackend`): each eye is resized to the processing size; the left
eye is mirrored so that its holes lie where the model was trained to see them (right of
foreground edges, as in a right eye). Chunks of frames overlap: the last `overlap`
generated frames of a chunk replace the first frames of the next one (the state carried
from chunk to chunk), so the video stays consistent across chunks. Generated pixels are
used only inside holes, after matching their colours to a ring of known pixels around
them; the seam and the halos on the background side of holes are then blurred away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import InputError
from .backend import ChunkInput, State
from .blend import match_colour, soften_fill
from .holes import EYES, Eye, decode_infill_mask, split_eyes

log = logging.getLogger(__name__)

UNET_REPO = "TencentARC/StereoCrafter"
SVD_REPO = "stabilityai/stable-video-diffusion-img2vid-xt-1-1"
SIZE_MULTIPLE = 64  # the SVD UNet halves the 1/8 latent three times
GUIDANCE = 1.01  # StereoCrafter's min and max guidance scale
CONDITION_FPS = 7  # SVD's fps conditioning (the pipeline passes fps - 1)
MOTION_BUCKET = 127
NOISE_AUG = 0.0
VAE_ENCODE_FRAMES = 5  # frames per VAE encoder call (memory)
VAE_DECODE_FRAMES = 8  # frames per VAE decoder call (memory)
CLIP_SIZE = 224
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # OpenAI CLIP normalisation (SVD's
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)  # feature_extractor config)
MASK_DILATE_PX = 2  # holes grow by this at processing size: covers resampling and edge halos


def processing_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """(w, h) at which an eye of width x height is processed: `target_width` wide,
    the aspect kept, both multiples of SIZE_MULTIPLE."""
    w = max(SIZE_MULTIPLE, round(target_width / SIZE_MULTIPLE) * SIZE_MULTIPLE)
    h = max(SIZE_MULTIPLE, round(w * height / width / SIZE_MULTIPLE) * SIZE_MULTIPLE)
    return w, h


def _import_torch():
    try:
        import diffusers  # noqa: F401
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise InputError(
            "--backend",
            f"stereocrafter needs torch, diffusers and transformers "
            f"({exc.name} is missing): pip install 'metricdepth[infill]'",
        ) from None
    return torch


class StereoCrafterModel:
    """The network side: (n, 3, h, w) frames in [0, 1] with holes + (n, 1, h, w) masks
    (1 = hole) -> (n, 3, h, w) frames in [0, 1], on one device."""

    def __init__(self, unet, vae, image_encoder, scheduler, device: str = "cpu", dtype=None):
        torch = _import_torch()
        self.torch = torch
        self.device = torch.device(device)
        self.dtype = dtype or (torch.float16 if self.device.type == "cuda" else torch.float32)
        self.unet = unet.to(self.device, self.dtype).eval().requires_grad_(False)
        self.vae = vae.to(self.device, self.dtype).eval().requires_grad_(False)
        self.image_encoder = image_encoder.to(self.device, self.dtype).eval().requires_grad_(False)
        self.scheduler = scheduler
        self.vae_scale = 2 ** (len(self.vae.config.block_out_channels) - 1)

    @classmethod
    def from_pretrained(
        cls, checkpoint: str | Path | None, svd_checkpoint: str | Path | None, device: str = "cpu"
    ) -> StereoCrafterModel:
        """Load the StereoCrafter UNet from `checkpoint` and the SVD parts from
        `svd_checkpoint` (local folders; None: the Hugging Face cache, never downloaded)."""
        torch = _import_torch()
        from diffusers import (
            AutoencoderKLTemporalDecoder,
            EulerDiscreteScheduler,
            UNetSpatioTemporalConditionModel,
        )
        from transformers import CLIPVisionModelWithProjection

        unet_dir = _local_folder(checkpoint, UNET_REPO, "--checkpoint")
        svd_dir = _local_folder(svd_checkpoint, SVD_REPO, "--svd_checkpoint")
        dtype = torch.float16 if torch.device(device).type == "cuda" else torch.float32
        unet_sub = "unet_diffusers" if (unet_dir / "unet_diffusers").is_dir() else None
        for folder, sub in (
            (unet_dir, unet_sub),
            (svd_dir, "vae"),
            (svd_dir, "image_encoder"),
            (svd_dir, "scheduler"),
        ):
            config = folder / (sub or "") / ("scheduler_config.json" if sub == "scheduler" else "config.json")
            if not config.exists():
                raise InputError(
                    folder,
                    f"no {config.relative_to(folder)}: not a "
                    f"{'StereoCrafter' if folder == unet_dir else 'SVD img2vid-xt-1-1'} folder",
                )
        log.info("loading StereoCrafter from %s and SVD from %s", unet_dir, svd_dir)
        unet = UNetSpatioTemporalConditionModel.from_pretrained(
            unet_dir, subfolder=unet_sub, torch_dtype=dtype
        )
        vae = AutoencoderKLTemporalDecoder.from_pretrained(
            svd_dir, subfolder="vae", torch_dtype=dtype, variant=_variant(svd_dir / "vae")
        )
        encoder = CLIPVisionModelWithProjection.from_pretrained(
            svd_dir, subfolder="image_encoder", dtype=dtype, variant=_variant(svd_dir / "image_encoder")
        )
        scheduler = EulerDiscreteScheduler.from_pretrained(svd_dir, subfolder="scheduler")
        return cls(unet, vae, encoder, scheduler, device, dtype)

    def _image_embedding(self, first: Any) -> Any:
        """CLIP image embedding (1, 1, D) of one frame (1, 3, h, w) in [0, 1]."""
        torch = self.torch
        x = torch.nn.functional.interpolate(
            first, size=(CLIP_SIZE, CLIP_SIZE), mode="bicubic", align_corners=True, antialias=True
        ).clamp(0, 1)
        mean = torch.tensor(CLIP_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(CLIP_STD, device=x.device).view(1, 3, 1, 1)
        return self.image_encoder((x - mean) / std).image_embeds.unsqueeze(1)

    def __call__(self, frames: Any, masks: Any, num_inference_steps: int, seed: int) -> Any:
        torch = self.torch
        n, _, h, w = frames.shape
        frames = frames.to(self.device, self.dtype)
        masks = masks.to(self.device, self.dtype)
        with torch.no_grad():
            embedding = self._image_embedding(frames[:1])
            pixels = frames * 2 - 1
            latents_in = torch.cat(
                [
                    self.vae.encode(pixels[i : i + VAE_ENCODE_FRAMES]).latent_dist.mode()
                    for i in range(0, n, VAE_ENCODE_FRAMES)
                ]
            ).unsqueeze(0)
            mask_in = torch.nn.functional.interpolate(
                masks, size=latents_in.shape[-2:], mode="nearest"
            ).unsqueeze(0)
            time_ids = torch.tensor(
                [[CONDITION_FPS - 1, MOTION_BUCKET, NOISE_AUG]], device=self.device, dtype=self.dtype
            )
            # guidance: the condition against an all-zero one, batched together
            embedding = torch.cat([torch.zeros_like(embedding), embedding])
            latents_in = torch.cat([torch.zeros_like(latents_in), latents_in])
            mask_in = torch.cat([torch.zeros_like(mask_in), mask_in])
            time_ids = time_ids.repeat(2, 1)

            self.scheduler.set_timesteps(num_inference_steps, device=self.device)
            generator = torch.Generator("cpu").manual_seed(seed)
            shape = (1, n, self.vae.config.latent_channels, h // self.vae_scale, w // self.vae_scale)
            latents = torch.randn(shape, generator=generator).to(self.device, self.dtype)
            latents = latents * self.scheduler.init_noise_sigma
            for t in self.scheduler.timesteps:
                model_in = self.scheduler.scale_model_input(torch.cat([latents] * 2), t)
                model_in = torch.cat([model_in, latents_in, mask_in], dim=2)
                noise = self.unet(
                    model_in, t, encoder_hidden_states=embedding, added_time_ids=time_ids, return_dict=False
                )[0]
                uncond, cond = noise.chunk(2)
                latents = self.scheduler.step(uncond + GUIDANCE * (cond - uncond), t, latents).prev_sample
            latents = latents.flatten(0, 1) / self.vae.config.scaling_factor
            decoded = torch.cat(
                [
                    self.vae.decode(
                        latents[i : i + VAE_DECODE_FRAMES], num_frames=len(latents[i : i + VAE_DECODE_FRAMES])
                    ).sample
                    for i in range(0, n, VAE_DECODE_FRAMES)
                ]
            )
        return ((decoded.float() + 1) / 2).clamp(0, 1).cpu()


def _variant(folder: Path) -> str | None:
    """ "fp16" when the folder holds only fp16 weight files (as SVD's repository does)."""
    files = [p.name for p in folder.glob("*.safetensors")] + [p.name for p in folder.glob("*.bin")]
    return "fp16" if files and all(".fp16." in name for name in files) else None


def _local_folder(path: str | Path | None, repo: str, flag: str) -> Path:
    """The weights folder: `path` if given, else `repo` from the Hugging Face cache."""
    if path is not None:
        path = Path(path)
        if not path.is_dir():
            raise InputError(path, f"{flag}: folder not found")
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo, local_files_only=True))
    except Exception:  # not cached (the hub raises several kinds): say what to do
        raise InputError(
            flag,
            f"not given and {repo} is not in the Hugging Face cache; download "
            f"it (its licence is non-commercial, so it is never fetched "
            f"automatically) and pass the folder with {flag}",
        ) from None


@dataclass(frozen=True)
class StereoCrafterOptions:
    """Predictor settings (the flags of the same names; defaults as StereoCrafter's
    inpainting_inference.py): infill_width, frames_chunk, overlap, num_inference_steps, seed."""

    infill_width: int = 1024
    frames_chunk: int = 23
    overlap: int = 3
    num_inference_steps: int = 8
    seed: int = 0


class StereoCrafterBackend:
    """Fills both eyes of a chunk with the model; carries the last generated frames."""

    name = "stereocrafter"
    carries_state = True

    def __init__(self, model: StereoCrafterModel, options: StereoCrafterOptions):
        self.model = model
        self.options = options

    @classmethod
    def from_options(cls, options: dict[str, Any], device: str) -> StereoCrafterBackend:
        model = StereoCrafterModel.from_pretrained(
            options.get("checkpoint"), options.get("svd_checkpoint"), device
        )
        keys = StereoCrafterOptions.__dataclass_fields__
        return cls(model, StereoCrafterOptions(**{k: v for k, v in options.items() if k in keys}))

    def _generate(self, frames: np.ndarray, holes: np.ndarray, seed: int) -> np.ndarray:
        """frames (n, h, w, 3) uint8 at processing size, holes (n, h, w) bool ->
        generated (n, h, w, 3) uint8."""
        torch = self.model.torch
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
        m = torch.from_numpy(holes[:, None].astype(np.float32))
        x = x * (1 - m)  # holes are black, as in StereoCrafter's splatted input
        out = self.model(x, m, self.options.num_inference_steps, seed)
        return np.rint(out.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)

    def fill_eye(
        self,
        frames: np.ndarray,
        masks: np.ndarray,
        eye: Eye,
        start: int,
        tail: tuple[np.ndarray, np.ndarray] | None,
    ) -> tuple[np.ndarray, tuple]:
        """One eye of a chunk. frames (n, H, W, 3) uint8 RGB, masks (n, H, W, 3) uint8.
        tail: the previous chunk's last generated frames (k, h, w, 3) uint8 and holes
        (k, h, w) bool at processing size, or None. Returns the filled frames and the tail
        for the next chunk."""
        n, height, width = frames.shape[:3]
        mirror = eye == "left"
        decoded = [decode_infill_mask(m, eye) for m in masks]
        holes = np.stack([d[0] for d in decoded])
        size = processing_size(width, height, self.options.infill_width)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * MASK_DILATE_PX + 1,) * 2)
        small = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])
        small_holes = np.stack(
            [
                cv2.dilate(
                    (cv2.resize(h.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0).astype(
                        np.uint8
                    ),
                    kernel,
                ).astype(bool)
                for h in holes
            ]
        )
        if mirror:
            small, small_holes = small[:, :, ::-1], small_holes[:, :, ::-1]
        k = 0 if tail is None else len(tail[0])
        if tail is not None and k:
            small = np.concatenate([tail[0], small])
            small_holes = np.concatenate([tail[1], small_holes])
        generated = self._generate(
            np.ascontiguousarray(small), np.ascontiguousarray(small_holes), self.options.seed + start
        )
        new_tail = (generated[-self.options.overlap :], small_holes[-self.options.overlap :])
        generated = generated[k:]
        if mirror:
            generated = generated[:, :, ::-1]
        out = frames.copy()
        for i in range(n):
            if not holes[i].any():
                continue
            big = cv2.resize(
                np.ascontiguousarray(generated[i]), (width, height), interpolation=cv2.INTER_CUBIC
            ).astype(np.float32)
            original = frames[i].astype(np.float32)
            big = match_colour(big, original, holes[i])
            work = np.where(holes[i][..., None], big, original)
            soften_fill(work, holes[i], decoded[i][1], max_steps=max(height, width))
            out[i] = np.clip(np.rint(work), 0, 255).astype(np.uint8)
        return out, new_tail

    def infill_chunk(self, chunk: ChunkInput, state: State | None) -> tuple[np.ndarray, dict]:
        out = chunk.stereo.copy()
        new_state: dict[str, np.ndarray] = {}
        halves = zip(EYES, split_eyes(out), split_eyes(chunk.mask))
        for eye, frames, masks in halves:
            tail = None
            if state and self.options.overlap and f"{eye}_tail" in state:
                tail = (state[f"{eye}_tail"], state[f"{eye}_tail_holes"].astype(bool))
            filled, (tail_frames, tail_holes) = self.fill_eye(frames, masks, eye, chunk.start, tail)
            frames[...] = filled
            new_state[f"{eye}_tail"] = tail_frames
            new_state[f"{eye}_tail_holes"] = tail_holes
        return out, new_state
