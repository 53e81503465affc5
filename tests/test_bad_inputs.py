"""Every script refuses bad input the same way: exit code 2, exactly one line on stderr
naming the file or flag at fault, no traceback, and the folder byte for byte as before
(a recursive listing with a hash of every file).

A table of cases over all twelve scripts at the repository's root: missing, empty, cut,
mismatched and mistaken files; JSON nested too deep, with NaN, of the wrong length;
binary list files; flags out of range (zero, negative, NaN, infinite, absurdly large);
existing outputs; RGB-D folders with a bad image; config files with wrong values; and,
when the test runs as root, a read-only folder (a read-only bind mount) and a full disk
(a small tmpfs). The inputs are a tiny synthetic clip (64x48, 8 frames) and files made
from it once per module. Scripts are called in this process through their `main(argv)`;
cases with absurd sizes run in a subprocess with an address-space limit, so a refusal
that is missing cannot take the test run down with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import file_digest
from metricdepth.cli import EXIT_USER_ERROR, run
from metricdepth.io.depth_video import DepthVideoReader, DepthVideoWriter
from metricdepth.io.exports import write_depth_exr
from metricdepth.io.mask_video import MaskVideoWriter
from metricdepth.io.video import VideoReader
from metricdepth.synthetic.step import SyntheticConfig, make_synthetic

REPO = Path(__file__).resolve().parents[1]
W, H, N = 64, 48, 8
ISOLATED_MEMORY_BYTES = 4 << 30  # address space of a subprocess case
ISOLATED_TIMEOUT_S = 120


@dataclass(frozen=True)
class Case:
    """`script` (a name at the repository root) run with `args` in the inputs folder must
    refuse with one line that contains `blame` (the file or flag at fault; "a|b": either,
    where two files disagree and either may be the wrong one). `isolated`: run in a
    subprocess (absurd sizes). `known`: why it fails today (an expected failure, strict)."""

    script: str
    args: tuple[str, ...]
    blame: str
    isolated: bool = False
    known: str = ""

    @property
    def id(self) -> str:
        return f"{self.script}:{' '.join(self.args)}"[:120]


def case(script: str, args: str, blame: str, isolated: bool = False, known: str = "") -> Case:
    return Case(script, tuple(args.split()), blame, isolated, known)


# Valid arguments of each script on the fixture's files (a case adds or replaces flags).
DEPTH = "--color_video c.mkv --backend frames --depth_frames frames --xfov 60"
MASK = "--color_video c.mkv --backend motion"
TRACK = "--color_video c.mkv --backend lk"
CAMERA = "--track_file t.json --depth_video d.mkv --color_video c.mkv --xfov 60"
RESCALE = "--depth_video d.mkv --track_file t.json --transformation_file p.json --xfov 60"
STEREO = "--color_video c.mkv --depth_video d.mkv --xfov 60"
INFILL = "--sbs_color_video s.mkv"
COMPRESS = "--sbs_color_video s.mkv --encoder libx264 --preset ultrafast"
VIEW = "--color_video c.mkv --depth_video d.mkv --xfov 60 --export_ply plys"
PIPELINE = "c.mkv --xfov 60 --depth_backend frames --depth_frames frames --track_backend lk"
CHECK = "--color_video c.mkv --depth_video d.mkv"
SYNTH = "--out new --frames 2 --width 16 --height 12"

# Files a script is given in place of a good one, with what must be named.
BAD_VIDEOS = [("missing.mkv", "missing.mkv"), ("notes.mkv", "notes.mkv"),
              ("empty.mkv", "empty.mkv"), ("cut.mkv", "cut.mkv"), ("folder.mkv", "folder.mkv")]
BAD_JSONS = [("missing.json", "missing.json"), ("deep.json", "deep.json"),
             ("notjson.json", "notjson.json"), ("dict.json", "dict.json"),
             ("binary.json", "binary.json"), ("empty.json", "empty.json")]
NUMBERS_NOT_FINITE = ("nan", "inf", "-inf", "abc")
def _video_cases() -> list[Case]:
    """Each script's video inputs replaced by bad files."""
    slots = [("video_metric_convert", DEPTH, "--color_video"),
             ("create_video_mask", MASK, "--color_video"),
             ("track_points_in_video", TRACK, "--color_video"),
             ("camera_track", CAMERA, "--depth_video"),
             ("rescale_depth", RESCALE, "--depth_video"),
             ("stereo_rerender", STEREO, "--color_video"),
             ("stereo_rerender", STEREO, "--depth_video"),
             ("stereo_infill", INFILL, "--sbs_color_video"),
             ("compress_video", COMPRESS, "--sbs_color_video"),
             ("view_3d", VIEW, "--depth_video"),
             ("check_inputs", CHECK, "--color_video"),
             ("check_inputs", CHECK, "--depth_video")]
    cases = []
    for script, base, flag in slots:
        for bad, blame in BAD_VIDEOS:
            cases.append(case(script, _replace(base, flag, bad), blame))
    for bad, blame in BAD_VIDEOS[:3]:
        cases.append(case("run_pipeline", PIPELINE.replace("c.mkv", bad, 1), blame))
    return cases


def _replace(base: str, flag: str, value: str) -> str:
    """`base` with `flag`'s value replaced (or the flag added)."""
    words = base.split()
    if flag in words:
        words[words.index(flag) + 1] = value
        return " ".join(words)
    return f"{base} {flag} {value}"


def _json_cases() -> list[Case]:
    slots = [("camera_track", CAMERA, "--track_file"),
             ("rescale_depth", RESCALE, "--track_file"),
             ("rescale_depth", RESCALE, "--transformation_file"),
             ("stereo_rerender", STEREO, "--transformation_file"),
             ("stereo_rerender", STEREO.replace("--xfov 60", ""), "--xfov_file"),
             ("view_3d", VIEW, "--transformation_file"),
             ("check_inputs", CHECK, "--track_file"),
             ("check_inputs", CHECK, "--transformation_file"),
             ("check_inputs", CHECK, "--xfov_file")]
    cases = [case(script, _replace(base, flag, bad), blame)
             for script, base, flag in slots for bad, blame in BAD_JSONS]
    cases += [case("rescale_depth", _replace(RESCALE, "--transformation_file", "nan_poses.json"),
                   "nan_poses.json"),
              case("rescale_depth", _replace(RESCALE, "--transformation_file", "far_poses.json"),
                   "far_poses.json"),
              case("camera_track", _replace(CAMERA, "--track_file", "short_tracks.json"),
                   "short_tracks.json"),
              case("stereo_rerender", f"{STEREO} --convergence deep.json", "deep.json"),
              case("stereo_rerender", f"{STEREO} --convergence short_conv.json", "short_conv.json"),
              case("stereo_rerender", f"{STEREO} --convergence inf_conv.json", "inf_conv.json"),
              case("check_inputs", f"{CHECK} --xfov_file wide_fovs.json", "wide_fovs.json"),
              case("stereo_rerender", f"{STEREO} --transformation_file far_poses.json",
                   "far_poses.json"),
              case("view_3d", f"{VIEW} --transformation_file far_poses.json", "far_poses.json"),
              case("check_inputs", f"{CHECK} --transformation_file far_poses.json",
                   "far_poses.json")]
    return cases


def _mismatch_cases() -> list[Case]:
    return [
        case("stereo_rerender", _replace(STEREO, "--depth_video", "c.mkv"), "c.mkv"),
        case("stereo_rerender", _replace(STEREO, "--depth_video", "small_depth.mkv"), "small_depth.mkv"),
        case("stereo_rerender", _replace(STEREO, "--depth_video", "short_depth.mkv"), "short_depth.mkv"),
        case("stereo_rerender", f"{STEREO} --mask_video mask25.mkv", "mask25.mkv"),
        case("camera_track", _replace(CAMERA, "--depth_video", "small_depth.mkv"), "small_depth.mkv"),
        case("rescale_depth", _replace(RESCALE, "--depth_video", "short_depth.mkv"),
             "short_depth.mkv|t.json"),
        case("check_inputs", _replace(CHECK, "--depth_video", "small_depth.mkv"), "small_depth.mkv"),
        case("check_inputs", f"{CHECK} --mask_video mask25.mkv", "mask25.mkv"),
        case("check_inputs", _replace(CHECK, "--depth_video", "c.mkv"), "c.mkv"),
        case("track_points_in_video", f"{TRACK} --mask_video mask25.mkv", "mask25.mkv"),
        case("view_3d", _replace(VIEW, "--depth_video", "short_depth.mkv"), "short_depth.mkv"),
        case("stereo_infill", _replace(INFILL, "--sbs_color_video", "c.mkv"), "c.mkv"),
        case("stereo_infill", f"{INFILL} --sbs_mask_video small_depth.mkv", "small_depth.mkv"),
        case("stereo_infill", "--batch binary.txt", "binary.txt"),
        case("stereo_infill", f"{INFILL} --ray_address 127.0.0.1:9", "--ray_address"),  # no cluster
        case("video_metric_convert", _replace(DEPTH, "--color_video", "binary.txt"), "binary.txt"),
        case("video_metric_convert", _replace(DEPTH, "--depth_frames", "frames_small"), "frames_small"),
    ]


def _flag_cases() -> list[Case]:
    """Flags out of range: each must be refused naming the flag."""
    table = {
        "video_metric_convert": (DEPTH, ["--max_depth 0", "--max_depth -1", "--max_depth inf",
                                         "--max_depth 1e300", "--max_frames 0",
                                         "--chunk_frames 0", "--batch 0", "--depth_scale 0",
                                         "--xfov 0", "--xfov 180", "--max_res 0", "--target_fps 0"]),
        "create_video_mask": (MASK, ["--dilate -1", "--motion_threshold -1", "--max_frames 0",
                                     "--max_depth 0"]),
        "track_points_in_video": (TRACK, ["--grid_spacing 0", "--lk_window 0", "--fb_threshold -1",
                                          "--min_ncc 2", "--max_frames 0", "--downscale 0"]),
        "camera_track": (CAMERA, ["--track_sigma 0", "--depth_sigma 0", "--window_frames 0",
                                  "--max_frames 0", "--xfov -5", "--max_depth 0"]),
        "rescale_depth": (RESCALE, ["--smooth -1", "--min_points 0", "--min_parallax -1",
                                    "--max_error 0", "--triangulation_min_observations 0",
                                    "--max_frames 1"]),
        "stereo_rerender": (STEREO, ["--pupillary_distance 0", "--pupillary_distance -1",
                                     "--pupillary_distance 1e9", "--cut_threshold 0",
                                     "--chunk_frames 0", "--vr180_size -1", "--max_frames 0",
                                     "--master_xfov 0", "--max_depth 0", "--xfov 179.5",
                                     "--xfov 1e308", "--max_frames 1e10"]),
        "stereo_infill": (INFILL, ["--chunk_frames -1", "--neighbour_frames -1",
                                   "--pupillary_distance 0", "--num_inference_steps 0"]),
        "compress_video": (COMPRESS, ["--crf -1", "--crf 99", "--cq 99", "--sbs_w 0",
                                      "--sbs_w 7", "--sbs_h 1"]),
        "view_3d": (VIEW, ["--edge_angle 400", "--point_size 0", "--max_frames 0",
                           "--start_frame -1", "--render_width 0", "--speed 0"]),
        "run_pipeline": (PIPELINE, ["--xfov 0", "--xfov 180", "--rgbd_fps 0",
                                    "--scene_threshold 0", "--min_scene_frames 0",
                                    "--depth_scale 0"]),
        "check_inputs": (CHECK, ["--max_depth 0", "--xfov 0", "--yfov 200"]),
        "make_synthetic_scene": (SYNTH, ["--frames 0", "--width 1", "--height 0", "--xfov 0",
                                         "--seed -1", "--pupillary_distance 0"]),
    }
    cases = []
    for script, (base, flags) in table.items():
        for flag_value in flags:
            flag, value = flag_value.split()
            cases.append(case(script, _replace(base, flag, value), flag))
    # every numeric flag of one script per script also refuses words, NaN and infinity
    for script, flag in [("stereo_rerender", "--pupillary_distance"), ("camera_track", "--track_sigma"),
                         ("rescale_depth", "--smooth"), ("view_3d", "--edge_angle"),
                         ("video_metric_convert", "--max_depth"), ("compress_video", "--crf"),
                         ("check_inputs", "--max_depth"), ("run_pipeline", "--xfov"),
                         ("make_synthetic_scene", "--xfov"), ("create_video_mask", "--motion_threshold"),
                         ("track_points_in_video", "--fb_threshold"), ("stereo_infill", "--xfov")]:
        base = table[script][0]
        for value in NUMBERS_NOT_FINITE:
            cases.append(case(script, _replace(base, flag, value), flag))
    return cases


def _absurd_cases() -> list[Case]:
    """Sizes that would exhaust the machine if they were not refused."""
    return [case("create_video_mask", f"{MASK} --dilate 1000000", "--dilate", True),
            case("track_points_in_video", f"{TRACK} --lk_window 100001", "--lk_window", True),
            case("make_synthetic_scene", _replace(SYNTH, "--width", "100000"), "--width", True),
            case("stereo_rerender", f"{STEREO} --layout vr180 --vr180_size 100000", "--vr180_size", True),
            case("view_3d", f"{VIEW} --render out.mkv --render_width 100000", "--render_width", True)]


def _output_cases() -> list[Case]:
    """Existing outputs are never replaced without --overwrite; impossible outputs refused."""
    return [
        case("stereo_rerender", _replace(STEREO, "--depth_video", "s_src.mkv"), "s_src.mkv_stereo.mkv"),
        case("compress_video", f"{COMPRESS} --output x.avi", "--output"),
        case("compress_video", f"{COMPRESS} --output nofolder/x.mp4", "nofolder"),
        case("compress_video", _replace(COMPRESS, "--sbs_color_video", "c.mkv"), "c.mkv"),
        case("make_synthetic_scene", "--out c.mkv", "c.mkv"),
        case("make_synthetic_scene", f"{SYNTH} --name a/b.mkv", "--name"),
        case("video_metric_convert", f"{DEPTH} --save_exr nofolder/x", "nofolder"),
        case("view_3d", _replace(VIEW, "--export_ply", "c.mkv"), "c.mkv"),
    ]


def _rgbd_and_config_cases() -> list[Case]:
    rgbd = "p.mkv --xfov 60 --rgbd"
    return [
        case("run_pipeline", f"{rgbd} rgbd_badpng", "rgbd_badpng"),
        case("run_pipeline", f"{rgbd} rgbd_smalldepth", "rgbd_smalldepth"),
        case("run_pipeline", f"{rgbd} rgbd_8bit", "rgbd_8bit"),
        case("run_pipeline", f"{rgbd} rgbd_binary_list", "rgbd_binary_list"),
        case("run_pipeline", f"{rgbd} missing_rgbd", "missing_rgbd"),
        case("run_pipeline", "p.mkv --xfov 0 --rgbd rgbd_good", "--xfov"),
        case("run_pipeline", "p.mkv --xfov nan --rgbd rgbd_good", "--xfov"),
        case("run_pipeline", f"{PIPELINE} --config cfg_text.toml", "pupillary_distance"),
        case("run_pipeline", f"{PIPELINE} --config cfg_negative.toml", "pupillary_distance"),
        case("run_pipeline", f"{PIPELINE} --config cfg_nan.toml", "scene_threshold"),
        case("run_pipeline", f"{PIPELINE} --config cfg_unknown.toml", "cfg_unknown.toml"),
        case("run_pipeline", f"{PIPELINE} --config cfg_deep.toml", "cfg_deep.toml"),
        case("run_pipeline", f"{PIPELINE} --config cfg_binary.toml", "cfg_binary.toml"),
        case("run_pipeline", f"{PIPELINE} --config missing.toml", "missing.toml"),
        case("run_pipeline", f"{PIPELINE} --from stereo", "--from"),
    ]


def _parser_cases() -> list[Case]:
    """An unknown flag or a missing required one: argparse's error, as one line."""
    bases = {"video_metric_convert": DEPTH, "create_video_mask": MASK, "track_points_in_video": TRACK,
             "camera_track": CAMERA, "rescale_depth": RESCALE, "stereo_rerender": STEREO,
             "stereo_infill": INFILL, "compress_video": COMPRESS, "view_3d": VIEW,
             "run_pipeline": PIPELINE, "check_inputs": CHECK, "make_synthetic_scene": SYNTH}
    cases = [case(script, f"{base} --bogus 1", "--bogus") for script, base in bases.items()]
    cases += [case("stereo_rerender", "--color_video c.mkv", "--depth_video"),
              case("camera_track", "--depth_video d.mkv --xfov 60", "--track_file"),
              case("compress_video", "--encoder libx264", "--sbs_color_video"),
              case("check_inputs", "--depth_video d.mkv", "--color_video"),
              case("stereo_rerender", f"{STEREO} --layout bogus", "--layout"),
              case("compress_video", f"{COMPRESS} --preset bogus", "--preset")]
    return cases


CASES = (_video_cases() + _json_cases() + _mismatch_cases() + _flag_cases() + _absurd_cases()
         + _output_cases() + _rgbd_and_config_cases() + _parser_cases())


# -- the inputs ---------------------------------------------------------------------------

def _write_rgbd(folder: Path, colour: np.ndarray, depth_m: np.ndarray) -> None:
    """A TUM-layout RGB-D folder: rgb/ and depth/ PNGs named by timestamp."""
    (folder / "rgb").mkdir(parents=True)
    (folder / "depth").mkdir()
    for i, (rgb, metres) in enumerate(zip(colour, depth_m)):
        stamp = f"{1000 + i / 30:.6f}"
        cv2.imwrite(str(folder / "rgb" / f"{stamp}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(folder / "depth" / f"{stamp}.png"),
                    np.clip(np.nan_to_num(metres, posinf=0) * 5000, 0, 65535).astype(np.uint16))


def _make_inputs(folder: Path) -> None:
    paths = make_synthetic(SyntheticConfig(out=str(folder / "gen"), name="c.mkv", frames=N,
                                           width=W, height=H))
    for role, name in [("colour", "c.mkv"), ("depth", "d.mkv"), ("mask", "m.mkv"),
                       ("transformations", "p.json"), ("xfovs", "f.json"), ("truth_stereo", "sbs.mkv")]:
        shutil.move(paths[role], folder / name)
    shutil.rmtree(folder / "gen")
    colour = np.stack(list(VideoReader(folder / "c.mkv")))
    depth = np.stack(list(DepthVideoReader(folder / "d.mkv")))
    (folder / "frames").mkdir()
    (folder / "frames_small").mkdir()
    for i, metres in enumerate(depth):
        write_depth_exr(folder / "frames" / f"depth_{i + 1:04d}.exr", metres)
        write_depth_exr(folder / "frames_small" / f"depth_{i + 1:04d}.exr", metres[::2, ::2].copy())
    # derived inputs, made by the steps in a scratch folder and renamed
    scratch = folder / "scratch"
    scratch.mkdir()
    shutil.copy2(folder / "c.mkv", scratch / "c.mkv")
    shutil.copy2(folder / "d.mkv", scratch / "d.mkv")
    # tracks: a 5 x 4 grid of points seen in every frame (enough for steps 4 and 5 to read)
    grid = [[k, 6.0 + 12 * (k % 5), 6.0 + 12 * (k // 5)] for k in range(20)]
    (folder / "t.json").write_text(str([grid] * N))
    assert _script("stereo_rerender").main(["--color_video", str(scratch / "c.mkv"), "--depth_video",
                                           str(scratch / "d.mkv"), "--xfov", "60", "-q"]) == 0
    shutil.move(scratch / "d.mkv_stereo.mkv", folder / "s.mkv")
    shutil.move(scratch / "d.mkv_stereo.mkv_infillmask.mkv", folder / "s.mkv_infillmask.mkv")
    shutil.rmtree(scratch)
    # an existing output: the stereo of s_src.mkv (a depth video) is already there
    shutil.copy2(folder / "d.mkv", folder / "s_src.mkv")
    shutil.copy2(folder / "s.mkv", folder / "s_src.mkv_stereo.mkv")
    # bad videos
    data = (folder / "c.mkv").read_bytes()
    (folder / "cut.mkv").write_bytes(data[: len(data) // 2])
    (folder / "notes.mkv").write_text("this is not a video\n")
    (folder / "empty.mkv").write_bytes(b"")
    (folder / "folder.mkv").mkdir()
    with DepthVideoWriter(folder / "small_depth.mkv", W // 2, H // 2, 30) as writer:
        for metres in depth:
            writer.write(metres[::2, ::2].copy(), invalid=~np.isfinite(metres[::2, ::2]))
    with DepthVideoWriter(folder / "short_depth.mkv", W, H, 30) as writer:
        for metres in depth[:-1]:
            writer.write(metres, invalid=~np.isfinite(metres))
    with MaskVideoWriter(folder / "mask25.mkv", W, H, 25) as writer:
        for _ in range(N):
            writer.write(np.zeros((H, W), bool))
    # bad JSON
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "notjson.json").write_text("[[1, 2, 3], [")
    (folder / "dict.json").write_text('{"frames": []}')
    (folder / "binary.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (folder / "empty.json").write_text("")
    poses = np.tile(np.eye(4), (N, 1, 1))
    nan_poses, far_poses = poses.copy(), poses.copy()
    nan_poses[3, 0, 3] = np.nan
    far_poses[3, 0, 3] = 1e300
    (folder / "nan_poses.json").write_text(str(nan_poses.tolist()).replace("nan", "NaN"))
    (folder / "far_poses.json").write_text(str(far_poses.tolist()))
    (folder / "short_tracks.json").write_text("[" + ", ".join(["[]"] * (N - 1)) + "]")
    (folder / "short_conv.json").write_text(str([2.0] * (N - 1)))
    (folder / "inf_conv.json").write_text("[2.0, Infinity" + ", 2.0" * (N - 2) + "]")
    (folder / "wide_fovs.json").write_text(str([60.0] * (N - 1) + [200.0]))
    (folder / "binary.txt").write_bytes(b"c.mkv\n\x00\x01\x02\xff\xfe binary")
    # RGB-D folders
    _write_rgbd(folder / "rgbd_good", colour, depth)
    for name in ("rgbd_badpng", "rgbd_smalldepth", "rgbd_8bit", "rgbd_binary_list"):
        shutil.copytree(folder / "rgbd_good", folder / name)
    third = sorted((folder / "rgbd_badpng" / "rgb").iterdir())[3]
    third.write_bytes(b"not a png")
    small = sorted((folder / "rgbd_smalldepth" / "depth").iterdir())[3]
    cv2.imwrite(str(small), np.zeros((H // 2, W // 2), np.uint16))
    eight = sorted((folder / "rgbd_8bit" / "depth").iterdir())[3]
    cv2.imwrite(str(eight), np.zeros((H, W), np.uint8))
    (folder / "rgbd_binary_list" / "associate.txt").write_bytes(b"\x00\xff\xfe garbage")
    # pipeline config files
    (folder / "cfg_text.toml").write_text('[stereo]\npupillary_distance = "abc"\n')
    (folder / "cfg_negative.toml").write_text("[stereo]\npupillary_distance = -1\n")
    (folder / "cfg_nan.toml").write_text("[pipeline]\nscene_threshold = nan\n")
    (folder / "cfg_unknown.toml").write_text("[bogus]\nx = 1\n")
    (folder / "cfg_deep.toml").write_text("[stereo]\nx = " + "[" * 50_000 + "]" * 50_000 + "\n")
    (folder / "cfg_binary.toml").write_bytes(b"\x00\xff\xfe")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    _make_inputs(folder)
    return folder


@cache
def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def listing(folder: Path) -> list[tuple[str, str]]:
    """Every path under `folder` with a hash of its bytes (or 'folder')."""
    return sorted((str(p.relative_to(folder)),
                   "folder" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest())
                  for p in folder.rglob("*"))


def _in_process(case: Case, capsys) -> tuple[int, str]:
    logging.root.handlers.clear()  # setup_logging binds a handler to this test's stderr
    capsys.readouterr()
    code = run(_script(case.script).main, list(case.args))
    return code, capsys.readouterr().err


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ISOLATED_MEMORY_BYTES, ISOLATED_MEMORY_BYTES))


def _isolated(case: Case, folder: Path) -> tuple[int, str]:
    result = subprocess.run([sys.executable, str(REPO / f"{case.script}.py"), *case.args],
                            cwd=folder, capture_output=True, text=True, preexec_fn=_limit_memory,
                            timeout=ISOLATED_TIMEOUT_S)
    return result.returncode, result.stderr


def assert_refused(code: int, stderr: str, blame: str) -> None:
    lines = stderr.splitlines()
    assert code == EXIT_USER_ERROR and len(lines) == 1 and "Traceback" not in stderr \
        and any(name in lines[0] for name in blame.split("|")), f"exit {code}, stderr:\n{stderr}"


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(reason=c.known, strict=True))
                                  if c.known else c for c in CASES], ids=[c.id for c in CASES])
def test_bad_input_is_refused_and_leaves_the_folder_as_it_was(case, inputs, capsys, monkeypatch):
    monkeypatch.chdir(inputs)
    before = listing(inputs)
    try:
        code, stderr = _isolated(case, inputs) if case.isolated else _in_process(case, capsys)
        assert_refused(code, stderr, case.blame)
        assert listing(inputs) == before
    finally:  # a case that wrongly ran must not spoil the next ones
        _remove_new(inputs, {name for name, _ in before})


def _remove_new(folder: Path, known: set[str]) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        if str(path.relative_to(folder)) not in known:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def test_the_table_covers_every_script_with_enough_cases():
    scripts = {p.stem for p in REPO.glob("*.py")}
    assert {c.script for c in CASES} == scripts and len(scripts) == 12
    assert len(CASES) >= 150


# -- the operating system's refusals (root only) -------------------------------------------

# Scripts writing into the folder they read from (the disk is full once the inputs are in).
OS_CASES = [("stereo_rerender", STEREO), ("compress_video", COMPRESS), ("track_points_in_video", TRACK),
            ("create_video_mask", MASK), ("camera_track", CAMERA), ("stereo_infill", INFILL),
            ("make_synthetic_scene", "--out . --frames 8 --width 160 --height 120"),
            ("run_pipeline", PIPELINE + " --until masks"), ("video_metric_convert", DEPTH),
            ("view_3d", VIEW)]
# Step 5 refuses the grid tracks only after reading everything: read-only folder only.
READ_ONLY_CASES = [*OS_CASES, ("rescale_depth", RESCALE)]
OS_INPUTS = ("c.mkv", "d.mkv", "m.mkv", "t.json", "p.json", "s.mkv", "s.mkv_infillmask.mkv", "frames")
PAGE = 4096  # tmpfs gives every file and folder whole pages


def _root_mount(*mount_args: str, target: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only folder or a small disk needs root")
    target.mkdir()
    done = subprocess.run(["mount", *mount_args, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")


@contextlib.contextmanager
def _mounted(*mount_args: str, target: Path):
    _root_mount(*mount_args, target=target)
    try:
        yield target
    finally:
        os.chdir(target.parent)  # a mount is busy while it holds the working folder
        if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(target)], check=True)  # a file left open


def _copy_inputs(source: Path, folder: Path) -> None:
    for name in OS_INPUTS:
        (shutil.copytree if (source / name).is_dir() else shutil.copy2)(source / name, folder / name)


@pytest.mark.parametrize("script, args", READ_ONLY_CASES, ids=[c[0] for c in READ_ONLY_CASES])
def test_read_only_folder_is_one_line(script, args, inputs, tmp_path, capsys, monkeypatch):
    writable = tmp_path / "writable"
    writable.mkdir()
    _copy_inputs(inputs, writable)
    with _mounted("--bind", "-o", "ro", str(writable), target=tmp_path / "ro") as folder:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        monkeypatch.chdir(folder)
        before = listing(folder)
        code, stderr = _in_process(Case(script, tuple(args.split()), ""), capsys)
        assert_refused(code, stderr, "read-only")
        assert listing(folder) == before


def _fill(path: Path) -> None:
    """Write `path` until the disk is full."""
    with open(path, "wb", buffering=0) as file:
        with contextlib.suppress(OSError):
            while True:
                file.write(b"\0" * PAGE)


@pytest.mark.parametrize("script, args", OS_CASES, ids=[c[0] for c in OS_CASES])
def test_full_disk_is_one_line_and_leaves_no_partial_file(script, args, inputs, tmp_path, capsys,
                                                          monkeypatch):
    """A full disk is found while writing, after the work: with -q (no progress lines)
    the error is the only line, and no partial file is left."""
    paths = [p for name in OS_INPUTS for p in [inputs / name, *(inputs / name).rglob("*")]]
    need = sum(-(-p.stat().st_size // PAGE) * PAGE if p.is_file() else PAGE for p in paths)
    with _mounted("-t", "tmpfs", "-o", f"size={need // 1024}k", "tmpfs",
                  target=tmp_path / "small") as folder:
        _copy_inputs(inputs, folder)
        _fill(folder / "filler")
        monkeypatch.chdir(folder)
        before = listing(folder)
        code, stderr = _in_process(Case(script, (*args.split(), "-q"), ""), capsys)
        assert_refused(code, stderr, "no space left")
        assert listing(folder) == before


def _pages(*paths: Path) -> int:
    return sum(-(-p.stat().st_size // PAGE) * PAGE for p in paths)


def test_full_disk_keeps_finished_chunks_and_the_resumed_run_completes(inputs, tmp_path, capsys,
                                                                       monkeypatch):
    """Step 6 on a disk with room for about half its chunks: one line, the finished chunks
    kept; with room made, --resume completes to the bytes of an uninterrupted run."""
    args = (*STEREO.split(), "--chunk_frames", "2", "--resume", "-q")
    outputs = ("d.mkv_stereo.mkv", "d.mkv_stereo.mkv_infillmask.mkv")
    reference = tmp_path / "reference"
    reference.mkdir()
    for name in ("c.mkv", "d.mkv"):
        shutil.copy2(inputs / name, reference / name)
    monkeypatch.chdir(reference)
    assert _in_process(Case("stereo_rerender", args, ""), capsys)[0] == 0
    size = _pages(reference / "c.mkv", reference / "d.mkv") + _pages(*(reference / o for o in outputs)) // 2
    with _mounted("-t", "tmpfs", "-o", f"size={size // 1024}k", "tmpfs",
                  target=tmp_path / "small") as folder:
        for name in ("c.mkv", "d.mkv"):
            shutil.copy2(inputs / name, folder / name)
        monkeypatch.chdir(folder)
        code, stderr = _in_process(Case("stereo_rerender", args, ""), capsys)
        assert_refused(code, stderr, "no space left")
        chunks = folder / "d.mkv_stereo.mkv.chunks"
        assert len(list(chunks.glob("*.done.npz"))) >= 1
        assert not [p for p in folder.rglob("*") if ".partial-" in p.name]
        subprocess.run(["mount", "-o", f"remount,size={4 * size // 1024}k", str(folder)], check=True)
        assert _in_process(Case("stereo_rerender", args, ""), capsys)[0] == 0
        assert sorted(p.name for p in folder.iterdir()) == sorted(("c.mkv", "d.mkv") + outputs)
        for name in outputs:
            assert file_digest(folder / name) == file_digest(reference / name)
