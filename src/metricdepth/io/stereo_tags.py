"""Container tags of a stereo video (step 6 writes them; step 7 copies them into its
output; step 8 reads them). Layout names: `stereo/layouts.py`'s registry."""

from collections.abc import Mapping

from .source_frames import TAG_SOURCE_FRAMES

TAG_LAYOUT = "layout"  # a name of stereo.layouts.REGISTRY
TAG_PUPILLARY_DISTANCE = "pupillary_distance_mm"
TAG_CONVERGENCE = "convergence"  # the --convergence given ("0": parallel eyes)
TAG_STABILISED = "stabilised"  # "1": rendered locked to frame 0's camera
# The eyes' cameras, for players' spatial metadata (step 8 --mvhevc): the distance between
# them in millimetres (--pupillary_distance, scaled by --master_xfov) and each eye's full
# horizontal field of view in degrees (pinhole layouts only), both at the median frame's FOV.
TAG_BASELINE = "baseline_mm"
TAG_XFOV = "xfov_deg"
STEREO_TAGS = (TAG_LAYOUT, TAG_PUPILLARY_DISTANCE, TAG_CONVERGENCE, TAG_STABILISED, TAG_BASELINE, TAG_XFOV)


# Carried on too: which source frames a stereo video of step 1's sampled depth shows
# (step 8 starts the audio at the first).
CARRIED_TAGS = (*STEREO_TAGS, TAG_SOURCE_FRAMES)


def stereo_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The stereo tags among a video's `tags`, for a video made from it to carry on."""
    return {key: tags[key] for key in CARRIED_TAGS if key in tags}
