"""The rembg backend with the real u2netp weights on the real clips (bedroom: two
children; dog: a person and a dog): coverage, steadiness, agreement with the weight-free
motion mask; the step's soft mask video in MDVT's format; auto; motion+rembg; bad model
files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import write_video
from metricdepth.cli import run
from metricdepth.errors import InputError
from metricdepth.io.mask_video import MaskVideoReader
from metricdepth.io.video import VideoReader, probe
from metricdepth.masks import resolve_backend
from metricdepth.masks.combine import moving_subject
from metricdepth.masks.motion import motion_masks
from metricdepth.masks.rembg import RembgMatter, rembg_mattes
from metricdepth.masks.step import MaskConfig, create_mask
from test_tracking_lk import load_script

create_video_mask = load_script("create_video_mask")
FRAMES = 16
WIDTH = 480  # the clips are decoded and shrunk to this width (the model sees 320x320 anyway)


@pytest.fixture
def u2netp(shared_data) -> Path:
    path = shared_data / "models" / "u2netp" / "u2netp.onnx"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


def small_frames(path: Path, count: int = FRAMES) -> list[np.ndarray]:
    info = probe(path)
    height = round(info.height * WIDTH / info.width / 2) * 2
    return [cv2.resize(f, (WIDTH, height), interpolation=cv2.INTER_AREA)
            for f in VideoReader(path, info).frames(0, count)]


@pytest.mark.parametrize("clip", ["bedroom/bedroom.mp4", "dog/01_dog.mp4"])
def test_u2netp_finds_the_moving_subjects_steadily(clip, shared_data, u2netp):
    frames = small_frames(shared_data / "video" / clip)
    mattes = list(rembg_mattes(RembgMatter("u2netp", str(u2netp)), iter(frames), 5))
    subject = [m >= 128 for m in mattes]
    coverage = np.array([s.mean() for s in subject])
    assert (coverage > 0.02).all() and (coverage < 0.4).all(), coverage
    steady = [(a & b).sum() / (a | b).sum() for a, b in zip(subject, subject[1:])]
    assert min(steady) >= 0.8, steady
    soft = np.mean([((m > 16) & (m < 240)).mean() for m in mattes])
    assert soft > 0.002  # soft edges kept, not a hard 0/255 mask
    # where the weight-free motion mask marks something, most of it is on the learned subject
    # (far more than the learned mask's share of the frame, which chance alone would give)
    moving = list(motion_masks(lambda: iter(frames), len(frames)))
    shares = [(m & s).sum() / m.sum() for m, s in zip(moving, subject) if m.mean() > 0.01]
    assert len(shares) >= FRAMES // 2
    assert np.median(shares) >= max(0.45, 3 * np.median(coverage)), (shares, coverage)


def test_moving_subject_keeps_the_parts_that_move():
    matte = np.zeros((40, 60), np.uint8)
    matte[5:15, 5:15] = 255      # moves
    matte[4, 5:15] = 90          # its soft edge
    matte[25:35, 40:55] = 255    # a still part
    moving = np.zeros((40, 60), bool)
    moving[8:12, 8:12] = True
    kept = moving_subject(matte, moving)
    assert (kept[5:15, 5:15] == 255).all() and (kept[4, 5:15] == 90).all()
    assert not kept[20:].any()
    assert not moving_subject(np.zeros_like(matte), moving).any()


def test_step_writes_a_soft_mask_video_in_mdvt_format(tmp_path, shared_data, u2netp, monkeypatch):
    video = write_video(tmp_path / "bed.mkv", np.array(small_frames(shared_data / "video" / "bedroom" /
                                                                    "bedroom.mp4", 6)))
    monkeypatch.setenv("U2NET_HOME", str(u2netp.parent))
    assert resolve_backend("auto") == "rembg"
    path = create_mask(MaskConfig(color_video=str(video)))[0]  # auto: rembg, model from U2NET_HOME
    rgb = list(VideoReader(path).frames())
    assert len(rgb) == 6
    for frame in rgb:
        assert (frame[..., 0] == frame[..., 1]).all() and (frame[..., 2] == frame[..., 1]).all()
    grey = np.array([f[..., 1] for f in rgb])
    assert (grey == 255).mean() > 0.02 and ((grey > 0) & (grey < 255)).any()
    matter = RembgMatter("u2netp")
    expected = list(rembg_mattes(matter, VideoReader(video).frames(), 5))
    assert max(np.abs(g.astype(int) - e).max() for g, e in zip(grey, expected)) == 0
    assert all((m == (g >= 128)).all() for m, g in zip(MaskVideoReader(path), grey))
    combined = create_mask(MaskConfig(color_video=str(video), backend="motion+rembg",
                                      overwrite=True))[0]
    both = np.array([f[..., 1] for f in VideoReader(combined).frames()])
    assert (both <= grey).all() and (both == grey)[both > 0].all()
    monkeypatch.setenv("U2NET_HOME", str(tmp_path / "empty"))
    assert resolve_backend("auto") == "motion"


def test_missing_or_corrupt_model_is_named_in_one_line(tmp_path, monkeypatch, capsys):
    video = write_video(tmp_path / "clip.mkv", np.zeros((3, 48, 64, 3), np.uint8))
    monkeypatch.setenv("U2NET_HOME", str(tmp_path / "models"))
    missing = tmp_path / "models" / "u2netp.onnx"
    with pytest.raises(InputError, match="rembg model file not found"):
        RembgMatter("u2netp")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx model")
    base = ["--color_video", str(video), "--backend", "rembg"]
    for args, named, message in [(base, missing, "not found"),
                                 (base + ["--checkpoint", str(broken)], broken, "not a loadable ONNX"),
                                 (base + ["--rembg_smooth", "4"], "--rembg_smooth", "odd")]:
        assert run(create_video_mask.main, args) == 2
        err = capsys.readouterr().err.strip()
        assert str(named) in err and message in err and len(err.splitlines()) == 1, err
        assert not (tmp_path / "clip.mkv_mask.mkv").exists()
