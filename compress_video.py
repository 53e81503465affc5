#!/usr/bin/env python3
"""Step 8: encode a stereo video into a file headsets and players recognise.

Reads the stereo video's layout from its tag (step 6 writes it; --layout for an untagged
video, or to convert a full side-by-side / top-bottom one), encodes with --encoder (auto:
NVIDIA NVENC when a device answers, else x265; x264, SVT-AV1), optionally scaled
(--sbs_w/--sbs_h or --height, Lanczos, aspect kept), adds every audio track of the original
colour video (copied, else AAC), writes the stereo metadata players read (Matroska
StereoMode; MP4 'st3d', and 'sv3d' for vr180) and names the file with the tokens players
detect the layout by (_LRF_Full_SBS, _LR_Half_SBS, _TB_Full_OU, _TB_Half_OU, _Anaglyph,
_180_LRF_Full_SBS). --mvhevc writes MV-HEVC spatial video for Apple Vision Pro when a
multiview x265 and MP4Box are found. The result is checked (frame count, duration within
one frame, audio tracks) before it gets its final name.

Examples:
  compress_video.py --sbs_color_video clip.mp4_depth.mkv_stereo.mkv_infilled.mkv --color_video clip.mp4
  compress_video.py --sbs_color_video S.mkv --color_video clip.mp4 --layout half_sbs \
      --encoder libx264 --height 1080
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from metricdepth.cli import run_step
from metricdepth.encode import CompressConfig, compress


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(__doc__, CompressConfig, compress, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
