"""File formats: streaming video, depth and mask videos, JSON sidecars, PLY, exports.

Every writer is atomic (temporary name, check, rename); every reader validates
and raises `metricdepth.errors.InputError` naming the file.
"""
