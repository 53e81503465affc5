"""--split_scenes --ray_address: scenes as Ray tasks on a local cluster, byte for byte the
serial run's files, also after a worker or the driver is killed mid-run.

The movie: four different synthetic rooms of 8 frames each joined by hard cuts, with
audio and exact depth imported per scene (frames backend), so every step runs without
weights. Each run works in a fresh copy of the movie's folder, at one path (the files
name their inputs); a run's result is every file under that folder (names and bytes), so
a leftover partial file fails the test too. Also: settings refused before any work, a
scene's InputError coming back as itself, and which scenes ask Ray for a GPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from metricdepth.errors import InputError
from metricdepth.io.exports import write_depth_exr
from metricdepth.io.video import VideoWriter, probe
from metricdepth.pipeline import STEP_NAMES, build_config, run_pipeline
from metricdepth.pipeline.cluster import Scene, on_worker_gpu, wants_gpu
from metricdepth.pipeline.config import DEFAULT_SCENE_THRESHOLD
from metricdepth.pipeline.scenes import cut_scenes, scene_ranges, split_depth_frames
from metricdepth.pipeline.summary import RAN, SKIPPED, PipelineResult
from metricdepth.synthetic import make_scene

ray = pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT, SCENE_FRAMES, XFOV = 160, 120, 8, 60.0
SEEDS = (0, 4, 5, 6)  # four different rooms: ContentDetector finds the three cuts
# Camera motion half the scene test's: with 8 frames per scene its motion per frame would
# score like a cut. The smaller parallax needs a laxer rescale threshold (degrees).
MOTION = dict(camera_translation_m=0.2, camera_rotation_deg=2.0, texture_scale=2.0)
CONFIG = "[rescale]\nmin_parallax = 0.5\n"
WORKERS = 2
SCENE_TASK = "ray::_scene_task"  # the process title of a worker running a scene
WAIT_S = 180  # the longest a test waits for a run to reach a point (a loaded machine)


@pytest.fixture(scope="module")
def movie(tmp_path_factory) -> Path:
    """A folder with film.mkv (4 scenes, audio), its depth images and the config file."""
    folder = tmp_path_factory.mktemp("movie")
    clips = [make_scene(seed, WIDTH, HEIGHT, SCENE_FRAMES, XFOV, **MOTION) for seed in SEEDS]
    silent = tmp_path_factory.mktemp("silent") / "silent.mkv"
    with VideoWriter(silent, WIDTH, HEIGHT, clips[0].fps) as writer:
        for clip in clips:
            writer.write_frames(clip.colour)
    seconds = len(SEEDS) * SCENE_FRAMES / clips[0].fps
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(silent), "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={float(seconds)}", "-c:v", "copy",
                    "-c:a", "aac", "-shortest", str(folder / "film.mkv")], check=True)
    (folder / "depth").mkdir()
    for i, frame in enumerate(np.concatenate([c.depth for c in clips])):
        write_depth_exr(folder / "depth" / f"d_{i + 1:03d}.exr", frame)
    (folder / "pipeline.toml").write_text(CONFIG)
    return folder


def flags(**extra) -> dict:
    """The run's flags, with paths relative to the movie's folder (the run's working
    folder: the workers, started elsewhere, must work there too)."""
    return {"video": "film.mkv", "xfov": XFOV, "depth_backend": "frames", "depth_frames": "depth",
            "track_backend": "lk", "split_scenes": True, "min_scene_frames": 6,
            "config": "pipeline.toml", **extra}


def run_in(folder: Path, **extra) -> PipelineResult:
    with contextlib.chdir(folder):
        return run_pipeline(build_config(flags(**extra)))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """Where every run of the module works: one path, since the files name their inputs."""
    return tmp_path_factory.mktemp("work") / "run"


def fresh(movie: Path, workdir: Path) -> Path:
    """`workdir` holding a copy of the movie's folder and nothing else."""
    shutil.rmtree(workdir, ignore_errors=True)
    return Path(shutil.copytree(movie, workdir))


def files(folder: Path) -> dict[str, str]:
    """Every path under `folder`: a file's SHA-256, a link's target name, "dir"; the
    infill's per-chunk log only by name (it holds times of day)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            found[name] = "-> " + Path(os.readlink(path)).name
        elif path.is_dir():
            found[name] = "dir"
        elif path.suffix == ".log":
            found[name] = "log"
        else:
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def serial(movie, workdir) -> dict[str, str]:
    """The files of the serial run (no Ray)."""
    folder = fresh(movie, workdir)
    result = run_in(folder)
    assert result.scenes == len(SEEDS)
    return files(folder)


@pytest.fixture(scope="module")
def cluster():
    """One local Ray instance for the module; `--ray_address local` runs on it."""
    ray.init(address="local", num_cpus=WORKERS, num_gpus=0, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def processes() -> dict[int, tuple[int, int, str]]:
    """Every process: pid -> (parent pid, session id, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            found[int(entry.name)] = (int(fields[1]), int(fields[3]), command.strip())
    return found


def descendants(root: int) -> dict[int, str]:
    """The processes below `root`: pid -> command line."""
    table = processes()
    below: dict[int, str] = {}
    grew = True
    while grew:
        grew = False
        for pid, (parent, _, command) in table.items():
            if pid not in below and (parent == root or parent in below):
                below[pid] = command
                grew = True
    return below


def in_session(session: int) -> dict[int, str]:
    return {pid: command for pid, (_, sid, command) in processes().items() if sid == session}


def workers(found: dict[int, str]) -> list[int]:
    """The Ray worker processes among `found` (running a scene, or idle)."""
    return [pid for pid, command in found.items() if command.startswith((SCENE_TASK, "ray::IDLE"))]


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_S} s for {what}"
        time.sleep(0.05)


def test_ray_run_is_the_serial_run_byte_for_byte(movie, serial, cluster, workdir):
    folder = fresh(movie, workdir)
    result = run_in(folder, ray_address="local")
    assert files(folder) == serial
    assert result.final is not None
    final = probe(folder / result.final)  # the scenes joined in order, with the film's audio
    assert final.has_audio and final.frame_count == len(SEEDS) * SCENE_FRAMES
    # the records come in scene order, each scene's steps in order, then join and compress
    n = len(SEEDS)
    scene_steps = [f"scene {k}/{n}" for k in range(1, n + 1) for _ in STEP_NAMES[:-1]]
    assert [r.clip for r in result.records] == scene_steps + ["all scenes", "film.mkv"]
    assert {r.status for r in result.records} == {RAN}


def test_refused_ray_settings(movie, workdir):
    folder = fresh(movie, workdir)
    for given, source in (({"ray_address": "local", "split_scenes": False}, "--ray_address"),
                          ({"workers": 2}, "--workers"),
                          ({"ray_address": "auto", "workers": 2}, "--workers"),
                          ({"ray_address": "127.0.0.1:1"}, "--ray_address")):  # nothing listens
        with pytest.raises(InputError) as error:
            run_in(folder, **given)
        assert error.value.source == source
    assert sorted(p.name for p in folder.iterdir()) == ["depth", "film.mkv", "pipeline.toml"]


def test_a_scenes_input_error_stops_the_run_as_itself(movie, cluster, workdir):
    folder = fresh(movie, workdir)
    video = folder / "film.mkv"
    ranges = scene_ranges(video, DEFAULT_SCENE_THRESHOLD, 6)
    cut_scenes(video, ranges, overwrite=False)
    links = split_depth_frames(folder / "depth", video, ranges)[2]
    next(links.iterdir()).unlink()  # scene 3 lacks a depth image
    with pytest.raises(InputError) as error:
        run_in(folder, ray_address="local")
    assert type(error.value) is InputError and "scene_003" in str(error.value)
    # the other scenes' tasks were stopped: nothing goes on writing after the run ended
    assert not [p for p, c in descendants(os.getpid()).items() if c.startswith(SCENE_TASK)]


def test_cuda_on_a_cluster_without_gpu_is_refused(movie, cluster, workdir):
    folder = fresh(movie, workdir)
    with pytest.raises(InputError) as error:
        run_in(folder, ray_address="local", device="cuda")
    assert error.value.source == "--device"


def test_killed_worker_leaves_the_result_unchanged(movie, serial, cluster, workdir):
    folder = fresh(movie, workdir)
    killed: list[int] = []

    def kill_a_scene_worker() -> None:
        """SIGKILL a worker half a second into a scene (the task is retried elsewhere)."""
        deadline = time.monotonic() + WAIT_S
        while not killed and time.monotonic() < deadline:
            running = [p for p, c in descendants(os.getpid()).items() if c.startswith(SCENE_TASK)]
            if running:
                time.sleep(0.5)
                if descendants(os.getpid()).get(running[0], "").startswith(SCENE_TASK):
                    os.kill(running[0], signal.SIGKILL)
                    killed.append(running[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_scene_worker)
    killer.start()
    result = run_in(folder, ray_address="local")
    killer.join()
    assert killed, "no scene worker was killed"
    assert files(folder) == serial
    assert result.final is not None


@pytest.mark.slow
def test_killed_driver_finishes_when_run_again(movie, serial, cluster, workdir):
    folder = fresh(movie, workdir)
    command = [sys.executable, str(REPO / "run_pipeline.py"), "-q", "--workers", str(WORKERS)]
    for name, value in flags(ray_address="local").items():
        if name == "video":
            command.append(value)
        elif value is True:
            command.append(f"--{name}")
        else:
            command += [f"--{name}", str(value)]
    driver = subprocess.Popen(command, cwd=folder, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    scenes = folder / "film.mkv_scenes"
    try:
        # partway: a scene is filled, the last scene is not
        wait_for(lambda: driver.poll() is not None or any(scenes.glob("*_infilled.mkv")),
                 "a scene to finish")
        assert driver.poll() is None, "the driver stopped by itself"
        assert not (scenes / "scene_004.mkv_depth.mkv_rescaled.mkv_stereo.mkv_infilled.mkv").exists()
        assert workers(in_session(driver.pid))  # found by session: its wait below is not void
        # the driver, its local Ray and the workers all at once (a machine going down): left
        # alone, a worker may finish its scene after the driver died, and the second run
        # would then have nothing left to do. Ray puts some of its processes in process
        # groups of their own, so every process of the driver's session is killed.
        def kill_session() -> bool:
            for pid in in_session(driver.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return not workers(in_session(driver.pid))

        wait_for(kill_session, "the killed driver's workers to exit")
        driver.wait()
        result = run_in(folder, ray_address="local")
    finally:
        for pid in in_session(driver.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert files(folder) == serial
    # the killed run had done part of the scenes' work, the second run the rest
    scene_statuses = {r.status for r in result.records if r.clip.startswith("scene")}
    assert SKIPPED in scene_statuses and scene_statuses - {SKIPPED}


def scene_of(steps: dict | None = None, **given) -> Scene:
    """A scene with the pipeline flags `given` and the config file sections `steps`."""
    config = build_config({"video": "film.mkv", "xfov": XFOV, "split_scenes": True, **given})
    config = dataclasses.replace(config, steps=steps or {})
    return Scene(Path("film.mkv_scenes/scene_001.mkv"), config, "scene 1/1", STEP_NAMES.index("infill"))


def test_a_scene_asks_for_a_gpu_when_a_step_runs_on_cuda():
    imported = {"depth_backend": "frames", "depth_frames": "depth"}
    assert not wants_gpu(scene_of(**imported), cluster_has_gpu=True)
    assert wants_gpu(scene_of(**imported, device="cuda"), cluster_has_gpu=False)
    assert wants_gpu(scene_of(**imported, steps={"masks": {"device": "cuda:1"}}), cluster_has_gpu=False)
    # step 1's default device "auto": a depth model takes the cluster's GPU where it has one
    assert wants_gpu(scene_of(), cluster_has_gpu=True)
    assert not wants_gpu(scene_of(), cluster_has_gpu=False)
    assert not wants_gpu(scene_of(start_step="stereo"), cluster_has_gpu=True)  # step 1 does not run


def test_on_its_worker_a_scene_uses_the_gpu_ray_gave_it():
    scene = scene_of(device="cuda", steps={"masks": {"device": "cuda:1", "backend": "motion"}})
    config = on_worker_gpu(scene.config)
    assert config.device == "cuda" and config.steps == {"masks": {"device": "cuda", "backend": "motion"}}
