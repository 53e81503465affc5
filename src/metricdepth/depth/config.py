"""Step 1's settings: one dataclass whose field docs are the command-line help."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import option
from ..io.depth_video import DEFAULT_MAX_DEPTH
from ..io.exports import PALETTES
from .registry import MODEL_SIZES, backend_names
from .sampling import SAMPLE_ALL, SAMPLE_MODES
from .stabilise import DEFAULT_SMOOTHING_LAG, MAX_SMOOTHING_LAG

DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class DepthConfig:
    color_video: str = option(
        None,
        "the colour video (any format FFmpeg reads), or a .txt file "
        "listing one video per line (relative to the list's folder; "
        "# starts a comment)",
        required=True,
    )
    backend: str = option("vda_metric", "depth model (see the list above)", choices=backend_names())
    model: str | None = option(
        None,
        "model size, as the older toolbox and Annolid name it: "
        "the backend's published weights of that size (table 'Model "
        "sizes' above), from the Hugging Face cache or the Hub; instead "
        "of --checkpoint; default: the Small weights",
        choices=MODEL_SIZES,
    )
    checkpoint: str | None = option(
        None,
        "weights: a file, a folder (Hugging Face layout) or a "
        "Hub id; default: the backend's permissively licensed "
        "weights from the Hugging Face cache",
    )
    input_size: int | None = option(
        None,
        "network input size in pixels (short side); default: "
        "the model's own (518 for Depth Anything, 1536 for Depth Pro)",
        ge=1,
    )
    max_res: int | None = option(
        None,
        "pixels: frames whose long side is larger are scaled "
        "down to it (area) before the model, and its depth scaled "
        "back up to the video's size (Annolid's --max_res); at least "
        "the network's patch size (14 Depth Anything, 16 Depth Pro)",
        ge=1,
    )
    max_depth: float = option(
        DEFAULT_MAX_DEPTH,
        "metres: the depth video's range; farther depth (and sky) is written as max_depth",
        gt=0,
        le=1e6,
    )
    max_frames: int | None = option(None, "stop after this many output frames (-1: all)", ge=1, none_value=-1)
    target_fps: float | None = option(
        None,
        "frames per second to keep (every round(fps / target_fps)-th frame); default and -1: all frames",
        gt=0,
        none_value=-1,
    )
    sample: str = option(
        SAMPLE_ALL,
        "which frames: all (thinned by --target_fps/--preview) "
        "or keyframes (only the frames the container marks as key frames, "
        "found without decoding the others; output fps = their mean rate)",
        choices=SAMPLE_MODES,
    )
    start: float = option(0.0, "seconds into the video to start at", ge=0)
    duration: float | None = option(
        None, "seconds of video to convert from --start; default: to the end", gt=0
    )
    preview: int = option(0, "N > 0: only every Nth frame, for checking settings quickly", ge=0, le=100_000)
    batch: int = option(4, "frames per forward pass of per-frame models", ge=1, le=4096)
    chunk_frames: int = option(
        32,
        "frames per resumable chunk (rounded up to a multiple of --batch); a crash loses at most one chunk",
        ge=1,
        le=100_000,
    )
    fp32: bool = option(
        False, "full precision on a GPU (default: half precision on GPUs, full precision on the CPU)"
    )
    device: str = option("auto", "where models run; auto = cuda, else mps, else cpu", choices=DEVICES)
    xfov: float | None = option(
        None,
        "full horizontal field of view, degrees: Depth Pro uses "
        "it as the focal length; point clouds need a FOV",
        gt=1,
        lt=179,
    )
    yfov: float | None = option(
        None, "full vertical field of view, degrees (instead of --xfov)", gt=1, lt=179
    )
    overwrite: bool = option(False, "replace existing outputs (and start over an interrupted run)")
    resume: bool = option(
        False,
        "continue an interrupted run after its last finished chunk "
        "(same settings required); the result is byte-identical",
    )
    save_exr: str | None = option(
        None,
        "also write EXR frames (metres, channel Z) into this "
        "folder (one subfolder per video with a .txt list)",
    )
    save_npz: bool = option(False, "also write X_depth.npz (float32 metres per frame)")
    save_png16: bool = option(False, "also write X_depth_png16.zip (16-bit PNG, millimetres)")
    save_vis: bool = option(False, "also write X_depth_vis.mp4 (colour-mapped preview, --palette)")
    palette: str = option(
        "turbo",
        "colours of --save_vis: turbo, inferno or grey (near is red / yellow / white)",
        choices=PALETTES,
    )
    save_depth_zip: bool = option(
        False,
        "also write X_depth_frames.zip: depth_frame_0001.png, "
        "... 8-bit, inverse depth normalised over the clip, near = "
        "255 (ImmichVR's VR player); range in its metadata.json",
    )
    save_ndjson: bool = option(
        False,
        "also write X_depth.ndjson: one JSON record per frame "
        "(Annolid's depth.ndjson: frame_index, video_name, depth as a "
        "base64 16-bit PNG with its min/max in metres)",
    )
    save_csv_every: int = option(
        0,
        "N > 0: write a point cloud CSV (x,y,z,intensity,red,green,"
        "blue; Annolid's layout, metres) of every Nth frame into "
        "X_depth.mkv_pointclouds_csv/",
        ge=0,
    )
    save_ply_every: int = option(
        0,
        "N > 0: write a coloured point cloud (PLY, metres, that "
        "frame's camera) of every Nth frame into X_depth.mkv_pointclouds/",
        ge=0,
        le=100_000,
    )
    depth_video: str | None = option(
        None,
        "metric reference depth video (same size, fps and "
        "frame count) that relative models are scaled to, instead "
        "of an anchor model",
    )
    anchor_backend: str = option(
        "da2",
        "metric model that gives relative models their scale "
        "(run on every --anchor_every-th frame of the first chunk)",
        choices=backend_names(),
    )
    anchor_checkpoint: str | None = option(None, "weights of the anchor model (default: its own)")
    anchor_every: int = option(4, "frames between anchor frames in the first chunk", ge=1, le=100_000)
    depth_frames: str | None = option(
        None, "frames backend: folder of 16-bit PNG or EXR depth images, one per colour frame"
    )
    depth_scale: float | None = option(
        None,
        "frames backend: metres per stored unit (default 0.001 for PNG, 1 for EXR; TUM RGB-D: 0.0002)",
        gt=0,
    )
    stabilise: bool = option(True, "temporal stabiliser after per-frame models (--no-stabilise turns it off)")
    smoothing: float = option(
        DEFAULT_SMOOTHING_LAG,
        "stabiliser's smoothing of static pixels, "
        "in frames of lag: an exponential moving average with alpha "
        "(weight of the new frame) = 1 / (1 + smoothing); 0 = off; reset "
        "at scene cuts",
        ge=0,
        le=MAX_SMOOTHING_LAG,
    )
    vda_streaming: bool = option(
        False, "vda backends: streaming mode (no look-ahead; less accurate, for live sources)"
    )
