"""Labels for the doc pictures: a text band above a panel, never drawn over the image.

Every docs/*_pictures.py labels its panels with `labelled` and lays them out with `row`
and `column`, so every label sits on its own white band, is wrapped onto more lines
when it is wider than its panel, and can be read at the picture's own size.

    from picture_labels import column, labelled, row
    picture = row([labelled(colour, "colour"), labelled(depth, "depth, 0.5-3 m")])
"""

from __future__ import annotations

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_SCALE = 0.45        # about 10 px high capitals: readable at 100% on a 320 px panel
THICKNESS = 1
LINE_PX = 16             # baseline to baseline
MARGIN_PX = 5            # around the text
TEXT = (0, 0, 0)
BAND = (255, 255, 255)
GAP_PX = 4               # white space between panels in `row` and `column`


def _text_width(text: str) -> int:
    return cv2.getTextSize(text, FONT, FONT_SCALE, THICKNESS)[0][0]


def _wrap(text: str, width: int) -> list[str]:
    """`text` as lines no wider than `width` pixels (a single word wider stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and _text_width(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def band(text: str, width: int, lines: int | None = None) -> np.ndarray:
    """(h, width, 3) uint8 RGB: `text` in black on white, wrapped to the width; padded to
    `lines` lines when given (so bands of one row line up)."""
    wrapped = _wrap(text, width - 2 * MARGIN_PX)
    count = max(len(wrapped), lines or 0)
    out = np.full((count * LINE_PX + 2 * MARGIN_PX - 4, width, 3), BAND, np.uint8)
    for i, line in enumerate(wrapped):
        baseline = MARGIN_PX + (i + 1) * LINE_PX - 5
        cv2.putText(out, line, (MARGIN_PX, baseline), FONT, FONT_SCALE, TEXT, THICKNESS,
                    cv2.LINE_AA)
    return out


def line_count(text: str, width: int) -> int:
    return len(_wrap(text, width - 2 * MARGIN_PX))


def labelled(image: np.ndarray, text: str, lines: int | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB `image` with `text` on a band above it."""
    return np.vstack([band(text, image.shape[1], lines), image])


def row(panels: list[np.ndarray], labels: list[str] | None = None) -> np.ndarray:
    """Panels side by side (tops aligned, white gaps); with `labels`, each gets its band,
    all bands as tall as the tallest so the images line up."""
    if labels is not None:
        lines = max(line_count(t, p.shape[1]) for p, t in zip(panels, labels))
        panels = [labelled(p, t, lines) for p, t in zip(panels, labels)]
    return _join(panels, axis=1)


def column(panels: list[np.ndarray]) -> np.ndarray:
    """Panels one above the other (left aligned, white gaps)."""
    return _join(panels, axis=0)


def _join(panels: list[np.ndarray], axis: int) -> np.ndarray:
    """Panels joined along `axis` (1: side by side, 0: stacked), each padded with white
    at its far end to the largest size across, with white gaps between them."""
    across = 1 - axis
    size = max(p.shape[across] for p in panels)

    def white(along: int, wide: int) -> np.ndarray:
        shape = [0, 0, 3]
        shape[axis], shape[across] = along, wide
        return np.full(shape, BAND, np.uint8)

    padded = [np.concatenate([p, white(p.shape[axis], size - p.shape[across])], axis=across)
              for p in panels]
    out = [padded[0]]
    for panel in padded[1:]:
        out += [white(GAP_PX, size), panel]
    return np.concatenate(out, axis=axis)
