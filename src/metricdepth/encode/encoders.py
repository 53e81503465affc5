"""Video encoders of step 8 and how `--encoder auto` picks one.

Software: libx265 (HEVC), libx264 (H.264), libsvtav1 (AV1); NVIDIA hardware: hevc_nvenc,
h264_nvenc. All are in PyAV's FFmpeg; whether NVENC works depends on an NVIDIA device and
driver, so it is probed by opening the encoder once (a 256x128 context, nothing encoded).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import av

from ..errors import InputError

log = logging.getLogger(__name__)

X26X_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
# SVT-AV1 presets are numbers (0 slowest .. 13 fastest); the x26x names map onto them.
SVT_PRESETS = {
    "ultrafast": 12,
    "superfast": 11,
    "veryfast": 10,
    "faster": 9,
    "fast": 8,
    "medium": 6,
    "slow": 4,
    "slower": 3,
    "veryslow": 2,
    "placebo": 1,
}
NV_PRESETS = ("p1", "p2", "p3", "p4", "p5", "p6", "p7")  # p1 fastest .. p7 best
PROBE_SIZE = (256, 128)


@dataclass(frozen=True)
class Encoder:
    """name: FFmpeg encoder. codec: what ffprobe calls the stream. nvenc: NVIDIA hardware.
    max_quality: largest --crf/--cq value. ten_bit_format: pixel format for --ten_bit
    (None: not offered). mp4_tag: codec tag in MP4 (None: FFmpeg's default)."""

    name: str
    codec: str
    nvenc: bool
    max_quality: int
    ten_bit_format: str | None
    mp4_tag: str | None

    def options(self, quality: int, preset: str, nv_preset: str) -> dict[str, str]:
        """Encoder options for constant quality `quality` (CRF, or CQ for NVENC)."""
        if self.nvenc:
            return {"rc": "vbr", "cq": str(quality), "preset": nv_preset, "b": "0"}
        if self.name == "libsvtav1":
            return {"crf": str(quality), "preset": str(SVT_PRESETS[preset])}
        options = {"crf": str(quality), "preset": preset}
        if self.name == "libx265":
            options["x265-params"] = "log-level=error"
        return options


ENCODERS = {
    e.name: e
    for e in (
        Encoder("libx265", "hevc", nvenc=False, max_quality=51, ten_bit_format="yuv420p10le", mp4_tag="hvc1"),
        Encoder("libx264", "h264", nvenc=False, max_quality=51, ten_bit_format=None, mp4_tag=None),
        Encoder("hevc_nvenc", "hevc", nvenc=True, max_quality=51, ten_bit_format="p010le", mp4_tag="hvc1"),
        Encoder("h264_nvenc", "h264", nvenc=True, max_quality=51, ten_bit_format=None, mp4_tag=None),
        Encoder("libsvtav1", "av1", nvenc=False, max_quality=63, ten_bit_format="yuv420p10le", mp4_tag=None),
    )
}
ENCODER_CHOICES = ("auto", *ENCODERS)
AUTO_HARDWARE, AUTO_SOFTWARE = "hevc_nvenc", "libx265"

os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its banner on stderr otherwise


@cache
def encoder_opens(name: str) -> bool:
    """Whether FFmpeg's encoder `name` opens here (for NVENC: a device and driver answer)."""
    context = av.CodecContext.create(name, "w")
    context.width, context.height = PROBE_SIZE
    context.pix_fmt = "yuv420p"
    context.time_base = Fraction(1, 25)
    level = av.logging.get_level()
    av.logging.set_level(None)  # FFmpeg's own error lines for a missing device
    try:
        context.open()
    except av.FFmpegError:
        return False
    finally:
        av.logging.set_level(level)
    return True


def select_encoder(requested: str, opens: Callable[[str], bool] = encoder_opens) -> Encoder:
    """The encoder for `--encoder requested`: auto takes hevc_nvenc when it opens, else
    libx265 (said in one log line); NVENC asked for by name must open (InputError)."""
    if requested == "auto":
        if opens(AUTO_HARDWARE):
            log.info("--encoder auto: %s (an NVIDIA encoder answers)", AUTO_HARDWARE)
            return ENCODERS[AUTO_HARDWARE]
        log.info("--encoder auto: %s (no NVIDIA encoder answers here)", AUTO_SOFTWARE)
        return ENCODERS[AUTO_SOFTWARE]
    encoder = ENCODERS[requested]
    if encoder.nvenc and not opens(encoder.name):
        raise InputError(
            "--encoder",
            f"{encoder.name} does not open here (no NVIDIA device or "
            "driver); use --encoder auto, libx265 or libx264",
        )
    return encoder


MAX_REORDER_FRAMES = 16  # no encoder here decodes a frame this many frames before showing it


def repair_dts(packet: av.Packet, fps: Fraction) -> None:
    """Give the first packet of a stream a decode time the muxer takes, when the encoder's
    is impossible: libx265 can hand back an uninitialised dts (a huge negative number, a
    different one each run) when flushing a clip of one frame, which the MP4 muxer then
    refuses ("patches welcome"). A dts after the pts, or more than `MAX_REORDER_FRAMES`
    frames before it, becomes the pts."""
    if packet.pts is None or packet.time_base is None:
        return
    frame_ticks = 1 / (fps * packet.time_base)
    if packet.dts is None or not packet.pts - MAX_REORDER_FRAMES * frame_ticks <= packet.dts <= packet.pts:
        packet.dts = packet.pts
