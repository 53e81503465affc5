"""`run_pipeline.py --print_commands`: the steps as commands to type, exactly what the
pipeline runs; the walkthrough's by-hand section is these commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from metricdepth.pipeline import build_config
from metricdepth.pipeline.commands import REPO, pipeline_commands
from metricdepth.pipeline.run import with_rgbd_frames
from metricdepth.pipeline.steps import ClipFiles

from conftest import SHARED_DATA, file_digest

TUM = "../../shared/data/rgbd/tum_fr1_desk_9frames"  # as typed in REPO/byhand (the docs)


def _walkthrough_commands() -> list[str]:
    """Section 2's step commands from docs/walkthrough.md, continuation lines joined."""
    text = (REPO / "docs" / "walkthrough.md").read_text()
    section = text[text.index("## 2. The steps one by one"): text.index("## 3.")]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        for command in block.replace("\\\n", " ").splitlines():
            words = command.split()
            if words[:1] == ["../.venv/bin/python"] and words[1] not in (
                    "../run_pipeline.py", "../view_3d.py"):
                commands.append(" ".join(words))
    return commands


def test_the_walkthrough_shows_exactly_the_pipelines_commands():
    video = REPO / "byhand" / "tum.mkv"
    config = with_rgbd_frames(build_config({"video": str(video), "rgbd": TUM, "xfov": 63.48}))
    assert _walkthrough_commands() == pipeline_commands(config, ClipFiles(video))


def _run(argv: list[str], cwd: Path) -> str:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_running_the_printed_commands_gives_the_pipelines_files(tmp_path):
    """Steps 1-6 on the real TUM recording, once by the pipeline and once by hand from
    the printed commands in another folder: the same bytes."""
    if not (SHARED_DATA / "rgbd").is_dir():
        pytest.skip("no shared data")
    rgbd = str(SHARED_DATA / "rgbd" / "tum_fr1_desk_9frames")
    common = ["--rgbd", rgbd, "--xfov", "63.48", "--until", "stereo", "-q"]
    pipeline, by_hand = tmp_path / "pipeline", tmp_path / "byhand"
    pipeline.mkdir()
    by_hand.mkdir()
    _run([sys.executable, str(REPO / "run_pipeline.py"), "tum.mkv", *common], pipeline)
    printed = _run([sys.executable, str(REPO / "run_pipeline.py"), "tum.mkv", *common,
                    "--print_commands"], by_hand)
    assert sorted(p.name for p in by_hand.iterdir()) == ["tum.mkv", "tum.mkv_depth_frames"]
    commands = printed.splitlines()
    assert len(commands) == 6 and all(".venv/bin/python" in c for c in commands)
    for command in commands:
        words = command.split()
        _run([sys.executable, *words[1:], "-q"], by_hand)
    names = ["tum.mkv_depth.mkv", "tum.mkv_mask.mkv", "tum.mkv_tracking.json",
             "tum.mkv_depth.mkv_transformations.json", "tum.mkv_depth.mkv_rescaled.mkv",
             "tum.mkv_depth.mkv_rescaled.mkv_stereo.mkv",
             "tum.mkv_depth.mkv_rescaled.mkv_stereo.mkv_infillmask.mkv"]
    for name in names:
        assert file_digest(by_hand / name) == file_digest(pipeline / name), name
