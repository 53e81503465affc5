"""Learned salient-object mattes (the `rembg` backend, MDVT's default mask step).

rembg's ONNX models run directly with onnxruntime, with rembg's own pre- and
post-processing: the frame resized to the model's square input, divided by its maximum,
normalised with the model's mean and standard deviation; the first output min-max
normalised to 0..1 and resized back. The result is a soft 8-bit matte (255 = subject).

Model files are found where rembg keeps them: `--checkpoint FILE`, else
`$U2NET_HOME/<model>.onnx`, else `~/.u2net/<model>.onnx` (`install.sh --models small`
puts u2netp there).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class RembgModel:
    """size: the model's square input, pixels; mean, std: per RGB channel, applied to
    the frame divided by its maximum."""

    size: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


# rembg's names for the models that give one salient-object matte
MODELS = {
    "u2netp": RembgModel(320),
    "u2net": RembgModel(320),
    "u2net_human_seg": RembgModel(320),
    "silueta": RembgModel(320),
    "isnet-general-use": RembgModel(1024, (0.5, 0.5, 0.5), (1.0, 1.0, 1.0)),
    "isnet-anime": RembgModel(1024, (0.5, 0.5, 0.5), (1.0, 1.0, 1.0)),
}
DEFAULT_MODEL = "u2netp"


def model_file(name: str, checkpoint: str | None = None) -> Path:
    """Where model `name`'s ONNX file is looked for: `checkpoint`, else
    $U2NET_HOME/<name>.onnx, else ~/.u2net/<name>.onnx."""
    if checkpoint:
        return Path(checkpoint).expanduser()
    home = os.environ.get("U2NET_HOME") or Path.home() / ".u2net"
    return Path(home).expanduser() / f"{name}.onnx"


def rembg_weights_available(name: str, checkpoint: str | None = None) -> bool:
    """Whether model `name`'s file exists (not whether it is valid)."""
    return model_file(name, checkpoint).is_file()


class RembgMatter:
    """One rembg model loaded into onnxruntime; `matte(frame)` per (H, W, 3) uint8 RGB frame.

    Raises InputError naming the file when it is missing or not a loadable ONNX model.
    """

    def __init__(self, name: str = DEFAULT_MODEL, checkpoint: str | None = None, threads: int = 0):
        if name not in MODELS:
            raise InputError("--rembg_model", f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
        path = model_file(name, checkpoint)
        if not path.is_file():
            raise InputError(
                path,
                f"rembg model file not found (give --checkpoint FILE, or put "
                f"{name}.onnx in $U2NET_HOME or ~/.u2net; install.sh --models small "
                "fetches u2netp)",
            )
        try:
            import onnxruntime
        except ImportError:
            raise InputError(
                "--backend", "the rembg backend needs onnxruntime: pip install -c constraints.txt onnxruntime"
            ) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own error types for bad files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(path, f"not a loadable ONNX model ({first[:160]})") from None
        self.path = path
        self.spec = MODELS[name]
        self.input_name = self.session.get_inputs()[0].name
        mean, std = np.array(self.spec.mean, np.float32), np.array(self.spec.std, np.float32)
        self._scale, self._offset = 1 / std, -mean / std

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        """(1, 3, S, S) float32 model input of one (H, W, 3) uint8 RGB frame."""
        s = self.spec.size
        small = cv2.resize(frame, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32)
        small *= 1 / max(float(small.max()), 1e-6)
        small = small * self._scale + self._offset
        return np.ascontiguousarray(small.transpose(2, 0, 1)[None])

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """(S, S) float32 raw first output for one `prepare`d input."""
        return self.session.run(None, {self.input_name: batch})[0][0, 0]

    def matte(self, frame: np.ndarray) -> np.ndarray:
        """(H, W) uint8 matte of (H, W, 3) uint8 RGB `frame`, 255 = subject."""
        pred = self.infer(self.prepare(frame))
        lo, hi = float(pred.min()), float(pred.max())
        pred = (pred - lo) * (255 / max(hi - lo, 1e-6))
        h, w = frame.shape[:2]
        full = cv2.resize(pred, (w, h), interpolation=cv2.INTER_LINEAR)
        return np.clip(full + 0.5, 0, 255).astype(np.uint8)


def rembg_mattes(matter: RembgMatter, frames: Iterator[np.ndarray], window: int = 1) -> Iterator[np.ndarray]:
    """Yield one (H, W) uint8 matte per (H, W, 3) uint8 RGB frame; with `window` > 1 (odd),
    each is the mean of the mattes of the `window` frames centred on it (fewer at the
    ends), which steadies flickering edges."""
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be odd and >= 1, got {window}")
    if window == 1:
        yield from (matter.matte(f) for f in frames)
        return
    half = window // 2
    recent: deque[tuple[int, np.ndarray]] = deque()  # (frame index, matte)
    count = 0
    for index, frame in enumerate(frames):
        recent.append((index, matter.matte(frame).astype(np.float32)))
        count = index + 1
        if index >= half:
            yield _mean_around(recent, index - half, half)
        while recent[0][0] <= index - window + 1:
            recent.popleft()
    for centre in range(max(count - half, 0), count):
        yield _mean_around(recent, centre, half)


def _mean_around(recent: deque[tuple[int, np.ndarray]], centre: int, half: int) -> np.ndarray:
    """(H, W) uint8 mean of the mattes of frames centre - half .. centre + half held."""
    mattes = [m for i, m in recent if abs(i - centre) <= half]
    return (np.mean(mattes, axis=0) + 0.5).astype(np.uint8)
