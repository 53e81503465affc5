"""Pictures of tracks: points with short tails, coloured by track id."""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from ..io.sidecars import FrameTracks

TAIL_FRAMES = 10  # frames of history drawn behind each point


def id_colours(ids: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 RGB, a stable bright colour per track id (hue from a hash of the id)."""
    hue = ((np.asarray(ids, np.int64) * 2654435761) % 180).astype(np.uint8)
    hsv = np.stack([hue, np.full_like(hue, 220), np.full_like(hue, 255)], axis=-1)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2RGB)[0]


class TrackPainter:
    """Draws each frame's points and their recent path; call `draw` once per frame, in order."""

    def __init__(self, tail: int = TAIL_FRAMES):
        self._history: deque[dict[int, tuple[float, float]]] = deque(maxlen=tail)

    def draw(self, frame: np.ndarray, tracks: FrameTracks) -> np.ndarray:
        """A copy of (H, W, 3) uint8 RGB `frame` with the points of `tracks` drawn."""
        out = np.ascontiguousarray(frame).copy()
        now = {int(i): (float(x), float(y)) for i, (x, y) in zip(tracks.ids, tracks.xy)}
        self._history.append(now)
        radius = max(1, round(out.shape[1] / 400))
        for i, colour in zip(now, id_colours(np.fromiter(now, np.int64, len(now)))):
            path = [h[i] for h in self._history if i in h]
            colour = tuple(int(c) for c in colour)
            if len(path) > 1:
                pts = np.rint(np.array(path)).astype(np.int32).reshape(-1, 1, 2)
                cv2.polylines(out, [pts], False, colour, 1, cv2.LINE_AA)
            x, y = now[i]
            cv2.circle(out, (round(x), round(y)), radius, colour, -1, cv2.LINE_AA)
        return out
