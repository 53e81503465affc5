"""Combining masks: the learned subject where it moves (`motion+rembg`)."""

from __future__ import annotations

import cv2
import numpy as np

MIN_MOVING_SHARE = 0.05  # a matte part is kept when at least this share of it moves
SUBJECT_LEVEL = 128  # matte values from here up are the subject (as the mask readers read them)


def moving_subject(matte: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """(H, W) uint8 matte keeping only the parts of `matte` ((H, W) uint8, 255 = subject;
    parts = 8-connected regions at or above SUBJECT_LEVEL, with their soft edges) of which
    at least MIN_MOVING_SHARE is marked in `moving` ((H, W) bool)."""
    count, labels = cv2.connectedComponents((matte >= SUBJECT_LEVEL).astype(np.uint8), connectivity=8)
    if count == 1:
        return np.zeros_like(matte)
    area = np.bincount(labels.ravel(), minlength=count)
    hits = np.bincount(labels[moving], minlength=count)
    keep = hits >= MIN_MOVING_SHARE * area
    keep[0] = False
    kept = keep[labels]
    # soft edges: the matte's values below the level stay where they border a kept part
    near = cv2.dilate(kept.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return np.where(kept | (near & (matte < SUBJECT_LEVEL)), matte, 0).astype(np.uint8)
