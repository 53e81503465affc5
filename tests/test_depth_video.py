"""Depth video packing: round trip, the documented formula, tags, bad packing."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from conftest import pattern_frames, write_video
from metricdepth.errors import InputError
from metricdepth.io.depth_video import (DepthVideoReader, DepthVideoWriter, decode_depth,
                                        depth_step, encode_depth)

W, H = 67, 41  # odd sizes on purpose


def _write_depth(path, frames, max_depth=100.0, **kwargs):
    with DepthVideoWriter(path, W, H, 30, max_depth=max_depth, **kwargs) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def _depth_frames(max_depth, count=4, seed=0):
    rng = np.random.default_rng(seed)
    frames = rng.uniform(0, max_depth, (count, H, W)).astype(np.float32)
    frames[0, 0, :3] = [0.0, max_depth, np.nextafter(np.float32(max_depth), 0)]
    return frames


@pytest.mark.parametrize("max_depth", [100.0, 20.0, 1000.0])
def test_round_trip_within_half_a_step(tmp_path, max_depth):
    frames = _depth_frames(max_depth)
    path = _write_depth(tmp_path / "d.mkv", frames, max_depth)
    with DepthVideoReader(path) as video:
        decoded = np.stack(list(video))
    tolerance = depth_step(max_depth) / 2 + np.spacing(np.float32(max_depth)) / 2
    assert np.abs(decoded.astype(np.float64) - frames).max() <= tolerance


def test_step_size_matches_the_spec():
    assert depth_step(100.0) == pytest.approx(1.55e-3, abs=0.01e-3)


def test_file_decodes_with_the_documented_formula_independently(tmp_path):
    """Decode with the ffmpeg command-line tool and the formula of docs/formats.md, not
    with our decoder: d = ((R << 24) | (B << 16)) * max_depth / 255**4, R == G."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed (install.sh installs it)")
    max_depth = 100.0
    frames = _depth_frames(max_depth, count=2, seed=3)
    path = _write_depth(tmp_path / "d.mkv", frames, max_depth)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    rgb = np.frombuffer(raw, np.uint8).reshape(2, H, W, 3).astype(np.int64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    assert np.array_equal(r, g)
    decoded = ((r << 24) | (b << 16)) * max_depth / 255**4
    assert np.abs(decoded - frames).max() <= depth_step(max_depth) / 2 + 1e-9

    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format_tags:stream=codec_name,pix_fmt",
                            "-of", "json", str(path)], capture_output=True, check=True, text=True)
    described = json.loads(probe.stdout)
    tags = {k.lower(): v for k, v in described["format"]["tags"].items()}
    assert float(tags["max_depth"]) == max_depth
    assert described["streams"][0]["codec_name"] == "ffv1"
    assert described["streams"][0]["pix_fmt"] in ("bgr0", "rgb24")


def test_encoder_packing_by_hand():
    depth = np.array([[0.0, 100.0, 50.0]], np.float32)
    pixels = encode_depth(depth, 100.0)
    q = np.round(depth.astype(np.float64) * 255**4 / 100.0 / 65536).astype(int)
    blue, green, red = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    assert np.array_equal(red, q >> 8) and np.array_equal(green, q >> 8)
    assert np.array_equal(blue, q & 255)
    assert np.array_equal(decode_depth(pixels, 100.0) > 0, [[False, True, True]])


def test_tag_wins_over_the_callers_max_depth(tmp_path):
    frames = _depth_frames(20.0)
    path = _write_depth(tmp_path / "d.mkv", frames, 20.0)
    with DepthVideoReader(path, max_depth=100.0) as video:
        assert video.max_depth == 20.0
        assert np.abs(video.read(1) - frames[1]).max() <= depth_step(20.0)


def test_untagged_file_uses_the_callers_max_depth(tmp_path):
    """A file from another tool: packed frames, no tags."""
    frames = _depth_frames(50.0, count=2)
    packed = [encode_depth(f, 50.0)[..., 2::-1] for f in frames]  # bgr0 -> RGB
    path = write_video(tmp_path / "other.mkv", np.stack(packed))
    with DepthVideoReader(path, max_depth=50.0) as video:
        assert np.abs(video.read(0) - frames[0]).max() <= depth_step(50.0)


def test_invalid_pixels_become_max_depth_and_nan_is_refused(tmp_path):
    depth = np.full((H, W), 3.0, np.float32)
    depth[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        encode_depth(depth, 100.0)
    with pytest.raises(ValueError, match="negative"):
        encode_depth(np.full((H, W), -1.0, np.float32), 100.0)
    pixels = encode_depth(depth, 100.0, invalid=np.isnan(depth))
    assert decode_depth(pixels, 100.0)[0, 0] == pytest.approx(100.0, abs=depth_step(100.0))


def test_colour_video_given_as_depth_is_refused(tmp_path):
    path = write_video(tmp_path / "colour.mkv", pattern_frames(2, W, H))
    with pytest.raises(InputError, match="colour.mkv: frame 0 is not a depth video frame"):
        list(DepthVideoReader(path))
