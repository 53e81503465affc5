"""What every step script shares: logging flags and the mapping of errors to exit codes.

A user mistake (InputError, a bad flag) and a condition of the machine the user can fix
(disk full, read-only folder, permission denied, a file that vanished, not enough
memory) become one line on stderr and exit code 2; Ctrl-C becomes exit code 130;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import logging
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import progress
from .config import ConfigParser, HelpFormatter, add_config_arguments, config_from_args
from .errors import InputError
from .io.atomic import PARTIAL_TAG

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
POSITIONAL_VIDEO = "color_video"  # a step with this field also takes it as its first argument
TEMPORARY = re.compile(rf"{re.escape(PARTIAL_TAG)}-\d+")  # NAME.partial-PID.EXT -> NAME.EXT

# What to do about an operating-system error, by errno; the rest get the system's words.
OS_ADVICE = {
    errno.ENOSPC: "no space left on the device: free some and run the same command again "
    "(a step with --resume keeps its finished chunks: add --resume)",
    errno.EDQUOT: "disk quota exceeded: free some space and run the same command again",
    errno.EROFS: "read-only file system: write the outputs somewhere writable (copy the input there)",
    errno.EACCES: "permission denied: check the file's and its folder's permissions",
    errno.EPERM: "operation not permitted: check the file's and its folder's permissions",
    errno.ENOENT: "no such file or folder (did it vanish during the run?)",
    errno.EISDIR: "is a folder, not a file",
    errno.ENOTDIR: "a part of this path is not a folder",
    errno.ENAMETOOLONG: "file name too long",
}

__all__ = [
    "HelpFormatter",
    "add_verbosity_flags",
    "describe_os_error",
    "parse_step_args",
    "run",
    "run_step",
    "setup_logging",
    "step_parser",
]


def add_verbosity_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only warnings and errors; no progress bars"
    )


def setup_logging(args: argparse.Namespace) -> None:
    """Log level from -v/-q; -q also hides progress bars."""
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s")
    progress.set_enabled(not args.quiet)


def describe_os_error(exc: OSError) -> str:
    """One line for an operating-system error: the path (the output's final name when it
    happened to its temporary file), then what happened and what to do."""
    advice = OS_ADVICE.get(exc.errno or 0, exc.strerror or str(exc))
    if exc.filename is None:
        return advice
    return f"{TEMPORARY.sub('', str(exc.filename))}: {advice}"


def run(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Call a script's `main(argv)` and return its exit code (scripts pass it to sys.exit)."""
    prog = Path(sys.argv[0]).name
    try:
        return int(main(argv) or 0)
    except SystemExit as exc:  # the parser's one-line error (exit 2) or --help (exit 0)
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    except InputError as exc:
        message = str(exc)
    except OSError as exc:
        message = describe_os_error(exc)
    except MemoryError:
        message = "not enough memory for these settings: lower the size or count flags"
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; finished outputs are kept, partial ones removed", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"{prog}: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_USER_ERROR


def step_parser(
    description: str, config_cls: type, extra_flags: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.ArgumentParser:
    """A step script's parser: one flag per field of its config dataclass, `extra_flags`,
    -v/-q, and the colour video also as an optional first argument (``create_video_mask.py
    X.mp4``, as the older toolbox's shell script took it)."""
    parser = ConfigParser(description=description)
    names = {f.name for f in dataclasses.fields(config_cls)}
    if POSITIONAL_VIDEO in names:
        parser.add_argument("video", nargs="?", metavar="VIDEO", help=f"the same as --{POSITIONAL_VIDEO}")
    add_config_arguments(parser, config_cls)
    if POSITIONAL_VIDEO in names:
        flag = next(a for a in parser._actions if a.dest == POSITIONAL_VIDEO)
        flag.required = False
    if extra_flags is not None:
        extra_flags(parser)
    add_verbosity_flags(parser)
    return parser


def parse_step_args(
    parser: argparse.ArgumentParser, config_cls: type, argv: Sequence[str] | None
) -> argparse.Namespace:
    """Parse, then merge the positional video into --color_video (refusing two different
    ones, or none where the step needs one)."""
    args = parser.parse_args(argv)
    video = getattr(args, "video", None)
    if hasattr(args, "video"):
        del args.video
        given = getattr(args, POSITIONAL_VIDEO)
        if video is not None and given is not None and Path(video) != Path(given):
            parser.error(f"two colour videos given: {video} and --{POSITIONAL_VIDEO} {given}")
        if video is not None:
            flag = next(a for a in parser._actions if a.dest == POSITIONAL_VIDEO)
            setattr(args, POSITIONAL_VIDEO, flag.type(video) if callable(flag.type) else video)
        field = next(f for f in dataclasses.fields(config_cls) if f.name == POSITIONAL_VIDEO)
        if field.metadata.get("required") and getattr(args, POSITIONAL_VIDEO) is None:
            parser.error(
                f"the colour video is required: give it as the first argument or --{POSITIONAL_VIDEO}"
            )
    return args


def run_step(
    description: str,
    config_cls: type,
    step: Callable[[Any], Iterable[Path] | Mapping[str, Path]],
    argv: Sequence[str] | None = None,
    extra_flags: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """The whole of a step script: parse (`step_parser`), set up logging, run the step,
    print the paths it wrote one per line (with their role when the step names them).
    Returns the exit code (see `run`)."""

    def main(args_in: Sequence[str] | None) -> int:
        parser = step_parser(description, config_cls, extra_flags)
        args = parse_step_args(parser, config_cls, args_in)
        setup_logging(args)
        outputs = step(config_from_args(config_cls, args))
        lines = (
            (f"{role:16s} {path}" for role, path in outputs.items())
            if isinstance(outputs, Mapping)
            else map(str, outputs)
        )
        for line in lines:
            print(line)
        return 0

    return run(main, argv)
