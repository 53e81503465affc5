"""Config dataclasses become command-line flags with help and defaults."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pytest

from metricdepth.config import add_config_arguments, config_from_args, option


@dataclass(frozen=True)
class Example:
    color_video: Path = option(None, "the colour video", required=True)
    max_depth: float = option(100.0, "metres")
    backend: str = option("lk", "tracker", choices=("lk", "cotracker"))
    xfov: float | None = option(None, "degrees")
    overwrite: bool = option(False, "replace outputs")
    progress_bar: bool = option(True, "show progress")


def _parse(argv):
    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_config_arguments(parser, Example)
    return parser, config_from_args(Example, parser.parse_args(argv))


def test_defaults_types_and_flags():
    _, config = _parse(["--color_video", "a.mp4", "--xfov", "55", "--overwrite", "--no-progress_bar"])
    assert config == Example(Path("a.mp4"), 100.0, "lk", 55.0, True, False)


def test_help_shows_every_flag_with_its_default():
    parser, _ = _parse(["--color_video", "a.mp4"])
    text = parser.format_help()
    for flag in ("--color_video", "--max_depth", "--backend", "--xfov", "--overwrite"):
        assert flag in text
    assert "metres (default: 100.0)" in " ".join(text.split())


def test_choices_and_required_are_enforced():
    with pytest.raises(SystemExit):
        _parse([])
    with pytest.raises(SystemExit):
        _parse(["--color_video", "a.mp4", "--backend", "sift"])
