"""The stereocrafter backend with tiny random-weight components built here: chunking,
overlap hand-over, mirroring of the left eye, compositing only inside holes, loading from
folders, and resume. A real-weight run is opt-in (`-m weights`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from conftest import file_digest, write_video  # noqa: E402
from metricdepth.infill.backend import ChunkInput  # noqa: E402
from metricdepth.infill.holes import background_band, decode_infill_mask, split_eyes  # noqa: E402
from metricdepth.infill.step import InfillConfig, infill  # noqa: E402
from metricdepth.infill.stereocrafter import (StereoCrafterBackend, StereoCrafterModel,  # noqa: E402
                                              StereoCrafterOptions)
from metricdepth.io.video import VideoReader  # noqa: E402

EYE_W, EYE_H, FRAMES = 64, 48, 7
OPTIONS = StereoCrafterOptions(infill_width=64, frames_chunk=5, overlap=2, num_inference_steps=2)


def tiny_components():
    """A StereoCrafter-shaped UNet (9 input channels), SVD-shaped VAE (latent /8), CLIP
    encoder and Euler scheduler, all tiny and random."""
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, \
        UNetSpatioTemporalConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(
        sample_size=8, in_channels=9, out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        block_out_channels=(32, 64), layers_per_block=1, cross_attention_dim=16,
        num_attention_heads=(2, 4), addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=24, num_frames=8)
    vae = AutoencoderKLTemporalDecoder(block_out_channels=(32, 32, 32, 32),
                                       down_block_types=("DownEncoderBlock2D",) * 4, latent_channels=4)
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=16, projection_dim=16, num_hidden_layers=1, num_attention_heads=2,
        image_size=224, patch_size=32, intermediate_size=20))
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002, steps_offset=1,
        timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True,
        interpolation_type="linear")
    return unet, vae, encoder, scheduler


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny components saved as the published folders are laid out."""
    unet, vae, encoder, scheduler = tiny_components()
    root = tmp_path_factory.mktemp("weights")
    unet.save_pretrained(root / "StereoCrafter" / "unet_diffusers")
    svd = root / "svd"
    vae.save_pretrained(svd / "vae")
    encoder.save_pretrained(svd / "image_encoder")
    scheduler.save_pretrained(svd / "scheduler")
    return root / "StereoCrafter", svd


def _inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random frames (n, H, 2W, 3) with a hole block in each eye: in the left eye near its
    left edge, in the right eye near its right edge (where each eye's holes lie)."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (FRAMES, EYE_H, 2 * EYE_W, 3), dtype=np.uint8)
    mask = np.zeros_like(frames)
    mask[:, 10:30, 4:14] = (0, 128, 128)  # left eye: direction -x
    mask[:, 10:30, EYE_W + 48:EYE_W + 58] = (255, 128, 128)  # right eye: direction +x
    frames[mask.any(axis=-1)] = 0
    return frames, mask


class Recorder:
    """Wraps the model and records what it was given and what it generated."""

    def __init__(self, model):
        self.model, self.calls = model, []

    def __getattr__(self, name):
        return getattr(self.model, name)

    def __call__(self, frames, masks, steps, seed):
        out = self.model(frames, masks, steps, seed)
        self.calls.append((frames.clone(), masks.clone(), out.clone()))
        return out


@pytest.fixture(scope="module")
def backend():
    unet, vae, encoder, scheduler = tiny_components()
    model = Recorder(StereoCrafterModel(unet, vae, encoder, scheduler))
    return StereoCrafterBackend(model, OPTIONS)


def test_chunks_hand_over_mirror_and_composite_inside_holes(backend):
    frames, mask = _inputs()
    backend.model.calls.clear()
    n1 = OPTIONS.frames_chunk - OPTIONS.overlap
    out1, state = backend.infill_chunk(ChunkInput(0, frames[:n1], mask[:n1]), None)
    out2, _ = backend.infill_chunk(ChunkInput(n1, frames[n1:], mask[n1:]), state)
    calls = backend.model.calls
    assert len(calls) == 4  # two eyes per chunk, left first
    k = OPTIONS.overlap
    assert [len(c[0]) for c in calls] == [n1, n1, k + FRAMES - n1, k + FRAMES - n1]

    # overlap hand-over: the next chunk starts with the last generated frames of this one
    for first, second in ((calls[0], calls[2]), (calls[1], calls[3])):
        generated = np.rint(first[2][-k:].numpy() * 255) / 255
        handed = second[0][:k].numpy()
        holes = second[1][:k].numpy()
        assert np.allclose(handed, generated * (1 - holes), atol=1e-6)

    # mirroring: the left eye's holes (near its left edge) reach the model on the right,
    # like the right eye's
    left_mask, right_mask = calls[0][1].numpy()[0, 0], calls[1][1].numpy()[0, 0]
    width = left_mask.shape[1]
    assert left_mask[:, width // 2:].sum() > 0 and left_mask[:, : width // 2].sum() == 0
    assert right_mask[:, width // 2:].sum() > 0 and right_mask[:, : width // 2].sum() == 0

    # compositing: pixels outside holes and their background-side seam are unchanged,
    # hole pixels are generated (the input there was black)
    out = np.concatenate([out1, out2])
    for eye, got, given, m in zip(("left", "right"), split_eyes(out), split_eyes(frames),
                                  split_eyes(mask)):
        for i in range(FRAMES):
            holes, direction = decode_infill_mask(m[i], eye)
            keep = ~holes & ~background_band(holes, direction, 2, EYE_W)
            assert np.array_equal(got[i][keep], given[i][keep])
            assert (got[i][holes] != 0).any(axis=-1).mean() > 0.9


def _write_inputs(folder: Path) -> Path:
    frames, mask = _inputs(seed=1)
    stereo = write_video(folder / "s.mkv", frames)
    write_video(folder / "s.mkv_infillmask.mkv", mask)
    return stereo


def test_resume_after_a_crash_gives_the_same_bytes(weights, tmp_path, monkeypatch):
    checkpoint, svd = weights
    common = dict(backend="stereocrafter", checkpoint=checkpoint, svd_checkpoint=svd,
                  infill_width=64, frames_chunk=OPTIONS.frames_chunk, overlap=OPTIONS.overlap,
                  num_inference_steps=OPTIONS.num_inference_steps)
    (tmp_path / "ref").mkdir(), (tmp_path / "crash").mkdir()
    [reference] = infill(InfillConfig(sbs_color_video=_write_inputs(tmp_path / "ref"), **common))

    stereo = _write_inputs(tmp_path / "crash")
    original = StereoCrafterBackend.infill_chunk
    calls = []

    def crash_on_second_chunk(self, chunk, state):
        calls.append(chunk.start)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as a Ctrl-C or a kill would stop it
        return original(self, chunk, state)

    monkeypatch.setattr(StereoCrafterBackend, "infill_chunk", crash_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        infill(InfillConfig(sbs_color_video=stereo, **common))
    monkeypatch.setattr(StereoCrafterBackend, "infill_chunk", original)
    [resumed] = infill(InfillConfig(sbs_color_video=stereo, **common))
    assert file_digest(resumed) == file_digest(reference)
    frames = np.stack(list(VideoReader(resumed)))
    assert frames.shape == (FRAMES, EYE_H, 2 * EYE_W, 3)


@pytest.mark.weights
def test_real_weights_fill_a_synthetic_hole(tmp_path):
    """Opt-in: METRICDEPTH_STEREOCRAFTER and METRICDEPTH_SVD name the weight folders."""
    checkpoint, svd = os.environ.get("METRICDEPTH_STEREOCRAFTER"), os.environ.get("METRICDEPTH_SVD")
    if not (checkpoint and svd and Path(checkpoint).is_dir() and Path(svd).is_dir()):
        pytest.skip("set METRICDEPTH_STEREOCRAFTER and METRICDEPTH_SVD to the weight folders")
    from metricdepth.evaluate.infill_truth import write_stereo_inputs
    from metricdepth.synthetic import make_scene
    from metricdepth.synthetic.export import write_clip

    clip = make_scene(seed=1, width=256, height=192, frames=8)
    paths = write_clip(clip, tmp_path / "clip.mkv")
    stereo, _, truth = write_stereo_inputs(clip, paths["depth"])
    device = "cuda" if torch.cuda.is_available() else "cpu"
    [out] = infill(InfillConfig(sbs_color_video=stereo, backend="stereocrafter", device=device,
                                checkpoint=Path(checkpoint), svd_checkpoint=Path(svd),
                                infill_width=256))
    got = np.stack(list(VideoReader(out)))
    holes = np.stack([t.holes for t in truth])
    want = np.stack([t.truth for t in truth])
    mse = np.mean((got[holes].astype(float) - want[holes]) ** 2)
    assert 10 * np.log10(255**2 / mse) > 15.0
