"""A stereo video of step 1's sampled depth that starts later in the colour video
(--start) gets the audio from its first frame's time on: step 6 tags its output with the
source frames, step 7 carries the tag, step 8 starts the audio there (to within one audio
packet). The audio here is a ramp (value = time / 10), so a sample's value says when in
the source it was taken."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from metricdepth.encode.step import CompressConfig, compress
from metricdepth.errors import InputError
from metricdepth.io.source_frames import TAG_SOURCE_FRAMES
from metricdepth.io.stereo_tags import TAG_LAYOUT, stereo_tags
from metricdepth.io.video import VideoWriter

FPS, SECONDS, FIRST, COUNT = 25, 2, 20, 20  # the stereo video: frames 20..39 (0.8-1.6 s)
RAMP = 0.1  # audio value per second
pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


def _colour(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc=size=32x32:rate={FPS}:duration={SECONDS}", "-f", "lavfi", "-i",
                    f"aevalsrc={RAMP}*t:s=48000:d={SECONDS}", "-c:a", "pcm_s16le",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def _stereo(path: Path, tags: dict[str, str]) -> Path:
    with VideoWriter(path, 64, 32, FPS, tags=tags) as out:
        for _ in range(COUNT):
            out.write(np.full((32, 64, 3), 128, np.uint8))
    return path


def _audio(path: Path) -> tuple[np.ndarray, float]:
    """Mono float samples of the first audio stream and its start time, seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = list(container.decode(stream))
        start = float(frames[0].pts * frames[0].time_base)
        samples = np.concatenate([f.to_ndarray().reshape(-1, f.samples)[0] for f in frames])
    scale = 32768.0 if samples.dtype == np.int16 else 1.0  # PCM s16 copied; AAC decodes to float
    return samples.astype(np.float64) / scale, start


def test_stereo_tags_carry_the_source_frames():
    tags = {TAG_LAYOUT: "full_sbs", TAG_SOURCE_FRAMES: f"{FIRST}:1:{COUNT}", "other": "x"}
    assert stereo_tags(tags) == {TAG_LAYOUT: "full_sbs", TAG_SOURCE_FRAMES: f"{FIRST}:1:{COUNT}"}


@pytest.mark.parametrize("container", ["mkv", "mp4"])  # PCM copied; re-encoded to AAC
def test_audio_starts_at_the_first_source_frame(tmp_path, caplog, container):
    colour = _colour(tmp_path / "colour.mkv")
    stereo = _stereo(tmp_path / "sbs.mkv", {TAG_LAYOUT: "full_sbs", TAG_SOURCE_FRAMES: f"{FIRST}:1:{COUNT}"})
    caplog.set_level("INFO")
    [out] = compress(CompressConfig(sbs_color_video=stereo, color_video=colour, container=container,
                                    encoder="libx264", preset="ultrafast"))
    assert "its audio from 0.800 s on" in caplog.text
    samples, start = _audio(out)
    packet = 1024 / 48000  # seconds: PCM packets here, AAC frames
    assert -packet <= start <= packet  # the first kept packet began up to one packet late
    # sample k was taken at source time FIRST / FPS + start + k / rate (AAC: smoothed)
    times = FIRST / FPS + start + np.arange(len(samples)) / 48000
    middle = slice(len(samples) // 4, 3 * len(samples) // 4)
    tolerance = 1e-4 if container == "mkv" else 3e-3  # 16-bit steps; AAC's error
    assert np.abs(samples[middle] - RAMP * times[middle]).max() < tolerance
    assert len(samples) / 48000 == pytest.approx(COUNT / FPS, abs=2 * packet)


def test_an_untagged_shorter_stereo_video_is_not_the_colour_videos(tmp_path):
    colour = _colour(tmp_path / "colour.mkv")
    stereo = _stereo(tmp_path / "sbs.mkv", {TAG_LAYOUT: "full_sbs"})
    with pytest.raises(InputError, match="not its source"):
        compress(CompressConfig(sbs_color_video=stereo, color_video=colour, container="mkv"))


def test_a_stereo_video_of_frames_the_colour_video_lacks_is_refused(tmp_path):
    colour = _colour(tmp_path / "colour.mkv")  # 50 frames
    stereo = _stereo(tmp_path / "sbs.mkv", {TAG_LAYOUT: "full_sbs", TAG_SOURCE_FRAMES: f"40:1:{COUNT}"})
    with pytest.raises(InputError, match="holds frame 59 of the colour frames .* colour.mkv has 50"):
        compress(CompressConfig(sbs_color_video=stereo, color_video=colour, container="mkv"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["colour.mkv", "sbs.mkv"]
