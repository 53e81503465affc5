"""Container tags of a stereo video (step 6 writes them; steps 7 and 8 read them)."""

TAG_LAYOUT = "layout"                        # full_sbs, half_sbs, top_bottom, anaglyph, vr180
TAG_PUPILLARY_DISTANCE = "pupillary_distance_mm"
TAG_CONVERGENCE = "convergence"              # the --convergence given ("0": parallel eyes)
TAG_STABILISED = "stabilised"                # "1": rendered locked to frame 0's camera
