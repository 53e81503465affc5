"""Camera poses from tracks and depth (step 4) and depth corrected by triangulation (step 5).

Steps: `camera_step.camera_track(CameraTrackConfig)` and
`rescale_step.rescale_depth(RescaleConfig)`; the pieces they are built from live in
small modules (observations, pnp, align, bundle, windows, intrinsics, triangulate,
rescale). Exact tracks of synthetic scenes for tests live in
`metricdepth.evaluate.synthetic_tracks`.
"""
