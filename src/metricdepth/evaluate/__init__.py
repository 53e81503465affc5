"""Comparison with ground truth: the evaluation side of the toolbox.

Used by tests, benchmarks and the doc-picture scripts only; no production package
imports it (tests/test_import_graph.py checks). Each module scores one step's output
against the exact truth of a synthetic scene (`metricdepth.synthetic`) or builds the
exact inputs a step would read:

- `synthetic_tracks`: exact point tracks of synthetic scenes and the files steps 4 and 5
  read (stands in for step 3), depth corrupted the way a monocular model gets it wrong.
- `track_truth`: step 3's tracks against the true pixel of each tracked surface point.
- `stereo_scores`: step 6's eyes against an oracle that knows each eye's exact depth.
- `infill_truth`: step 6's outputs with exact holes and their true colours (for step 7).
"""
