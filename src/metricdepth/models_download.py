"""Fetch default model weights into the Hugging Face cache (`install.sh --models small`).

`small` is every permissively licensed default the steps use (today: the depth models,
`metricdepth.depth.registry.DEFAULT_DOWNLOADS`, and step 2's rembg model u2netp, which
goes where rembg keeps it: $U2NET_HOME or ~/.u2net). There is no larger set: the Base and
Large weights of the same models are CC-BY-NC-4.0 or under a research licence, and
nothing under such a licence is ever downloaded automatically. Offline, every skipped
download is named and the command still succeeds, so a fresh machine without internet
can be set up.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

from metricdepth.depth.registry import DEFAULT_DOWNLOADS as DEPTH_DOWNLOADS

# size -> Hugging Face repository ids (permissively licensed only).
MODEL_SETS: dict[str, tuple[str, ...]] = {
    "none": (),
    "small": DEPTH_DOWNLOADS,
}


# size -> (file name, URL, md5) of rembg's ONNX models (Apache-2.0), put where rembg looks.
REMBG_SETS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "none": (),
    "small": (
        (
            "u2netp.onnx",
            "https://github.com/danielgatis/rembg/releases/download/v0.0.0/u2netp.onnx",
            "8e83ca70e441ab06c318d82300c84806",
        ),
    ),
}
DOWNLOAD_TIMEOUT_S = 60


def download_rembg(size: str) -> list[str]:
    """Fetch `size`'s rembg model files into $U2NET_HOME (or ~/.u2net), checking each
    file's md5 and renaming it into place only when it matches; return the names skipped
    (offline, refused or a wrong checksum). Files already there are kept."""
    from metricdepth.masks.rembg import model_file

    skipped: list[str] = []
    for name, url, md5 in REMBG_SETS[size]:
        target = model_file(name.removesuffix(".onnx"))
        if target.is_file():
            continue
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            skipped.append(name)
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                data = response.read()
            if hashlib.md5(data).hexdigest() != md5:
                raise ValueError(f"md5 {hashlib.md5(data).hexdigest()} is not {md5}")
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
                tmp.write(data)
            Path(tmp.name).replace(target)
        except Exception as exc:  # offline or refused: say so, keep going
            print(f"[install] skipped {name}: {type(exc).__name__}: {exc}".splitlines()[0])
            skipped.append(name)
    return skipped


def download(size: str) -> list[str]:
    """Download the repositories of `size`; return the ids that were skipped."""
    if size not in MODEL_SETS:
        raise ValueError(f"unknown model set {size!r}; choose from {sorted(MODEL_SETS)}")
    repos = MODEL_SETS[size]
    if not repos:
        return []
    skipped: list[str] = []
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return list(repos)
    from huggingface_hub import snapshot_download

    for repo in repos:
        try:
            snapshot_download(repo)
        except Exception as exc:  # offline or refused: say so, keep going
            print(f"[install] skipped {repo}: {type(exc).__name__}: {exc}".splitlines()[0])
            skipped.append(repo)
    return skipped


def main(argv: list[str]) -> int:
    size = argv[0] if argv else "none"
    if size not in MODEL_SETS:
        print(f"[install] --models takes one of {sorted(MODEL_SETS)}, not {size!r}")
        return 2
    if size == "none":
        print("[install] no model weights requested (--models small fetches them)")
        return 0
    repos = MODEL_SETS[size] + tuple(name for name, _, _ in REMBG_SETS[size])
    skipped = download(size) + download_rembg(size)
    if not repos:
        print(f"[install] model set '{size}' lists no models yet; nothing to fetch")
    elif skipped:
        print(
            f"[install] offline or refused: skipped {len(skipped)} of {len(repos)} models "
            f"({', '.join(skipped)}); steps that need them will say so, the rest work"
        )
    else:
        print(f"[install] fetched {len(repos)} models")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
