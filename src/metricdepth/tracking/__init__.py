"""Point tracking backends behind one registry (step 3, `track_points_in_video.py`).

Every backend turns a stream of frames into one `FrameTracks` per frame, in order, with
ids kept for as long as a point stays valid:

- `lk`: weight-free pyramidal Lucas-Kanade with a forward-backward check and affine
  sub-pixel refinement (`lk.py`); runs anywhere.
- `cotracker`: CoTracker3 in overlapping windows (`cotracker.py`), where the `cotracker`
  package or its torch.hub cache is present.

`auto` picks `cotracker` when it is available and `lk` otherwise.
"""

from __future__ import annotations

BACKENDS = ("lk", "cotracker")
AUTO = "auto"


def resolve_backend(name: str) -> str:
    """The backend `name` stands for ("auto": cotracker if available, else lk); refuses
    unknown names with the list of valid ones."""
    from ..errors import InputError
    from .cotracker import cotracker_available

    if name == AUTO:
        return "cotracker" if cotracker_available() else "lk"
    if name not in BACKENDS:
        raise InputError(
            "--backend", f"unknown tracker {name!r}; choose one of {', '.join((AUTO,) + BACKENDS)}"
        )
    return name
