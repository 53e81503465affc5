"""Depth exports: exact EXR and NPZ round trips, PNG16 precision, preview video, atomicity."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import pytest

from metricdepth.errors import InputError, OutputExistsError
from metricdepth.io.exports import (
    AnnolidNdjsonWriter,
    DepthExrWriter,
    DepthFrames8ZipWriter,
    DepthNpzWriter,
    DepthPng16ZipWriter,
    DepthPreviewWriter,
    colorize_depth,
    read_annolid_ndjson,
    read_depth_exr,
    read_depth_frames8_zip,
    read_point_csv,
    robust_depth_range,
    write_depth_exr,
    write_point_csv,
)
from metricdepth.io.video import VideoReader, probe

FPS = Fraction(30000, 1001)
HEIGHT, WIDTH = 12, 16


def _depth_frames(count: int, seed: int = 0,
                  shape: tuple[int, int] = (HEIGHT, WIDTH)) -> list[np.ndarray]:
    """(H, W) float32 metres in [0.3, 80)."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.3, 80, shape).astype(np.float32) for _ in range(count)]


def _any_positive_float32(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Random bit patterns over all finite non-negative float32 (denormals to 3.4e38),
    plus 0 and +inf."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 0x7F800000, shape, dtype=np.uint32)
    bits.flat[:2] = [0, 0x7F800000]  # +0.0 and +inf
    return bits.view(np.float32)


def _write_all(writer, frames: list[np.ndarray]) -> Path:
    with writer as open_writer:
        for depth in frames:
            open_writer.write(depth)
    return writer.path


# -- EXR ----------------------------------------------------------------------------------

def test_exr_round_trip_is_bit_exact(tmp_path: Path) -> None:
    depth = _any_positive_float32((33, 47))
    path = write_depth_exr(tmp_path / "depth.exr", depth, fps=FPS)
    read = read_depth_exr(path)
    assert read.dtype == np.float32 and read.shape == depth.shape
    np.testing.assert_array_equal(read.view(np.uint32), depth.view(np.uint32))


def test_exr_layout_is_one_lossless_float_z_channel(tmp_path: Path) -> None:
    path = write_depth_exr(tmp_path / "depth.exr", _depth_frames(1)[0], fps=FPS)
    with OpenEXR.File(str(path), separate_channels=True) as exr:
        header, channels = exr.header(), exr.channels()
        assert list(channels) == ["Z"]
        assert channels["Z"].pixels.dtype == np.float32
        assert header["compression"] == OpenEXR.ZIP_COMPRESSION
        assert header["framesPerSecond"] == FPS


def test_exr_folder_writer_names_frames_from_one(tmp_path: Path) -> None:
    frames = _depth_frames(3) + [_any_positive_float32((HEIGHT, WIDTH))]
    folder = _write_all(DepthExrWriter(tmp_path / "exr", FPS, expected_frames=4), frames)
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"depth_frame_000{i}.exr" for i in (1, 2, 3, 4)]
    for name, depth in zip(names, frames):
        read = read_depth_exr(folder / name)
        np.testing.assert_array_equal(read.view(np.uint32), depth.view(np.uint32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exr"]


@pytest.mark.parametrize("channel, pixel_type", [
    ("Y", np.float32), ("depth", np.float32), ("ViewLayer.Depth.Z", np.float32), ("Y", np.float16)])
def test_exr_reader_accepts_other_tools_channel_names(tmp_path: Path, channel: str,
                                                       pixel_type: type) -> None:
    depth = _depth_frames(1)[0].astype(pixel_type)
    path = tmp_path / "other.exr"
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION}, {channel: depth}) as exr:
        exr.write(str(path))
    np.testing.assert_array_equal(read_depth_exr(path), depth.astype(np.float32))


def test_exr_reader_takes_red_of_an_rgb_file(tmp_path: Path) -> None:
    red, green = _depth_frames(2)
    path = tmp_path / "rgb.exr"
    with OpenEXR.File({}, {"R": red, "G": green, "B": green}) as exr:
        exr.write(str(path))
    np.testing.assert_array_equal(read_depth_exr(path), red)


@pytest.mark.parametrize("content, problem", [
    (None, "not found"), (b"not an exr at all", "not a readable EXR"), ("A", "no depth channel")])
def test_exr_reader_bad_input(tmp_path: Path, content, problem: str) -> None:
    path = tmp_path / "bad.exr"
    if content == "A":
        with OpenEXR.File({}, {"A": np.zeros((2, 2), np.float32)}) as exr:
            exr.write(str(path))
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_depth_exr(path)
    assert str(path) in str(caught.value) and problem in caught.value.problem


def test_exr_folder_overwrite_refuses_a_folder_with_other_files(tmp_path: Path) -> None:
    folder = tmp_path / "exr"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(InputError, match="did not write"):
        DepthExrWriter(folder, FPS, overwrite=True)
    assert (folder / "holiday.jpg").read_bytes() == b"precious"


# -- NPZ ----------------------------------------------------------------------------------

def test_npz_loads_with_numpy_and_round_trips_exactly(tmp_path: Path) -> None:
    frames = _depth_frames(3) + [_any_positive_float32((HEIGHT, WIDTH))]
    writer = DepthNpzWriter(tmp_path / "depth.npz", FPS, max_depth=100, expected_frames=4)
    path = _write_all(writer, frames)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist()[:2] == ["depth_0000.npy", "depth_0001.npy"]
    with np.load(path) as npz:
        assert npz.files == ["depth_0000", "depth_0001", "depth_0002", "depth_0003",
                             "fps", "max_depth", "units", "frame_count"]
        for i, depth in enumerate(frames):
            loaded = npz[f"depth_{i:04d}"]
            assert loaded.dtype == np.float32
            np.testing.assert_array_equal(loaded.view(np.uint32), depth.view(np.uint32))
        assert Fraction(str(npz["fps"])) == FPS
        assert float(npz["max_depth"]) == 100.0
        assert str(npz["units"]) == "metres" and int(npz["frame_count"]) == 4


def test_nan_and_negative_depth_are_written_as_zero(tmp_path: Path) -> None:
    depth = np.array([[1.5, np.nan], [-2.0, -np.inf]], np.float32)
    path = _write_all(DepthNpzWriter(tmp_path / "depth.npz", FPS, max_depth=100), [depth])
    with np.load(path) as npz:
        np.testing.assert_array_equal(npz["depth_0000"], [[1.5, 0], [0, 0]])


# -- PNG16 zip ----------------------------------------------------------------------------

def _png_frames(path: Path) -> tuple[list[str], list[np.ndarray], dict]:
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith(".png")]
        images = [cv2.imdecode(np.frombuffer(archive.read(n), np.uint8), cv2.IMREAD_UNCHANGED)
                  for n in names]
        metadata = json.loads(archive.read("metadata.json"))
    return names, images, metadata


def test_png16_zip_names_scale_and_precision(tmp_path: Path) -> None:
    frames = _depth_frames(3, shape=(HEIGHT, WIDTH))
    frames[0][0, :3] = [0.0, 65.535, 70.0]  # zero, the largest code, clipped
    path = _write_all(DepthPng16ZipWriter(tmp_path / "depth.zip", FPS, expected_frames=3), frames)
    names, images, metadata = _png_frames(path)
    assert names == ["depth_frame_0001.png", "depth_frame_0002.png", "depth_frame_0003.png"]
    assert metadata["metres_per_unit"] == 0.001 and metadata["max_depth_m"] == 65.535
    assert Fraction(metadata["fps"]) == FPS and metadata["frame_count"] == 3
    assert (metadata["width"], metadata["height"]) == (WIDTH, HEIGHT)
    for image, depth in zip(images, frames):
        assert image.dtype == np.uint16 and image.shape == depth.shape
        decoded = image * metadata["metres_per_unit"]
        expected = np.minimum(depth, metadata["max_depth_m"])
        assert np.abs(decoded - expected).max() <= 0.0005 + 1e-9
    np.testing.assert_array_equal(images[0][0, :3], [0, 65535, 65535])


def test_png16_custom_scale(tmp_path: Path) -> None:
    depth = np.array([[0.0, 1.0], [99.0, 100.0]], np.float32)
    writer = DepthPng16ZipWriter(tmp_path / "depth.zip", FPS, units_per_metre=655.35)
    path = _write_all(writer, [depth])
    _, images, metadata = _png_frames(path)
    np.testing.assert_allclose(metadata["max_depth_m"], 100.0)
    np.testing.assert_array_equal(images[0], np.round(depth.astype(np.float64) * 655.35))


# -- preview ------------------------------------------------------------------------------

def test_colorize_depth_maps_near_to_red_and_far_to_blue() -> None:
    depth = np.array([[0.5, 1.0, 50.0, 200.0, 0.0]], np.float32)
    rgb = colorize_depth(depth, near=1.0, far=50.0)
    assert rgb.shape == (1, 5, 3) and rgb.dtype == np.uint8
    near, far = rgb[0, 1].astype(int), rgb[0, 2].astype(int)
    assert near[0] > 100 and near[0] > 2 * near[2]  # red
    assert far[2] > far[0] and far[2] > far[1]        # blue (turbo's dark indigo end)
    np.testing.assert_array_equal(rgb[0, 0], rgb[0, 1])  # nearer than near: clipped
    np.testing.assert_array_equal(rgb[0, 3], rgb[0, 2])  # farther than far: clipped
    np.testing.assert_array_equal(rgb[0, 4], rgb[0, 1])  # no depth counts as nearest
    with pytest.raises(ValueError):
        colorize_depth(depth, near=5.0, far=5.0)


def test_robust_depth_range_ignores_outliers_and_empty_frames() -> None:
    depth = np.full((100, 100), 10.0, np.float32)
    depth[:50] = 2.0
    depth[0, 0], depth[0, 1], depth[0, 2] = 1e6, np.nan, 0.0
    assert robust_depth_range(depth) == (2.0, 10.0)
    near, far = robust_depth_range(np.full((4, 4), 3.0, np.float32))
    assert 0 < near < far
    near, far = robust_depth_range(np.zeros((4, 4), np.float32))
    assert 0 < near < far


def test_palettes_map_inverse_depth_near_bright_far_dark() -> None:
    depth = np.array([[1.0, 50.0, 200.0, 0.0, 5.0]], np.float32)
    grey = colorize_depth(depth, near=1.0, far=50.0, palette="grey")
    level = round(255 * (1 / 5 - 1 / 50) / (1 - 1 / 50))  # 5 m: linear in inverse depth
    assert grey[0].tolist() == [[255] * 3, [0] * 3, [0] * 3, [255] * 3, [level] * 3]
    inferno = colorize_depth(depth, near=1.0, far=50.0, palette="inferno")
    expected = cv2.applyColorMap(grey[..., 0], cv2.COLORMAP_INFERNO)[..., ::-1]
    np.testing.assert_array_equal(inferno, expected)
    assert inferno[0, 0, 0] > 200 and inferno[0, 0, 2] < 200 and inferno[0, 1].max() < 10  # yellow, black
    with pytest.raises(ValueError, match="unknown palette 'magma'"):
        colorize_depth(depth, near=1.0, far=50.0, palette="magma")


def test_preview_in_grey(tmp_path: Path) -> None:
    depth = np.full((HEIGHT, WIDTH), 40.0, np.float32)
    depth[:, : WIDTH // 2] = 1.0
    path = _write_all(DepthPreviewWriter(tmp_path / "grey.mp4", FPS, depth_range=(1.0, 40.0),
                                         palette="grey"), [depth])
    with VideoReader(path) as video:
        first = video.read(0).astype(int)
    assert (first[:, 2: WIDTH // 2 - 2] > 245).all() and (first[:, WIDTH // 2 + 2: -2] < 10).all()


# -- neighbouring tools' formats ------------------------------------------------------------

def test_eight_bit_zip_round_trips_within_half_an_inverse_step(tmp_path: Path) -> None:
    frames = _depth_frames(3, shape=(20, 30))
    frames[1][0, :4] = [0.0, 100.0, 150.0, 0.1]  # no depth (0, at and beyond no_depth), nearer than near
    path = _write_all(DepthFrames8ZipWriter(tmp_path / "frames.zip", FPS, depth_range=(0.3, 80.0),
                                            no_depth=100.0), frames)
    with zipfile.ZipFile(path) as archive:
        codes = cv2.imdecode(np.frombuffer(archive.read("depth_frame_0002.png"), np.uint8),
                             cv2.IMREAD_UNCHANGED)
    assert codes.dtype == np.uint8 and codes[0, :4].tolist() == [0, 0, 0, 255]
    read = list(read_depth_frames8_zip(path))
    half_step = (1 / 0.3 - 1 / 80) / 255 / 2
    for depth, back in zip(frames, read):
        ok = (depth >= 0.3) & (depth <= 80)
        assert np.abs(1 / back[ok] - 1 / depth[ok]).max() <= half_step * 1.0001
    assert read[1][0, :3].tolist() == pytest.approx([80.0] * 3)  # no depth reads as far
    with pytest.raises(ValueError, match="0 < near < far"):
        DepthFrames8ZipWriter(tmp_path / "bad.zip", FPS, depth_range=(5.0, 5.0))


def test_annolid_ndjson_records_and_round_trip(tmp_path: Path) -> None:
    frames = _depth_frames(2) + [np.full((HEIGHT, WIDTH), 7.25, np.float32)]  # a flat frame
    frames[0][0, 0] = np.inf  # clipped to the frame's largest finite depth
    path = _write_all(AnnolidNdjsonWriter(tmp_path / "depth.ndjson", FPS, video_name="clip.mp4",
                                          frame_indices=[10, 20, 30]), frames)
    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    assert record["frame_index"] == 20 and record["video_name"] == "clip.mp4"
    assert (record["imageHeight"], record["imageWidth"]) == (HEIGHT, WIDTH)
    scale = record["otherData"]["depth_map"]["scale"]
    assert (scale["min"], scale["max"]) == (float(frames[1].min()), float(frames[1].max()))
    assert record["otherData"]["depth_map"]["dtype"] == "uint16"
    read = list(read_annolid_ndjson(path))
    assert [(i, n) for i, n, _ in read] == [(10, "clip.mp4"), (20, "clip.mp4"), (30, "clip.mp4")]
    for depth, (_, _, back) in zip(frames, read):
        finite = np.isfinite(depth)
        span = depth[finite].max() - depth[finite].min()
        assert np.abs(back[finite] - depth[finite]).max() <= span / 131070 + 1e-5
    assert back.tolist() == frames[2].tolist()  # flat: exact
    path.write_text(lines[0] + "\n" + '{"frame_index": 1}\n')
    with pytest.raises(InputError, match=r"depth.ndjson:2: not an Annolid depth record"):
        list(read_annolid_ndjson(path))


def test_point_csv_layout_with_and_without_colours(tmp_path: Path) -> None:
    points = np.array([[0.1234567, -2.0, 3.5], [1.0, 2.0, 40.0]])
    colours = np.array([[255, 0, 7], [1, 2, 3]], np.uint8)
    path = write_point_csv(tmp_path / "point_0000.csv", points, colours)
    assert path.read_text().splitlines() == [
        "x,y,z,intensity,red,green,blue",
        "0.123457,-2.000000,3.500000,3.500000,255,0,7",
        "1.000000,2.000000,40.000000,40.000000,1,2,3"]
    read, intensity, read_colours = read_point_csv(path)
    assert np.abs(read - points).max() <= 5e-7 and intensity.tolist() == [3.5, 40.0]
    assert np.array_equal(read_colours, colours)
    plain = write_point_csv(tmp_path / "plain.csv", points)
    assert plain.read_text().splitlines()[0] == "x,y,z,intensity"
    assert read_point_csv(plain)[2] is None
    with pytest.raises(OutputExistsError):
        write_point_csv(plain, points)
    plain.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match="is not x,y,z,intensity"):
        read_point_csv(plain)


@pytest.mark.parametrize("height, width", [(HEIGHT, WIDTH), (HEIGHT + 1, WIDTH + 1)])
def test_preview_video_has_frame_count_size_and_exact_fps(tmp_path: Path, height: int,
                                                          width: int) -> None:
    frames = []
    for i in range(5):
        depth = np.full((height, width), 40.0, np.float32)
        depth[:, : width // 2] = 1.0 + i * 0.01
        frames.append(depth)
    path = _write_all(DepthPreviewWriter(tmp_path / "preview.mp4", FPS, expected_frames=5), frames)
    info = probe(path)
    assert info.frame_count == 5 and info.fps == FPS
    assert (info.width, info.height) == (width + width % 2, height + height % 2)
    with VideoReader(path) as video:
        first = video.read(0).astype(int)
    left, right = first[height // 2, 1], first[height // 2, -2]
    assert left[0] > 2 * left[2] and right[2] > right[0]  # near red, far blue


# -- atomicity and refusal, every writer --------------------------------------------------

WRITERS: dict[str, Callable] = {
    "exr": lambda path, **kw: DepthExrWriter(path, FPS, **kw),
    "npz": lambda path, **kw: DepthNpzWriter(path, FPS, max_depth=100, **kw),
    "png16": lambda path, **kw: DepthPng16ZipWriter(path, FPS, **kw),
    "preview": lambda path, **kw: DepthPreviewWriter(path, FPS, **kw),
    "frames8": lambda path, **kw: DepthFrames8ZipWriter(path, FPS, depth_range=(0.3, 80.0), **kw),
    "ndjson": lambda path, **kw: AnnolidNdjsonWriter(path, FPS, video_name="clip.mp4", **kw),
}
OUTPUT_NAMES = {"exr": "exr", "npz": "depth.npz", "png16": "depth.zip", "preview": "preview.mp4",
                "frames8": "depth_frames.zip", "ndjson": "depth.ndjson"}


class _Interrupted(Exception):
    pass


@pytest.mark.parametrize("kind", WRITERS)
def test_exception_leaves_nothing(tmp_path: Path, kind: str) -> None:
    final = tmp_path / OUTPUT_NAMES[kind]
    with pytest.raises(_Interrupted), WRITERS[kind](final) as writer:
        for depth in _depth_frames(2):
            writer.write(depth)
        raise _Interrupted
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", WRITERS)
def test_wrong_frame_count_leaves_nothing(tmp_path: Path, kind: str) -> None:
    with pytest.raises(RuntimeError, match="expected 3"):
        writer = WRITERS[kind](tmp_path / OUTPUT_NAMES[kind], expected_frames=3)
        _write_all(writer, _depth_frames(2))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", WRITERS)
def test_existing_output_is_kept_unless_overwrite(tmp_path: Path, kind: str) -> None:
    final = _write_all(WRITERS[kind](tmp_path / OUTPUT_NAMES[kind]), _depth_frames(1, seed=1))
    snapshot = {p: p.read_bytes() for p in sorted([final, *final.rglob("*")]) if p.is_file()}
    with pytest.raises(OutputExistsError):
        WRITERS[kind](final)
    assert {p: p.read_bytes() for p in snapshot} == snapshot
    _write_all(WRITERS[kind](final, overwrite=True), _depth_frames(2, seed=2))
    replaced = {p: p.read_bytes() for p in sorted([final, *final.rglob("*")]) if p.is_file()}
    assert replaced != snapshot
    assert [p.name for p in tmp_path.iterdir()] == [final.name]


@pytest.mark.parametrize("second, problem", [
    (np.ones((4, 5), np.float32), "earlier frames"),       # size changed
    (np.ones((4, 4), np.uint16), "float array in metres"),  # millimetres by mistake
    (np.ones((4, 4, 1), np.float32), "float array"),
])
def test_bad_frames_are_refused_and_leave_nothing(tmp_path: Path, second: np.ndarray,
                                                  problem: str) -> None:
    with pytest.raises(ValueError, match=problem), \
            DepthNpzWriter(tmp_path / "depth.npz", FPS, max_depth=100) as writer:
        writer.write(np.ones((4, 4), np.float32))
        writer.write(second)
    assert list(tmp_path.iterdir()) == []


def test_zero_frames_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no frames"), DepthExrWriter(tmp_path / "exr", FPS):
        pass
    assert list(tmp_path.iterdir()) == []
