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

A step with several outputs of the same frames (stereo: the video and its infill mask)
runs one job with `extra_outputs`: a chunk has a file per output and is done when all
are, and `finish` commits the outputs as one: every output is joined under a temporary
name, the work folder is marked as committing, the outputs are renamed into place and
the work folder removed (renamed away first, so it goes in one step). Killed anywhere in
there, a resumed run joins the chunks again (same bytes) and completes; it never finds
one output in place and refuses for the other. A job that fails before any chunk is done
removes the work folder it created (`abandon`, or leaving ``with job:`` by an
exception), so a refused input leaves nothing behind.

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
import logging
import math
import os
import shutil
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import InputError
from .atomic import OLD_TAG, PARTIAL_TAG, AtomicFile, check_writable, remove_dead_leftovers
from .video import probe

log = logging.getLogger(__name__)

WORK_SUFFIX = ".chunks"
MANIFEST = "job.json"
COMMITTING = "committing"  # in a work folder: its chunks are joined, the output is being renamed


def work_folder(final: str | Path) -> Path:
    """The folder of `final`'s chunks while its job runs."""
    final = Path(final)
    return final.with_name(final.name + WORK_SUFFIX)


def is_committing(final: str | Path) -> bool:
    """True if the job whose first output is `final` was stopped while renaming its
    outputs into place: they may be in place already, and a resumed run replaces them
    with the same bytes."""
    return (work_folder(final) / COMMITTING).exists()


def check_outputs(finals: Sequence[str | Path], overwrite: bool) -> list[Path]:
    """`check_writable` for the outputs of one job (first output first): also passes for
    outputs in place when the job was stopped while committing (`is_committing`). What
    dead processes left beside them goes first, even when an output is refused."""
    for final in finals:
        remove_leftovers(final)
    committing = is_committing(finals[0])
    return [check_writable(f, overwrite or committing) for f in finals]


def remove_leftovers(final: str | Path) -> None:
    """Remove what dead processes left beside `final` and its work folder."""
    remove_dead_leftovers(final)
    remove_dead_leftovers(work_folder(final))


@dataclass(frozen=True)
class Chunk:
    """Frames `start` .. `stop - 1` of the outputs, written to `paths` (one per output,
    in the job's order); `path` is the first output's."""

    index: int
    start: int
    stop: int
    paths: tuple[Path, ...]

    @property
    def path(self) -> Path:
        return self.paths[0]

    @property
    def length(self) -> int:
        return self.stop - self.start


def _jsonable(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as JSON-comparable values (paths and fractions become strings)."""
    return json.loads(json.dumps(dict(settings), sort_keys=True, default=str))


class ChunkedJob:
    """The chunks of one output video (or several of the same frames) and which are done.

    final: the output video. extra_outputs: more videos of the same frames, written and
    committed with it (module docstring). total_frames: frames the output will hold.
    chunk_frames: frames per chunk (the last may be shorter). settings: everything that
    changes the output (inputs, model, flags); a resumed job must match them.
    overwrite: start over even if the output or an interrupted job exists.
    resume: continue an interrupted job (its settings must match).
    """

    def __init__(
        self,
        final: str | Path,
        total_frames: int,
        chunk_frames: int,
        settings: Mapping[str, Any],
        *,
        overwrite: bool = False,
        resume: bool = False,
        extra_outputs: Sequence[str | Path] = (),
    ):
        if total_frames < 1 or chunk_frames < 1:
            raise ValueError("total_frames and chunk_frames must be at least 1")
        self.finals = check_outputs([final, *extra_outputs], overwrite)
        self.final = self.finals[0]
        self.work = work_folder(self.final)
        self.total_frames, self.chunk_frames = total_frames, chunk_frames
        manifest = {
            "total_frames": total_frames,
            "chunk_frames": chunk_frames,
            "settings": _jsonable(settings),
        }
        if extra_outputs:
            manifest["outputs"] = [f.name for f in self.finals]
        if self.work.exists() and overwrite and not resume:
            shutil.rmtree(self.work)
        self.created = not self.work.exists()
        if self.created:
            self._create(manifest)
        else:
            self._check_resumable(manifest, resume)

    def _create(self, manifest: dict[str, Any]) -> None:
        """Make the work folder with its manifest in one step (built under a temporary
        name), so a kill never leaves a work folder without one."""
        tmp = self.work.with_name(f"{self.work.name}{PARTIAL_TAG}-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
            os.replace(tmp, self.work)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _check_resumable(self, manifest: dict[str, Any], resume: bool) -> None:
        if not resume:
            raise InputError(
                self.work,
                "an interrupted run left its finished chunks here; "
                "pass --resume to continue it or --overwrite to start over",
            )
        try:
            previous = json.loads((self.work / MANIFEST).read_text())
        except (OSError, json.JSONDecodeError):
            raise InputError(
                self.work,
                f"is not a job folder of this tool (no readable {MANIFEST}); remove it or pass --overwrite",
            ) from None
        if previous != manifest:
            before = previous.get("settings", {})
            changed = sorted(
                k
                for k in set(before) | set(manifest["settings"])
                if before.get(k) != manifest["settings"].get(k)
            )
            if previous.get("chunk_frames") != manifest["chunk_frames"]:
                changed.append("chunk size")
            if previous.get("total_frames") != manifest["total_frames"]:
                changed.append("frame count")
            raise InputError(
                self.work,
                "the interrupted run used other settings "
                f"({', '.join(changed) or 'format'}); rerun with them or pass "
                "--overwrite to start over",
            )

    # -- chunks ----------------------------------------------------------------------
    def chunks(self) -> list[Chunk]:
        """All chunks, in order."""
        return [
            Chunk(
                i,
                start,
                min(start + self.chunk_frames, self.total_frames),
                tuple(
                    self.work / (f"chunk_{i:06d}.mkv" if k == 0 else f"chunk_{i:06d}_{k}.mkv")
                    for k in range(len(self.finals))
                ),
            )
            for i, start in enumerate(range(0, self.total_frames, self.chunk_frames))
        ]

    def _marker(self, chunk: Chunk) -> Path:
        return chunk.path.with_suffix(".done.npz")

    def is_done(self, chunk: Chunk) -> bool:
        return self._marker(chunk).exists() and all(p.exists() for p in chunk.paths)

    def pending(self) -> Iterator[Chunk]:
        """The chunks still to do, in order, from the first one not done."""
        chunks = self.chunks()
        first = next((c.index for c in chunks if not self.is_done(c)), len(chunks))
        if first:
            log.info(
                "%s: resuming after %d finished chunks (%d of %d frames)",
                self.final,
                first,
                chunks[first - 1].stop,
                self.total_frames,
            )
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
        for path in chunk.paths:
            if not path.exists():
                raise RuntimeError(f"chunk {chunk.index} has no file at {path}")
        self._write_marker(chunk, state or {})
        if chunk.index > 0 and state:
            # Only the newest state is ever read: keep older markers small (a model's
            # state can be tens of MB). A crash before this line only wastes space.
            self._write_marker(self.chunks()[chunk.index - 1], {})

    def _write_marker(self, chunk: Chunk, state: Mapping[str, Any]) -> None:
        buffer = io.BytesIO()
        arrays: dict[str, Any] = {k: np.asarray(v) for k, v in state.items()}
        np.savez(buffer, **arrays)
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
            raise InputError(
                self._marker(done[-1]), "damaged job state; pass --overwrite to start over"
            ) from None

    # -- the end -----------------------------------------------------------------------
    def abandon(self) -> None:
        """After a failure: remove the work folder if this run created it and no chunk is
        done (nothing to resume); finished chunks are always kept."""
        if self.created and self.frames_done == 0:
            shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self) -> ChunkedJob:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abandon()

    def finish(self) -> Path:
        """Join each output's chunks (packets copied, not re-encoded), check the frame
        counts, rename the outputs into place as one (module docstring) and remove the
        work folder. Returns the first output; all are in `finals`."""
        chunks = self.chunks()
        missing = [c.index for c in chunks if not self.is_done(c)]
        if missing:
            raise RuntimeError(f"{self.final}: chunks {missing[:5]} are not done")
        targets: list[AtomicFile] = []
        try:
            for k, final in enumerate(self.finals):
                targets.append(AtomicFile(final, overwrite=True))
                _join_into([c.paths[k] for c in chunks], targets[-1], self.total_frames)
            (self.work / COMMITTING).touch()
        except BaseException:
            for target in targets:
                target.abort()
            raise
        for target in targets:
            target.commit()
        trash = self.work.with_name(f"{self.work.name}{OLD_TAG}-{os.getpid()}")
        os.replace(self.work, trash)  # the job is gone in one step; a kill leaves dead trash
        shutil.rmtree(trash, ignore_errors=True)
        return self.final


def join_videos(
    parts: list[Path], final: str | Path, *, overwrite: bool = False, expected_frames: int | None = None
) -> Path:
    """Join our FFV1 videos `parts` (same size and frame rate) into `final` by copying
    their packets (no re-encoding), atomically; the result must hold the sum of the
    parts' frames (and `expected_frames`, when given)."""
    target = AtomicFile(final, overwrite)
    _join_into(parts, target, expected_frames)
    return target.commit()


def _join_into(parts: list[Path], target: AtomicFile, expected_frames: int | None) -> None:
    """`join_videos` up to the rename: `target.tmp` written and checked (removed on failure)."""
    total = sum(probe(p).frame_count for p in parts)
    try:
        _concatenate(parts, target.tmp)
        written = probe(target.tmp).frame_count
        if written != total or (expected_frames is not None and written != expected_frames):
            raise RuntimeError(
                f"{target.final}: joined file holds {written} frames, expected {expected_frames or total}"
            )
    except BaseException:
        target.abort()
        raise


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
