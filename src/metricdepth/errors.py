"""Typed errors for user mistakes.

The library raises these; a step script turns them into one line on stderr and
exit code 2 (see `metricdepth.cli`). Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A user-supplied file, flag or value is unusable.

    The message names the offending file (or flag) first, then the problem and,
    where there is one, how to fix it: ``clip.mp4: not a video (no video stream)``.
    """

    def __init__(self, source: str | Path | None, problem: str):
        self.source = None if source is None else str(source)
        self.problem = problem
        super().__init__(problem if source is None else f"{source}: {problem}")

    def __reduce__(self):
        """Pickled by source and problem, so a worker process can hand it back (Ray)."""
        return _restore, (type(self), self.source, self.problem)


def _restore(cls: type[InputError], source: str | None, problem: str) -> InputError:
    error = cls.__new__(cls)
    InputError.__init__(error, source, problem)
    return error


class OutputExistsError(InputError):
    """An output file exists and the user did not ask to replace it."""

    def __init__(self, path: str | Path):
        super().__init__(path, "already exists; pass --overwrite to replace it")
