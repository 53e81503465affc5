"""Finding and strictly loading model weights (docs/architecture.md, "Backends and weights").

Weights come from `--checkpoint` (a file, a folder in Hugging Face layout, or a Hub
repository id) or, when none is given, from the backend's default repository in the
Hugging Face cache. The cache is looked at first; a download is tried only when the
machine is online (`HF_HUB_OFFLINE` is not 1). Backends whose weights are under a
non-commercial licence have no default: they run only with an explicit `--checkpoint`.

Loading is strict: a checkpoint whose tensor names do not match the backend's network
is refused with the missing and unexpected names listed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Collection
from pathlib import Path

from ..errors import InputError

log = logging.getLogger(__name__)

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt")
KEYS_SHOWN = 5  # names listed per kind in a key-mismatch message


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def looks_like_repo_id(text: str) -> bool:
    """True for text of the form owner/name (a Hugging Face repository id)."""
    parts = text.split("/")
    return len(parts) == 2 and all(parts) and not text.startswith((".", "/", "~"))


def resolve_checkpoint(
    checkpoint: str | Path | None, default_repo: str | None, backend: str, no_default_reason: str = ""
) -> Path:
    """The local file or folder holding the weights.

    checkpoint: a path, a Hub repository id, or None for `default_repo` (None: this backend
    has no default, `no_default_reason` says why). Raises InputError naming --checkpoint
    when nothing usable is found.
    """
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if path.exists():
            return path
        if not looks_like_repo_id(str(checkpoint)):
            raise InputError(
                checkpoint,
                "checkpoint not found (give a file, a folder or a "
                "Hugging Face repository id such as owner/name)",
            )
        repo = str(checkpoint)
    elif default_repo is None:
        raise InputError(
            "--checkpoint",
            f"backend {backend} has no default weights"
            f"{': ' + no_default_reason if no_default_reason else ''}",
        )
    else:
        repo = default_repo
    return _snapshot(repo, backend)


def _snapshot(repo: str, backend: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    try:
        return Path(snapshot_download(repo, local_files_only=True))
    except HFValidationError as exc:
        raise InputError(repo, f"not a valid repository id ({exc})") from None
    except Exception:  # not cached: try the Hub below
        if offline():
            raise InputError(
                "--checkpoint",
                f"weights {repo} for backend {backend} are not in "
                "the Hugging Face cache and HF_HUB_OFFLINE=1; run install.sh "
                "--models small when online, or pass --checkpoint",
            ) from None
    log.info("downloading %s into the Hugging Face cache", repo)
    try:
        return Path(snapshot_download(repo))
    except Exception as exc:
        raise InputError(
            "--checkpoint",
            f"weights {repo} for backend {backend} are not cached "
            f"and cannot be downloaded ({type(exc).__name__}); pass --checkpoint",
        ) from None


def weight_files(path: Path) -> list[Path]:
    """The weight files of a checkpoint file or folder (safetensors preferred)."""
    if path.is_file():
        if path.suffix not in WEIGHT_SUFFIXES:
            raise InputError(path, f"not a weights file (expected one of {', '.join(WEIGHT_SUFFIXES)})")
        return [path]
    for suffix in WEIGHT_SUFFIXES:
        files = sorted(p for p in path.glob(f"*{suffix}") if p.is_file())
        if files:
            return files
    raise InputError(path, "folder holds no weights file (*.safetensors, *.bin, *.pth)")


def _listing(names: Collection[str]) -> str:
    shown = sorted(names)[:KEYS_SHOWN]
    more = f", ... ({len(names)} in all)" if len(names) > KEYS_SHOWN else ""
    return ", ".join(shown) + more


def read_config_json(path: Path) -> dict | None:
    """config.json beside a weights file or inside a checkpoint folder, or None."""
    folder = path if path.is_dir() else path.parent
    config = folder / "config.json"
    if not config.is_file():
        return None
    try:
        return json.loads(config.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(config, f"not valid JSON ({exc})") from None


def _hf_folder(path: Path, stack) -> Path:
    """A folder from_pretrained can read: `path` itself, or for a lone weights file a
    temporary folder linking the file (under its standard name) and its config.json."""
    if path.is_dir():
        return path
    import tempfile

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="metricdepth-ckpt-")))
    standard = "model.safetensors" if path.suffix == ".safetensors" else "pytorch_model.bin"
    (folder / standard).symlink_to(path.resolve())
    (folder / "config.json").symlink_to((path.parent / "config.json").resolve())
    return folder


def _file_keys(files: list[Path]) -> set[str]:
    """Tensor names in weight files (safetensors: from the header, without the tensors)."""
    import torch
    from safetensors import safe_open

    keys: set[str] = set()
    for file in files:
        try:
            if file.suffix == ".safetensors":
                with safe_open(str(file), framework="pt") as f:
                    keys.update(f.keys())
            else:
                keys.update(torch.load(file, map_location="cpu", weights_only=True))
        except Exception as exc:
            raise InputError(file, f"cannot read weights ({type(exc).__name__})") from None
    return keys


def _refuse_other_model(
    path: Path, files: list[Path], model_cls, config_cls, backend: str, note: str
) -> None:
    """InputError naming the keys that differ between the checkpoint and the backend's
    network (default size, built on the meta device: no memory, no time)."""
    import torch

    with torch.device("meta"):
        expected = set(model_cls(config_cls()).state_dict())
    found = _file_keys(files)
    parts = [
        f"{len(names)} {label} ({_listing(names)})"
        for label, names in (("missing keys", expected - found), ("unexpected keys", found - expected))
        if names
    ]
    raise InputError(
        path, f"checkpoint does not match backend {backend} ({model_cls.__name__}){note}: {'; '.join(parts)}"
    )


def load_hf_model(path: Path, model_cls, config_cls, backend: str):
    """A transformers model of class `model_cls` from a checkpoint folder (Hugging Face
    layout) or a weights file with its config.json beside it, loaded strictly.

    transformers renames legacy tensor names while loading, so the comparison of names
    uses its own loading report: any missing, unexpected (beyond what the class declares
    ignorable) or mis-shaped tensor is refused with the names listed. A config.json of
    another model type is named in the message. Returns the model in eval mode on the CPU.
    """
    import contextlib
    import re

    from transformers.utils import logging as hf_logging

    files = weight_files(path)
    raw = read_config_json(path)
    if raw is None:
        raise InputError(
            path,
            "no config.json beside the weights (a Hugging Face checkpoint "
            "folder holds config.json and model.safetensors)",
        )
    model_type = raw.get("model_type")
    note = (
        ""
        if model_type == config_cls.model_type
        else f" (its config.json says model type {model_type!r}, not {config_cls.model_type!r})"
    )
    if note:  # another model altogether: name the keys without building it for real
        _refuse_other_model(path, files, model_cls, config_cls, backend, note)
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    with contextlib.ExitStack() as stack:
        folder = _hf_folder(files[0] if path.is_file() else path, stack)
        hf_logging.set_verbosity_error()  # the mismatch is reported by us, in one line
        hf_logging.disable_progress_bar()  # loading takes seconds: no bar
        try:
            model, info = model_cls.from_pretrained(folder, local_files_only=True, output_loading_info=True)
        except Exception as exc:  # any refusal by transformers: one line naming the file
            raise InputError(
                path,
                f"checkpoint does not load as backend {backend}{note}: "
                f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}",
            ) from None
        finally:
            hf_logging.set_verbosity(verbosity)
            if bars:
                hf_logging.enable_progress_bar()
    ignore = [re.compile(p) for p in (getattr(model_cls, "_keys_to_ignore_on_load_unexpected", None) or [])]
    unexpected = {k for k in info.get("unexpected_keys", ()) if not any(p.search(k) for p in ignore)}
    missing = set(info.get("missing_keys", ()))
    mismatched = [
        f"{item[0]} {list(item[1])} vs {list(item[2])}" if isinstance(item, tuple) else str(item)
        for item in info.get("mismatched_keys", ())
    ]
    if missing or unexpected or mismatched:
        parts = []
        for label, names in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape mismatches", mismatched),
        ):
            if names:
                parts.append(f"{len(names)} {label} ({_listing(names)})")
        raise InputError(
            path,
            f"checkpoint does not match backend {backend} ({model_cls.__name__}){note}: {'; '.join(parts)}",
        )
    return model.eval()
