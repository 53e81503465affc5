"""The docs stay true: the flags page is current and every picture has a script."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_steps_page_is_current():
    page = _load(REPO / "docs" / "make_steps_page.py")
    assert (REPO / "docs" / "steps.md").read_text() == page.render(), \
        "docs/steps.md is stale: run .venv/bin/python docs/make_steps_page.py"


def test_troubleshooting_page_lists_every_message_of_the_code():
    page = _load(REPO / "docs" / "make_troubleshooting.py")
    current = (REPO / "docs" / "troubleshooting.md").read_text()
    assert current == page.render(current), \
        "docs/troubleshooting.md is stale: run .venv/bin/python docs/make_troubleshooting.py"
    assert "`{where}: {value} is out of range: must be {bounds.describe()}`" in current
    assert "already exists; pass --overwrite to replace it" in current


def test_every_picture_is_made_by_a_script_in_the_repository():
    scripts = "\n".join(p.read_text() for folder in ("docs", "benchmarks")
                        for p in (REPO / folder).glob("*.py"))
    for picture in (REPO / "docs" / "images").glob("*.png"):
        # a script names the file, or builds it as f"{name}_mask_tracks.png"
        parts = picture.stem.split("_")
        endings = [picture.name] + ["_" + "_".join(parts[k:]) + ".png" for k in range(1, len(parts))]
        assert any(ending in scripts for ending in endings), picture.name
        assert picture.stat().st_size < 300_000, picture.name


def test_every_linked_picture_exists():
    for page in (REPO / "docs").glob("*.md"):
        for target in re.findall(r"\]\((images/[^)]+\.png)\)", page.read_text()):
            assert (REPO / "docs" / target).is_file(), f"{page.name}: {target}"
