"""The evaluation side stays out of production code.

Production is every module of `metricdepth` except the two evaluation packages
(`metricdepth.evaluate`: comparison with ground truth; `metricdepth.synthetic`: scenes
with exact truth), plus the step scripts at the repository root. Production never
imports `evaluate`, and imports `synthetic` only where generating a scene is the job
(SCENE_USERS); `synthetic` (a user-facing scene generator, see make_synthetic_scene.py)
never imports `evaluate`. Imports are read with `ast`, so lazy imports inside functions
count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "metricdepth"
EVALUATION = ("metricdepth.evaluate", "metricdepth.synthetic")
# Production modules whose job needs a synthetic scene: compile_ahead compiles the numba
# kernels at install time by running steps 6 and 7 on a tiny generated clip.
SCENE_USERS = {"metricdepth.compile_ahead"}


def module_name(path: Path) -> str:
    """The dotted name of the module at `path` inside src/ (packages by their __init__)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved to absolute names;
    `from a import b` counts as both `a` and `a.b` (b may be a module)."""
    package = ""
    if PACKAGE in path.parents:
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def is_under(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def offenders(paths: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    """For each file in `paths` that imports a module under `forbidden`: those modules."""
    bad = {}
    for path in paths:
        hits = sorted(m for m in imported_modules(path) if is_under(m, forbidden))
        if hits:
            bad[str(path.relative_to(REPO))] = hits
    return bad


def test_resolver_sees_relative_and_lazy_imports():
    # the evaluation modules do import the synthetic scenes, relatively: a resolver that
    # missed them would let the production check below pass vacuously
    truth = imported_modules(PACKAGE / "evaluate" / "track_truth.py")
    assert "metricdepth.synthetic" in truth and "metricdepth.io.sidecars" in truth
    lazy = imported_modules(PACKAGE / "infill" / "__init__.py")  # stereocrafter: in a function
    assert "metricdepth.infill.stereocrafter" in lazy


def test_production_never_imports_evaluation():
    modules = [p for p in PACKAGE.rglob("*.py")
               if not is_under(module_name(p), EVALUATION)]
    assert len(modules) > 50
    assert offenders(modules, ("metricdepth.evaluate",)) == {}
    assert offenders([p for p in modules if module_name(p) not in SCENE_USERS],
                     ("metricdepth.synthetic",)) == {}


def test_step_scripts_never_import_evaluate():
    scripts = sorted(REPO.glob("*.py"))
    assert len(scripts) >= 10
    assert offenders(scripts, ("metricdepth.evaluate",)) == {}


def test_synthetic_scenes_never_import_evaluate():
    modules = list((PACKAGE / "synthetic").rglob("*.py"))
    assert offenders(modules, ("metricdepth.evaluate",)) == {}
