"""Stereo and spherical boxes (Spherical Video V2: 'st3d', 'sv3d') in an MP4 we wrote.

FFmpeg writes these boxes only from stream side data, which neither its command line
(5.x) nor PyAV can attach, so we add them after muxing: the boxes go at the end of the
video track's sample entry (avc1/hvc1) and every enclosing box grows by their size. Our
MP4s have the 'moov' box after the media data, so no chunk offset moves.
"""

from __future__ import annotations

import struct
from pathlib import Path

EQUI_HALF_BOUND = 0x40000000  # 0.25 in 0.32 fixed point: VR180 crops a quarter each side
VISUAL_SAMPLE_ENTRY_HEADER = 8 + 78  # box header + SampleEntry/VisualSampleEntry fields
CONTAINERS = (b"moov", b"trak", b"mdia", b"minf", b"stbl")


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


def _children(data: bytearray, start: int, end: int):
    """(type, offset, size) of the boxes in data[start:end] (32-bit sizes only)."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size < 8:
            raise ValueError(f"unsupported box size {size} at {pos}")
        yield kind, pos, size
        pos += size


def add_video_boxes(path: str | Path, boxes: bytes) -> None:
    """Append `boxes` to the sample entry of the first video track of the MP4 `path`."""
    path = Path(path)
    data = bytearray(path.read_bytes())
    top = {kind: (pos, size) for kind, pos, size in _children(data, 0, len(data))}
    if b"moov" not in top or b"mdat" not in top or top[b"moov"][0] < top[b"mdat"][0]:
        raise ValueError(f"{path}: expected 'moov' after 'mdat'")
    chain = _video_sample_entry(data, top[b"moov"])
    entry_pos, entry_size = chain[-1]
    insert_at = entry_pos + entry_size
    data[insert_at:insert_at] = boxes
    for pos, size in chain:  # moov, trak, mdia, minf, stbl, stsd, sample entry
        struct.pack_into(">I", data, pos, size + len(boxes))
    path.write_bytes(bytes(data))


def _video_sample_entry(data: bytearray, moov: tuple[int, int]) -> list[tuple[int, int]]:
    """(offset, size) of moov, the video trak, mdia, minf, stbl, stsd and its first entry."""
    for kind, pos, size in _children(data, moov[0] + 8, moov[0] + moov[1]):
        if kind != b"trak":
            continue
        chain = [moov, (pos, size)]
        box = (pos, size)
        for wanted in (b"mdia", b"minf", b"stbl", b"stsd"):
            found = {k: (p, s) for k, p, s in _children(data, box[0] + 8, box[0] + box[1])}
            if wanted == b"minf" and b"hdlr" in found:
                hdlr = found[b"hdlr"][0]
                if data[hdlr + 16:hdlr + 20] != b"vide":
                    break
            if wanted not in found:
                break
            box = found[wanted]
            chain.append(box)
        else:
            entry_pos = box[0] + 16  # stsd: header, version/flags, entry count
            entry_size = struct.unpack(">I", data[entry_pos:entry_pos + 4])[0]
            return chain + [(entry_pos, entry_size)]
    raise ValueError("no video track found")
