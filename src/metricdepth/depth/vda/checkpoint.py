"""Published Video Depth Anything checkpoints: where they are, their licences, and a
strict loader (docs/vda_spec.md section 1).

The files are flat state dicts (``pretrained.*``, ``head.*``) stored as PyTorch pickles;
``.safetensors`` copies load too. Any missing or unexpected key, or any shape that differs,
is refused with the keys named.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ...errors import InputError
from .model import ENCODERS, VDAConfig, VideoDepthAnything, build_vda

log = logging.getLogger(__name__)

# Keys named per kind of mismatch in an error message.
NAMED_KEYS = 5
PERMISSIVE = "Apache-2.0"
HF_DOWNLOAD = "https://huggingface.co/{repo}/resolve/main/{filename}"


@dataclass(frozen=True)
class VDACheckpoint:
    """One published checkpoint: Hugging Face repository, file name, weight licence."""

    encoder: str
    metric: bool
    repo: str
    filename: str
    licence: str

    @property
    def url(self) -> str:
        return HF_DOWNLOAD.format(repo=self.repo, filename=self.filename)


def _published() -> dict[tuple[str, bool], VDACheckpoint]:
    names = {"vits": "Small", "vitb": "Base", "vitl": "Large"}
    table = {}
    for encoder, name in names.items():
        licence = PERMISSIVE if encoder == "vits" else "CC-BY-NC-4.0"
        for metric in (False, True):
            prefix = "metric_" if metric else ""
            repo = f"depth-anything/{'Metric-' if metric else ''}Video-Depth-Anything-{name}"
            table[encoder, metric] = VDACheckpoint(
                encoder, metric, repo, f"{prefix}video_depth_anything_{encoder}.pth", licence
            )
    return table


CHECKPOINTS: dict[tuple[str, bool], VDACheckpoint] = _published()
# ViT width -> encoder name, to recognise a checkpoint's size from its tensors.
_WIDTHS = {384: "vits", 768: "vitb", 1024: "vitl"}


def find_vda_checkpoint(
    checkpoint: str | Path | None,
    encoder: str = "vits",
    metric: bool = False,
    cache_dir: str | Path | None = None,
) -> Path:
    """The weights file to use.

    checkpoint: a file (used as is), a folder (searched for the published file name, or
    its .safetensors twin), or None: the Hugging Face cache, for the permissively licensed
    checkpoints only (the CC-BY-NC-4.0 ones are used only when passed explicitly);
    cache_dir: the hub cache folder (None: huggingface_hub's default, HF_HUB_CACHE).
    Raises InputError naming --checkpoint or the path, with where to get the file.
    """
    if encoder not in ENCODERS:
        raise InputError("--encoder", f"unknown VDA encoder {encoder!r}; choose from {ENCODERS}")
    info = CHECKPOINTS[encoder, metric]
    if checkpoint is not None:
        path = Path(checkpoint)
        if path.is_file():
            return path
        if path.is_dir():
            for name in (info.filename, Path(info.filename).with_suffix(".safetensors").name):
                if (path / name).is_file():
                    return path / name
            raise InputError(path, f"holds no {info.filename}; download it from {info.url}")
        raise InputError(path, "does not exist")
    if info.licence != PERMISSIVE:
        raise InputError(
            "--checkpoint",
            f"{info.repo} is licensed {info.licence} "
            "(non-commercial): download it yourself from "
            f"{info.url} and pass --checkpoint FILE",
        )
    cached = _hf_cached(info, cache_dir)
    if cached is None:
        raise InputError(
            "--checkpoint",
            f"{info.filename} is not in the Hugging Face cache; "
            "run install.sh --models small when online, or download "
            f"{info.url} and pass --checkpoint FILE",
        )
    return cached


def _hf_cached(info: VDACheckpoint, cache_dir: str | Path | None) -> Path | None:
    """The file from the local Hugging Face cache, never the network."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(
        info.repo, info.filename, cache_dir=None if cache_dir is None else str(cache_dir)
    )
    return Path(found) if isinstance(found, str) else None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The flat {name: tensor} dict in a .pth (weights_only) or .safetensors file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file: say which and why, in one line
        raise InputError(
            path,
            f"is not a readable checkpoint ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})",
        ) from None
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise InputError(path, "is not a flat state dict of tensors (a VDA checkpoint is)")
    return dict(state)


def config_from_state_dict(state: Mapping[str, torch.Tensor], source: str, metric: bool = False) -> VDAConfig:
    """The published VDAConfig whose ViT width matches `state` (pretrained.pos_embed)."""
    embed = state.get("pretrained.pos_embed")
    encoder = None if embed is None or embed.ndim != 3 else _WIDTHS.get(int(embed.shape[-1]))
    if encoder is None:
        shape = None if embed is None else list(embed.shape)
        raise InputError(
            source,
            "is not a Video Depth Anything checkpoint "
            f"(pretrained.pos_embed: {shape}; expected width 384, 768 or 1024)",
        )
    return VDAConfig(encoder, metric=metric)


def check_state_dict(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str, what: str
) -> None:
    """Raise InputError naming the missing, unexpected and mis-shaped keys, if any."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k}: file {list(state[k].shape)} vs model {list(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = []
    for label, keys in (
        ("missing keys", missing),
        ("unexpected keys", unexpected),
        ("shape mismatches", shapes),
    ):
        if keys:
            more = f", ... ({len(keys)} in all)" if len(keys) > NAMED_KEYS else ""
            problems.append(f"{label}: {', '.join(keys[:NAMED_KEYS])}{more}")
    if problems:
        raise InputError(source, f"does not fit {what}; " + "; ".join(problems))


def load_vda_checkpoint(
    path_or_state_dict: str | Path | Mapping[str, torch.Tensor],
    config: VDAConfig | None = None,
    *,
    metric: bool | None = None,
) -> VideoDepthAnything:
    """A VideoDepthAnything with the weights of a checkpoint, loaded strictly.

    path_or_state_dict: a .pth / .safetensors file or an already loaded state dict.
    config: the model to build; None infers the encoder size from the tensor shapes.
    metric: whether the weights are a metric model; None takes config.metric, else guesses
    from the file name ("metric_..." as published), else False.
    Raises InputError naming the file and the first missing / unexpected / mis-shaped keys.
    """
    if isinstance(path_or_state_dict, Mapping):
        state, source = dict(path_or_state_dict), "state dict"
        guessed = False
    else:
        state, source = read_state_dict(path_or_state_dict), str(path_or_state_dict)
        guessed = "metric" in Path(path_or_state_dict).name.lower()
    if config is None:
        config = config_from_state_dict(state, source, guessed if metric is None else metric)
    elif metric is not None:
        config = replace(config, metric=metric)
    model = build_vda(config)
    what = f"Video Depth Anything {config.encoder}{' metric' if config.metric else ''}"
    check_state_dict(model, state, source, what)
    model.load_state_dict(state, strict=True)
    log.info("loaded %s from %s", what, source)
    return model.eval()
