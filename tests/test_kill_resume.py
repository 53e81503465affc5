"""Kill -9 at random instants, then run the same command again: the outputs are
byte-identical to an uninterrupted run's and nothing else is left in the folder (the
infill step's chunk log aside).

Four kinds of run on a tiny synthetic clip (96x72, 16 frames, two-frame chunks): step 6
(stereo), step 7 (infill), step 8 (compress) and the whole pipeline (depth imported from
EXR frames, weight-free backends). Each trial copies the inputs into a fresh folder, starts
the script, sends SIGKILL once it has used an amount of CPU time drawn uniformly from
[t0, 1.05 T] (t0: the uninterrupted run's CPU time, measured here, when it created its
first file; T: at its end; so kills land while it works, not while Python starts, and
CPU time keeps them there on a loaded machine; draws from random.Random(SEED)), runs the same
command once more and compares. A kill after the run ended counts as a trial too (the
rerun must then leave everything as it is). Each trial also records where the kill
landed, judged from what it left: nothing yet, chunks in progress, a job committing its
outputs, or (pipeline) the steps complete before it. `-s` prints the table.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from conftest import file_digest
from metricdepth.io import naming
from metricdepth.io.chunked import COMMITTING, WORK_SUFFIX
from metricdepth.io.exports import write_depth_exr
from metricdepth.io.video import VideoWriter
from metricdepth.pipeline.steps import ClipFiles
from metricdepth.synthetic import make_scene

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SEED = 16
WIDTH, HEIGHT, FRAMES, XFOV = 96, 72, 16, 60.0
TRIALS = {"pipeline": 7, "stereo": 9, "infill": 8, "compress": 6}  # the pipeline runs first
CONFIG = ('[stereo]\nchunk_frames = 2\n[infill]\nchunk_frames = 2\n'
          '[compress]\nencoder = "libx264"\npreset = "ultrafast"\n')
POLL_S = 0.002       # how often a run's CPU time is read
LOG_SUFFIX = ".log"  # step 7's per-chunk log: timings, so never the same bytes


@dataclass(frozen=True)
class Kind:
    """One kind of run: its command (run in the trial folder), the input files copied
    there from the reference folder, and the outputs it writes."""

    name: str
    command: list[str]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def _script(name: str, *args: str) -> list[str]:
    return [sys.executable, str(REPO / name), *args, "-q"]


def _kinds(depth_frames: Path) -> list[Kind]:
    files = ClipFiles(Path("clip.mkv"))
    stereo, mask, infilled = files.stereo.name, files.infill_mask.name, files.infilled.name
    final = infilled + "_LRF_Full_SBS.mp4"
    filled = naming.output_path(files.depth, naming.FILLED_MASK)  # the frames backend's 0s
    pipeline_outputs = (files.depth, filled, files.mask, files.tracks, files.poses, files.depth_scales,
                        files.rescaled,
                        files.triangulated, files.avgmonodepth, files.stereo, files.infill_mask,
                        files.infilled, Path(final))
    return [
        Kind("pipeline", _script("run_pipeline.py", "clip.mkv", "--xfov", str(XFOV),
                                 "--depth_backend", "frames", "--depth_frames", str(depth_frames),
                                 "--track_backend", "lk", "--config", "pipeline.toml"),
             ("clip.mkv", "pipeline.toml"), tuple(p.name for p in pipeline_outputs)),
        Kind("stereo", _script("stereo_rerender.py", "--color_video", "clip.mkv", "--depth_video",
                               files.rescaled.name, "--xfov", str(XFOV), "--chunk_frames", "2",
                               "--resume"),
             ("clip.mkv", files.rescaled.name), (stereo, mask)),
        Kind("infill", _script("stereo_infill.py", "--sbs_color_video", stereo, "--chunk_frames", "2"),
             (stereo, mask), (infilled,)),
        Kind("compress", _script("compress_video.py", "--sbs_color_video", infilled, "--encoder",
                                 "libx264", "--preset", "ultrafast"),
             (infilled,), (final,)),
    ]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The inputs and, per kind, a folder with its uninterrupted run and that run's time
    in seconds (the pipeline's outputs are the other kinds' inputs)."""
    folder = tmp_path_factory.mktemp("pipeline")
    clip = make_scene(0, WIDTH, HEIGHT, FRAMES, XFOV)
    with VideoWriter(folder / "clip.mkv", WIDTH, HEIGHT, clip.fps) as writer:
        writer.write_frames(clip.colour)
    depth_frames = tmp_path_factory.mktemp("depth_frames")  # shared: the depth video names it
    for i in range(FRAMES):
        write_depth_exr(depth_frames / f"depth_{i + 1:04d}.exr", clip.depth[i])
    (folder / "pipeline.toml").write_text(CONFIG)
    kinds = {k.name: k for k in _kinds(depth_frames)}
    folders, seconds = {}, {}
    for name, kind in kinds.items():
        folders[name] = folder if name == "pipeline" else tmp_path_factory.mktemp(name)
        for source in kind.inputs:
            if folders[name] != folder:
                shutil.copy2(folder / source, folders[name] / source)
        seconds[name] = _timed_run(kind.command, folders[name])
    return kinds, folders, seconds


def _cpu_seconds(process: psutil.Process) -> float | None:
    """CPU time the process has used so far (all its threads), None once it has ended."""
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return None
    return times.user + times.system


def _timed_run(command: list[str], folder: Path) -> tuple[float, float]:
    """Run `command` in `folder`; return the CPU seconds it had used when it first created
    a file and when it ended: the span in which a kill lands while it works. (CPU time,
    unlike the clock, hardly changes when other work loads the machine.)"""
    before = set(os.listdir(folder))
    process = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    watched = psutil.Process(process.pid)
    first = used = 0.0
    while process.poll() is None:
        used = _cpu_seconds(watched) or used
        if not first and set(os.listdir(folder)) != before:
            first = used
        time.sleep(POLL_S)
    assert process.returncode == 0, command
    return first or used, used


def _landed(kind: Kind, folder: Path, exited: bool) -> str:
    """Where the kill landed, judged from what it left."""
    if exited:
        return "after the end"
    names = {p.name for p in folder.iterdir()}
    work = [folder / n for n in names if n.endswith(WORK_SUFFIX)]
    if any((w / COMMITTING).exists() for w in work):
        return "while committing"
    if kind.name == "pipeline":
        return f"{sum(o in names for o in kind.outputs)} outputs done"
    if work:
        return "chunks in progress"
    if any(".partial-" in n for n in names):
        return "writing an output"
    return "before any output"


def _trial(kind: Kind, reference: Path, folder: Path, kill_at_cpu_s: float) -> str:
    folder.mkdir()
    for name in kind.inputs:
        shutil.copy2(reference / name, folder / name)
    process = subprocess.Popen(kind.command, cwd=folder, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    watched = psutil.Process(process.pid)
    while process.poll() is None and (_cpu_seconds(watched) or 0.0) < kill_at_cpu_s:
        time.sleep(POLL_S)
    exited = process.poll() is not None
    if not exited:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    landed = _landed(kind, folder, exited)
    complete = all((folder / name).exists() for name in kind.outputs)
    again = subprocess.run(kind.command, cwd=folder, capture_output=True, text=True, timeout=300)
    if not (complete and kind.name != "pipeline"):
        assert again.returncode == 0, f"{kind.name} killed {landed}: {again.stderr}"
    else:  # a step script refuses to replace a complete output
        assert again.returncode in (0, 2) and (again.returncode == 0 or "already exists" in again.stderr)
    left = sorted(p.name for p in folder.iterdir()
                  if p.name not in kind.inputs and p.name not in kind.outputs
                  and not p.name.endswith(LOG_SUFFIX))
    assert left == [], f"{kind.name} killed {landed} left {left}"
    for name in kind.outputs:
        assert file_digest(folder / name) == file_digest(reference / name), \
            f"{kind.name} killed {landed}: {name} differs"
    return landed


@pytest.mark.parametrize("name", list(TRIALS))
def test_killed_at_random_instants_resumes_to_the_same_bytes(reference, tmp_path, name):
    kinds, folders, seconds = reference
    first, end = seconds[name]
    draw = random.Random(f"{SEED}-{name}")
    landed = Counter()
    for trial in range(TRIALS[name]):
        kill_at = draw.uniform(first, 1.05 * end)
        landed[_trial(kinds[name], folders[name], tmp_path / f"trial{trial}", kill_at)] += 1
    print(f"\n{name}: {TRIALS[name]} kills at {first:.2f}-{1.05 * end:.2f} CPU s (first file at "
          f"{first:.2f}, end at {end:.2f}), all resumed to identical bytes with nothing left "
          f"over; landed: {dict(landed)}")
