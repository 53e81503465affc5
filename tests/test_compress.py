"""Step 8: the final file probed with ffprobe (codec, layout metadata, audio, frame count),
on a stereo video made from the real dog clip, whose audio is taken from the original."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ffprobe, side_data, streams, write_video
from metricdepth.encode.encoders import encoder_opens
from metricdepth.io.stereo_tags import TAG_LAYOUT
from metricdepth.io.video import VideoReader, VideoWriter, probe

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "compress_video.py"
EYE_W, EYE_H = 160, 90

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed")


@pytest.fixture(scope="module")
def dog(tmp_path_factory, request):
    """(the original dog clip with audio, a small SBS of it: same length and fps)."""
    from conftest import SHARED_DATA

    source = SHARED_DATA / "video" / "dog" / "01_dog.mp4"
    if not source.exists():
        pytest.skip(f"{source} not present")
    folder = tmp_path_factory.mktemp("compress")
    stereo = folder / "dog_stereo.mkv"
    with VideoReader(source) as video, VideoWriter(stereo, 2 * EYE_W, EYE_H, video.fps,
                                                   tags={TAG_LAYOUT: "full_sbs"}) as out:
        for frame in video:
            eye = cv2.resize(frame, (EYE_W, EYE_H), interpolation=cv2.INTER_AREA)
            out.write(np.concatenate([eye, eye[:, ::-1]], axis=1))  # right eye != left eye
    return source, stereo


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args, "-q"], capture_output=True, text=True)


def test_default_is_x265_full_sbs_mp4_with_the_original_audio(dog):
    source, stereo = dog
    result = _run("--sbs_color_video", str(stereo), "--color_video", str(source))
    assert result.returncode == 0, result.stderr
    out = Path(result.stdout.strip())
    assert out.name == "dog_stereo.mkv_LRF_Full_SBS.mp4"
    info = ffprobe(out)
    [video], [audio] = streams(info, "video"), streams(info, "audio")
    src = probe(source)
    assert video["codec_name"] == "hevc" and video["codec_tag_string"] == "hvc1"
    assert (video["width"], video["height"]) == (2 * EYE_W, EYE_H)
    assert int(video["nb_read_packets"]) == src.frame_count == 289
    assert side_data(video)["Stereo 3D"]["type"] == "side by side"
    assert audio["codec_name"] == "aac"  # copied from the original
    assert abs(float(info["format"]["duration"]) - src.duration) <= 1 / float(src.fps)
    # the picture survives: the left eye matches the source at CRF 18 within a few levels
    first = next(iter(VideoReader(out)))
    with VideoReader(stereo) as s:
        expected = next(iter(s))
    assert np.abs(first.astype(int) - expected).mean() < 4.0


def test_half_top_bottom_matroska_10_bit(dog):
    source, stereo = dog
    result = _run("--sbs_color_video", str(stereo), "--color_video", str(source),
                  "--layout", "half_top_bottom", "--container", "mkv", "--ten_bit",
                  "--encoder", "libx265")
    assert result.returncode == 0, result.stderr
    out = Path(result.stdout.strip())
    assert out.name == "dog_stereo.mkv_TB_Half_OU.mkv"
    info = ffprobe(out)
    [video] = streams(info, "video")
    assert video["codec_name"] == "hevc" and video["pix_fmt"] == "yuv420p10le"
    assert (video["width"], video["height"]) == (EYE_W, EYE_H)  # each eye half height
    assert video["tags"]["stereo_mode"] == "top_bottom"
    assert int(video["nb_read_packets"]) == 289
    assert len(streams(info, "audio")) == 1


def test_height_preset_scales_keeping_the_aspect(dog, tmp_path):
    source, stereo = dog
    out = tmp_path / "720.mp4"
    result = _run("--sbs_color_video", str(stereo), "--output", str(out), "--encoder", "libx264",
                  "--preset", "ultrafast", "--height", "720", "--no_audio", "--color_video", str(source))
    assert result.returncode == 0, result.stderr
    info = ffprobe(out)
    [video] = streams(info, "video")
    assert (video["width"], video["height"]) == (2560, 720)  # 320x90 times 8
    assert streams(info, "audio") == []


def test_no_audio_source_means_no_audio_stream(dog, tmp_path):
    _, stereo = dog
    out = tmp_path / "plain.mp4"
    result = _run("--sbs_color_video", str(stereo), "--output", str(out), "--encoder", "libx264",
                  "--preset", "ultrafast")
    assert result.returncode == 0, result.stderr
    assert streams(ffprobe(out), "audio") == []


def _refused(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr


def test_bad_input_is_refused_with_one_line(dog, tmp_path):
    source, stereo = dog
    odd = write_video(tmp_path / "odd.mkv", np.zeros((3, 8, 11, 3), np.uint8))
    _refused(_run("--sbs_color_video", str(odd), "--layout", "full_sbs"), "odd.mkv", "odd width")
    _refused(_run("--sbs_color_video", str(tmp_path / "missing.mkv")), "missing.mkv", "not found")
    short = write_video(tmp_path / "short.mkv", np.zeros((5, 8, 16, 3), np.uint8), fps=30)
    _refused(_run("--sbs_color_video", str(short), "--layout", "full_sbs", "--color_video", str(source)),
             "01_dog.mp4", "not its source")
    text = tmp_path / "text.mp4"
    text.write_text("no video")
    _refused(_run("--sbs_color_video", str(stereo), "--color_video", str(text)), "text.mp4")
    _refused(_run("--sbs_color_video", str(stereo), "--crf", "80"), "--crf")
    _refused(_run("--sbs_color_video", str(stereo), "--crf", "55", "--encoder", "libx264"), "--crf", "51")
    _refused(_run("--sbs_color_video", str(source), "--color_video", str(source)), "01_dog.mp4",
             "no stereo layout tag", "--layout")
    _refused(_run("--sbs_color_video", str(stereo), "--encoder", "x266"), "--encoder")
    _refused(_run("--sbs_color_video", str(stereo), "--sbs_w", "641"), "--sbs_w", "even")
    _refused(_run("--sbs_color_video", str(stereo), "--sbs_w", "640", "--sbs_h", "360"), "distort")
    _refused(_run("--sbs_color_video", str(stereo), "--height", "1000"), "--height")
    _refused(_run("--sbs_color_video", str(stereo), "--ten_bit", "--encoder", "libx264"), "--ten_bit")
    _refused(_run("--sbs_color_video", str(stereo), "--layout", "vr180"), "--layout", "vr180")
    for flag in (["--container", "mkv"], ["--ten_bit"], ["--encoder", "libx264"], ["--height", "720"],
                 ["--layout", "half_sbs"]):
        _refused(_run("--sbs_color_video", str(stereo), "--mvhevc", *flag), flag[0], "--mvhevc")
    if not encoder_opens("hevc_nvenc"):
        _refused(_run("--sbs_color_video", str(stereo), "--encoder", "hevc_nvenc"), "hevc_nvenc",
                 "NVIDIA")
    existing = tmp_path / "exists.mp4"
    existing.write_bytes(b"keep")
    _refused(_run("--sbs_color_video", str(stereo), "--output", str(existing)), "already exists")
    assert existing.read_bytes() == b"keep"
    if shutil.which("x265") is None:
        _refused(_run("--sbs_color_video", str(stereo), "--mvhevc"), "--mvhevc", "x265", "MP4Box")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.mp4", "odd.mkv", "short.mkv", "text.mp4"]
