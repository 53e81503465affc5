"""Fetch default model weights into the Hugging Face cache (`install.sh --models small`).

`small` is every permissively licensed default the steps use (today: the depth models,
`metricdepth.depth.registry.DEFAULT_DOWNLOADS`). There is no larger set: the Base and
Large weights of the same models are CC-BY-NC-4.0 or under a research licence, and
nothing under such a licence is ever downloaded automatically. Offline, every skipped
download is named and the command still succeeds, so a fresh machine without internet
can be set up.
"""

from __future__ import annotations

import os
import sys

from metricdepth.depth.registry import DEFAULT_DOWNLOADS as DEPTH_DOWNLOADS

# size -> Hugging Face repository ids (permissively licensed only).
MODEL_SETS: dict[str, tuple[str, ...]] = {
    "none": (),
    "small": DEPTH_DOWNLOADS,
}


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
    repos = MODEL_SETS[size]
    skipped = download(size)
    if not repos:
        print(f"[install] model set '{size}' lists no models yet; nothing to fetch")
    elif skipped:
        print(f"[install] offline or refused: skipped {len(skipped)} of {len(repos)} models "
              f"({', '.join(skipped)}); steps that need them will say so, the rest work")
    else:
        print(f"[install] fetched {len(repos)} models")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
