"""Atomic output files: write under a temporary name, check, then rename.

An interrupted step leaves at most a ``.partial`` file beside the output, never
a truncated file under the final name, and an existing output is replaced only
when the caller allows it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError, OutputExistsError

PARTIAL_TAG = ".partial"


def check_writable(final: str | Path, overwrite: bool) -> Path:
    """Refuse early, before any work, if `final` exists (unless `overwrite`) or its folder
    is missing. Returns `final` as a Path."""
    final = Path(final)
    if final.exists() and not overwrite:
        raise OutputExistsError(final)
    if not final.parent.is_dir():
        raise InputError(final, f"output folder {final.parent} does not exist")
    return final


class AtomicFile:
    """A file written under a temporary name in the final folder and renamed on `commit`.

    The temporary name keeps the final extension, so format-guessing writers
    (FFmpeg, OpenEXR) pick the right format.
    """

    def __init__(self, final: str | Path, overwrite: bool = False):
        self.final = check_writable(final, overwrite)
        self.tmp = self.final.with_name(
            f"{self.final.stem}{PARTIAL_TAG}-{os.getpid()}{self.final.suffix}")

    def commit(self) -> Path:
        """Move the finished temporary file to the final name; return the final path."""
        if not self.tmp.exists():
            raise RuntimeError(f"writer produced no file at {self.tmp}")
        os.replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        """Remove the temporary file; the final name is left as it was."""
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()


@contextlib.contextmanager
def atomic_output(final: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on clean exit rename it to `final`.

    On an exception the temporary file is removed and `final` is left as it was.
    """
    target = AtomicFile(final, overwrite)
    try:
        yield target.tmp
        target.commit()
    except BaseException:
        target.abort()
        raise
