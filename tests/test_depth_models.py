"""Step 1 end to end with tiny random-weight models of every model class (no download):
Depth Anything V2 and Depth Pro (transformers, from small configs) and Video Depth
Anything (our implementation), driving the real step on a short synthetic clip."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import file_digest, write_video
from metricdepth.camera import focal_from_fov
from metricdepth.depth.base import BackendOptions
from metricdepth.depth.config import DepthConfig
from metricdepth.depth.registry import build_backend
from metricdepth.depth.step import convert
from metricdepth.depth.tiny import TINY_INPUT_SIZE, tiny_da2, tiny_depthpro, tiny_vda
from metricdepth.io.chunked import WORK_SUFFIX
from metricdepth.io.depth_video import DepthVideoReader, depth_step
from metricdepth.io.exports import read_depth_exr
from metricdepth.io.ply import read_ply
from metricdepth.io.sidecars import read_xfovs
from metricdepth.synthetic import make_scene

W, H, N = 64, 48, 12
FPS = Fraction(30000, 1001)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models are dominated by thread start-up; one thread keeps them fast."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"da2": tiny_da2(root / "da2"), "depthpro": tiny_depthpro(root / "depthpro"),
            "vda": tiny_vda(root / "vda"), "vda_metric": tiny_vda(root / "vda_metric", metric=True),
            "da2_relative": tiny_da2(root / "da2_relative", metric=False)}


@pytest.fixture(scope="module")
def scene():
    return make_scene(seed=5, width=W, height=H, frames=N, xfov=60.0)


def _clip(folder: Path, scene, name: str = "clip.mkv") -> Path:
    return write_video(folder / name, scene.colour, FPS)


SMALL_INPUT = TINY_INPUT_SIZE


def _config(video: Path, **flags) -> DepthConfig:
    return DepthConfig(color_video=str(video), device="cpu", **{"input_size": SMALL_INPUT, **flags})


def _read(path: Path) -> tuple[np.ndarray, DepthVideoReader]:
    reader = DepthVideoReader(path)
    return np.stack(list(reader)), reader


@pytest.mark.parametrize("backend", ["da2", "depthpro", "vda_metric"])
def test_metric_backends_write_a_depth_video_of_the_clip(tmp_path, models, scene, backend):
    video = _clip(tmp_path, scene)
    paths = convert(_config(video, backend=backend, checkpoint=str(models[backend]),
                            chunk_frames=4, batch=2, max_depth=50.0))
    depth_path = tmp_path / "clip.mkv_depth.mkv"
    assert paths[0] == depth_path
    depth, reader = _read(depth_path)
    assert depth.shape == (N, H, W) and reader.fps == FPS and reader.max_depth == 50.0
    assert reader.info.tags["backend"].startswith(backend)
    assert np.isfinite(depth).all() and (depth >= 0).all() and (depth <= 50).all()
    assert depth.std() > 0  # not a constant map
    # the file holds the model's own prediction: the first frame (the stabiliser passes
    # it unchanged; temporal vda_metric has none: every frame), clipped to max_depth,
    # within the depth video's quantisation
    model = build_backend(backend, str(models[backend]),
                          BackendOptions(device="cpu", input_size=SMALL_INPUT, batch=2))
    predicted = np.stack([f.depth for f in model.stream(enumerate(scene.colour))]).clip(0, 50)
    compared = slice(None) if backend == "vda_metric" else slice(0, 1)
    assert np.abs(depth[compared] - predicted[compared]).max() <= depth_step(50.0)
    xfovs = tmp_path / "clip.mkv_depth.mkv_xfovs.json"
    if backend == "depthpro":
        assert paths == [depth_path, xfovs]
        fovs = read_xfovs(xfovs, N)
        assert np.all(np.abs(fovs - 55) < 20) and np.ptp(fovs) > 0
    else:
        assert paths == [depth_path] and not xfovs.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["clip.mkv", depth_path.name]
                                                                + ([xfovs.name] if backend == "depthpro" else []))


def test_da2_first_frame_is_the_model_output(tmp_path, models, scene):
    """The first frame passes the stabiliser unchanged: it must be the network's own
    prediction, resized to the frame (bicubic) as transformers' post-processing does."""
    from transformers import DepthAnythingForDepthEstimation, DPTImageProcessorPil

    video = _clip(tmp_path, scene)
    convert(_config(video, backend="da2", checkpoint=str(models["da2"]), max_frames=2, input_size=518))
    depth, _ = _read(tmp_path / "clip.mkv_depth.mkv")
    processor = DPTImageProcessorPil(size={"height": 518, "width": 518}, keep_aspect_ratio=True,
                                     ensure_multiple_of=14, resample=3,
                                     image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    model = DepthAnythingForDepthEstimation.from_pretrained(models["da2"]).eval()
    with torch.no_grad():
        out = model(**processor(scene.colour[0], return_tensors="pt"))
    expected = processor.post_process_depth_estimation(out, target_sizes=[(H, W)])[0]["predicted_depth"]
    error = np.abs(depth[0] - expected.numpy().clip(0))
    assert np.median(error) < 2 * depth_step(100.0) and error.max() < 0.05 * expected.max().item()


def test_depthpro_depth_follows_its_fov_and_a_given_xfov(tmp_path, models, scene):
    """metric depth = f / (W * canonical inverse depth), f from the estimated FOV, or from
    --xfov when given (then no xfovs file is written)."""
    from transformers import DepthProForDepthEstimation

    model = DepthProForDepthEstimation.from_pretrained(models["depthpro"]).eval()
    x = torch.from_numpy(scene.colour[:1]).permute(0, 3, 1, 2).float() / 255
    x = torch.nn.functional.interpolate((x - 0.5) / 0.5, size=(64, 64), mode="bilinear")
    with torch.no_grad():
        out = model(pixel_values=x)
    canonical = torch.nn.functional.interpolate(out.predicted_depth[:, None], size=(H, W),
                                                mode="bilinear")[0, 0].numpy()
    for xfov, fov in ((None, float(out.field_of_view[0])), (70.0, 70.0)):
        folder = tmp_path / str(xfov)
        folder.mkdir()
        video = _clip(folder, scene)
        paths = convert(_config(video, backend="depthpro", checkpoint=str(models["depthpro"]),
                                max_frames=1, xfov=xfov, stabilise=False))
        assert len(paths) == (2 if xfov is None else 1)
        depth, _ = _read(paths[0])
        expected = focal_from_fov(W, fov) / (W * canonical)
        assert np.allclose(depth[0], np.minimum(expected, 100), rtol=1e-4, atol=depth_step(100))


def _relative_vda(frames: np.ndarray, checkpoint: Path, backend: str = "vda") -> np.ndarray:
    """(n, H, W) relative inverse depth of a tiny relative model, straight from the backend."""
    from metricdepth.depth.base import BackendOptions
    from metricdepth.depth.registry import build_backend

    model = build_backend(backend, checkpoint, BackendOptions(device="cpu", input_size=SMALL_INPUT))
    assert not model.metric
    return np.stack([r.depth for r in model.stream(enumerate(frames))])


def _metric_truth(relative: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Metric depth whose inverse is 0.5 * relative + 0.1 (SCALE, SHIFT), then corrupted:
    20 % of pixels wrong by a factor 0.3..3, the top rows sky at 100 m. Returns (depth,
    clean mask)."""
    rng = np.random.default_rng(seed)
    depth = 1.0 / (SCALE * relative + SHIFT)
    clean = rng.random(depth.shape) >= 0.2
    depth = np.where(clean, depth, depth * rng.uniform(0.3, 3, depth.shape)).astype(np.float32)
    depth[:, :6] = 100.0
    clean[:, :6] = False
    return depth, clean


SCALE, SHIFT = 0.5, 0.1


@pytest.mark.parametrize("backend, anchor", [("vda", "depth_video"), ("vda", "anchor_backend"),
                                             ("da2_relative", "depth_video"),
                                             ("da2_relative", "anchor_backend")])
def test_relative_models_are_scaled_to_the_anchor(tmp_path, models, scene, backend, anchor):
    """Relative VDA and relative Depth Anything V2 made metric by a reference depth video,
    or by an anchor model (here the frames backend reading EXR frames), both corrupted
    with outliers and sky: the output is the exact 1 / (SCALE * relative + SHIFT) on clean
    pixels (DA2 without its stabiliser, so that the model's own output is compared)."""
    from metricdepth.io.depth_video import DepthVideoWriter
    from metricdepth.io.exports import write_depth_exr

    video = _clip(tmp_path, scene)
    relative = _relative_vda(scene.colour, models[backend], backend)
    assert relative.std() > 0.01 * relative.mean()  # not a flat map
    metric, clean = _metric_truth(relative, seed=7)
    flags = dict(backend=backend, checkpoint=str(models[backend]), chunk_frames=8, anchor_every=2,
                 stabilise=False)
    if anchor == "depth_video":
        flags["depth_video"] = str(tmp_path / "reference_depth.mkv")
        with DepthVideoWriter(flags["depth_video"], W, H, FPS) as writer:
            for d in metric:
                writer.write(d)
    else:
        (tmp_path / "anchor").mkdir()
        for i, d in enumerate(metric):
            write_depth_exr(tmp_path / "anchor" / f"{i:03d}.exr", d)
        flags.update(anchor_backend="frames", depth_frames=str(tmp_path / "anchor"))
    depth, reader = _read(convert(_config(video, **flags))[0])
    assert depth.shape == (N, H, W) and reader.info.tags["backend"].startswith(backend + ":")
    expected = np.minimum(1.0 / (SCALE * relative + SHIFT), 100)
    assert np.abs(depth - expected)[clean].max() < depth_step(100) + 1e-4 * expected.max()


def test_exports_and_selection(tmp_path, models, scene):
    """--target_fps / --max_frames pick frames; every export is written from the depth video."""
    video = _clip(tmp_path, scene)
    paths = convert(_config(video, backend="da2", checkpoint=str(models["da2"]), target_fps=15,
                            max_frames=5, save_exr=str(tmp_path / "exr"), save_npz=True,
                            save_png16=True, save_vis=True, save_ply_every=2, xfov=60.0))
    depth, reader = _read(paths[0])
    assert len(depth) == 5 and reader.fps == FPS / 2
    names = {p.name for p in paths}
    assert names == {"clip.mkv_depth.mkv", "exr", "clip.mkv_depth.npz", "clip.mkv_depth_png16.zip",
                     "clip.mkv_depth_vis.mp4", "clip.mkv_depth.mkv_pointclouds"}
    assert np.array_equal(read_depth_exr(tmp_path / "exr" / "depth_frame_0003.exr"), depth[2])
    with np.load(tmp_path / "clip.mkv_depth.npz") as npz:
        assert np.array_equal(npz["depth_0004"], depth[4]) and int(npz["frame_count"]) == 5
    clouds = sorted((tmp_path / "clip.mkv_depth.mkv_pointclouds").iterdir())
    assert [p.name for p in clouds] == ["frame_0001.ply", "frame_0003.ply", "frame_0005.ply"]
    cloud = read_ply(clouds[1])
    assert np.allclose(np.sort(cloud.points[:, 2]), np.sort(depth[2][depth[2] < 100]))
    colour_of_frame_4 = scene.colour[4]  # output frame 2 = colour frame 4 at stride 2
    assert {tuple(c) for c in cloud.colors[:50]} <= {tuple(c) for c in colour_of_frame_4.reshape(-1, 3)}


KILL_RUN = """
import json, sys
import torch
torch.set_num_threads(1)  # as in this process: thread count changes float rounding
from metricdepth.depth.base import BackendOptions
from metricdepth.depth.config import DepthConfig
from metricdepth.depth.registry import build_backend
from metricdepth.depth.step import convert
from metricdepth.depth.tiny import TINY_INPUT_SIZE, tiny_da2, tiny_depthpro, tiny_vda
convert(DepthConfig(**json.loads(sys.argv[1])))
"""


@pytest.mark.parametrize("backend", ["vda", "da2"])
def test_resume_after_sigkill_gives_the_same_bytes(tmp_path, models, backend):
    """Killed with SIGKILL after some chunks, a --resume run gives the uninterrupted run's
    bytes: VDA's window state and the metric fit (vda), the stabiliser's reference (da2)
    are carried over."""
    frames = make_scene(seed=6, width=W, height=H, frames=40).colour
    runs = {}
    for name in ("whole", "killed"):
        (tmp_path / name).mkdir()
        runs[name] = write_video(tmp_path / name / "clip.mkv", frames, FPS)
    flags = dict(backend=backend, checkpoint=str(models[backend]), chunk_frames=4, batch=2,
                 input_size=SMALL_INPUT, device="cpu")
    if backend == "vda":
        reference = tmp_path / "reference_depth.mkv"
        from metricdepth.io.depth_video import DepthVideoWriter
        with DepthVideoWriter(reference, W, H, FPS) as writer:
            for d in _metric_truth(_relative_vda(frames, models["vda"]), seed=8)[0]:
                writer.write(d)
        flags["depth_video"] = str(reference)
    whole = convert(DepthConfig(color_video=str(runs["whole"]), **flags))[0]

    work = tmp_path / "killed" / f"clip.mkv_depth.mkv{WORK_SUFFIX}"
    process = subprocess.Popen([sys.executable, "-c", KILL_RUN,
                                json.dumps({"color_video": str(runs["killed"]), **flags})])
    deadline = time.monotonic() + 60
    while not (work / "chunk_000002.done.npz").exists() and process.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    final = tmp_path / "killed" / "clip.mkv_depth.mkv"
    assert not final.exists(), "the run finished before it could be killed"
    done = len(list(work.glob("*.done.npz")))
    assert 0 < done < 10
    resumed = convert(DepthConfig(color_video=str(runs["killed"]), resume=True, **flags))[0]
    assert file_digest(resumed) == file_digest(whole)


def test_max_res_runs_the_model_on_the_capped_frame(tmp_path, models, scene):
    """--max_res 32 on the 64x48 clip: the model sees the frame at 32x24 (area), and its
    depth comes back at 64x48 (bilinear)."""
    import cv2

    from metricdepth.depth.base import BackendOptions
    from metricdepth.depth.max_res import capped_size
    from metricdepth.depth.registry import build_backend

    assert capped_size(64, 48, 32) == (32, 24) and capped_size(64, 48, 64) == (64, 48)
    assert capped_size(1920, 1080, 1280) == (1280, 720) and capped_size(3, 1000, 14) == (1, 14)
    video = _clip(tmp_path, scene)
    depth, _ = _read(convert(_config(video, backend="da2", checkpoint=str(models["da2"]),
                                     max_frames=4, max_res=32, max_depth=50.0, stabilise=False))[0])
    backend = build_backend("da2", models["da2"], BackendOptions(device="cpu", input_size=SMALL_INPUT))
    small = np.stack([cv2.resize(f, (32, 24), interpolation=cv2.INTER_AREA) for f in scene.colour[:4]])
    expected = np.stack([cv2.resize(r.depth, (W, H), interpolation=cv2.INTER_LINEAR)
                         for r in backend.infer(small, np.arange(4))])
    assert depth.shape == (4, H, W)
    assert np.abs(depth - np.minimum(expected, 50)).max() <= depth_step(50) / 2 + 1e-5
