"""PLY point clouds: exact round trips, Open3D interoperability, foreign PLY files, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metricdepth.errors import InputError, OutputExistsError
from metricdepth.io.ply import PointCloud, read_ply, write_ply


def _cloud(count: int, colors: bool = True, ids: bool = True, seed: int = 0) -> PointCloud:
    rng = np.random.default_rng(seed)
    return PointCloud(
        points=(rng.normal(size=(count, 3)) * 10).astype(np.float32),
        colors=rng.integers(0, 256, (count, 3), dtype=np.uint8) if colors else None,
        ids=rng.integers(-1, 2**31 - 1, count, dtype=np.int64) if ids else None,
    )


def _assert_same(read: PointCloud, written: PointCloud) -> None:
    assert read.points.dtype == np.float32 and read.points.shape == written.points.shape
    np.testing.assert_array_equal(read.points, written.points)
    for name in ("colors", "ids"):
        expected, got = getattr(written, name), getattr(read, name)
        if expected is None:
            assert got is None
        else:
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("count, colors, ids", [
    (500, True, True), (500, True, False), (500, False, True), (500, False, False), (0, True, True),
])
def test_round_trip_is_exact(tmp_path: Path, count: int, colors: bool, ids: bool) -> None:
    cloud = _cloud(count, colors, ids)
    path = write_ply(tmp_path / "cloud.ply", cloud)
    _assert_same(read_ply(path), cloud)


def test_written_layout_is_binary_little_endian_xyz_rgb_ids(tmp_path: Path) -> None:
    cloud = _cloud(3)
    data = write_ply(tmp_path / "cloud.ply", cloud).read_bytes()
    header, body = data.split(b"end_header\n", 1)
    lines = header.decode("ascii").splitlines()
    assert lines[:2] == ["ply", "format binary_little_endian 1.0"]
    assert [line for line in lines if not line.startswith("comment")][2:] == [
        "element vertex 3", "property float x", "property float y", "property float z",
        "property uchar red", "property uchar green", "property uchar blue", "property int ids"]
    assert len(body) == 3 * (12 + 3 + 4)
    record = np.dtype([("xyz", "<f4", 3), ("rgb", "u1", 3), ("ids", "<i4")])
    parsed = np.frombuffer(body, record)
    np.testing.assert_array_equal(parsed["xyz"], cloud.points)
    np.testing.assert_array_equal(parsed["rgb"], cloud.colors)
    np.testing.assert_array_equal(parsed["ids"], cloud.ids)


def test_open3d_reads_our_file(tmp_path: Path) -> None:
    o3d = pytest.importorskip("open3d")
    cloud = _cloud(200)
    pcd = o3d.io.read_point_cloud(str(write_ply(tmp_path / "cloud.ply", cloud)))
    np.testing.assert_array_equal(np.asarray(pcd.points), cloud.points.astype(np.float64))
    colors = np.round(np.asarray(pcd.colors) * 255).astype(np.uint8)
    np.testing.assert_array_equal(colors, cloud.colors)


@pytest.mark.parametrize("ascii_format", [True, False])
def test_reads_files_written_by_open3d(tmp_path: Path, ascii_format: bool) -> None:
    o3d = pytest.importorskip("open3d")
    cloud = _cloud(50, ids=False)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud.points.astype(np.float64)))
    pcd.colors = o3d.utility.Vector3dVector(cloud.colors / 255.0)
    pcd.normals = o3d.utility.Vector3dVector(np.ones((50, 3)))  # an extra property to skip
    path = tmp_path / "open3d.ply"
    assert o3d.io.write_point_cloud(str(path), pcd, write_ascii=ascii_format)
    read = read_ply(path)
    tolerance = 1e-5 if ascii_format else 0  # Open3D's ASCII output keeps 6 digits
    np.testing.assert_allclose(read.points, cloud.points, rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(read.colors, cloud.colors)
    assert read.ids is None


def test_reads_hand_written_ascii_ply_with_float_colours_and_faces(tmp_path: Path) -> None:
    path = tmp_path / "hand.ply"
    path.write_text(
        "ply\r\nformat ascii 1.0\ncomment made by hand\nobj_info nothing\n"
        "element vertex 2\nproperty double x\nproperty double y\nproperty double z\n"
        "property float red\nproperty float green\nproperty float blue\nproperty short ids\n"
        "element face 1\nproperty list uchar int vertex_indices\nend_header\n"
        "1.5 -2 3e2 1 0 0.5 7\n0 0 0 0 1 0 -1\n3 0 1 1\n")
    read = read_ply(path)
    np.testing.assert_array_equal(read.points, np.array([[1.5, -2, 300], [0, 0, 0]], np.float32))
    np.testing.assert_array_equal(read.colors, np.array([[255, 0, 128], [0, 255, 0]], np.uint8))
    np.testing.assert_array_equal(read.ids, np.array([7, -1], np.int32))


def test_reads_big_endian_binary(tmp_path: Path) -> None:
    points = np.array([[1, 2, 3], [-4.25, 5, 6e3]], ">f8")
    path = tmp_path / "big.ply"
    path.write_bytes(b"ply\nformat binary_big_endian 1.0\nelement vertex 2\nproperty double x\n"
                     b"property double y\nproperty double z\nend_header\n" + points.tobytes())
    read = read_ply(path)
    np.testing.assert_array_equal(read.points, points.astype(np.float32))
    assert read.colors is None and read.ids is None


def test_refuses_to_replace_without_overwrite(tmp_path: Path) -> None:
    path = write_ply(tmp_path / "cloud.ply", _cloud(10, seed=1))
    before = path.read_bytes()
    with pytest.raises(OutputExistsError):
        write_ply(path, _cloud(10, seed=2))
    assert path.read_bytes() == before
    replacement = _cloud(10, seed=2)
    write_ply(path, replacement, overwrite=True)
    _assert_same(read_ply(path), replacement)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cloud.ply"]


def _expect_input_error(path: Path, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        read_ply(path)
    assert str(path) in str(caught.value)
    assert problem in caught.value.problem


def test_missing_file(tmp_path: Path) -> None:
    _expect_input_error(tmp_path / "absent.ply", "not found")


def test_not_a_ply(tmp_path: Path) -> None:
    path = tmp_path / "image.ply"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    _expect_input_error(path, "not a PLY")


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_truncated_binary_data(tmp_path: Path, keep: float) -> None:
    data = write_ply(tmp_path / "cloud.ply", _cloud(100)).read_bytes()
    cut = tmp_path / "cut.ply"
    cut.write_bytes(data[: int(len(data) * keep)])
    _expect_input_error(cut, "truncated")


def test_truncated_header(tmp_path: Path) -> None:
    path = tmp_path / "cut.ply"
    path.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\n")
    _expect_input_error(path, "truncated")


def test_truncated_ascii_data(tmp_path: Path) -> None:
    path = tmp_path / "cut.ply"
    path.write_text("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
                    "property float z\nend_header\n1 2 3\n4 5 6\n7 8\n")
    _expect_input_error(path, "truncated")


def test_vertices_without_positions(tmp_path: Path) -> None:
    path = tmp_path / "nopos.ply"
    path.write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float u\nend_header\n1\n")
    _expect_input_error(path, "no x, y, z")


@pytest.mark.parametrize("points, colors, ids", [
    (np.zeros((4, 2)), None, None),
    (np.zeros((4, 3)), np.zeros((4, 3), np.float32), None),
    (np.zeros((4, 3)), np.zeros((3, 3), np.uint8), None),
    (np.zeros((4, 3)), None, np.zeros(4, np.float32)),
    (np.zeros((4, 3)), None, np.full(4, 2**40)),
])
def test_point_cloud_rejects_wrong_shapes_and_types(points, colors, ids) -> None:
    with pytest.raises(ValueError):
        PointCloud(points, colors, ids)
