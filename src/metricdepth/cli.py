"""What every step script shares: logging flags and the mapping of errors to exit codes.

A user mistake (InputError) becomes one line on stderr and exit code 2; Ctrl-C
becomes exit code 130; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import progress
from .config import add_config_arguments, config_from_args
from .errors import InputError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows defaults next to every flag and keeps the description's line breaks."""


def add_verbosity_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="only warnings and errors; no progress bars")


def setup_logging(args: argparse.Namespace) -> None:
    """Log level from -v/-q; -q also hides progress bars."""
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s")
    progress.set_enabled(not args.quiet)


def run(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Call a script's `main(argv)` and return its exit code (scripts pass it to sys.exit)."""
    prog = sys.argv[0].rsplit("/", 1)[-1]
    try:
        return int(main(argv) or 0)
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; finished outputs are kept, partial ones removed", file=sys.stderr)
        return EXIT_INTERRUPTED


def step_parser(description: str, config_cls: type,
                extra_flags: Callable[[argparse.ArgumentParser], None] | None = None
                ) -> argparse.ArgumentParser:
    """A step script's parser: one flag per field of its config dataclass, `extra_flags`,
    and -v/-q."""
    parser = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    add_config_arguments(parser, config_cls)
    if extra_flags is not None:
        extra_flags(parser)
    add_verbosity_flags(parser)
    return parser


def run_step(description: str, config_cls: type, step: Callable[[Any], Iterable[Path] | Mapping[str, Path]],
             argv: Sequence[str] | None = None,
             extra_flags: Callable[[argparse.ArgumentParser], None] | None = None) -> int:
    """The whole of a step script: parse (`step_parser`), set up logging, run the step,
    print the paths it wrote one per line (with their role when the step names them).
    Returns the exit code (see `run`)."""

    def main(args_in: Sequence[str] | None) -> int:
        args = step_parser(description, config_cls, extra_flags).parse_args(args_in)
        setup_logging(args)
        outputs = step(config_from_args(config_cls, args))
        lines = (f"{role:16s} {path}" for role, path in outputs.items()) \
            if isinstance(outputs, Mapping) else map(str, outputs)
        for line in lines:
            print(line)
        return 0

    return run(main, argv)
