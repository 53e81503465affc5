"""MV-HEVC spatial video (Apple Vision Pro): both eyes in one HEVC stream, two layers.

FFmpeg (5.x, and PyAV's build) cannot encode MV-HEVC; the x265 command-line encoder can
from version 4.0 when built with multiview support (``-DENABLE_MULTIVIEW=ON``), and
MP4Box (GPAC) puts its stream into an MP4. Both are looked up on PATH.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

from ..errors import InputError

INSTALL_HINT = ("MV-HEVC needs the x265 command-line encoder 4.0 or newer built with "
                "multiview support (cmake -DENABLE_MULTIVIEW=ON; 'x265 --help' then lists "
                "--multiview-config) and MP4Box from GPAC, both on PATH. Install them, or "
                "write side-by-side (the default) which headsets also play")


def find_multiview_tools() -> tuple[str, str] | None:
    """(x265, MP4Box) executables when x265 supports multiview and MP4Box exists."""
    x265, mp4box = shutil.which("x265"), shutil.which("MP4Box")
    if not x265 or not mp4box:
        return None
    try:
        help_text = subprocess.run([x265, "--fullhelp"], capture_output=True, text=True,
                                   timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return (x265, mp4box) if "multiview-config" in help_text else None


def require_multiview_tools() -> tuple[str, str]:
    tools = find_multiview_tools()
    if tools is None:
        raise InputError("--mvhevc", INSTALL_HINT)
    return tools


def encode_mvhevc(left_y4m: Path, right_y4m: Path, out_mp4: Path, fps: Fraction, crf: int,
                  work: Path) -> None:
    """Encode two Y4M views into an MV-HEVC MP4 (left eye = base layer). Not run by the
    tests here (no multiview x265 on the test machine)."""
    x265, mp4box = require_multiview_tools()
    config = work / "multiview.cfg"
    config.write_text(f"--num-views 2\n--format 0\n--input {left_y4m}\n--input {right_y4m}\n")
    stream = work / "views.hevc"
    subprocess.run([x265, "--multiview-config", str(config), "--crf", str(crf),
                    "--fps", str(fps), "--output", str(stream)], check=True)
    subprocess.run([mp4box, "-add", f"{stream}:fps={float(fps)}", "-new", str(out_mp4)], check=True)
