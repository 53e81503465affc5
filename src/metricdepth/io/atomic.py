"""Atomic output files: write under a temporary name, check, then rename.

An interrupted step leaves at most a ``.partial-PID`` file beside the output, never
a truncated file under the final name, and an existing output is replaced only
when the caller allows it. The next writer of the same output removes what a dead
process (PID no longer running) left beside it: ``STEM.partial-PID.EXT`` files and
``NAME.partial-PID`` / ``NAME.old-PID`` folders.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from ..errors import InputError, OutputExistsError

PARTIAL_TAG = ".partial"
OLD_TAG = ".old"
_W = TypeVar("_W", bound="CommitOnExit")


def check_writable(final: str | Path, overwrite: bool) -> Path:
    """Refuse early, before any work, if `final` exists (unless `overwrite`) or its folder
    is missing or cannot be written to. Returns `final` as a Path."""
    final = Path(final)
    if final.exists() and not overwrite:
        raise OutputExistsError(final)
    if not final.parent.is_dir():
        raise InputError(final, f"output folder {final.parent} does not exist")
    check_folder_writable(final.parent)
    return final


def check_folder_writable(folder: str | Path) -> None:
    """InputError naming `folder` if files cannot be created in it (a read-only file
    system, or no permission)."""
    folder = Path(folder)
    if os.access(folder, os.W_OK | os.X_OK):
        return
    if os.statvfs(folder).f_flag & os.ST_RDONLY:
        raise InputError(
            folder, "read-only file system: write the outputs somewhere writable (copy the inputs there)"
        )
    raise InputError(
        folder,
        "permission denied: outputs cannot be written into this folder; "
        "check its permissions or write somewhere else",
    )


def check_file_writable(final: str | Path, overwrite: bool) -> Path:
    """`check_writable` for a file: also refuses a folder in the way."""
    final = check_writable(final, overwrite)
    if final.is_dir():
        raise InputError(final, "is a folder; remove it or choose another name")
    return final


def _pid_alive(pid: int) -> bool:
    """Whether process `pid` still runs. A zombie (exited, not yet reaped by its parent,
    as in a container whose init reaps late) has stopped writing: it counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS), or it exited just now
        return True
    state = stat.rsplit(")", 1)[-1].split()[0]  # the field after "(command)"
    return state not in ("Z", "X")


def remove_dead_leftovers(final: str | Path) -> list[Path]:
    """Remove the temporary files and folders of `final` (see the module docstring) whose
    process is gone; return what was removed. Ours (this PID) and live ones are kept."""
    final = Path(final)
    file_tmp = re.compile(re.escape(final.stem + PARTIAL_TAG) + r"-(\d+)" + re.escape(final.suffix) + "$")
    tags = f"(?:{re.escape(PARTIAL_TAG)}|{re.escape(OLD_TAG)})"
    folder_tmp = re.compile(re.escape(final.name) + tags + r"-(\d+)$")
    removed = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(final.parent):
            if not entry.name.startswith(final.stem):  # cheap: work folders hold many chunks
                continue
            match = file_tmp.match(entry.name) or folder_tmp.match(entry.name)
            if match is None or int(match.group(1)) == os.getpid() or _pid_alive(int(match.group(1))):
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            removed.append(path)
    return removed


class AtomicFile:
    """A file written under a temporary name in the final folder and renamed on `commit`.

    The temporary name keeps the final extension, so format-guessing writers
    (FFmpeg, OpenEXR) pick the right format.
    """

    def __init__(self, final: str | Path, overwrite: bool = False):
        remove_dead_leftovers(final)
        self.final = check_file_writable(final, overwrite)
        self.tmp = self.final.with_name(f"{self.final.stem}{PARTIAL_TAG}-{os.getpid()}{self.final.suffix}")

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


class AtomicFolder:
    """A folder filled under a temporary name beside `final` and renamed on `commit`;
    the writer creates `tmp` when it writes the first file.

    Replacing an existing `final` (with `overwrite`) is allowed only when it holds nothing
    but files named like ours (`member_prefix`*), so a mistyped path cannot delete a
    user's folder.
    """

    def __init__(self, final: str | Path, overwrite: bool, member_prefix: str):
        remove_dead_leftovers(final)
        self.final = check_writable(final, overwrite)
        self._prefix = member_prefix
        self._check_replaceable()
        self.tmp = self.final.with_name(f"{self.final.name}{PARTIAL_TAG}-{os.getpid()}")
        shutil.rmtree(self.tmp, ignore_errors=True)  # left by a dead run with our pid

    def _check_replaceable(self) -> None:
        if not self.final.exists():
            return
        if not self.final.is_dir():
            raise InputError(self.final, "exists and is not a folder; remove it or choose another name")
        foreign = [p.name for p in self.final.iterdir() if not p.name.startswith(self._prefix)]
        if foreign:
            raise InputError(
                self.final,
                f"holds files this tool did not write ({foreign[:3]}); remove them or choose another folder",
            )

    def commit(self) -> Path:
        """Move the finished folder to the final name (replacing an old one); return it."""
        self._check_replaceable()
        old = self.final.with_name(f"{self.final.name}{OLD_TAG}-{os.getpid()}")
        if self.final.exists():
            os.replace(self.final, old)
        os.replace(self.tmp, self.final)
        shutil.rmtree(old, ignore_errors=True)
        return self.final

    def abort(self) -> None:
        """Remove the temporary folder; the final name is left as it was."""
        shutil.rmtree(self.tmp, ignore_errors=True)


class AtomicGroup:
    """Files of one folder written as one: each is written under its own name inside a
    staging folder beside them (`stage`) and `commit` moves them all into place only after
    every one is complete, so a failure or a full disk leaves none of them. `abort` (or
    leaving the ``with`` block by an exception) removes the staging folder.
    """

    def __init__(self, finals: list[str | Path], overwrite: bool = False):
        remove_dead_leftovers(finals[0])
        self.finals = [check_file_writable(f, overwrite) for f in finals]
        if len({f.parent for f in self.finals}) != 1 or len({f.name for f in self.finals}) != len(
            self.finals
        ):
            raise ValueError("a group's files must be in one folder, with distinct names")
        first = self.finals[0]
        self.staging = first.with_name(f"{first.name}{PARTIAL_TAG}-{os.getpid()}")
        shutil.rmtree(self.staging, ignore_errors=True)  # left by a dead run with our pid
        self.staging.mkdir()

    def stage(self, final: Path) -> Path:
        """Where to write `final` (one of the group's files) until the commit."""
        return self.staging / Path(final).name

    def commit(self) -> list[Path]:
        """Move every file into place (in the order given), then drop the staging folder."""
        missing = [f.name for f in self.finals if not self.stage(f).is_file()]
        if missing:
            raise RuntimeError(f"{self.staging}: {missing} were not written")
        for final in self.finals:
            os.replace(self.stage(final), final)
        shutil.rmtree(self.staging, ignore_errors=True)
        return self.finals

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def __enter__(self) -> AtomicGroup:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class CommitOnExit:
    """Context-manager behaviour of our writers: leaving the ``with`` block normally
    calls `close()` (check and commit), leaving it by an exception calls `abort()`."""

    def close(self) -> Path:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self: _W) -> _W:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


@contextlib.contextmanager
def atomic_output(final: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on clean exit rename it to `final`.

    On an exception the temporary file is removed and `final` is left as it was; an
    operating-system error that names no file (a full disk) is raised naming `final`.
    """
    target = AtomicFile(final, overwrite)
    try:
        yield target.tmp
        target.commit()
    except OSError as exc:
        target.abort()
        if exc.filename is None and exc.errno:
            raise OSError(exc.errno, exc.strerror, str(target.final)) from None
        raise
    except BaseException:
        target.abort()
        raise
