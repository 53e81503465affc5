"""The SAM 2 adapter with a tiny random-weight Sam2VideoModel built here: wiring, shapes,
prompt handling, bounded memory and the files step 2 writes. A real-weight run is
marked `weights` and skipped where the weights are absent."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from conftest import write_video  # noqa: E402
from metricdepth.io.mask_video import MaskVideoReader  # noqa: E402
from metricdepth.masks import sam2 as sam2_module  # noqa: E402
from metricdepth.masks.prompts import group_objects, parse_boxes, parse_points  # noqa: E402
from metricdepth.masks.sam2 import Sam2VideoMasker, sam2_weights_available  # noqa: E402
from metricdepth.masks.step import MaskConfig, create_mask  # noqa: E402

SIZE = 128  # the tiny model's square input, pixels
W, H = 80, 60


def tiny_sam2():
    """A 3-million-parameter Sam2VideoModel with random weights (input 128 x 128)."""
    from transformers import Sam2VideoConfig, Sam2VideoModel

    config = Sam2VideoConfig(
        vision_config=dict(
            model_type="sam2_vision_model",
            backbone_config=dict(model_type="sam2_hiera_det_model", image_size=[SIZE, SIZE],
                                 hidden_size=16, blocks_per_stage=[1, 1, 2, 1],
                                 embed_dim_per_stage=[16, 32, 64, 128],
                                 num_attention_heads_per_stage=[1, 1, 1, 1],
                                 window_size_per_stage=[4, 4, 4, 4], global_attention_blocks=[3],
                                 window_positional_embedding_background_size=[2, 2]),
            backbone_channel_list=[128, 64, 32, 16],
            backbone_feature_sizes=[[SIZE // 4] * 2, [SIZE // 8] * 2, [SIZE // 16] * 2]),
        prompt_encoder_config=dict(image_size=SIZE, patch_size=16),
        mask_decoder_config=dict(mlp_dim=64, num_hidden_layers=1, iou_head_hidden_dim=32),
        image_size=SIZE, memory_attention_num_layers=1, memory_attention_feed_forward_hidden_size=64,
        memory_attention_rope_feat_sizes=[SIZE // 16] * 2, memory_fuser_num_layers=1,
        memory_fuser_intermediate_dim=64, num_maskmem=2, max_object_pointers_in_encoder=2)
    torch.manual_seed(0)
    return Sam2VideoModel(config).eval()


@pytest.fixture(scope="module")
def model():
    return tiny_sam2()


def frames(count: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (count, H, W, 3), dtype=np.uint8)


def test_masker_shapes_prompts_and_bounded_memory(model):
    points = parse_points("40,30 20,10,2", "--points", True, W, H, 6)
    negatives = parse_points("5,5,2", "--negative_points", False, W, H, 6)
    boxes = parse_boxes("10,10,50,40,1", "--box", W, H, 6)
    objects = group_objects(points + negatives, boxes, separate=True)
    assert [o.first_frame for o in objects] == [1, 0, 2]
    masker = Sam2VideoMasker(model)
    seen = []
    original_forget = masker._forget

    def spy(session, index):
        original_forget(session, index)
        seen.append((len(session.processed_frames),
                     max(len(o["non_cond_frame_outputs"]) for o in session.output_dict_per_obj.values())))
    masker._forget = spy
    out = list(masker.run(iter(frames(6)), objects, W, H))
    assert len(out) == 6 and all(m.shape == (3, H, W) and m.dtype == bool for m in out)
    # an object has no mask before its first prompt
    assert not out[0][0].any() and not out[0][2].any() and not out[1][2].any()
    # memory stays bounded: one frame kept, at most keep_frames memories per object
    assert all(f <= 1 and m <= masker._keep_frames for f, m in seen)


def test_prompt_pixels_map_into_the_model_square(model):
    masker = Sam2VideoMasker(model)
    (obj,) = group_objects(parse_points("0,0 79,59", "--points", True, W, H, 1), [], False)
    inputs = masker._point_inputs(obj, 0, W, H)
    coords = inputs["point_coords"][0, 0].numpy()
    # pixel centres: 0 -> (0.5 * S / W) - 0.5, W - 1 -> S - 1 - that
    assert np.allclose(coords[0], [0.5 * SIZE / W - 0.5, 0.5 * SIZE / H - 0.5])
    assert np.allclose(coords[1], [SIZE - 0.5 * SIZE / W - 0.5, SIZE - 0.5 * SIZE / H - 0.5])
    assert inputs["point_labels"].tolist() == [[[1, 1]]]


def test_step_writes_merged_and_separate_masks(model, tmp_path, monkeypatch):
    video = write_video(tmp_path / "clip.mkv", frames(4))
    monkeypatch.setattr(sam2_module, "load_sam2", lambda checkpoint, device: model)
    paths = create_mask(MaskConfig(color_video=str(video), backend="sam2", points="40,30",
                                   box="10,10,50,40", separate=True, save_visualization_video=True))
    assert [p.name for p in paths] == ["clip.mkv_mask.mkv", "clip.mkv_mask_1.mkv",
                                       "clip.mkv_mask_2.mkv", "clip.mkv_mask.mkv_visualization.mkv"]
    merged, one, two = (list(MaskVideoReader(p)) for p in paths[:3])
    assert len(merged) == 4
    assert all((m == (a | b)).all() for m, a, b in zip(merged, one, two))


@pytest.mark.weights
def test_real_sam2_segments_a_bright_square(tmp_path):
    if not sam2_weights_available():
        pytest.skip(f"{sam2_module.DEFAULT_MODEL} is not in the Hugging Face cache")
    clip = np.full((6, 240, 320, 3), 40, np.uint8)
    for t in range(6):
        clip[t, 80:160, 100 + 5 * t:180 + 5 * t] = 220
    video = write_video(tmp_path / "square.mkv", clip)
    path = create_mask(MaskConfig(color_video=str(video), backend="sam2", points="140,120"))[0]
    for t, mask in enumerate(MaskVideoReader(path)):
        truth = np.zeros_like(mask)
        truth[80:160, 100 + 5 * t:180 + 5 * t] = True
        assert (mask & truth).sum() / (mask | truth).sum() > 0.8
