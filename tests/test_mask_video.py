"""Mask video: grey replicated to RGB, 255 = subject."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import pattern_frames, write_video
from metricdepth.errors import InputError
from metricdepth.io.mask_video import MaskVideoReader, MaskVideoWriter


def test_round_trip_and_pixel_values(tmp_path):
    masks = np.random.default_rng(0).random((5, 30, 44)) > 0.7
    with MaskVideoWriter(tmp_path / "m.mkv", 44, 30, 25) as writer:
        for mask in masks:
            writer.write(mask)
    with MaskVideoReader(tmp_path / "m.mkv") as video:
        assert np.array_equal(np.stack(list(video)), masks)
        raw = next(iter(super(MaskVideoReader, video).frames(0, 1)))
    assert set(np.unique(raw)) <= {0, 255}
    assert np.array_equal(raw[..., 0], raw[..., 1]) and np.array_equal(raw[..., 1], raw[..., 2])


def test_lossy_grey_mask_from_another_tool_is_thresholded(tmp_path):
    grey = np.array([[0, 20, 120, 140, 240, 255]], np.uint8).repeat(4, axis=0)
    frames = np.repeat(grey[None, ..., None], 3, axis=3)
    path = write_video(tmp_path / "lossy.mkv", frames)
    assert np.array_equal(next(iter(MaskVideoReader(path))), grey >= 128)


def test_colour_video_is_not_a_mask(tmp_path):
    path = write_video(tmp_path / "colour.mkv", pattern_frames(1, 16, 16))
    with pytest.raises(InputError, match="colour.mkv: frame 0 is not a mask"):
        list(MaskVideoReader(path))
