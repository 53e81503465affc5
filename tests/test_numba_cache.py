"""numba's compiled-code cache goes to the user's cache folder, never into the package.

Each case runs in a fresh interpreter (numba reads its cache folder once per process)
with its own cache folder, so the user's real cache is not touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import metricdepth

PACKAGE = Path(metricdepth.__file__).resolve().parent

# Every cached dispatcher of the compiled modules: where its cache lives. Then one
# function is compiled and called, so its cache files are written for real.
PROBE = """
import importlib, json, pkgutil
import metricdepth
from numba.core.dispatcher import Dispatcher
paths = {}
for info in pkgutil.walk_packages(metricdepth.__path__, "metricdepth."):
    if not info.name.startswith("metricdepth.stereo."):
        continue
    module = importlib.import_module(info.name)
    for name, value in vars(module).items():
        if isinstance(value, Dispatcher) and value.__module__ == info.name:
            paths[info.name + "." + name] = value._cache._cache_path
from metricdepth.stereo.surface import relative_step
assert relative_step(0.5, 1.0) == 0.5
print(json.dumps(paths))
"""


def probe(env_changes: dict[str, str | None]) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def cache_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc")]


def test_cache_in_user_cache_folder(tmp_path):
    cache_home = tmp_path / "xdg"
    paths = probe({"NUMBA_CACHE_DIR": None, "XDG_CACHE_HOME": str(cache_home)})
    assert len(paths) >= 20  # outline, raster_rows, raster_mesh, infill_mask, surface
    root = cache_home / "metricdepth" / "numba"
    for name, path in paths.items():
        assert Path(path).is_relative_to(root), (name, path)
        assert not Path(path).resolve().is_relative_to(PACKAGE), (name, path)
    written = cache_files(root)
    assert any("relative_step" in p.name for p in written), written


def test_user_numba_cache_dir_wins(tmp_path):
    mine = tmp_path / "mine"
    paths = probe({"NUMBA_CACHE_DIR": str(mine), "XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert all(Path(p).is_relative_to(mine) for p in paths.values())
    assert cache_files(mine) and not (tmp_path / "xdg").exists()
