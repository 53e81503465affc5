#!/usr/bin/env python3
"""Peak memory of reading and re-writing a long video: it must not grow with length.

Generates a 1280x720 test video with the ffmpeg command-line tool (testsrc2,
H.264), then, in a fresh process each, reads it with our streaming reader in
chunks and re-writes it as lossless FFV1 with our writer, for a short clip and
for the full length. Prints the peak resident memory (ru_maxrss) of each run and
their difference. Target: the full run peaks under 600 MB, and the long run's
peak is within 10% of the short one's.

The default length is 10 minutes (18000 frames at 30 fps): expect 20-30 minutes
on a 2-core machine, mostly FFV1 encoding. --minutes 1 gives a quick check.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = """
import resource, sys
from metricdepth.io.video import VideoReader, VideoWriter
with VideoReader(sys.argv[1]) as video, VideoWriter(sys.argv[2], video.width, video.height, video.fps) as out:
    for _, chunk in video.chunks(int(sys.argv[3])):
        out.write_frames(chunk)
    count = out.frames_written
print(count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def generate(path: Path, seconds: float) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=1280x720:rate=30:duration={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", str(path)], check=True)


def read_and_rewrite(src: Path, dst: Path, chunk: int) -> tuple[int, float, float]:
    """(frames, peak RSS in MB, seconds) of one read-and-rewrite run in a fresh process."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROBE, str(src), str(dst), str(chunk)],
                         check=True, capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1]) / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the long video")
    parser.add_argument("--short_seconds", type=float, default=20.0, help="length of the short video")
    parser.add_argument("--chunk", type=int, default=32, help="frames per chunk")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("bench_io_memory.py: ffmpeg not found (./install.sh installs it)")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs = {}
        for label, seconds in (("short", args.short_seconds), ("long", args.minutes * 60)):
            src = tmp / f"{label}.mp4"
            generate(src, seconds)
            runs[label] = read_and_rewrite(src, tmp / f"{label}.mkv", args.chunk)
            (tmp / f"{label}.mkv").unlink()
            frames, peak, secs = runs[label]
            print(f"{label:5s}: {frames:6d} frames 1280x720, peak RSS {peak:7.1f} MB, "
                  f"{secs:6.1f} s ({frames / secs:.1f} frames/s read+write)")
    short_peak, long_peak = runs["short"][1], runs["long"][1]
    growth = long_peak / short_peak - 1
    print(f"peak growth long vs short: {100 * growth:+.1f}% (target < 10%: "
          f"{'ok' if growth < 0.10 else 'OVER'}); long peak {long_peak:.0f} MB "
          f"(target < 600 MB: {'ok' if long_peak < 600 else 'OVER'})")


if __name__ == "__main__":
    main()
