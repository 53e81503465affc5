"""Bad input to video_metric_convert.py: one line naming the file or flag, exit code 2,
nothing created or changed. Runs the real script in a subprocess, as a user would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import file_digest, pattern_frames, write_video
from metricdepth.depth.registry import build_backend
from metricdepth.errors import InputError
from metricdepth.io.depth_video import DepthVideoWriter
from metricdepth.depth.tiny import tiny_depthpro, tiny_vda

REPO = Path(__file__).resolve().parents[1]
W, H, N = 48, 32, 4


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    write_video(d / "clip.mkv", pattern_frames(N, W, H))
    write_video(d / "done.mkv", pattern_frames(N, W, H))
    (d / "done.mkv_depth.mkv").write_bytes(b"an earlier result")
    (d / "notes.mp4").write_text("this is not a video\n")
    with DepthVideoWriter(d / "small_depth.mkv", W // 2, H, 30) as writer:
        for _ in range(N):
            writer.write(np.ones((H, W // 2), np.float32))
    tiny_depthpro(d / "depthpro_ckpt")
    tiny_vda(d / "vda_ckpt")
    return d


CASES = [
    (["--color_video", "{d}/missing.mp4"], "missing.mp4: file not found"),
    (["--color_video", "{d}/notes.mp4"], "notes.mp4: not a readable video"),
    (["--color_video", "{d}/clip.mkv", "--xfov", "200"], r"--xfov: 200 is out of range: must be in \(1, 179\)"),
    (["--color_video", "{d}/done.mkv", "--backend", "frames", "--depth_frames", "{d}"],
     "done.mkv_depth.mkv: already exists; pass --overwrite"),
    (["--color_video", "{d}/clip.mkv", "--backend", "da2", "--checkpoint", "{d}/depthpro_ckpt"],
     r"depthpro_ckpt: checkpoint does not match backend da2 .*model type 'depth_pro'.*"
     r"missing keys \(backbone\..*unexpected keys \(depth_pro\."),
    (["--color_video", "{d}/clip.mkv", "--backend", "depthpro"],
     "--checkpoint: backend depthpro has no default weights: .*research licence"),
    (["--color_video", "{d}/clip.mkv", "--backend", "da2"],
     "--checkpoint: weights depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf .* not in "
     "the Hugging Face cache"),
    (["--color_video", "{d}/clip.mkv", "--backend", "vda", "--checkpoint",
      "{d}/vda_ckpt/vda_tiny.pth", "--depth_video", "{d}/small_depth.mkv", "--input_size", "28"],
     "small_depth.mkv: reference depth video is 24x32, but clip.mkv is 48x32"),
    (["--color_video", "{d}/clip.mkv", "--backend", "frames", "--depth_frames", "{d}/nowhere"],
     "nowhere: depth frame folder not found"),
    (["--color_video", "{d}/clip.mkv", "--start", "10"], "--start: 10.0 s is past the end"),
    # step 1's options from neighbouring tools (issue 18)
    (["--color_video", "{d}/clip.mkv", "--model", "vitg"], r"--model.*vitg.*vits, vitb, vitl"),
    (["--color_video", "{d}/clip.mkv", "--save_vis", "--palette", "magma"],
     r"--palette.*magma.*turbo, inferno, grey"),
    (["--color_video", "{d}/clip.mkv", "--max_res", "13"],
     r"--max_res: 13 px is below the network's patch size \(14 px for vda_metric\)"),
    (["--color_video", "{d}/clip.mkv", "--backend", "depthpro", "--max_res", "15"],
     r"--max_res: 15 px is below the network's patch size \(16 px for depthpro\)"),
    (["--color_video", "{d}/clip.mkv", "--backend", "depthpro", "--model", "vits"],
     "--model: vits: backend depthpro is published as vitl only"),
    (["--color_video", "{d}/clip.mkv", "--backend", "frames", "--model", "vitl"],
     "--model: vitl: backend frames has no published sizes"),
    (["--color_video", "{d}/clip.mkv", "--model", "vitl", "--checkpoint", "{d}/vda_ckpt"],
     "--model: give --model .* or --checkpoint .*, not both"),
    (["--color_video", "{d}/clip.mkv", "--sample", "keyframes", "--target_fps", "5"],
     "--target_fps: give --target_fps or --sample keyframes, not both"),
    (["--color_video", "{d}/clip.mkv", "--smoothing", "-1"], r"--smoothing.*-1.*in \[0, 100\]"),
    (["--color_video", "{d}/clip.mkv", "--max_frames", "0"], r"--max_frames.*0.*>= 1"),
]


@pytest.mark.parametrize("args, message", CASES, ids=[c[1].split(":")[0][:30] for c in CASES])
def test_one_line_exit_2_and_nothing_touched(files, args, message):
    before = {p.name: file_digest(p) for p in files.iterdir() if p.is_file()}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(files / "no_cache")}
    result = subprocess.run([sys.executable, str(REPO / "video_metric_convert.py"), "--device", "cpu", "-q",
                             *[a.format(d=files) for a in args]],
                            capture_output=True, text=True, cwd=files, env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert {p.name: file_digest(p) for p in files.iterdir() if p.is_file()} == before


def test_unknown_backend_is_refused_with_the_list():
    with pytest.raises(InputError, match="unknown backend 'midas'; choose from vda, vda_metric, da2"):
        build_backend("midas")


def test_vda_checkpoint_of_the_wrong_model_names_its_keys(files):
    with pytest.raises(InputError, match="model.safetensors: is not a Video Depth Anything checkpoint"):
        build_backend("vda", files / "depthpro_ckpt" / "model.safetensors")
