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


@dataclass
class Ranged:
    frames: int | None = option(None, "frames", ge=1, none_value=-1)
    sigma: float = option(1.0, "pixels", gt=0, le=10)
    old_name: int = option(3, "count", aliases=("--old_nmae",), ge=0)
    legacy: bool = option(False, "older switch", inert="always on here")


def _ranged(argv):
    from metricdepth.config import ConfigParser
    parser = ConfigParser(prog="prog")
    add_config_arguments(parser, Ranged)
    return parser, parser.parse_args(argv)


@pytest.mark.parametrize("argv, message", [
    (["--sigma", "0"], "prog: error: --sigma: 0 is out of range: must be in (0, 10]"),
    (["--sigma", "nan"], "prog: error: --sigma: nan is out of range: must be in (0, 10]"),
    (["--sigma", "inf"], "prog: error: --sigma: inf is out of range: must be in (0, 10]"),
    (["--sigma", "abc"], "prog: error: --sigma: abc is not a number"),
    (["--frames", "0"], "prog: error: --frames: 0 is out of range: must be >= 1"),
    (["--frames", "2.5"], "prog: error: --frames: 2.5 is not an integer"),
    (["--old_nmae", "-2"], "prog: error: --old_name/--old_nmae: -2 is out of range: must be >= 0"),
])
def test_out_of_range_values_get_one_line_naming_flag_value_and_range(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _ranged(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [message]


def test_minus_one_means_all_aliases_share_a_flag_and_help_shows_each_once():
    parser, args = _ranged(["--frames", "-1", "--old_nmae", "5"])
    assert args.frames is None and args.old_name == 5
    text = " ".join(parser.format_help().split())
    assert text.count("--old_nmae") == 1  # once, beside --old_name (usage shows the main name)
    assert "--old_name OLD_NAME, --old_nmae OLD_NAME count; >= 0 (default: 3)" in text
    assert "(default: None)" not in text and "(default: False)" not in text


def test_config_files_get_the_same_checks_and_inert_flags_warn(caplog):
    from metricdepth.config import validate_config
    from metricdepth.errors import InputError
    with pytest.raises(InputError, match=r"f.toml \[x\] sigma: 0 is out of range"):
        validate_config(Ranged(sigma=0), "f.toml [x]")
    with pytest.raises(InputError, match=r"--sigma: abc is not a number"):
        validate_config(Ranged(sigma="abc"))
    _, args = _ranged(["--legacy"])
    with caplog.at_level("WARNING"):
        assert config_from_args(Ranged, args).legacy
    assert "--legacy has no effect here: always on here" in caplog.text
