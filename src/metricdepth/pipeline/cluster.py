"""Where the scenes of `--split_scenes` run: one after the other here, or as Ray tasks.

With `ray_address` every scene is one Ray task that runs the scene's steps in order on
one worker, and scenes run in parallel on as many workers as the cluster has. The address
("local", "auto", a cluster's) means what `metricdepth.ray_connect` says; "local" starts
`workers` worker processes (0: one per core).
A task gets only the scene's clip path and settings, and works in the driver's working
folder: every machine must see that folder and the video's under the same paths (a
shared file system), and have this package installed.

A scene whose steps run on CUDA asks Ray for one GPU for the whole scene (Ray then sets
`CUDA_VISIBLE_DEVICES`, so the task's `cuda:N` becomes `cuda`). The steps skip complete
outputs and resume interrupted ones, so a task whose worker dies is run again
(`SCENE_RETRIES`) and continues where the dead one stopped; a driver killed mid-run
finishes the job when run again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..depth.registry import BACKENDS
from ..errors import InputError
from ..progress import progress
from ..ray_connect import LOCAL, check_address, connected
from .config import STEP_NAMES, PipelineConfig
from .steps import STEPS, ClipFiles
from .summary import StepRecord

log = logging.getLogger(__name__)

# A scene task holds one of Ray's CPUs, so its thread pools (numba, OpenCV, BLAS, the
# tracker's) get one thread: Ray runs as many scenes at once as there are CPUs, and a
# scene using every core would make them take turns. The bytes do not change
# (tests/test_pipeline_ray.py compares with the serial run's).
ONE_THREAD_ENV = {
    name: "1"
    for name in (
        "NUMBA_NUM_THREADS",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENCV_FOR_THREADS_NUM",
    )
}
STOP_WAIT_S = 30.0  # how long stopped scene tasks may take to end
SCENE_RETRIES = 3  # runs of a scene's task after its worker died (the steps resume)
CUDA = "cuda"
USER_ERRORS = (InputError, OSError, MemoryError)  # what the scripts report in one line (cli.run)


@dataclass(frozen=True)
class Scene:
    """One scene to run: its clip, its settings (with its own share of the depth frames),
    its name in logs and the summary ("scene 2/9"), and the index of its last step."""

    clip: Path
    config: PipelineConfig
    label: str
    last: int


RunScene = Callable[[Scene], list[StepRecord]]


def check_options(config: PipelineConfig) -> None:
    """Refuse Ray settings that cannot work, before anything is created."""
    if config.workers and config.ray_address != LOCAL:
        raise InputError(
            "--workers",
            "sets how many scenes --ray_address local runs at once; a cluster has its own workers",
        )
    if config.ray_address is None:
        return
    if not config.split_scenes:
        raise InputError(
            "--ray_address",
            "runs the scenes of --split_scenes as Ray tasks; add --split_scenes "
            "(one clip's infill alone can use Ray: ray_address in the [infill] section)",
        )
    check_address(config.ray_address)


def run_scenes(
    scenes: Sequence[Scene], run_scene: RunScene, config: PipelineConfig
) -> list[list[StepRecord]]:
    """Each scene's step records, in scene order: `run_scene` here, one scene after the
    other, or as Ray tasks when `config.ray_address` is set. `run_scene` must be a
    module-level function (Ray ships it by name)."""
    if config.ray_address is None:
        return [run_scene(scene) for scene in scenes]
    import ray

    cpus = config.workers or len(os.sched_getaffinity(0))  # "local": its worker processes
    with connected(config.ray_address, cpus):
        has_gpu = ray.cluster_resources().get("GPU", 0) > 0
        gpus = [1 if wants_gpu(scene, has_gpu) else 0 for scene in scenes]
        if any(gpus) and not has_gpu:
            raise InputError(
                "--device",
                f"the scenes' steps run on CUDA, but the Ray cluster ({config.ray_address}) "
                "has no GPU; start its workers on machines with one, or use --device cpu",
            )
        task = ray.remote(max_retries=SCENE_RETRIES, num_cpus=1, runtime_env={"env_vars": ONE_THREAD_ENV})(
            _scene_task
        )
        folder = Path.cwd()  # relative paths (video, depth frames, sections) mean this folder
        refs = [task.options(num_gpus=n).remote(run_scene, s, folder) for s, n in zip(scenes, gpus)]
        return _gather(refs, scenes)


def wants_gpu(scene: Scene, cluster_has_gpu: bool) -> bool:
    """Whether one of the scene's steps runs on CUDA: its device names cuda, or is the
    depth step's "auto" for a model with weights on a cluster that has a GPU (steps
    before --from do not run)."""
    files = ClipFiles(scene.clip)
    for step in STEPS[STEP_NAMES.index(scene.config.first_step) : scene.last + 1]:
        device = str(getattr(step.settings(scene.config, files), "device", "cpu"))
        if device.startswith(CUDA):
            return True
        if device == "auto" and cluster_has_gpu and BACKENDS[scene.config.depth_backend].needs_weights:
            return True
    return False


def _scene_task(run_scene: RunScene, scene: Scene, folder: Path) -> tuple[list[StepRecord], str]:
    """One scene's steps on a Ray worker, in the driver's working folder `folder` (a
    worker starts where `ray start` ran); its records and where it ran."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    where = f"{socket.gethostname()} pid {os.getpid()}"
    before = Path.cwd()
    try:
        os.chdir(folder)
    except OSError as error:
        raise InputError(
            folder,
            f"the folder run_pipeline.py runs in is not on {socket.gethostname()} ({error.strerror}); "
            "run it from a folder every machine sees under the same path (docs/cluster.md)",
        ) from None
    try:
        return run_scene(dataclasses.replace(scene, config=on_worker_gpu(scene.config))), where
    finally:
        os.chdir(before)


def on_worker_gpu(config: PipelineConfig) -> PipelineConfig:
    """`config` with every cuda:N device as cuda: the one GPU Ray gave this task."""

    def plain(device: Any) -> Any:
        return CUDA if isinstance(device, str) and device.startswith(CUDA) else device

    steps = {
        name: {**section, "device": plain(section["device"])} if "device" in section else section
        for name, section in config.steps.items()
    }
    return dataclasses.replace(config, device=plain(config.device), steps=steps)


def _gather(refs: list[Any], scenes: Sequence[Scene]) -> list[list[StepRecord]]:
    """The tasks' records in scene order, logging each scene as it finishes; a scene's
    input, file-system or memory error is raised as itself (the script's one line), once
    the other scenes' tasks are stopped (left running, they would go on writing after the
    run has ended)."""
    import ray
    from ray.exceptions import RayTaskError

    started = time.perf_counter()
    records: dict[int, list[StepRecord]] = {}
    index = {ref: k for k, ref in enumerate(refs)}
    pending = list(refs)
    with progress(total=len(refs), desc="scenes", unit="scene") as bar:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            k = index[ready[0]]
            try:
                records[k], where = ray.get(ready[0])
            except RayTaskError as error:
                _stop(pending)
                if isinstance(error.cause, USER_ERRORS):
                    raise error.cause from None
                raise  # a bug: Ray's error shows the worker's traceback
            except BaseException:  # Ctrl-C, or Ray itself failing
                _stop(pending)
                raise
            log.info("%s done on %s after %.1f s", scenes[k].label, where, time.perf_counter() - started)
            bar.update(1)
    return [records[k] for k in range(len(refs))]


def _stop(refs: list[Any]) -> None:
    """Stop the scene tasks `refs` and wait until they have (their partial files are swept
    by the next run)."""
    import ray

    for ref in refs:
        ray.cancel(ref, force=True)
    with contextlib.suppress(Exception):  # a cancelled task's result is its cancellation
        ray.wait(refs, num_returns=len(refs), timeout=STOP_WAIT_S)
