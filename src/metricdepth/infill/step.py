"""Step 7 as a library function: `infill(config) -> [paths written]`."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..config import option, validate_config
from ..errors import InputError
from ..io import naming
from ..io.checks import check_matching
from ..io.chunked import check_outputs, is_committing
from ..io.stereo_tags import TAG_CONVERGENCE, TAG_LAYOUT, TAG_PUPILLARY_DISTANCE, TAG_STABILISED
from ..io.text_list import read_lines
from ..io.video import VideoInfo, probe
from ..options import max_depth_option, xfov_file_option, xfov_option, yfov_option
from ..ray_connect import check_address
from ..stereo.layouts import REGISTRY
from . import BACKENDS, BackendSpec
from .classical import SceneInputs, check_scene_inputs
from .scheduler import VideoTask, run_tasks

log = logging.getLogger(__name__)

CLASSICAL_CHUNK_FRAMES = 16  # classical chunks: short, since they are cheap and independent
# Scene inputs that only classical infill uses; another backend ignores them with a warning.
SCENE_FLAGS = ("color_video", "depth_video", "transformation_file")


@dataclass
class InfillConfig:
    """Settings of stereo_infill.py (every field is a flag of the same name)."""

    sbs_color_video: Path | None = option(
        None, "the side-by-side stereo video to fill (step 6's D_stereo.mkv); or use --batch"
    )
    sbs_mask_video: Path | None = option(
        None, "its infill mask; default: the video's name + _infillmask.mkv (as step 6 writes it)"
    )
    batch: Path | None = option(
        None,
        "a text file with one stereo video per line (optionally "
        "followed by a tab and its mask); finished ones are skipped",
    )
    backend: str = option(
        "classical",
        "classical: no weights, fills from the background side "
        "(and from other frames with --depth_video and poses); stereocrafter: "
        "the StereoCrafter video diffusion model (GPU advised)",
        choices=BACKENDS,
    )
    color_video: Path | None = option(
        None,
        "classical: the source colour video, to take "
        "background from neighbouring frames (needs "
        "--depth_video and --transformation_file)",
    )
    depth_video: Path | None = option(None, "classical: the depth video the stereo was rendered from")
    transformation_file: Path | None = option(
        None, "classical: camera poses JSON (camera-to-world 4x4 per frame)"
    )
    mask_video: Path | None = option(
        None, "classical: subject mask (moving things), never copied from other frames"
    )
    xfov: float | None = xfov_option("else --yfov, --xfov_file or the depth video's _xfovs.json")
    yfov: float | None = yfov_option()
    xfov_file: Path | None = xfov_file_option()
    max_depth: float = max_depth_option()
    pupillary_distance: float | None = option(
        None,
        "millimetres between the eyes the stereo "
        "video was rendered with; default: its "
        "PUPILLARY_DISTANCE_MM tag (step 6 writes it), "
        "else 63",
        gt=0,
        le=1000,
    )
    neighbour_frames: int = option(
        8,
        "classical with poses: look this many frames back and "
        "ahead (+-1, 2, 4, 8, ...) for hidden background",
        ge=0,
        le=100_000,
    )
    checkpoint: Path | None = option(
        None,
        "stereocrafter: folder of the StereoCrafter UNet "
        "(holding unet_diffusers/ or config.json); default: the "
        "Hugging Face cache (TencentARC/StereoCrafter)",
    )
    svd_checkpoint: Path | None = option(
        None,
        "stereocrafter: folder of Stable Video Diffusion "
        "img2vid-xt-1-1 (vae/, image_encoder/, scheduler/); "
        "default: the Hugging Face cache",
    )
    infill_width: int = option(
        1024,
        "stereocrafter: width each eye is processed at, pixels "
        "(height follows the aspect ratio, both multiples of 64)",
        ge=64,
        le=8192,
    )
    frames_chunk: int = option(23, "stereocrafter: frames the model sees at once", ge=2, le=1000)
    overlap: int = option(
        3,
        "stereocrafter: frames of the previous chunk that condition the "
        "next (each chunk adds frames_chunk - overlap new frames)",
        ge=0,
    )
    num_inference_steps: int = option(8, "stereocrafter: diffusion steps per chunk", ge=1, le=1000)
    seed: int = option(0, "stereocrafter: random seed of the diffusion noise", ge=0)
    chunk_frames: int = option(
        0,
        "frames per resumable chunk; 0: 16 for classical; stereocrafter always uses frames_chunk - overlap",
        ge=0,
    )
    device: str = option("cpu", "torch device for stereocrafter: cpu, cuda, cuda:1")
    devices: str = option(
        "",
        "comma-separated devices to spread chunks over, e.g. "
        "cuda:0,cuda:1 (default: --device; classical on the CPU: one "
        "worker per core)",
    )
    ray_address: str | None = option(
        None,
        "run chunks on Ray: 'local' starts Ray here, 'auto' joins this machine's "
        "cluster, else the cluster's address HOST:PORT (inputs and outputs must be in a "
        "folder every machine sees)",
    )
    resume: bool = option(True, "continue an interrupted run from its last finished chunk")
    overwrite: bool = option(False, "replace an existing output and start over")

    @property
    def device_list(self) -> list[str]:
        """The workers: --devices; else --device, except that classical on the CPU gets
        one worker per core (its chunks are independent and its kernels release the GIL)."""
        given = [d.strip() for d in self.devices.split(",") if d.strip()]
        if given:
            return given
        if self.backend == "classical" and self.device == "cpu":
            return ["cpu"] * len(os.sched_getaffinity(0))
        return [self.device]


def _backend_options(config: InfillConfig) -> dict:
    if config.backend != "stereocrafter":
        return {}
    return {
        k: getattr(config, k)
        for k in (
            "checkpoint",
            "svd_checkpoint",
            "infill_width",
            "frames_chunk",
            "overlap",
            "num_inference_steps",
            "seed",
        )
    }


DEFAULT_PUPILLARY_DISTANCE_MM = 63.0


def _check_stereo(stereo: VideoInfo, mask_path: Path) -> None:
    layout = stereo.tags.get(TAG_LAYOUT)
    fillable = (
        layout in REGISTRY and REGISTRY[layout].packing == "side_by_side" and not REGISTRY[layout].vr180
    )
    if layout is not None and not fillable:
        raise InputError(
            stereo.path,
            f"has layout {layout!r}; infill needs side by side "
            "(render it with --layout full_sbs and compress to other layouts)",
        )
    if stereo.width % 2:
        raise InputError(
            stereo.path,
            f"is {stereo.width} pixels wide, an odd width: not a "
            "side-by-side stereo video (two eyes of equal width)",
        )
    check_matching(stereo, probe(mask_path), "infill mask")


def _pupillary_distance_m(config: InfillConfig, stereo: VideoInfo) -> float:
    if config.pupillary_distance is not None:
        return config.pupillary_distance / 1000.0
    tag = stereo.tags.get(TAG_PUPILLARY_DISTANCE)
    try:
        return float(tag if tag is not None else DEFAULT_PUPILLARY_DISTANCE_MM) / 1000.0
    except ValueError:
        raise InputError(stereo.path, f"pupillary_distance_mm tag {tag!r} is not a number") from None


def _scene_inputs(config: InfillConfig, stereo: VideoInfo) -> SceneInputs | None:
    given = [f for f in SCENE_FLAGS if getattr(config, f) is not None]
    if not given:
        return None
    if config.backend != "classical":
        log.warning("--%s is used by the classical backend only; ignored", given[0])
        return None
    if len(given) < len(SCENE_FLAGS):
        missing = [f for f in SCENE_FLAGS if f not in given]
        raise InputError(
            f"--{missing[0]}",
            f"needed with --{given[0]}: background from "
            "other frames needs " + ", ".join(f"--{f}" for f in SCENE_FLAGS),
        )
    if stereo.tags.get(TAG_CONVERGENCE, "0") != "0" or stereo.tags.get(TAG_STABILISED) == "1":
        raise InputError(
            stereo.path,
            "was rendered with a convergence shift or stabilised "
            "(its tags say so); background from other frames needs plain parallel "
            f"eyes: drop --{given[0]} or re-render with --convergence 0",
        )
    if not 0 <= config.neighbour_frames:
        raise InputError("--neighbour_frames", f"must be >= 0, got {config.neighbour_frames}")
    # every SCENE_FLAG is given (checked above)
    assert config.color_video and config.depth_video and config.transformation_file
    return SceneInputs(
        Path(config.color_video),
        Path(config.depth_video),
        Path(config.transformation_file),
        config.xfov,
        config.yfov,
        None if config.xfov_file is None else Path(config.xfov_file),
        config.max_depth,
        _pupillary_distance_m(config, stereo),
        config.neighbour_frames,
        None if config.mask_video is None else Path(config.mask_video),
    )


def read_batch(path: Path) -> list[tuple[Path, Path | None]]:
    """(stereo, mask or None) per non-empty, non-# line of a batch file."""
    entries = []
    for line in read_lines(path, "batch list"):
        if line.strip() and not line.lstrip().startswith("#"):
            parts = [p.strip() for p in line.split("\t") if p.strip()]
            entries.append((Path(parts[0]), Path(parts[1]) if len(parts) > 1 else None))
    if not entries:
        raise InputError(path, "the batch list names no video")
    return entries


def _check_options(config: InfillConfig) -> None:
    validate_config(config)  # ranges of every number (chunk sizes, steps, widths)
    if config.ray_address is not None:
        check_address(config.ray_address)  # Ray present, the cluster answers
    if config.backend == "stereocrafter":
        if config.overlap >= config.frames_chunk:
            raise InputError("--overlap", f"must be in [0, --frames_chunk), got {config.overlap}")
        window = config.frames_chunk - config.overlap
        if config.chunk_frames not in (0, window):
            raise InputError(
                "--chunk_frames",
                f"stereocrafter chunks are --frames_chunk - "
                f"--overlap = {window} frames; leave --chunk_frames at 0",
            )


def plan(config: InfillConfig) -> list[VideoTask]:
    """Check every input and return the videos still to fill (finished ones in a batch
    are skipped; a single finished one is refused unless --overwrite)."""
    _check_options(config)
    if (config.sbs_color_video is None) == (config.batch is None):
        raise InputError("--sbs_color_video", "give a stereo video or --batch (one of them)")
    if config.batch is not None:
        entries = read_batch(config.batch)
    else:
        assert config.sbs_color_video is not None  # checked above
        entries = [
            (
                Path(config.sbs_color_video),
                None if config.sbs_mask_video is None else Path(config.sbs_mask_video),
            )
        ]
    if config.batch is not None and any(getattr(config, f) for f in SCENE_FLAGS):
        raise InputError(
            "--batch",
            "--color_video, --depth_video and --transformation_file "
            "apply to one video; run those videos one by one",
        )
    if config.chunk_frames:
        chunk_frames = config.chunk_frames
    elif config.backend == "stereocrafter":
        chunk_frames = config.frames_chunk - config.overlap
    else:
        chunk_frames = CLASSICAL_CHUNK_FRAMES
    tasks = []
    for stereo_path, mask_path in entries:
        mask_path = mask_path or naming.output_path(stereo_path, naming.INFILL_MASK)
        output = naming.output_path(stereo_path, naming.INFILLED)
        if (
            output.exists()
            and not is_committing(output)
            and not config.overwrite
            and config.batch is not None
        ):
            log.info("%s: finished already, skipped", output)
            continue
        check_outputs([output], config.overwrite)
        stereo = probe(stereo_path)
        _check_stereo(stereo, mask_path)
        scene = _scene_inputs(config, stereo) if config.batch is None else None
        if scene is not None and stereo.tags.get(TAG_LAYOUT, "full_sbs") != "full_sbs":
            raise InputError(
                stereo.path,
                "background from other frames needs a full_sbs stereo video (each eye at the source's size)",
            )
        spec = BackendSpec(config.backend, _backend_options(config), scene)
        if scene is not None:
            check_scene_inputs(scene, stereo)
        settings = {
            "backend": asdict(spec) | {"scene": None if scene is None else asdict(scene)},
            "stereo": str(stereo_path),
            "mask": str(mask_path),
        }
        tasks.append(
            VideoTask(
                stereo,
                mask_path,
                output,
                spec,
                chunk_frames,
                settings,
                carries_state=config.backend == "stereocrafter",
            )
        )
    return tasks


def infill(config: InfillConfig) -> list[Path]:
    """Fill the holes of the stereo video(s) in `config`; return the outputs written
    (``S_infilled.mkv`` beside each stereo video S)."""
    tasks = plan(config)
    if not tasks:
        return []
    return run_tasks(
        tasks,
        devices=config.device_list,
        ray_address=config.ray_address,
        overwrite=config.overwrite,
        resume=config.resume,
    )
