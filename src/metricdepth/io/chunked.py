"""Resumable video jobs: an output built from chunk files that survive a crash.

A long step (depth, stereo, infill) writes its output video as chunks of frames in a
work folder beside the final name (``OUT.chunks/``). Each chunk file is written
atomically and then recorded as done, with any state the step needs to continue
(for example a temporal filter's reference), in a small marker file. Killed at any
moment, even with SIGKILL, a re-run with ``resume=True`` skips the chunks recorded as
done and continues; `finish` joins the chunks into the final video by copying their
packets (no re-encoding) and removes the work folder. FFV1 chunks are all key frames
and our writer is bit-exact, so a resumed job gives the same bytes as an
uninterrupted one.

    job = ChunkedJob(out, total_frames=n, chunk_frames=64, settings=vars(config),
                     overwrite=config.overwrite, resume=config.resume)
    state = job.last_state()                   # None on a fresh start
    for chunk in job.pending():
        with DepthVideoWriter(chunk.path, w, h, fps, overwrite=True,
                              expected_frames=chunk.length) as writer:
            ...                                # frames chunk.start .. chunk.stop - 1
        job.complete(chunk, state={...})       # arrays and numbers only
    job.finish()
"""

from __future__ import annotations

import io
import json
import math
import logging
import shutil
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import InputError
from .atomic import AtomicFile, atomic_output, check_writable
from .video import probe

log = logging.getLogger(__name__)

WORK_SUFFIX = ".chunks"
MANIFEST = "job.json"


@dataclass(frozen=True)
class Chunk:
    """Frames `start` .. `stop - 1` of the output, written to `path`."""

    index: int
    start: int
    stop: int
    path: Path

    @property
    def length(self) -> int:
        return self.stop - self.start


def _jsonable(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as JSON-comparable values (paths and fractions become strings)."""
    return json.loads(json.dumps(dict(settings), sort_keys=True, default=str))


class ChunkedJob:
    """The chunks of one output video and which of them are done.

    final: the output video. total_frames: frames the output will hold.
    chunk_frames: frames per chunk (the last may be shorter). settings: everything that
    changes the output (inputs, model, flags); a resumed job must match them.
    overwrite: start over even if the output or an interrupted job exists.
    resume: continue an interrupted job (its settings must match).
    """

    def __init__(self, final: str | Path, total_frames: int, chunk_frames: int,
                 settings: Mapping[str, Any], *, overwrite: bool = False, resume: bool = False):
        if total_frames < 1 or chunk_frames < 1:
            raise ValueError("total_frames and chunk_frames must be at least 1")
        self.final = check_writable(final, overwrite)
        self.work = self.final.with_name(self.final.name + WORK_SUFFIX)
        self.total_frames, self.chunk_frames = total_frames, chunk_frames
        manifest = {"total_frames": total_frames, "chunk_frames": chunk_frames,
                    "settings": _jsonable(settings)}
        if self.work.exists() and overwrite and not resume:
            shutil.rmtree(self.work)
        if self.work.exists():
            self._check_resumable(manifest, resume)
        else:
            self.work.mkdir()
            with atomic_output(self.work / MANIFEST) as tmp:
                tmp.write_text(json.dumps(manifest, indent=1))

    def _check_resumable(self, manifest: dict[str, Any], resume: bool) -> None:
        if not resume:
            raise InputError(self.work, "an interrupted run left its finished chunks here; "
                             "pass --resume to continue it or --overwrite to start over")
        try:
            previous = json.loads((self.work / MANIFEST).read_text())
        except (OSError, json.JSONDecodeError):
            raise InputError(self.work, "is not a job folder of this tool (no readable "
                             f"{MANIFEST}); remove it or pass --overwrite") from None
        if previous != manifest:
            changed = sorted(k for k in set(previous["settings"]) | set(manifest["settings"])
                             if previous["settings"].get(k) != manifest["settings"].get(k))
            if previous.get("chunk_frames") != manifest["chunk_frames"]:
                changed.append("chunk size")
            if previous.get("total_frames") != manifest["total_frames"]:
                changed.append("frame count")
            raise InputError(self.work, "the interrupted run used other settings "
                             f"({', '.join(changed) or 'format'}); rerun with them or pass "
                             "--overwrite to start over")

    # -- chunks ----------------------------------------------------------------------
    def chunks(self) -> list[Chunk]:
        """All chunks, in order."""
        return [Chunk(i, start, min(start + self.chunk_frames, self.total_frames),
                      self.work / f"chunk_{i:06d}.mkv")
                for i, start in enumerate(range(0, self.total_frames, self.chunk_frames))]

    def _marker(self, chunk: Chunk) -> Path:
        return chunk.path.with_suffix(".done.npz")

    def is_done(self, chunk: Chunk) -> bool:
        return self._marker(chunk).exists() and chunk.path.exists()

    def pending(self) -> Iterator[Chunk]:
        """The chunks still to do, in order, from the first one not done."""
        chunks = self.chunks()
        first = next((c.index for c in chunks if not self.is_done(c)), len(chunks))
        if first:
            log.info("%s: resuming after %d finished chunks (%d of %d frames)", self.final,
                     first, chunks[first - 1].stop, self.total_frames)
        yield from chunks[first:]

    @property
    def frames_done(self) -> int:
        """Frames in the leading run of finished chunks."""
        done = 0
        for chunk in self.chunks():
            if not self.is_done(chunk):
                break
            done = chunk.stop
        return done

    def complete(self, chunk: Chunk, state: Mapping[str, Any] | None = None) -> None:
        """Record `chunk` as done, with the `state` (arrays, numbers, strings) the step
        needs to continue after it. Call after the chunk's writer has closed."""
        if not chunk.path.exists():
            raise RuntimeError(f"chunk {chunk.index} has no file at {chunk.path}")
        self._write_marker(chunk, state or {})
        if chunk.index > 0 and state:
            # Only the newest state is ever read: keep older markers small (a model's
            # state can be tens of MB). A crash before this line only wastes space.
            self._write_marker(self.chunks()[chunk.index - 1], {})

    def _write_marker(self, chunk: Chunk, state: Mapping[str, Any]) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, **{k: np.asarray(v) for k, v in state.items()})
        target = AtomicFile(self._marker(chunk), overwrite=True)
        target.tmp.write_bytes(buffer.getvalue())
        target.commit()

    def last_state(self) -> dict[str, np.ndarray] | None:
        """The state recorded with the last finished chunk of the leading run, or None."""
        done = [c for c in self.chunks() if c.stop <= self.frames_done]
        if not done:
            return None
        try:
            with np.load(self._marker(done[-1])) as data:
                return {k: data[k] for k in data.files}
        except (OSError, ValueError, zipfile.BadZipFile):
            raise InputError(self._marker(done[-1]), "damaged job state; pass --overwrite "
                             "to start over") from None

    # -- the end -----------------------------------------------------------------------
    def finish(self) -> Path:
        """Join all chunks into the final video (packets copied, not re-encoded), check
        its frame count, rename it into place and remove the work folder."""
        chunks = self.chunks()
        missing = [c.index for c in chunks if not self.is_done(c)]
        if missing:
            raise RuntimeError(f"{self.final}: chunks {missing[:5]} are not done")
        join_videos([c.path for c in chunks], self.final, overwrite=True,
                    expected_frames=self.total_frames)
        shutil.rmtree(self.work)
        return self.final


def join_videos(parts: list[Path], final: str | Path, *, overwrite: bool = False,
                expected_frames: int | None = None) -> Path:
    """Join our FFV1 videos `parts` (same size and frame rate) into `final` by copying
    their packets (no re-encoding), atomically; the result must hold the sum of the
    parts' frames (and `expected_frames`, when given)."""
    target = AtomicFile(final, overwrite)
    total = sum(probe(p).frame_count for p in parts)
    try:
        _concatenate(parts, target.tmp)
        written = probe(target.tmp).frame_count
        if written != total or (expected_frames is not None and written != expected_frames):
            raise RuntimeError(f"{target.final}: joined file holds {written} frames, "
                               f"expected {expected_frames or total}")
    except BaseException:
        target.abort()
        raise
    return target.commit()


def _concatenate(parts: list[Path], out: Path) -> None:
    """Copy the video packets of `parts` (same codec and size) into one Matroska file,
    with continuous timestamps and the first part's tags."""
    fps = probe(parts[0]).fps
    with av.open(str(parts[0])) as first:
        template = first.streams.video[0]
        with av.open(str(out), "w", format="matroska", options={"fflags": "+bitexact"}) as dst:
            dst.metadata.update(first.metadata)
            stream = dst.add_stream_from_template(template)
            offset = 0
            for part in parts:
                with av.open(str(part)) as src:
                    src_stream = src.streams.video[0]
                    ticks_per_frame = 1 / (fps * Fraction(src_stream.time_base))
                    count = 0
                    for packet in src.demux(src_stream):
                        if packet.size == 0:
                            continue
                        # timestamps rounded half up, as FFmpeg rescales them
                        ticks = (offset + count) * ticks_per_frame
                        packet.pts = packet.dts = math.floor(ticks + Fraction(1, 2))
                        packet.stream = stream
                        dst.mux(packet)
                        count += 1
                offset += count
