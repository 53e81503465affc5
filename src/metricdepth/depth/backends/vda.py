"""Video Depth Anything (our implementation in `metricdepth.depth.vda`) as a backend.

Temporal: the predictor keeps the whole video consistent by itself (windows of 32
frames, aligned to each other), so no stabiliser runs after it; its state is saved with
every finished chunk so `--resume` continues exactly. `vda` loads the relative
checkpoints (affine-invariant inverse depth, made metric by `metric_align`),
`vda_metric` the metric ones (metres). Without `--checkpoint` the permissively licensed
Small checkpoints come from the Hugging Face cache.

`--model` picks the size (vits, vitb, vitl): the Hub repository it names is fetched
like any other Hugging Face checkpoint and the published file of that size is taken
from it (the size also picks the file inside a --checkpoint folder).

A checkpoint of a non-published size (tests use tiny ones) carries its sizes in a
``vda_config.json`` beside the weights file: the `VDAConfig` fields as a JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from ..base import BackendOptions, DepthBackend, DepthFrame, resolve_device
from ..weights import looks_like_repo_id, resolve_checkpoint

CONFIG_FILE = "vda_config.json"
STATE_PREFIX = "vda_"


class VDABackend(DepthBackend):
    temporal = True
    estimates_fov = False

    def __init__(self, predictor, options: BackendOptions, description: str, name: str, streaming: bool):
        super().__init__(options, description)
        self.name = name
        self.predictor = predictor
        self.metric = bool(predictor.metric)
        self.streaming = streaming
        self._restored = False

    def stream(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[DepthFrame]:
        rgb = (frame for _, frame in frames)
        if self.streaming:
            if not self._restored:
                self.predictor.reset()
            for frame in rgb:
                yield DepthFrame(self.predictor.stream(frame))
            return
        for depth in self.predictor.infer_video(rgb):
            yield DepthFrame(depth)

    def state(self) -> dict[str, Any]:
        return {STATE_PREFIX + k: v for k, v in self.predictor.state().items()}

    def restore(self, state: dict[str, Any]) -> None:
        own = {k[len(STATE_PREFIX) :]: v for k, v in state.items() if k.startswith(STATE_PREFIX)}
        if own:
            self.predictor.restore(own)
            self._restored = True


def _config_beside(path: Path, metric: bool):
    from ..vda import VDAConfig

    file = path.with_name(CONFIG_FILE)
    if not file.is_file():
        return None
    try:
        fields = json.loads(file.read_text())
        for key in ("taps", "out_channels"):
            if fields.get(key) is not None:
                fields[key] = tuple(fields[key])
        return VDAConfig(**{**fields, "metric": metric})
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise InputError(file, f"not a valid VDA config ({exc})") from None


def _build(checkpoint: str | None, options: BackendOptions, metric: bool, name: str) -> VDABackend:
    from ..vda import DEFAULT_INPUT_SIZE, VDAPredictor, find_vda_checkpoint, load_vda_checkpoint

    local = checkpoint
    if checkpoint is not None and not Path(checkpoint).exists() and looks_like_repo_id(checkpoint):
        local = str(resolve_checkpoint(checkpoint, None, name))  # a Hub repository
    path = find_vda_checkpoint(local, options.model_size or "vits", metric=metric)
    model = load_vda_checkpoint(path, _config_beside(path, metric), metric=metric)
    device = resolve_device(options.device)
    predictor = VDAPredictor(
        model, input_size=options.input_size or DEFAULT_INPUT_SIZE, device=device, fp32=options.fp32
    )
    streaming = bool(options.extra.get("vda_streaming", False))
    return VDABackend(
        predictor,
        options,
        f"{name}:{checkpoint or path.name}{' streaming' if streaming else ''}",
        name,
        streaming,
    )


def build_relative(checkpoint: str | None, options: BackendOptions) -> VDABackend:
    return _build(checkpoint, options, False, "vda")


def build_metric(checkpoint: str | None, options: BackendOptions) -> VDABackend:
    return _build(checkpoint, options, True, "vda_metric")
