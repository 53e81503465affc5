"""Prompts for the segmentation backends, parsed and checked against the video.

    --points "x,y[,frame] ..."           positive points (the subject)
    --negative_points "x,y[,frame] ..."  negative points (not the subject)
    --box "x0,y0,x1,y1[,frame] ..."      boxes around subjects

Several prompts are separated by spaces or semicolons; pixels are (x, y) with the centre
of the top-left pixel at (0, 0); the frame index defaults to 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError


@dataclass(frozen=True)
class PointPrompt:
    """A click at pixel (x, y) of `frame`; positive (subject) or negative (background)."""

    x: float
    y: float
    frame: int
    positive: bool


@dataclass(frozen=True)
class BoxPrompt:
    """A box from (x0, y0) to (x1, y1), pixels, around a subject in `frame`."""

    x0: float
    y0: float
    x1: float
    y1: float
    frame: int


def _numbers(text: str, flag: str, count: int) -> list[tuple[list[float], int]]:
    """Split `text` into items of `count` numbers and an optional frame index."""
    items = []
    for item in filter(None, re.split(r"[;\s]+", text.strip())):
        try:
            values = [float(v) for v in item.split(",")]
        except ValueError:
            raise InputError(flag, f"{item!r} is not a list of numbers") from None
        if len(values) not in (count, count + 1):
            raise InputError(flag, f"{item!r} must have {count} numbers and optionally a frame index")
        frame = values[count] if len(values) > count else 0
        if frame != int(frame):
            raise InputError(flag, f"{item!r}: frame index must be an integer")
        items.append((values[:count], int(frame)))
    return items


def _check_frame(flag: str, item: str, frame: int, frames: int) -> None:
    if not 0 <= frame < frames:
        raise InputError(flag, f"{item}: frame {frame} is outside the video's frames 0..{frames - 1}")


def _check_pixel(flag: str, item: str, x: float, y: float, width: int, height: int) -> None:
    if not (-0.5 <= x <= width - 0.5 and -0.5 <= y <= height - 0.5):
        raise InputError(flag, f"{item}: point ({x:g}, {y:g}) lies outside the {width}x{height} image")


def parse_points(
    text: str | None, flag: str, positive: bool, width: int, height: int, frames: int
) -> list[PointPrompt]:
    """Parse `x,y[,frame]` items of `flag`; InputError for malformed items, points outside
    the width x height image or frames outside 0..frames-1."""
    prompts = []
    for (x, y), frame in _numbers(text or "", flag, 2):
        item = f"{x:g},{y:g},{frame}"
        _check_pixel(flag, item, x, y, width, height)
        _check_frame(flag, item, frame, frames)
        prompts.append(PointPrompt(x, y, frame, positive))
    return prompts


def parse_boxes(text: str | None, flag: str, width: int, height: int, frames: int) -> list[BoxPrompt]:
    """Parse `x0,y0,x1,y1[,frame]` items of `flag`; x0 < x1 and y0 < y1 inside the image."""
    boxes = []
    for (x0, y0, x1, y1), frame in _numbers(text or "", flag, 4):
        item = f"{x0:g},{y0:g},{x1:g},{y1:g},{frame}"
        if not (x0 < x1 and y0 < y1):
            raise InputError(flag, f"{item}: need x0 < x1 and y0 < y1 (top-left corner first)")
        _check_pixel(flag, item, x0, y0, width, height)
        _check_pixel(flag, item, x1, y1, width, height)
        _check_frame(flag, item, frame, frames)
        boxes.append(BoxPrompt(x0, y0, x1, y1, frame))
    return boxes


@dataclass(frozen=True)
class ObjectPrompt:
    """Everything said about one object: its positive points and boxes (a box at most
    per frame) and the negative points (shared by all objects)."""

    object_id: int
    points: tuple[PointPrompt, ...]
    box: BoxPrompt | None

    @property
    def first_frame(self) -> int:
        frames = [p.frame for p in self.points if p.positive] + ([self.box.frame] if self.box else [])
        return min(frames)


def group_objects(points: list[PointPrompt], boxes: list[BoxPrompt], separate: bool) -> list[ObjectPrompt]:
    """Objects from prompts: each box is one object; positive points form one object
    together (or one object each with `separate`); negative points join every object."""
    negatives = tuple(p for p in points if not p.positive)
    positives = [p for p in points if p.positive]
    objects = [ObjectPrompt(k + 1, negatives, box) for k, box in enumerate(boxes)]
    groups = [[p] for p in positives] if separate else ([positives] if positives else [])
    for group in groups:
        objects.append(ObjectPrompt(len(objects) + 1, tuple(group) + negatives, None))
    return objects
