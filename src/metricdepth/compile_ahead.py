"""Compile every numba kernel once, ahead of the first real run, into the user's cache.

numba compiles a kernel the first time it is called and keeps the machine code in its
cache folder (`metricdepth._numba`: the user's cache folder); later runs load it in well
under a second. Compiling the stereo renderer and the infill warp costs minutes of CPU,
which would otherwise land on the user's first run. ``install.sh`` runs this module once:

    .venv/bin/python -m metricdepth.compile_ahead

It runs the real steps on a tiny synthetic clip in a temporary folder, so every kernel is
compiled for exactly the array types real runs pass: step 3's LK tracker (affine
alignment, seeding), step 6 with parallel eyes (scanline path) and stabilised (general
mesh path), step 7 classical with depth and poses. Prints the seconds it took.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from .infill.step import InfillConfig, infill
from .stereo.step import StereoConfig, stereo_rerender
from .synthetic import make_scene
from .synthetic.export import write_clip
from .tracking.step import TrackConfig, track_points

WIDTH, HEIGHT, FRAMES, XFOV = 64, 48, 3, 60.0


def compile_ahead(folder: Path) -> None:
    """Run steps 3, 6 and 7 on a tiny clip written into `folder` (which must be empty)."""
    paths = write_clip(make_scene(0, WIDTH, HEIGHT, FRAMES, XFOV), folder / "clip.mkv")
    track_points(TrackConfig(color_video=str(paths["colour"]), depth_video=str(paths["depth"]), backend="lk"))
    parallel = StereoConfig(color_video=paths["colour"], depth_video=paths["depth"], xfov=XFOV)
    stabilised = dataclasses.replace(parallel, transformation_file=paths["transformations"])
    stereo_rerender(stabilised)  # the general (mesh) path
    stereo = stereo_rerender(dataclasses.replace(parallel, overwrite=True))["stereo"]
    infill(
        InfillConfig(
            sbs_color_video=stereo,
            color_video=paths["colour"],
            depth_video=paths["depth"],
            transformation_file=paths["transformations"],
            mask_video=paths["mask"],
            xfov=XFOV,
        )
    )


def main() -> None:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        compile_ahead(Path(tmp))
    print(f"numba kernels compiled and cached in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
