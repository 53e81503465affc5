"""The chunk scheduler: overnight-proof infill of one or many videos on one or many devices.

Each video's output is a `ChunkedJob`: chunks are written to ``OUT.chunks/`` as they
finish, so a run killed at any moment (even SIGKILL) continues, when run again, after the
last finished chunk. Work is cut into units:

- a backend without state between chunks (classical): a video's remaining chunks are cut
  into one run of consecutive chunks per device, so one video runs in parallel on all
  devices (the CPU's cores by default) and each worker reuses the frames it decoded
  around a chunk boundary (`plan_units`);
- a backend that carries state (stereocrafter: the end of one chunk conditions the next):
  a video's remaining chunks are one unit, run in order on one device; several videos
  run in parallel.

Units run on worker threads, one per device (``--devices cuda:0,cuda:1``), or as tasks on
a Ray cluster (`ray_address`): every worker reads the inputs and writes chunk files in a
folder all machines share, and the driver joins the chunks when all are done. A progress
bar counts frames (rate, time left) and chunks; each chunk adds a line to ``OUT.log``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io.chunked import Chunk, ChunkedJob
from ..io.stereo_tags import stereo_tags
from ..io.video import VideoInfo, VideoReader, VideoWriter
from ..progress import progress
from ..ray_connect import connected
from . import BackendSpec, build_backend
from .backend import ChunkInput, InfillBackend

log = logging.getLogger(__name__)

LOG_SUFFIX = ".log"  # the per-chunk log beside the output: OUT.log
TAG_BACKEND = "infill_backend"


@dataclass(frozen=True)
class VideoTask:
    """One stereo video to fill.

    stereo, mask: the side-by-side video and its infill mask (checked to match).
    output: the final file. chunk_frames: frames per chunk. settings: what the output
    depends on (a resumed job must have the same). carries_state: see the module doc.
    """

    stereo: VideoInfo
    mask: Path
    output: Path
    spec: BackendSpec
    chunk_frames: int
    settings: dict[str, Any]
    carries_state: bool

    def job(self, *, overwrite: bool = False, resume: bool = True) -> ChunkedJob:
        return ChunkedJob(
            self.output,
            self.stereo.frame_count,
            self.chunk_frames,
            self.settings,
            overwrite=overwrite,
            resume=resume,
        )


@dataclass(frozen=True)
class Unit:
    """Chunks of one task to run in order (with state handed from one to the next)."""

    task: VideoTask
    chunks: tuple[Chunk, ...]
    frames: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frames", sum(c.length for c in self.chunks))


def read_chunk(task: VideoTask, chunk: Chunk) -> ChunkInput:
    """The stereo and mask frames of `chunk`: (n, H, 2W, 3) uint8 each."""
    with VideoReader(task.stereo.path, task.stereo) as stereo, VideoReader(task.mask) as mask:
        frames = np.stack(list(stereo.frames(chunk.start, chunk.stop)))
        masks = np.stack(list(mask.frames(chunk.start, chunk.stop)))
    return ChunkInput(chunk.start, frames, masks)


@dataclass(frozen=True)
class ChunkRecord:
    """A finished chunk: how long it took (seconds) and where."""

    chunk: Chunk
    seconds: float
    device: str


def run_unit(
    unit: Unit, backend: InfillBackend, device: str, on_chunk: Callable[[ChunkRecord], None] | None = None
) -> list[ChunkRecord]:
    """Fill and write the chunks of `unit` in order; return what was done.

    Each chunk is written atomically and then marked done with the state the next chunk
    needs, so the unit can be killed at any point and resumed.
    """
    task = unit.task
    job = task.job(overwrite=True, resume=True)  # the driver created it; never restart here
    records = []
    state = job.last_state() if task.carries_state else None
    for chunk in unit.chunks:
        started = time.perf_counter()
        filled, state = backend.infill_chunk(read_chunk(task, chunk), state)
        with VideoWriter(
            chunk.path,
            task.stereo.width,
            task.stereo.height,
            task.stereo.fps,
            overwrite=True,
            expected_frames=chunk.length,
            tags={**stereo_tags(task.stereo.tags), TAG_BACKEND: task.spec.name},
        ) as writer:
            writer.write_frames(filled)
        job.complete(chunk, state)
        seconds = time.perf_counter() - started
        log.info(
            "%s: chunk %d/%d (frames %d-%d) done in %.1f s, %.2f frames/s on %s",
            task.output.name,
            chunk.index + 1,
            len(job.chunks()),
            chunk.start,
            chunk.stop - 1,
            seconds,
            chunk.length / max(seconds, 1e-9),
            device,
        )
        records.append(ChunkRecord(chunk, seconds, device))
        if on_chunk is not None:
            on_chunk(records[-1])
    return records


def plan_units(task: VideoTask, job: ChunkedJob, workers: int) -> list[Unit]:
    """The units of `task` still to do (see the module doc). Chunks without state are
    grouped into at most `workers` runs of consecutive chunks, one per worker: a backend
    that keeps decoded neighbour frames (classical with poses) then decodes the frames
    around a chunk boundary once, not once per chunk."""
    if task.carries_state:
        pending = tuple(job.pending())
        return [Unit(task, pending)] if pending else []
    todo = [c for c in job.chunks() if not job.is_done(c)]
    if not todo:  # every chunk done (stopped while joining them): nothing to run
        return []
    runs = np.array_split(np.arange(len(todo)), min(workers, len(todo)))
    return [Unit(task, tuple(todo[i] for i in run)) for run in runs if len(run)]


class ChunkLog:
    """One line per finished chunk, appended to ``OUT.log`` beside each output (whatever
    the console's verbosity), so a morning look tells what the night did."""

    def __init__(self):
        self._lock = threading.Lock()

    def write(self, task: VideoTask, record: ChunkRecord) -> None:
        chunk = record.chunk
        line = (
            f"{time.strftime('%Y-%m-%d %H:%M:%S')} chunk {chunk.index + 1}/"
            f"{-(-task.stereo.frame_count // task.chunk_frames)} frames {chunk.start}-"
            f"{chunk.stop - 1} {record.seconds:.2f} s "
            f"{chunk.length / max(record.seconds, 1e-9):.2f} frames/s device {record.device}\n"
        )
        with self._lock, open(task.output.with_name(task.output.name + LOG_SUFFIX), "a") as f:
            f.write(line)


def _run_local(units: list[Unit], devices: Sequence[str], bar, chunk_log: ChunkLog) -> None:
    """Run units on one worker thread per device, each with its own backends."""
    free: queue.Queue[tuple[int, str]] = queue.Queue()  # (worker slot, device)
    for slot, device in enumerate(devices):
        free.put((slot, device))
    backends: dict[tuple[int, Path], InfillBackend] = {}  # a backend is never shared by threads
    lock = threading.Lock()

    def work(unit: Unit) -> list[ChunkRecord]:
        def on_chunk(record: ChunkRecord) -> None:
            chunk_log.write(unit.task, record)
            with lock:
                bar.update(record.chunk.length)
                bar.set_postfix_str(f"chunk {record.chunk.index + 1}")

        slot, device = free.get()
        try:
            key = (slot, unit.task.output)
            with lock:
                backend = backends.get(key)
            if backend is None:
                backend = build_backend(unit.task.spec, unit.task.stereo, device)
                with lock:
                    backends[key] = backend
            return run_unit(unit, backend, device, on_chunk)
        finally:
            free.put((slot, device))

    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        futures = [pool.submit(work, unit) for unit in units]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            error = future.exception()
            if error is not None:
                for other in futures:
                    other.cancel()
                raise error


def _ray_unit(unit: Unit, device: str) -> list[ChunkRecord]:
    """A unit run as a Ray task: its own backend, chunks written to the shared folder."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if device.startswith("cuda"):
        device = "cuda"  # Ray sets CUDA_VISIBLE_DEVICES to the GPU it gave this task
    return run_unit(unit, build_backend(unit.task.spec, unit.task.stereo, device), device)


def _run_ray(units: list[Unit], devices: Sequence[str], address: str, bar, chunk_log: ChunkLog) -> None:
    """Run units as Ray tasks on the instance `address` names (`metricdepth.ray_connect`;
    "local": started here with one worker per device)."""
    with connected(address, len(devices)):
        import ray

        gpu = any(d.startswith("cuda") for d in devices)
        remote = ray.remote(num_gpus=1 if gpu else 0, num_cpus=1, max_retries=0)(_ray_unit)
        pending = {remote.remote(unit, devices[k % len(devices)]): unit for k, unit in enumerate(units)}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                unit = pending.pop(ref)
                for record in ray.get(ref):
                    chunk_log.write(unit.task, record)
                bar.update(unit.frames)
                bar.set_postfix_str(f"chunk {unit.chunks[-1].index + 1}")


def run_tasks(
    tasks: Sequence[VideoTask],
    *,
    devices: Sequence[str] = ("cpu",),
    ray_address: str | None = None,
    overwrite: bool = False,
    resume: bool = True,
) -> list[Path]:
    """Fill every task, resuming interrupted ones; return the outputs written.

    devices: one worker per entry ("cpu", "cuda:0", ...). ray_address: run the units on
    Ray instead ("local" starts one here; else the address of a running cluster whose
    machines all see the input and output folders under the same paths).
    """
    if not devices:
        raise InputError("--devices", "no device given")
    jobs: list[ChunkedJob] = []
    try:
        for task in tasks:
            jobs.append(task.job(overwrite=overwrite, resume=resume and not overwrite))
        return _run_jobs(tasks, jobs, devices, ray_address)
    except BaseException:
        for job in jobs:  # a job that never finished a chunk leaves nothing
            job.abandon()
        raise


def _run_jobs(
    tasks: Sequence[VideoTask], jobs: list[ChunkedJob], devices: Sequence[str], ray_address: str | None
) -> list[Path]:
    units = [unit for task, job in zip(tasks, jobs) for unit in plan_units(task, job, len(devices))]
    total = sum(task.stereo.frame_count for task in tasks)
    if any(t.carries_state for t in tasks) and len(devices) > 1 and len(tasks) == 1:
        log.info(
            "the %s backend runs the chunks of one video in order: one device is used "
            "(give several videos with --batch to use all)",
            tasks[0].spec.name,
        )
    chunk_log = ChunkLog()
    with progress(total=total, desc="infill", unit="frame") as bar:
        bar.update(
            sum(
                job.frames_done if t.carries_state else sum(c.length for c in job.chunks() if job.is_done(c))
                for t, job in zip(tasks, jobs)
            )
        )
        if units:
            if ray_address:
                _run_ray(units, devices, ray_address, bar, chunk_log)
            else:
                _run_local(units, devices, bar, chunk_log)
    return [job.finish() for job in jobs]
