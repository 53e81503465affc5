"""Plain-text lists a user hands us (videos of a batch, RGB-D associations): read as
UTF-8 lines, refused with one line naming the file when they are binary or too big."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

MAX_LIST_BYTES = 64 << 20  # a list of a million paths fits


def read_lines(path: str | Path, what: str = "list file") -> list[str]:
    """The lines of text file `path` (no line ends); InputError naming it if it is
    missing, unreadable, bigger than MAX_LIST_BYTES or not text (NUL bytes, not UTF-8)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"{what} not found")
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_LIST_BYTES else None
    except OSError as exc:
        raise InputError(path, f"cannot read the {what} ({exc.strerror})") from None
    if data is None:
        raise InputError(path, f"is too big for a {what} (at most {MAX_LIST_BYTES >> 20} MB)")
    nul = data.find(b"\0")
    if nul >= 0:
        raise InputError(path, f"is not a text {what} (NUL byte at offset {nul})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"is not a text {what} (not UTF-8 at offset {exc.start})") from None
    return text.splitlines()
