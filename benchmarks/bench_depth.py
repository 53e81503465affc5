#!/usr/bin/env python3
"""Every depth backend available on this machine, on the same frames: speed and memory.

Takes the first --seconds of VIDEO (losslessly re-encoded once, so every backend reads
identical frames) and runs the real step 1 (`metricdepth.depth.step.convert`) once per
backend, each in a fresh process, reporting:

  frames/s and s/frame   inference throughput: (run time - model load time) / frames
  load s                 building the backend (reading weights) alone
  peak RAM               the process's peak resident memory (ru_maxrss)
  peak GPU               torch.cuda.max_memory_allocated, where a GPU is used

then how far the backends' depth agrees, pair by pair, on --agreement_frames frames
spread over the clip (pixels with depth in both): the share of pixels whose depths are
within a factor 1.25 of each other (delta1, 1 = identical) and the median ratio of the
row's depth to the column's (a scale disagreement shows as a ratio away from 1).

It also writes each backend's depth video plus one contact sheet PNG: the middle input
frame beside each backend's colour-mapped depth of it (turbo map of inverse depth, near
= red), so quality can be compared by eye. Backends whose weights or packages are
missing are listed as skipped, with the reason. --checkpoint BACKEND=PATH (repeatable)
points a backend at weights where the user has them (a file, a folder or a Hub id, as
step 1's --checkpoint takes). With --random_weights, backends without a --checkpoint
that have tiny random-weight versions (metricdepth.depth.tiny) run those instead: a
plumbing and speed check of the pipeline only; their depth is noise, labelled RANDOM.

Examples:
  bench_depth.py ../shared/data/video/bedroom/bedroom.mp4 --seconds 3 --random_weights
  bench_depth.py clip.mp4 --seconds 3 --backends vda_metric,depthpro,da2 \\
      --checkpoint depthpro=apple/DepthPro-hf --checkpoint vda_metric=~/metric_vda_vitl.pth
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from metricdepth.depth.registry import BACKENDS
from metricdepth.io.depth_video import DepthVideoReader
from metricdepth.io.exports import colorize_depth, robust_depth_range
from metricdepth.io.video import VideoReader, VideoWriter, probe

SHEET_HEIGHT = 240   # pixels per tile of the contact sheet
LABEL_HEIGHT = 22    # pixels of caption above each tile

RUN_ONE = r"""
import json, resource, sys, time
from dataclasses import replace
args = json.loads(sys.argv[1])
result = {"backend": args["backend"]}
try:
    import torch
    from metricdepth.depth.base import BackendOptions
    from metricdepth.depth.config import DepthConfig
    from metricdepth.depth.registry import build_backend
    from metricdepth.depth.step import convert
    from metricdepth.errors import InputError
    config = DepthConfig(**args["config"])
    start = time.perf_counter()
    try:
        build_backend(config.backend, config.checkpoint,
                      BackendOptions(device=config.device, input_size=config.input_size,
                                     depth_frames=config.depth_frames,
                                     depth_scale=config.depth_scale))
        result["load_s"] = time.perf_counter() - start
        start = time.perf_counter()
        convert(config)
        result["run_s"] = time.perf_counter() - start
    except InputError as exc:
        result["skipped"] = str(exc)
    if torch.cuda.is_available():
        result["gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
except ImportError as exc:
    result["skipped"] = f"missing package: {exc}"
result["ram_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(result))
"""


def cut_clip(video: Path, seconds: float, out: Path) -> int:
    """The first `seconds` of `video` as lossless FFV1 at `out`; returns the frame count."""
    info = probe(video)
    count = min(info.frame_count, max(1, round(seconds * info.fps)))
    with VideoReader(video, info) as reader, VideoWriter(out, info.width, info.height, info.fps,
                                                         overwrite=True) as writer:
        for frame in reader.frames(0, count):
            writer.write(frame)
    return count


def run_backend(name: str, clip: Path, folder: Path, args: argparse.Namespace) -> dict:
    """Run step 1 with backend `name` on a copy of `clip` in its own folder and process."""
    from metricdepth.depth.tiny import TINY_INPUT_SIZE, tiny_checkpoint

    folder.mkdir(parents=True, exist_ok=True)
    video = folder / clip.name
    video.write_bytes(clip.read_bytes())
    config = {"color_video": str(video), "backend": name, "device": args.device,
              "overwrite": True, "fp32": args.fp32}
    random = False
    if name == "frames":
        if args.depth_frames is None:
            return {"backend": name, "skipped": "needs --depth_frames DIR (depth images)"}
        config.update(depth_frames=str(args.depth_frames), depth_scale=args.depth_scale)
    elif name in args.checkpoints:
        config.update(checkpoint=args.checkpoints[name])
        if "da2" in args.checkpoints:  # the anchor of relative backends
            config.update(anchor_checkpoint=args.checkpoints["da2"])
    elif args.random_weights:
        checkpoint = tiny_checkpoint(name, folder / "random_weights")
        if checkpoint is not None:
            random = True
            config.update(checkpoint=str(checkpoint), input_size=TINY_INPUT_SIZE)
            if name in ("vda", "da2_relative"):  # relative: a (random) metric anchor
                config.update(anchor_checkpoint=str(tiny_checkpoint("da2", folder / "anchor")))
    process = subprocess.run([sys.executable, "-c", RUN_ONE, json.dumps({"backend": name, "config": config})],
                             capture_output=True, text=True)
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        tail = (process.stderr.strip().splitlines() or ["no output"])[-1]
        return {"backend": name, "skipped": f"crashed: {tail}"}
    result = json.loads(lines[-1][len("RESULT "):])
    result.update(random=random, depth=str(video) + "_depth.mkv")
    return result


def parse_checkpoints(items: list[str], parser: argparse.ArgumentParser) -> dict[str, str]:
    """BACKEND=PATH items -> {backend: path}; unknown backends or a missing '=' end the
    program with one line (exit 2)."""
    checkpoints = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not path:
            parser.error(f"--checkpoint {item!r}: expected BACKEND=PATH")
        if name not in BACKENDS:
            parser.error(f"--checkpoint {item!r}: unknown backend {name!r}; choose from "
                         f"{', '.join(BACKENDS)}")
        checkpoints[name] = str(Path(path).expanduser()) if Path(path).expanduser().exists() else path
    return checkpoints


def agreement(depths: dict[str, np.ndarray], max_depths: dict[str, float]
              ) -> dict[tuple[str, str], tuple[float, float]]:
    """For each ordered pair (a, b) of backends with (n, H, W) metres on the same frames:
    (delta1: share of pixels with depth in both whose ratio is within 1.25, median of
    depth_a / depth_b on those pixels)."""
    scores = {}
    for a, da in depths.items():
        for b, db in depths.items():
            if a == b:
                continue
            both = (da > 0) & (da < max_depths[a]) & (db > 0) & (db < max_depths[b])
            ratio = da[both].astype(np.float64) / db[both]
            if ratio.size == 0:
                scores[a, b] = (float("nan"), float("nan"))
                continue
            delta1 = float(np.mean(np.maximum(ratio, 1 / ratio) < 1.25))
            scores[a, b] = (delta1, float(np.median(ratio)))
    return scores


def sampled_depths(results: list[dict], count: int, frames: int) -> tuple[list[int], dict, dict]:
    """(frame numbers, {label: (n, H, W) metres}, {label: max_depth}) of the finished
    backends on `count` frames spread evenly over the clip's `frames`."""
    numbers = sorted({round(i * (frames - 1) / max(1, count - 1)) for i in range(count)})
    depths, caps = {}, {}
    for result in results:
        if "skipped" in result:
            continue
        reader = DepthVideoReader(result["depth"])
        label = result["backend"] + ("*" if result["random"] else "")
        depths[label] = np.stack([reader.read(n) for n in numbers])
        caps[label] = reader.max_depth
    return numbers, depths, caps


def print_agreement(numbers: list[int], depths: dict, caps: dict) -> None:
    if len(depths) < 2:
        return
    scores = agreement(depths, caps)
    names = list(depths)
    width = max(12, *(len(n) + 1 for n in names))
    print(f"\ndepth agreement on frames {', '.join(map(str, numbers))} (pixels with depth in both): "
          "delta1 / median ratio row:column; * = tiny random weights")
    print(" " * width + "".join(f"{n:>{width}s}" for n in names))
    for a in names:
        cells = ["-" if a == b else f"{scores[a, b][0]:.2f}/x{scores[a, b][1]:.2f}" for b in names]
        print(f"{a:{width}s}" + "".join(f"{c:>{width}s}" for c in cells))


def _tile(image: np.ndarray, label: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB scaled to SHEET_HEIGHT with a caption strip above."""
    width = round(image.shape[1] * SHEET_HEIGHT / image.shape[0])
    tile = cv2.resize(image, (width, SHEET_HEIGHT), interpolation=cv2.INTER_AREA)
    strip = np.full((LABEL_HEIGHT, width, 3), 255, np.uint8)
    cv2.putText(strip, label, (4, LABEL_HEIGHT - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                cv2.LINE_AA)
    return np.vstack([strip, tile])


def contact_sheet(clip: Path, results: list[dict], out: Path) -> Path:
    """Middle input frame and each finished backend's colour-mapped depth, side by side."""
    with VideoReader(clip) as reader:
        middle = reader.frame_count // 2
        tiles = [_tile(reader.read(middle), f"input frame {middle}")]
    for result in results:
        if "skipped" in result:
            continue
        depth = DepthVideoReader(result["depth"]).read(middle)
        near, far = robust_depth_range(depth)
        label = f"{result['backend']}{' RANDOM' if result['random'] else ''} {near:.1f}-{far:.1f} m"
        tiles.append(_tile(colorize_depth(depth, near, far), label))
    sheet = np.hstack(tiles)
    cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path, help="input video")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds of the input to use")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the depth videos and contact sheet (default: a new "
                             "temporary folder, printed)")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated backends to try")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--fp32", action="store_true", help="full precision on a GPU")
    parser.add_argument("--random_weights", action="store_true",
                        help="tiny random-weight models where no weights are installed "
                             "(plumbing check; labelled RANDOM)")
    parser.add_argument("--depth_frames", type=Path, help="depth images for the frames backend "
                        "(one per frame of the clip, in order)")
    parser.add_argument("--depth_scale", type=float, help="metres per stored depth unit")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="BACKEND=PATH",
                        help="weights for one backend (a file, a folder or a Hub id); repeat "
                             "for several backends; da2's also anchors vda and da2_relative")
    parser.add_argument("--agreement_frames", type=int, default=5,
                        help="frames spread over the clip on which depth agreement is measured")
    args = parser.parse_args()
    args.checkpoints = parse_checkpoints(args.checkpoint, parser)
    unknown = [n for n in args.backends.split(",") if n not in BACKENDS]
    if unknown:
        parser.error(f"--backends: unknown {', '.join(unknown)}; choose from {', '.join(BACKENDS)}")
    if args.seconds <= 0 or args.agreement_frames < 1:
        parser.error("--seconds must be > 0 and --agreement_frames >= 1")

    out = args.out or Path(tempfile.mkdtemp(prefix="bench_depth_"))
    out.mkdir(parents=True, exist_ok=True)
    clip = out / "clip.mkv"
    count = cut_clip(args.video, args.seconds, clip)
    info = probe(clip)
    print(f"{args.video}: first {count} frames, {info.width}x{info.height} at {info.fps} fps -> {out}")
    results = [run_backend(name, clip, out / name, args) for name in args.backends.split(",")]

    print(f"\n{'backend':22s} {'frames/s':>9s} {'s/frame':>8s} {'load s':>7s} {'peak RAM':>9s} "
          f"{'peak GPU':>9s}  weights")
    for r in results:
        if "skipped" in r:
            continue
        compute = max(r["run_s"] - r["load_s"], 1e-9)  # convert() loads the model again
        label = r["backend"] + (" (RANDOM)" if r["random"] else "")
        gpu = f"{r['gpu_mb']:7.0f} MB" if "gpu_mb" in r else "        -"
        weights = "tiny random" if r["random"] else args.checkpoints.get(r["backend"], "default")
        print(f"{label:22s} {count / compute:9.2f} {compute / count:8.3f} {r['load_s']:7.1f} "
              f"{r['ram_mb']:6.0f} MB {gpu}  {weights}")
    for r in results:
        if "skipped" in r:
            print(f"skipped {r['backend']}: {r['skipped']}")
    print("frames/s: whole step (decode, model, stabiliser/alignment, encode) after loading; "
          "RANDOM = tiny random-weight model, speed of the pipeline only")
    print_agreement(*sampled_depths(results, args.agreement_frames, count))
    if any("skipped" not in r for r in results):
        print(f"contact sheet: {contact_sheet(clip, results, out / 'contact_sheet.png')}")


if __name__ == "__main__":
    main()
