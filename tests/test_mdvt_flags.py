"""docs/mdvt.md against the code: every MDVT flag the page says a script takes is taken
by that script (with MDVT's value types), and every one it calls inert is inert."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from metricdepth.cli import step_parser
from metricdepth.depth.config import DepthConfig
from metricdepth.geometry.camera_step import CameraTrackConfig
from metricdepth.geometry.observations import Observations
from metricdepth.geometry.rescale_step import RescaleConfig
from metricdepth.infill.step import InfillConfig
from metricdepth.masks.step import MaskConfig
from metricdepth.stereo.step import StereoConfig
from metricdepth.tracking.step import TrackConfig
from metricdepth.viewer.config import ViewerConfig

PAGE = Path(__file__).resolve().parents[1] / "docs" / "mdvt.md"
CONFIGS = {"video_metric_convert.py": DepthConfig, "create_video_mask.py": MaskConfig,
           "track_points_in_video.py": TrackConfig, "camera_track.py": CameraTrackConfig,
           "rescale_depth.py": RescaleConfig, "stereo_rerender.py": StereoConfig,
           "stereo_infill.py": InfillConfig, "view_3d.py": ViewerConfig}


def _rows() -> list[tuple[str, str, str, str]]:
    """(script, MDVT flag, our flag or '', note) for every flag row of the page."""
    rows, script = [], None
    for line in PAGE.read_text().splitlines():
        heading = re.match(r"## (\S+\.py)$", line)
        if heading:
            script = heading.group(1)
            continue
        if script is None or not line.startswith("| `--"):
            continue
        mdvt, here, note = (cell.strip() for cell in line.strip("|").split("|"))
        ours = re.match(r"`(--[a-z_0-9]+)`", here)
        rows.append((script, mdvt.split("`")[1].split()[0], ours.group(1) if ours else "", note))
    return rows


ROWS = _rows()


def test_the_page_covers_every_script_section():
    assert {script for script, *_ in ROWS} == set(CONFIGS)
    assert len(ROWS) >= 90


@pytest.mark.parametrize("script, mdvt, ours, note", [r for r in ROWS if r[2]],
                         ids=[f"{r[0]}:{r[1]}" for r in ROWS if r[2]])
def test_every_flag_the_page_maps_is_accepted(script, mdvt, ours, note):
    parser = step_parser("", CONFIGS[script])
    actions = parser._option_string_actions
    assert ours in actions, f"{script} does not take {ours}"
    assert mdvt in actions, f"{script} does not take MDVT's {mdvt}"
    assert actions[mdvt] is actions[ours], f"{mdvt} and {ours} are different flags"
    field = next(f for f in CONFIGS[script].__dataclass_fields__.values()
                 if f.name == actions[ours].dest)
    assert bool(field.metadata.get("inert")) == note.startswith("inert"), (script, mdvt)


@pytest.mark.parametrize("script, mdvt", [(s, m) for s, m, o, _ in ROWS if not o])
def test_flags_the_page_refuses_are_refused_in_one_line(script, mdvt):
    parser = step_parser("", CONFIGS[script])
    assert mdvt not in parser._option_string_actions


def test_mdvt_numbers_parse_with_mdvt_meaning():
    """-1 = all frames, as MDVT writes it; misspelt aliases land on the right setting."""
    parse = lambda cls, argv: step_parser("", cls).parse_args(argv)  # noqa: E731
    assert parse(TrackConfig, ["--color_video", "x", "--max_frames", "-1",
                               "--steps_bewtwen_track_init", "30"]).max_frames is None
    args = parse(RescaleConfig, ["--depth_video", "d", "--tringulation_min_observations", "20"])
    assert args.triangulation_min_observations == 20
    assert parse(StereoConfig, ["--depth_video", "d", "--color_video", "x",
                                "--convergence_file", "c.json"]).convergence == "c.json"


def test_strict_mask_leaves_out_whole_tracks():
    """--strict_mask: a track on the mask in one frame is dropped in every frame."""
    obs = Observations(frame=np.array([0, 1, 0, 1]), track=np.array([0, 0, 1, 1]),
                       xy=np.zeros((4, 2)), depth=np.ones(4),
                       masked=np.array([False, True, False, False]),
                       track_ids=np.array([7, 9]), frame_count=2)
    np.testing.assert_array_equal(obs.masked_tracks(), [True, True, False, False])
