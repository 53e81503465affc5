"""Step 4 on real RGB-D data: TUM fr1_desk (9 frames, sensor depth, motion-capture poses).

Tracks come from step 3's weight-free tracker (`metricdepth.tracking.lk`); depth is the
Kinect's (value / 5000 metres, registered to the colour camera); intrinsics from the
dataset's K (not a FOV: the principal point is off centre); the images are not
undistorted. The relative pose error against the motion capture is printed and bounded.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from metricdepth.camera import Intrinsics, make_pose
from metricdepth.geometry.align import relative_pose_errors
from metricdepth.geometry.observations import gather_observations
from metricdepth.geometry.robust import PoseSettings
from metricdepth.geometry.solve import solve_poses
from metricdepth.tracking.lk import LKTracker

TUM_K = np.array([[517.3, 0.0, 318.6], [0.0, 516.5, 255.3], [0.0, 0.0, 1.0]])
TUM_DEPTH_FACTOR = 5000.0  # PNG value per metre


def _stamps(folder: Path) -> tuple[np.ndarray, list[Path]]:
    files = sorted(folder.glob("*.png"))
    return np.array([float(p.stem) for p in files]), files


def load_tum(root: Path) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Grey images (H, W) uint8, depth (H, W) float32 metres (0 = none) and ground-truth
    world_from_cam (N, 4, 4), associated to the colour frames by nearest timestamp."""
    rgb_t, rgb_files = _stamps(root / "rgb")
    depth_t, depth_files = _stamps(root / "depth")
    gt = np.loadtxt(root / "groundtruth.txt", comments="#")
    greys, depths, poses = [], [], []
    for t, path in zip(rgb_t, rgb_files):
        greys.append(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
        nearest = depth_files[int(np.argmin(np.abs(depth_t - t)))]
        depths.append(cv2.imread(str(nearest), cv2.IMREAD_UNCHANGED).astype(np.float32)
                      / TUM_DEPTH_FACTOR)
        row = gt[int(np.argmin(np.abs(gt[:, 0] - t)))]
        poses.append(make_pose(Rotation.from_quat(row[4:8]).as_matrix(), row[1:4]))
    return greys, depths, np.array(poses)


@pytest.fixture
def tum(shared_data):
    folder = shared_data / "rgbd" / "tum_fr1_desk_9frames"
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    return load_tum(folder)


def test_tum_relative_pose_error(tum):
    greys, depths, truth = tum
    h, w = greys[0].shape
    intr = Intrinsics.from_K(TUM_K, w, h)
    tracker = LKTracker()
    tracks = [tracker.update(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)) for grey in greys]
    depth_frames = [np.where(d > 0, d, np.float32(100.0)) for d in depths]
    obs = gather_observations(tracks, depth_frames, 100.0)
    result = solve_poses(obs, intr, PoseSettings())
    trans, rot = relative_pose_errors(result.reconstruction.world_from_cam, truth)
    gt_trans, gt_rot = relative_pose_errors(np.tile(np.eye(4), (len(truth), 1, 1)), truth)
    print(f"\nTUM fr1_desk RPE per frame pair: translation {np.round(100 * trans, 2)} cm "
          f"(motion {np.round(100 * gt_trans, 2)} cm), rotation {np.round(rot, 3)} deg "
          f"(motion {np.round(gt_rot, 2)} deg); mean {100 * trans.mean():.2f} cm, "
          f"{rot.mean():.3f} deg")
    assert trans.mean() < 0.01 and trans.max() < 0.02   # metres
    assert rot.mean() < 0.5 and rot.max() < 1.0         # degrees
