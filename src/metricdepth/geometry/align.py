"""Rigid and similarity alignment of point sets and trajectories (Umeyama), and the
trajectory errors the tests and benchmarks report."""

from __future__ import annotations

import math

import numpy as np

from ..camera import invert_pose


def umeyama(
    src: np.ndarray, dst: np.ndarray, with_scale: bool = True, weights: np.ndarray | None = None
) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares (s, R, t) with dst ~ s R src + t (Umeyama 1991).

    src, dst: (N, 3) float, metres, N >= 3 (not all on a line). weights: optional (N,)
    non-negative. Returns s (1.0 when `with_scale` is False), R (3, 3) proper rotation,
    t (3,) metres.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    a, b = src - mu_s, dst - mu_d
    cov = (b * w[:, None]).T @ a
    u, sing, vt = np.linalg.svd(cov)
    sign = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[2] = -1.0
    rotation = u @ np.diag(sign) @ vt
    var_s = float(w @ (a * a).sum(axis=1))
    scale = float((sing * sign).sum() / var_s) if with_scale and var_s > 0 else 1.0
    return scale, rotation, mu_d - scale * rotation @ mu_s


def rotation_angle_deg(rotation: np.ndarray) -> float:
    """Angle of a (3, 3) rotation, degrees."""
    cos = (np.trace(rotation) - 1.0) / 2.0
    return math.degrees(math.acos(float(np.clip(cos, -1.0, 1.0))))


def path_length(world_from_cam: np.ndarray) -> float:
    """Length of the camera path of (N, 4, 4) poses, metres."""
    return float(np.linalg.norm(np.diff(world_from_cam[:, :3, 3], axis=0), axis=1).sum())


def absolute_trajectory_error(estimate: np.ndarray, truth: np.ndarray, with_scale: bool = False) -> float:
    """RMS distance between camera centres (metres, truth's units) after aligning the
    estimate to the truth rigidly (`with_scale` False) or by a similarity.

    estimate, truth: (N, 4, 4) float64 world_from_cam.
    """
    est, gt = estimate[:, :3, 3], truth[:, :3, 3]
    s, rotation, t = umeyama(est, gt, with_scale)
    aligned = s * est @ rotation.T + t
    return float(np.sqrt(np.mean(np.sum((aligned - gt) ** 2, axis=1))))


def relative_pose_errors(
    estimate: np.ndarray, truth: np.ndarray, step: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Relative pose error between frames i and i + `step`: translation (metres) and
    rotation (degrees) of inv(truth_rel) @ estimate_rel, one per frame pair.

    estimate, truth: (N, 4, 4) float64 world_from_cam (their worlds may differ).
    """
    trans, rot = [], []
    for i in range(len(truth) - step):
        est_rel = invert_pose(estimate[i]) @ estimate[i + step]
        gt_rel = invert_pose(truth[i]) @ truth[i + step]
        err = invert_pose(gt_rel) @ est_rel
        trans.append(np.linalg.norm(err[:3, 3]))
        rot.append(rotation_angle_deg(err[:3, :3]))
    return np.asarray(trans), np.asarray(rot)
