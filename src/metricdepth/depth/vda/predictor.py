"""Video Depth Anything on what users have: uint8 RGB frames in, (H, W) float32 maps out.

`VDAPredictor.infer_video` is the offline long-video mode (docs/vda_spec.md section 9) as a
generator that holds one window of frames at a time; `VDAPredictor.stream` is the
frame-by-frame streaming mode (section 10). Both can be stopped after any output frame and
continued later, in a fresh process, with byte-identical results (`state` / `restore`).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .model import VideoDepthAnything
from .preprocess import DEFAULT_INPUT_SIZE, check_frame, network_size, preprocess_frame
from .stitching import (
    CROSSFADE,
    FINAL_UNTIL,
    KEYFRAME_SLOTS,
    REFERENCE_SLOT,
    STEP,
    WINDOW,
    apply_scale_shift,
    crossfade,
    fit_scale_shift,
)
from .temporal import MAX_FRAMES

log = logging.getLogger(__name__)

# Frames the encoder processes per call (it sees each frame on its own; this bounds memory).
ENCODER_CHUNK = 8
# Streaming: context = cache entries [0], [1] and the last STREAM_RECENT entries; entry [1]
# is dropped after every frame past STREAM_KEEP_FROM, so the cache settles at 42 entries.
STREAM_RECENT = MAX_FRAMES - 3
STREAM_KEEP_FROM = 10
MODE_OFFLINE, MODE_STREAM = 0, 1


@dataclass
class _Offline:
    """Where an offline run stands. Everything here goes into `state()`."""

    next_frame: int = 0  # frames yielded so far = index of the next output frame
    total: int = -1  # frames in the video, once the input has ended
    windows: int = 0  # windows run so far
    first_frame: np.ndarray | None = None  # (H, W, 3) uint8, slot 0 of every window
    key_frame: np.ndarray | None = None  # (H, W, 3) uint8, slot 12 of the last window
    reference: np.ndarray | None = None  # (2, H, W) float32 maps the next window aligns to
    ready: deque = field(default_factory=deque)  # final (H, W) maps not yet yielded
    pending: np.ndarray | None = None  # (8, H, W) float32, to be cross-faded

    def carried(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """first_frame, key_frame, reference and pending: set once a window has run."""
        if (
            self.first_frame is None
            or self.key_frame is None
            or self.reference is None
            or self.pending is None
        ):
            raise ValueError("no window has run yet")
        return self.first_frame, self.key_frame, self.reference, self.pending


@dataclass
class _Stream:
    """Where a stream stands: the frame shape, frames done and the temporal cache."""

    shape: tuple[int, int, int] | None = None
    frames: int = 0
    cache: list[list[torch.Tensor]] = field(default_factory=list)


class VDAPredictor:
    """Depth for video frames with a Video Depth Anything network.

    model: a VideoDepthAnything (see load_vda_checkpoint). input_size: the network's short
    side in pixels (518 as trained; smaller is faster and coarser). device: torch device.
    fp32: on CUDA, False runs the network under float16 autocast; CPU always runs float32.

    Outputs are (H, W) float32 maps at the frame's own size: affine-invariant inverse depth
    ("disparity", larger is nearer) when `metric` is False, z-depth in metres when True.
    """

    def __init__(
        self,
        model: VideoDepthAnything,
        input_size: int = DEFAULT_INPUT_SIZE,
        device: str | torch.device = "cpu",
        fp32: bool = True,
    ):
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.metric = bool(model.metric)
        self.input_size = int(input_size)
        network_size(self.input_size, self.input_size, self.input_size)  # validates the size
        self.half = self.device.type == "cuda" and not fp32
        self.reset()

    # -- public -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the current video or stream."""
        self._offline = _Offline()
        self._stream = _Stream()
        self._mode: int | None = None
        self._continue = False
        self._lookahead: dict[int, np.ndarray] = {}
        self._next_pull = 0
        self._exhausted = False
        self._shape: tuple[int, ...] | None = None
        self._source: Iterator[np.ndarray] | None = None

    def infer_video(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Yield one (H, W) float32 map per frame, in order, for a video of any length.

        frames: (H, W, 3) uint8 RGB frames, all the same size. They are pulled lazily: at
        most one window (32 frames) ahead of the maps yielded, so memory does not grow with
        the video. A new video starts unless `restore` was called just before, in which case
        `frames` must start at the first frame not yet yielded (state()["next_frame"]).
        """
        if not self._continue:
            self.reset()
        self._continue = False
        self._mode = MODE_OFFLINE
        self._lookahead, self._next_pull = {}, self._offline.next_frame
        self._exhausted = False
        if self._offline.first_frame is not None:
            self._shape = self._offline.first_frame.shape
        self._source = iter(frames)
        return self._generate()

    @property
    def safe_to_checkpoint(self) -> bool:
        """True when `state()` holds no computed-but-unyielded maps, so it is at its
        smallest (offline: right after frame 22 w + 1 for w >= 1, or before the first
        frame; streams: always). A state can be taken after any frame either way."""
        return self._mode != MODE_OFFLINE or not self._offline.ready

    def stream(self, frame: np.ndarray) -> np.ndarray:
        """Streaming mode: the (H, W) float32 map of `frame` from it and cached features of
        earlier frames. No look-ahead, no alignment between frames; less accurate than
        `infer_video` (docs/vda_spec.md section 10). A new stream starts after `reset`, or when
        the predictor was last used for `infer_video`."""
        if self._mode != MODE_STREAM:
            self.reset()
            self._mode = MODE_STREAM
        st = self._stream
        frame = check_frame(frame, st.shape)
        st.shape = frame.shape
        size = network_size(frame.shape[0], frame.shape[1], self.input_size)
        x = torch.from_numpy(preprocess_frame(frame, size)).to(self.device)[None]
        contexts = None
        if st.cache:
            picked = st.cache[:2] + st.cache[-STREAM_RECENT:]
            contexts = [
                torch.cat([entry[layer] for entry in picked], dim=1) for layer in range(len(picked[0]))
            ]
        with torch.inference_mode(), self._autocast():
            depth, states = self.model.forward_stream(x, contexts)
            depth = depth.float()
        if not st.cache:
            st.cache = [states] * MAX_FRAMES
        else:
            st.cache.append(states)
            if st.frames > STREAM_KEEP_FROM:
                del st.cache[1]
        st.frames += 1
        return self._to_frame_size(depth[None], frame.shape[:2])[0]

    def state(self) -> dict[str, np.ndarray | int | float]:
        """Everything needed to continue the current video or stream (arrays and ints).

        Offline: frame 0 and the current key frame (uint8), the two reference maps, the
        8 maps awaiting their cross-fade and any maps computed but not yet yielded (none
        when `safe_to_checkpoint`), plus counters. Size: about (10 + unyielded) x H x W x 4
        bytes + 2 frames. Stream: the temporal cache (frame 0 and the last 41 frames'
        features; large: ~12 MB per frame at 518x924 for vits).
        """
        common = {"input_size": self.input_size, "metric": int(self.metric)}
        if self._mode == MODE_STREAM:
            return {**common, "mode": MODE_STREAM, **self._stream_state()}
        o = self._offline
        empty_frame = np.zeros((0, 0, 3), np.uint8)
        shape = (0, 0) if o.first_frame is None else o.first_frame.shape[:2]
        empty_maps = np.zeros((0, *shape), np.float32)
        return {
            **common,
            "mode": MODE_OFFLINE,
            "next_frame": o.next_frame,
            "total": o.total,
            "windows": o.windows,
            "first_frame": empty_frame if o.first_frame is None else o.first_frame,
            "key_frame": empty_frame if o.key_frame is None else o.key_frame,
            "reference": empty_maps if o.reference is None else o.reference,
            "ready": np.stack(o.ready) if o.ready else empty_maps,
            "pending": empty_maps if o.pending is None else o.pending,
        }

    def restore(self, state: dict) -> None:
        """Continue from `state()` (values may be 0-d arrays, as np.load gives them).
        Offline: then call `infer_video` with the frames from state["next_frame"] on.
        Stream: then call `stream` with the next frame."""
        if int(state["input_size"]) != self.input_size or bool(state["metric"]) != self.metric:
            raise ValueError(
                f"state is for input_size {int(state['input_size'])}, metric "
                f"{bool(state['metric'])}; this predictor has {self.input_size}, "
                f"{self.metric}"
            )
        self.reset()
        if int(state["mode"]) == MODE_STREAM:
            self._restore_stream(state)
            self._mode = MODE_STREAM
            return
        o = self._offline
        o.next_frame, o.total, o.windows = (int(state[k]) for k in ("next_frame", "total", "windows"))
        o.first_frame = _array_or_none(state["first_frame"], np.uint8)
        o.key_frame = _array_or_none(state["key_frame"], np.uint8)
        o.reference = _array_or_none(state["reference"], np.float32)
        o.pending = _array_or_none(state["pending"], np.float32)
        o.ready = deque(np.asarray(state["ready"], np.float32))
        self._mode, self._continue = MODE_OFFLINE, True

    # -- offline ------------------------------------------------------------------------
    def _generate(self) -> Iterator[np.ndarray]:
        o = self._offline
        while True:
            if o.ready:
                if 0 <= o.total <= o.next_frame:
                    return
                depth = o.ready.popleft()
                o.next_frame += 1
                yield depth
                continue
            # Nothing computed: the next window covers frame next_frame, if it exists.
            if not self._has_frame(o.next_frame):
                return
            self._run_window()

    def _has_frame(self, index: int) -> bool:
        self._pull_until(index)
        return self._offline.total < 0 or index < self._offline.total

    def _pull_until(self, index: int) -> None:
        """Read input frames up to `index` (or the end), keeping those the next window
        needs (frames from 22 w + 2 on; the others are already stitched)."""
        o = self._offline
        keep_from = STEP * o.windows + len(KEYFRAME_SLOTS) if o.windows else 0
        source = self._source
        if source is None:
            raise ValueError("infer_video has not been given frames")
        while self._next_pull <= index and not self._exhausted:
            if 0 <= o.total <= self._next_pull:
                self._exhausted = True
                break
            try:
                frame = next(source)
            except StopIteration:
                self._exhausted = True
                if o.total < 0:
                    o.total = self._next_pull
                elif o.total != self._next_pull:
                    raise ValueError(
                        f"the video ended after {self._next_pull} frames; the "
                        f"restored state says it has {o.total}"
                    ) from None
                break
            frame = check_frame(frame, self._shape)
            self._shape = frame.shape
            if self._next_pull >= keep_from:
                self._lookahead[self._next_pull] = frame
            self._next_pull += 1

    def _frame(self, index: int) -> np.ndarray:
        """Input frame `index`; past the end, the last frame (the video's padding)."""
        self._pull_until(index)
        total = self._offline.total
        return self._lookahead[index if total < 0 or index < total else total - 1]

    def _run_window(self) -> None:
        o = self._offline
        start = STEP * o.windows
        if o.windows == 0:
            inputs = [self._frame(i) for i in range(WINDOW)]
            o.first_frame = inputs[0]
        else:
            first_frame, key_frame, reference, pending = o.carried()
            inputs = [first_frame, key_frame] + [
                self._frame(i) for i in range(start + len(KEYFRAME_SLOTS), start + WINDOW)
            ]
        maps = self._network(inputs)
        if o.windows == 0:
            aligned = maps
            o.ready.extend(aligned[:FINAL_UNTIL])
            o.reference = aligned[[0, REFERENCE_SLOT]]
        else:
            if self.metric:
                scale, shift = np.float32(1.0), np.float32(0.0)
            else:
                scale, shift = fit_scale_shift(maps[: len(KEYFRAME_SLOTS)], reference)
            aligned = apply_scale_shift(maps, scale, shift)
            overlap = slice(len(KEYFRAME_SLOTS), len(KEYFRAME_SLOTS) + CROSSFADE)
            o.ready.extend(crossfade(pending, aligned[overlap]))
            o.ready.extend(aligned[overlap.stop : FINAL_UNTIL])
            o.reference = np.stack([reference[0], aligned[REFERENCE_SLOT]])
        o.pending = aligned[FINAL_UNTIL:].copy()
        o.key_frame = inputs[REFERENCE_SLOT]
        o.windows += 1
        next_needed = STEP * o.windows + len(KEYFRAME_SLOTS)
        self._lookahead = {i: f for i, f in self._lookahead.items() if i >= next_needed}
        log.debug("VDA window %d: frames %d..%d", o.windows - 1, start, start + WINDOW - 1)

    def _network(self, frames: list[np.ndarray]) -> np.ndarray:
        """(T, H, W) float32 maps at frame size for T same-size uint8 frames, as one clip."""
        height, width = frames[0].shape[:2]
        size = network_size(height, width, self.input_size)
        clip = np.stack([preprocess_frame(f, size) for f in frames])
        x = torch.from_numpy(clip).to(self.device)[None]
        with torch.inference_mode(), self._autocast():
            out = self.model(x, encoder_chunk=ENCODER_CHUNK)[0].float()
        return self._to_frame_size(out, (height, width))

    # -- helpers ------------------------------------------------------------------------
    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.float16, enabled=self.half)

    @staticmethod
    def _to_frame_size(maps: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
        """(T, h, w) float32 tensor -> (T, H, W) float32 array, bilinear, align_corners."""
        with torch.inference_mode():
            out = F.interpolate(maps[None], size=size, mode="bilinear", align_corners=True)
        return out[0].cpu().numpy()

    def _stream_state(self) -> dict[str, np.ndarray | int]:
        st = self._stream
        unique: dict[int, int] = {}
        for entry in st.cache:
            unique.setdefault(id(entry), len(unique))
        entries = list({id(e): e for e in st.cache}.values())
        layers = len(entries[0]) if entries else 0
        state: dict[str, np.ndarray | int] = {
            "frames": st.frames,
            "frame_shape": np.array(st.shape or (0, 0, 3), np.int64),
            "cache_index": np.array([unique[id(e)] for e in st.cache], np.int64),
            "layers": layers,
        }
        for layer in range(layers):
            state[f"cache_{layer}"] = torch.stack([e[layer] for e in entries]).cpu().numpy()
        return state

    def _restore_stream(self, state: dict) -> None:
        st = self._stream
        st.frames = int(state["frames"])
        height, width, channels = (int(v) for v in np.asarray(state["frame_shape"]))
        st.shape = (height, width, channels) if st.frames else None
        layers = [
            torch.from_numpy(np.array(state[f"cache_{i}"])).to(self.device)
            for i in range(int(state["layers"]))
        ]
        entries = [[layer[k] for layer in layers] for k in range(layers[0].shape[0])] if layers else []
        st.cache = [entries[int(k)] for k in np.asarray(state["cache_index"])]


def _array_or_none(value, dtype) -> np.ndarray | None:
    array = np.asarray(value, dtype)
    return None if array.size == 0 else array
