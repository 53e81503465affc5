"""Video Depth Anything: published key layout, preprocessing, windows, stitching, resume,
streaming. Tiny random-weight models on CPU; real weights only in the opt-in test."""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from metricdepth.depth.vda import (STEP, WINDOW, VDAConfig, VDAPredictor, build_vda,
                                   find_vda_checkpoint, fit_scale_shift, load_vda_checkpoint,
                                   network_size, preprocess_frame)
from metricdepth.depth.vda.preprocess import MEAN, STD
from metricdepth.depth.vda.stitching import crossfade
from metricdepth.depth.vda.temporal import TemporalAttention
from metricdepth.errors import InputError

# the published small checkpoints' keys and shapes (relative and metric: the same list)
KEY_FILE = Path(__file__).resolve().parents[1] / "docs" / "vda_state_dict_vits.txt"
TINY = dict(embed_dim=32, depth=4, heads=2, taps=(0, 1, 2, 3), features=32,
            out_channels=(16, 16, 32, 32))
KEYFRAMES = (0, 12, 24, 25, 26, 27, 28, 29, 30, 31)  # docs/vda_spec.md section 9


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models are dominated by thread start-up; one thread keeps them fast."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_model(metric: bool = False, seed: int = 0):
    """A tiny random VDA whose temporal modules are active and whose output is positive."""
    torch.manual_seed(seed)
    model = build_vda(VDAConfig("vits", metric=metric, **TINY))
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "proj_out"):  # zero-initialised: would be the identity
                torch.nn.init.normal_(module.proj_out.weight, std=0.2)
        model.head.scratch.output_conv2[2].bias.fill_(1.0)
    return model.eval()


def clip(count: int, height: int = 30, width: int = 44, seed: int = 0) -> np.ndarray:
    """(count, H, W, 3) uint8 frames: a moving gradient plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    frames = np.empty((count, height, width, 3), np.uint8)
    for i in range(count):
        base = (x * 4 + y * 2 + 3 * i) % 256
        frames[i] = np.clip(base[..., None] + rng.integers(-20, 20, (height, width, 3)), 0, 255)
    return frames


def published_keys() -> dict[str, list[int]]:
    keys = {}
    for line in KEY_FILE.read_text().splitlines():
        name, shape = line.split("\t")
        keys[name] = [int(v) for v in shape.strip("[]").split(",")]
    return keys


def roundtrip(state: dict) -> dict:
    """A state as ChunkedJob stores it (np.savez) and gives it back (np.load)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in state.items()})
    buffer.seek(0)
    with np.load(buffer) as data:
        return {k: data[k] for k in data.files}


# -- published layout -------------------------------------------------------------------
@pytest.mark.parametrize("metric", [False, True])
def test_published_state_dict_loads_strictly(metric, tmp_path):
    keys = published_keys()
    assert len(keys) == 351
    # each tensor filled with its own index, so a swapped or skipped tensor shows
    state = {k: torch.full(shape, float(i)) for i, (k, shape) in enumerate(keys.items())}
    model = load_vda_checkpoint(state, VDAConfig("vits", metric=metric))
    assert list(model.state_dict()) == list(keys)  # same names, same order
    for name, value in model.state_dict().items():
        assert torch.equal(value, state[name]), name  # every tensor (pe buffers too) loaded
    assert model.metric is metric

    if metric:  # one real-size file: encoder size from shapes, metric from the name
        path = tmp_path / "metric_video_depth_anything_vits.pth"
        torch.save(state, path)
        inferred = load_vda_checkpoint(path)
        assert inferred.config.encoder == "vits" and inferred.metric

    renamed = dict(state)
    renamed["head.scratch.refinenet1.out_conv.weightX"] = renamed.pop(
        "head.scratch.refinenet1.out_conv.weight")
    with pytest.raises(InputError, match=r"missing keys: head\.scratch\.refinenet1\.out_conv"
                       r"\.weight.*unexpected keys: head\.scratch\.refinenet1\.out_conv\.weightX"):
        load_vda_checkpoint(renamed, VDAConfig("vits", metric=metric))
    reshaped = dict(state)
    reshaped["head.motion_modules.2.temporal_transformer.proj_in.weight"] = torch.zeros(64, 65)
    with pytest.raises(InputError) as error:
        load_vda_checkpoint(reshaped)
    message = str(error.value)
    assert "head.motion_modules.2.temporal_transformer.proj_in.weight: file [64, 65] vs " \
           "model [64, 64]" in message


def test_safetensors_and_bad_files(tmp_path):
    from safetensors.torch import save_file
    keys = published_keys()
    state = {k: torch.zeros(shape) for k, shape in keys.items()}
    del state["pretrained.mask_token"]
    path = tmp_path / "vda.safetensors"
    save_file(state, str(path))  # read fine, then refused for the key it lacks
    with pytest.raises(InputError, match=r"vda.safetensors: does not fit Video Depth Anything "
                       r"vits; missing keys: pretrained.mask_token"):
        load_vda_checkpoint(path)

    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="junk.pth: is not a readable checkpoint"):
        load_vda_checkpoint(junk)
    other = tmp_path / "other.pth"
    torch.save({"pretrained.pos_embed": torch.zeros(1, 1370, 100)}, other)
    with pytest.raises(InputError, match="other.pth: is not a Video Depth Anything"):
        load_vda_checkpoint(other)
    with pytest.raises(InputError, match="missing.pth: does not exist"):
        load_vda_checkpoint(tmp_path / "missing.pth")


@pytest.mark.parametrize("encoder, entries, params, buffers", [
    ("vits", 351, 29_035_137, 45_056),
    ("vitb", 351, 114_441_409, 90_112),
    ("vitl", 519, 384_390_337, 163_840)])
def test_published_sizes(encoder, entries, params, buffers):
    """docs/vda_spec.md sections 1-2: entries and parameter counts of each published size."""
    with torch.device("meta"):
        model = build_vda(VDAConfig(encoder))
    assert len(model.state_dict()) == entries
    assert sum(p.numel() for p in model.parameters()) == params
    assert sum(b.numel() for b in model.buffers()) == buffers


def test_find_checkpoint(tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    with pytest.raises(InputError, match="holds no metric_video_depth_anything_vits.pth"):
        find_vda_checkpoint(folder, "vits", metric=True)
    (folder / "metric_video_depth_anything_vits.pth").write_bytes(b"x")
    assert find_vda_checkpoint(folder, "vits", True).name == "metric_video_depth_anything_vits.pth"
    with pytest.raises(InputError, match="CC-BY-NC-4.0"):
        find_vda_checkpoint(None, "vitl")
    with pytest.raises(InputError, match="not in the Hugging Face cache"):
        find_vda_checkpoint(None, "vits", cache_dir=tmp_path / "empty_cache")
    snapshot = (tmp_path / "hub" / "models--depth-anything--Video-Depth-Anything-Small"
                / "snapshots" / "abc")
    snapshot.mkdir(parents=True)
    (snapshot / "video_depth_anything_vits.pth").write_bytes(b"x")
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("abc")
    assert find_vda_checkpoint(None, "vits", cache_dir=tmp_path / "hub") == \
        snapshot / "video_depth_anything_vits.pth"


def _cubic_resample_1d(table: np.ndarray, out: int) -> np.ndarray:
    """Resample axis 0 of `table` (37 long) to `out` entries, reading source coordinate
    (j + 0.5) * 37 / (out + 0.1) - 0.5 with the a = -0.75 cubic, borders clamped."""
    def weight(d):
        d, a = abs(d), -0.75
        if d <= 1:
            return (a + 2) * d ** 3 - (a + 3) * d ** 2 + 1
        return a * d ** 3 - 5 * a * d ** 2 + 8 * a * d - 4 * a if d < 2 else 0.0
    n = table.shape[0]
    result = np.zeros((out,) + table.shape[1:])
    for j in range(out):
        x = (j + 0.5) * n / (out + 0.1) - 0.5
        x0 = int(np.floor(x))
        for k in range(x0 - 1, x0 + 3):
            result[j] += weight(x - k) * table[min(max(k, 0), n - 1)]
    return result


@pytest.mark.parametrize("height, width", [(14 * 5, 14 * 9), (14 * 40, 14 * 30)])
def test_position_table_resampling(height, width):
    """Scale-factor bicubic with the +0.1 offset (docs/vda_spec.md section 4, item 3)."""
    torch.manual_seed(0)
    encoder = build_vda(VDAConfig("vits", **TINY)).pretrained
    table = encoder.pos_embed.detach().numpy()[0]
    grid = table[1:].reshape(37, 37, -1)
    expected = _cubic_resample_1d(_cubic_resample_1d(grid, height // 14).transpose(1, 0, 2),
                                  width // 14).transpose(1, 0, 2)
    got = encoder.position_table(height, width, torch.float32).detach().numpy()[0]
    np.testing.assert_array_equal(got[0], table[0])
    np.testing.assert_allclose(got[1:], expected.reshape(-1, table.shape[1]), atol=2e-6)
    torch.testing.assert_close(encoder.position_table(518, 518, torch.float32),
                               encoder.pos_embed, rtol=0, atol=0)


def test_motion_module_mixes_time_not_space():
    """Same spatial permutation in every frame commutes with a temporal module; frames
    do influence each other."""
    model = tiny_model()
    module = model.head.motion_modules[2]
    torch.manual_seed(1)
    x = torch.randn(2, 32, 5, 3, 4)
    perm = torch.randperm(12)
    with torch.no_grad():
        out, _ = module(x)
        permuted, _ = module(x.flatten(3)[..., perm].reshape(x.shape))
        torch.testing.assert_close(permuted, out.flatten(3)[..., perm].reshape(x.shape),
                                   atol=1e-5, rtol=1e-5)
        changed = x.clone()
        changed[:, :, 0] = torch.randn(2, 32, 3, 4)
        other, _ = module(changed)
    assert (other[:, :, 1:] - out[:, :, 1:]).abs().max() > 1e-3


# -- preprocessing ----------------------------------------------------------------------
@pytest.mark.parametrize("frame, net", [
    ((720, 1280), (518, 924)), ((1080, 1920), (518, 924)), ((480, 640), (518, 686)),
    ((1280, 720), (924, 518)), ((375, 1242), (280, 924)), ((500, 2000), (224, 896)),
    ((518, 518), (518, 518))])
def test_network_size_examples(frame, net):
    assert network_size(*frame) == net


def test_network_size_rule():
    rng = np.random.default_rng(3)
    for _ in range(300):
        height, width = (int(v) for v in rng.integers(20, 2000, 2))
        h, w = network_size(height, width)
        assert h % 14 == 0 and w % 14 == 0
        if max(height, width) / min(height, width) <= 1.78:
            assert min(h, w) >= 518
        # one scale for both sides, each rounded to a multiple of 14
        assert abs(h / height - w / width) <= 14 / height + 14 / width


def test_preprocess_values():
    frame = np.zeros((40, 60, 3), np.uint8)
    frame[...] = (255, 128, 0)
    x = preprocess_frame(frame, (28, 42))
    assert x.shape == (3, 28, 42) and x.dtype == np.float32
    expected = (np.array([255, 128, 0]) / 255 - MEAN) / STD
    np.testing.assert_allclose(x.reshape(3, -1), expected[:, None].repeat(28 * 42, 1),
                               atol=1e-5)


def test_outputs_at_frame_size():
    predictor = VDAPredictor(tiny_model(), input_size=28)
    frames = clip(3, height=37, width=53)
    out = list(predictor.infer_video(frames))
    assert len(out) == 3
    for depth in out:
        assert depth.shape == (37, 53) and depth.dtype == np.float32
        assert np.isfinite(depth).all() and (depth > 0).all()
    with pytest.raises(ValueError, match="uint8"):
        list(VDAPredictor(tiny_model(), input_size=28).infer_video([frames[0].astype(float)]))


# -- windows and stitching --------------------------------------------------------------
def reference_offline(network, frames: np.ndarray, metric: bool) -> np.ndarray:
    """docs/vda_spec.md section 9 written out on the whole video at once (what the official
    routine does): pad, run every window, overwrite the key-frame slots, stitch."""
    n = len(frames)
    padded = np.concatenate([frames, np.repeat(frames[-1:], (22 - n % 22) % 22 + 10, 0)])
    emitted: list[np.ndarray] = []
    previous_input = None
    for start in range(0, n, 22):
        window = list(padded[start:start + 32])
        if previous_input is not None:
            for slot, kept in enumerate(KEYFRAMES):
                window[slot] = previous_input[kept]
        maps = network(window)
        if start == 0:
            emitted.extend(maps)
            reference = [maps[0], maps[12]]
        else:
            if metric:
                s, t = np.float32(1), np.float32(0)
            else:
                p, r = np.stack(maps[:2]), np.stack(reference)
                a00, a01, a11 = np.sum(p * p), np.sum(p), np.float32(p.size)
                b0, b1 = np.sum(p * r), np.sum(r)
                det = a00 * a11 - a01 * a01
                s, t = ((a11 * b0 - a01 * b1) / det, (a00 * b1 - a01 * b0) / det) if det \
                    else (np.float32(1), np.float32(0))
            aligned = np.maximum(maps * s + t, np.float32(0))
            for k in range(8):
                alpha = np.float32(k) / np.float32(7)
                emitted[-8 + k] = emitted[-8 + k] * (np.float32(1) - alpha) + aligned[2 + k] * alpha
            emitted.extend(aligned[10:])
            reference = [reference[0], aligned[12]]
        previous_input = window
    return np.stack(emitted[:n])


class StandIn:
    """A fast stand-in network: each window maps the true inverse depth coded in the
    frames through its own scale and shift (drawn from the window's last frame), as a
    relative model drifts between windows."""

    def __init__(self):
        self.calls = 0

    def __call__(self, frames: list[np.ndarray]) -> np.ndarray:
        assert len(frames) == WINDOW
        self.calls += 1
        scale, shift = drift(frames)
        truth = np.stack([true_inverse_depth(f) for f in frames])
        return (truth * scale + shift).astype(np.float32)


def drift(frames: list[np.ndarray]) -> tuple[np.float32, np.float32]:
    rng = np.random.default_rng(int(frames[-1].sum()))
    return np.float32(rng.uniform(0.5, 2.0)), np.float32(rng.uniform(-0.2, 0.2))


def true_inverse_depth(frame: np.ndarray) -> np.ndarray:
    return (frame[..., 0].astype(np.float32) / 255 + 0.5).astype(np.float32)


@functools.lru_cache(maxsize=None)
def _unused_model(metric: bool):
    return tiny_model(metric)


def stand_in_predictor(metric: bool = False) -> VDAPredictor:
    """A predictor whose network is the StandIn (its model only sets `metric`)."""
    predictor = VDAPredictor(_unused_model(metric), input_size=28)
    predictor._network = StandIn()
    return predictor


@pytest.mark.parametrize("count", [1, 5, 22, 23, 24, 25, 32, 33, 46, 47, 54, 75, 100])
@pytest.mark.parametrize("metric", [False, True])
def test_windows_match_whole_video_routine(count, metric):
    frames = clip(count, 12, 16, seed=count)
    predictor = stand_in_predictor(metric)
    out = list(predictor.infer_video(iter(frames)))
    expected = reference_offline(StandIn(), frames, metric)
    assert len(out) == count
    np.testing.assert_array_equal(np.stack(out), expected)
    # windows that cannot change an output frame are not run
    assert predictor._network.calls == max(1, len(range(0, count - 2, STEP)))


def test_alignment_recovers_known_drift():
    """Relative: every window drifts by its own scale/shift; stitched output follows
    window 0's. Metric: no alignment, so each window keeps its own values."""
    frames = clip(100, 12, 16, seed=5)
    truth = np.stack([true_inverse_depth(f) for f in frames])
    out = np.stack(list(stand_in_predictor(metric=False).infer_video(frames)))
    scale0, shift0 = drift(list(frames[:WINDOW]))
    np.testing.assert_allclose(out, truth * scale0 + shift0, rtol=2e-5, atol=2e-5)

    metric = np.stack(list(stand_in_predictor(metric=True).infer_video(frames)))
    assert np.abs(metric - out).max() > 0.05  # windows 1.. keep their drift


def test_fit_scale_shift():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.1, 3.0, (2, 20, 30)).astype(np.float32)
    s, t = fit_scale_shift(pred, 2.5 * pred - 0.3)
    assert s.dtype == np.float32 and abs(s - 2.5) < 1e-4 and abs(t + 0.3) < 1e-4
    assert fit_scale_shift(np.ones((2, 4, 4), np.float32), pred[:, :4, :4]) == (1.0, 0.0)


def test_crossfade_weights():
    old, new = np.zeros((8, 2, 2), np.float32), np.ones((8, 2, 2), np.float32)
    np.testing.assert_allclose(crossfade(old, new)[:, 0, 0], np.arange(8) / 7, atol=1e-7)


def test_tiny_model_70_frames():
    """The real network path: 70 frames, every frame once, in order, same as the
    whole-video routine run on the same network."""
    frames = clip(70)
    predictor = VDAPredictor(tiny_model(), input_size=28)
    out = np.stack(list(predictor.infer_video(iter(frames))))
    assert out.shape == (70, 30, 44) and out.dtype == np.float32
    assert np.isfinite(out).all() and (out >= 0).all()
    expected = reference_offline(VDAPredictor(tiny_model(), input_size=28)._network, frames,
                                 metric=False)
    np.testing.assert_array_equal(out, expected)
    assert out.std(axis=(1, 2)).min() > 0  # not a constant map


def test_memory_bounded_by_a_window():
    frames = clip(400, 8, 10)
    pulled = 0

    def source():
        nonlocal pulled
        for frame in frames:
            pulled += 1
            yield frame

    predictor = stand_in_predictor()
    yielded = 0
    for _ in predictor.infer_video(source()):
        yielded += 1
        assert pulled - yielded <= WINDOW - 1  # yielded frame i: at most frame i + 31 read
        assert len(predictor._lookahead) <= WINDOW - 2
        assert len(predictor._offline.ready) <= STEP + 2
    assert yielded == 400


# -- resume -----------------------------------------------------------------------------
@pytest.mark.parametrize("metric", [False, True])
def test_resume_anywhere_stand_in(metric):
    frames = clip(75, 12, 16, seed=2)
    whole = np.stack(list(stand_in_predictor(metric).infer_video(frames)))
    for stop in range(0, 76):
        first = stand_in_predictor(metric)
        outputs = first.infer_video(frames)
        head = [next(outputs) for _ in range(stop)]
        state = roundtrip(first.state())
        assert int(state["next_frame"]) == stop
        assert first.safe_to_checkpoint == (len(state["ready"]) == 0)
        second = stand_in_predictor(metric)
        second.restore(state)
        tail = list(second.infer_video(frames[stop:]))
        np.testing.assert_array_equal(np.stack(head + tail), whole, err_msg=f"stop {stop}")


def test_resume_tiny_model_byte_identical():
    frames = clip(60)
    whole = np.stack(list(VDAPredictor(tiny_model(), input_size=28).infer_video(frames)))
    for stop in (13, 46):  # inside window 1's output, and at a safe point
        first = VDAPredictor(tiny_model(), input_size=28)
        outputs = first.infer_video(frames)
        head = [next(outputs) for _ in range(stop)]
        assert first.safe_to_checkpoint == (stop == 46)
        second = VDAPredictor(tiny_model(), input_size=28)  # a new process, same weights
        second.restore(roundtrip(first.state()))
        tail = list(second.infer_video(iter(frames[stop:])))
        assert (np.stack(head + tail).tobytes()) == whole.tobytes()


# -- streaming --------------------------------------------------------------------------
def test_temporal_attention_query_only_equals_last_row():
    torch.manual_seed(0)
    attention = TemporalAttention(32)
    seq = torch.randn(5, 32, 32)
    with torch.no_grad():
        full = attention(seq)
        last = attention(seq[:, -1:], context=seq[:, :-1])
    torch.testing.assert_close(last, full[:, -1:], atol=1e-5, rtol=1e-5)


def test_stream_context_schedule():
    """Frame n sees frame 0, frame n - 41 and frames n - 29 .. n - 1 (VDA_SPEC section 10)."""
    predictor = VDAPredictor(tiny_model(), input_size=28)
    seen = []

    def fake(frame, contexts):
        index = len(seen)
        seen.append(None if contexts is None else contexts[0][0, :, 0].int().tolist())
        state = torch.full((1, 1, 1), float(index))
        return torch.zeros(2, 2), [state] * 8

    predictor.model.forward_stream = fake
    for frame in clip(60, 8, 10):
        predictor.stream(frame)
    assert seen[0] is None
    assert seen[1] == [0] * 31
    assert seen[5] == [0] * 27 + [1, 2, 3, 4]
    for n in (45, 59):
        assert seen[n] == [0, n - 41] + list(range(n - 29, n))
    assert len(predictor._stream.cache) == 42


def test_stream_tiny_model_and_resume():
    model = tiny_model()
    frames = clip(36)
    single = VDAPredictor(model, input_size=28)
    first = single.stream(frames[0])
    with torch.no_grad():
        x = torch.from_numpy(preprocess_frame(frames[0], network_size(30, 44, 28)))[None, None]
        direct = single._to_frame_size(model(x)[0].float(), (30, 44))[0]
    np.testing.assert_array_equal(first, direct)  # first frame = the network with T = 1

    runner = VDAPredictor(model, input_size=28)
    whole = [runner.stream(f) for f in frames]
    assert all(d.shape == (30, 44) and np.isfinite(d).all() for d in whole)
    stopped = VDAPredictor(tiny_model(), input_size=28)
    head = [stopped.stream(f) for f in frames[:20]]
    resumed = VDAPredictor(tiny_model(), input_size=28)
    resumed.restore(roundtrip(stopped.state()))
    tail = [resumed.stream(f) for f in frames[20:]]
    assert np.stack(head + tail).tobytes() == np.stack(whole).tobytes()


# -- real weights (opt-in) --------------------------------------------------------------
def _real_checkpoint(metric: bool) -> Path:
    env = os.environ.get("VDA_METRIC_CHECKPOINT" if metric else "VDA_CHECKPOINT")
    try:
        return find_vda_checkpoint(env, "vits", metric=metric)
    except InputError:
        pytest.skip("no VDA checkpoint (set VDA_CHECKPOINT / VDA_METRIC_CHECKPOINT or fill "
                    "the Hugging Face cache)")


@pytest.mark.weights
@pytest.mark.slow
@pytest.mark.parametrize("metric", [False, True])
def test_real_weights_on_tum_rgbd(metric, shared_data):
    """Nine real frames with measured depth: relative output fits 1/depth after scale and
    shift; metric output is in metres."""
    import cv2
    folder = shared_data / "rgbd" / "tum_fr1_desk_9frames"
    pairs = [line.split() for line in (folder / "associate.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    frames = [cv2.cvtColor(cv2.imread(str(folder / p[1])), cv2.COLOR_BGR2RGB) for p in pairs]
    depths = [cv2.imread(str(folder / p[3]), cv2.IMREAD_UNCHANGED) / 5000.0 for p in pairs]
    model = load_vda_checkpoint(_real_checkpoint(metric))
    assert model.metric is metric
    out = list(VDAPredictor(model, input_size=518).infer_video(frames))
    errors = []
    for pred, gt in zip(out, depths):
        valid = gt > 0.1
        if metric:
            estimate = pred[valid]
        else:
            s, t = fit_scale_shift(pred[valid][None], (1 / gt[valid])[None].astype(np.float32))
            estimate = 1 / np.maximum(s * pred[valid] + t, 1e-3)
        errors.append(np.median(np.abs(estimate - gt[valid]) / gt[valid]))
    assert np.median(errors) < (0.25 if metric else 0.15), errors
