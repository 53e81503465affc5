#!/usr/bin/env python3
"""Step 8: encode a side-by-side stereo video into a file headsets and players recognise.

Encodes with x265 (CRF 18 by default; --ten_bit for 10-bit) or x264, adds the audio of the
original colour video (copied, else AAC), writes the stereo metadata players read
(Matroska StereoMode; MP4 'st3d', and 'sv3d' with --vr180) and names the file with the tags
players detect the layout by (_LRF_Full_SBS, _LR_Half_SBS, _TB_Full_OU, _TB_Half_OU, _180).
--mvhevc writes MV-HEVC spatial video for Apple Vision Pro when a multiview x265 is found.
The result is checked (frame count, duration within one frame, audio) before it gets its
final name.

Examples:
  compress_video.py --sbs_color_video clip.mp4_depth.mkv_stereo.mkv_infilled.mkv --color_video clip.mp4
  compress_video.py --sbs_color_video S.mkv --color_video clip.mp4 --layout half_sbs --codec x264
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
