"""Field of view from flags, a per-frame file, or the file beside the depth video."""

from __future__ import annotations

import numpy as np
import pytest

from metricdepth.errors import InputError
from metricdepth.fov import frame_intrinsics, resolve_xfovs
from metricdepth.io.sidecars import write_xfovs


def test_flag_wins_and_yfov_fixes_xfov():
    assert resolve_xfovs(3, 640, 480, xfov=70.0).tolist() == [70.0] * 3
    from_y = resolve_xfovs(2, 640, 480, yfov=45.0)
    assert frame_intrinsics(from_y, 640, 480)[0].yfov == pytest.approx(45.0)


def test_file_beside_the_depth_video_is_found(tmp_path):
    depth = tmp_path / "clip.mp4_depth.mkv"
    write_xfovs(tmp_path / "clip.mp4_depth.mkv_xfovs.json", [60.0, 61.0])
    assert resolve_xfovs(2, 64, 48, depth_video=depth).tolist() == [60.0, 61.0]
    with pytest.raises(InputError, match="has 2 FOVs, the video has 3 frames"):
        resolve_xfovs(3, 64, 48, depth_video=depth)


def test_missing_fov_names_the_flags(tmp_path):
    with pytest.raises(InputError, match="--xfov: no field of view given: pass --xfov or --yfov"):
        resolve_xfovs(2, 64, 48, depth_video=tmp_path / "d.mkv")
    with pytest.raises(InputError, match="outside"):
        resolve_xfovs(2, 64, 48, xfov=180.0)
