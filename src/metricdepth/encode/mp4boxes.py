"""Stereo and spherical boxes in an MP4 we wrote: Spherical Video V2 ('st3d', 'sv3d') and
Apple's spatial video boxes ('vexu', 'hfov', for MV-HEVC).

FFmpeg writes these boxes only from stream side data, which PyAV cannot attach, so we add
them after muxing: the boxes go at the end of the video track's sample entry
(avc1/hvc1/av01) and every enclosing box grows by their size.

Apple's boxes ("ISO Base Media File Format and Apple HEVC Stereo Video"; FFmpeg 7.1 and
later read them into its stereo3d side data) sit in the visual sample entry:

    vexu                      video extended usage (Box)
      eyes                    stereo view (Box)
        stri                  FullBox, 1 byte: bit 0 left eye, bit 1 right eye present
        hero                  FullBox, 1 byte: hero eye, 1 left, 2 right
        cams > blin           FullBox, uint32: camera baseline, micrometres
      proj > prji             FullBox, fourcc: projection kind, 'rect' (rectilinear)
    hfov                      Box, uint32: horizontal field of view, thousandths of a degree

(a 'cmfy' > 'dadj' horizontal disparity adjustment may follow 'cams'; we write none: step
6's convergence is already in the pixels).

Boxes may have 64-bit sizes (size field 1, then a 64-bit size: FFmpeg writes 'mdat' so
once the media data passes 4 GiB) or size 0 (to the end of the file). Only 'moov' is read
into memory. When 'moov' is the last box (FFmpeg's default) it is rewritten in place;
when media data follows it (`+faststart`), the rest of the file is copied after the grown
'moov' and every chunk offset ('stco', 'co64') past it moves by the inserted size.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

EQUI_HALF_BOUND = 0x40000000  # 0.25 in 0.32 fixed point: VR180 crops a quarter each side
COPY_BLOCK = 1 << 24  # bytes per read when copying media data after 'moov'


class Mp4Error(ValueError):
    """The file is not an MP4 whose boxes we can extend (one line: what and where)."""


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def st3d(stereo_mode: int) -> bytes:
    """'st3d': 0 mono, 1 top-bottom (left eye on top), 2 left-right (left eye left)."""
    return _full_box(b"st3d", struct.pack(">B", stereo_mode))


def sv3d_vr180(source: str = "metricdepth") -> bytes:
    """'sv3d' for a half-sphere equirectangular (VR180) projection per eye."""
    svhd = _full_box(b"svhd", source.encode() + b"\0")
    prhd = _full_box(b"prhd", struct.pack(">iii", 0, 0, 0))  # yaw, pitch, roll
    equi = _full_box(b"equi", struct.pack(">IIII", 0, 0, EQUI_HALF_BOUND, EQUI_HALF_BOUND))
    return _box(b"sv3d", svhd + _box(b"proj", prhd + equi))


STEREO_EYES = 0b11  # 'stri': has_left_eye_view | has_right_eye_view
HERO_LEFT = 1  # 'hero': the left eye (MV-HEVC's base layer) is the hero eye
RECTILINEAR = b"rect"  # 'prji' projection kind of a pinhole camera's picture


def vexu(baseline_um: int | None) -> bytes:
    """'vexu' for two rectilinear eyes, left the hero eye; `baseline_um`: the distance
    between the two cameras in micrometres ('blin'), or None to leave it out."""
    eyes = _full_box(b"stri", struct.pack(">B", STEREO_EYES))
    eyes += _full_box(b"hero", struct.pack(">B", HERO_LEFT))
    if baseline_um is not None:
        eyes += _box(b"cams", _full_box(b"blin", struct.pack(">I", baseline_um)))
    projection = _box(b"proj", _full_box(b"prji", RECTILINEAR))
    return _box(b"vexu", _box(b"eyes", eyes) + projection)


def hfov(millidegrees: int) -> bytes:
    """'hfov': the full horizontal field of view of each eye, thousandths of a degree."""
    return _box(b"hfov", struct.pack(">I", millidegrees))


@dataclass(frozen=True)
class Box:
    """kind: 4-byte type. pos: offset of its header. size: header + payload, bytes.
    header: 8, or 16 for a 64-bit size. to_end: declared size 0 (runs to its parent's end)."""

    kind: bytes
    pos: int
    size: int
    header: int
    to_end: bool = False

    @property
    def end(self) -> int:
        return self.pos + self.size


def _parse_header(head: bytes, pos: int, end: int) -> Box:
    size, kind = struct.unpack(">I4s", head[:8])
    if size == 1:
        if len(head) < 16:
            raise Mp4Error(f"box {kind!r} at byte {pos}: 64-bit size cut off")
        return _checked(Box(kind, pos, struct.unpack(">Q", head[8:16])[0], 16), end)
    if size == 0:
        return Box(kind, pos, end - pos, 8, to_end=True)
    return _checked(Box(kind, pos, size, 8), end)


def _checked(box: Box, end: int) -> Box:
    if box.size < box.header or box.end > end:
        raise Mp4Error(
            f"box {box.kind!r} at byte {box.pos}: size {box.size} does not fit "
            f"(its parent ends at byte {end})"
        )
    return box


def children(data: bytes | bytearray, start: int, end: int) -> list[Box]:
    """The boxes in data[start:end]."""
    boxes, pos = [], start
    while pos + 8 <= end:
        box = _parse_header(bytes(data[pos : pos + 16]), pos, end)
        boxes.append(box)
        pos = box.end
    return boxes


def top_level_boxes(file: BinaryIO, file_size: int) -> list[Box]:
    """The file's top-level boxes, read by seeking from header to header."""
    boxes, pos = [], 0
    while pos + 8 <= file_size:
        file.seek(pos)
        box = _parse_header(file.read(16), pos, file_size)
        boxes.append(box)
        pos = box.end
    return boxes


def _resize(data: bytearray, box: Box, grow: int) -> None:
    """Add `grow` bytes to the declared size of `box` (offsets relative to `data`)."""
    if box.to_end:
        return
    if box.header == 16:
        struct.pack_into(">Q", data, box.pos + 8, box.size + grow)
    elif box.size + grow >= 1 << 32:
        raise Mp4Error(f"box {box.kind!r} would pass 4 GiB with a 32-bit size")
    else:
        struct.pack_into(">I", data, box.pos, box.size + grow)


def _video_sample_entry(moov: bytearray, root: Box) -> list[Box]:
    """moov, the video trak, mdia, minf, stbl, stsd and its first entry (offsets in `moov`)."""
    for trak in children(moov, root.header, root.size):
        if trak.kind != b"trak":
            continue
        chain, box = [root, trak], trak
        for wanted in (b"mdia", b"minf", b"stbl", b"stsd"):
            found = {b.kind: b for b in children(moov, box.pos + box.header, box.end)}
            if wanted == b"minf" and b"hdlr" in found:
                hdlr = found[b"hdlr"]
                if moov[hdlr.pos + hdlr.header + 8 : hdlr.pos + hdlr.header + 12] != b"vide":
                    break
            if wanted not in found:
                break
            box = found[wanted]
            chain.append(box)
        else:
            entries = box.pos + box.header + 8  # stsd: version/flags, entry count
            return chain + [children(moov, entries, box.end)[0]]
    raise Mp4Error("no video track found")


def _shift_chunk_offsets(moov: bytearray, root: Box, after: int, shift: int) -> None:
    """Add `shift` to every chunk offset of every track that points at or past `after`."""

    def walk(box: Box) -> None:
        if box.kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):
            for child in children(moov, box.pos + box.header, box.end):
                walk(child)
        elif box.kind in (b"stco", b"co64"):
            wide = box.kind == b"co64"
            fmt, width = (">Q", 8) if wide else (">I", 4)
            count = struct.unpack(">I", moov[box.pos + box.header + 4 : box.pos + box.header + 8])[0]
            first = box.pos + box.header + 8
            for i in range(count):
                offset = struct.unpack(fmt, moov[first + i * width : first + (i + 1) * width])[0]
                if offset >= after:
                    if not wide and offset + shift >= 1 << 32:
                        raise Mp4Error("a chunk offset would pass 4 GiB in a 32-bit 'stco'")
                    struct.pack_into(fmt, moov, first + i * width, offset + shift)

    walk(root)


def add_video_boxes(path: str | Path, boxes: bytes) -> None:
    """Append `boxes` to the sample entry of the first video track of the MP4 `path`.
    Raises Mp4Error when the file's structure does not allow it."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as file:
        top = top_level_boxes(file, size)
        found = [b for b in top if b.kind == b"moov"]
        if len(found) != 1:
            raise Mp4Error(f"{path}: expected one 'moov' box, found {len(found)}")
        old = found[0]
        file.seek(old.pos)
        moov = bytearray(file.read(old.size))
    root = Box(b"moov", 0, old.size, old.header, old.to_end)
    chain = _video_sample_entry(moov, root)
    insert_at = chain[-1].end
    if old.end < size:  # media data after 'moov' moves by the inserted size
        _shift_chunk_offsets(moov, root, old.end, len(boxes))
    for box in chain:  # moov, trak, mdia, minf, stbl, stsd, sample entry
        _resize(moov, box, len(boxes))
    moov[insert_at:insert_at] = boxes
    if old.end == size:
        with open(path, "r+b") as file:
            file.seek(old.pos)
            file.write(moov)
        return
    tmp = path.with_name(path.name + ".boxes")
    try:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            _copy(src, dst, 0, old.pos)
            dst.write(moov)
            _copy(src, dst, old.end, size)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _copy(src: BinaryIO, dst: BinaryIO, start: int, stop: int) -> None:
    """Copy bytes [start, stop) of `src` to `dst` in blocks."""
    src.seek(start)
    while start < stop:
        block = src.read(min(COPY_BLOCK, stop - start))
        if not block:
            raise Mp4Error(f"file ends at byte {start}, before its boxes do")
        dst.write(block)
        start += len(block)
