"""--model vits|vitb|vitl: each backend's published checkpoints by size, loaded through the
same Hugging Face path as --checkpoint. Tiny random-weight models stand in for the real
weights inside a Hugging Face cache laid out as the Hub client leaves it (offline)."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import write_video
from metricdepth.depth.config import DepthConfig
from metricdepth.depth.registry import APACHE, MODEL_SIZES, PUBLISHED, published_checkpoint
from metricdepth.depth.step import convert
from metricdepth.depth.tiny import TINY_INPUT_SIZE, tiny_da2, tiny_vda
from metricdepth.errors import InputError
from metricdepth.io.depth_video import DepthVideoReader
from metricdepth.synthetic import make_scene

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _cached(cache: Path, repo: str, files: list[Path]) -> Path:
    """Put `files` into `cache` as the snapshot of `repo` (refs/main -> COMMIT)."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(COMMIT)
    snapshot = folder / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for file in files:
        shutil.copy(file, snapshot / file.name)
    return snapshot


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An offline Hugging Face cache in tmp_path (the library reads its location per call)."""
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(1)
    return cache


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    return write_video(folder / "clip.mkv", make_scene(seed=4, width=64, height=48, frames=4).colour,
                       Fraction(30))


def test_published_table_names_each_size_with_its_licence():
    assert PUBLISHED["da2"]["vitb"].repo == "depth-anything/Depth-Anything-V2-Metric-Indoor-Base-hf"
    assert PUBLISHED["da2_relative"]["vitl"].repo == "depth-anything/Depth-Anything-V2-Large-hf"
    assert PUBLISHED["vda"]["vitl"].repo == "depth-anything/Video-Depth-Anything-Large"
    assert PUBLISHED["vda_metric"]["vits"].repo == "depth-anything/Metric-Video-Depth-Anything-Small"
    for backend in ("vda", "vda_metric", "da2", "da2_outdoor", "da2_relative"):
        assert tuple(PUBLISHED[backend]) == MODEL_SIZES
        assert [p.licence == APACHE for p in PUBLISHED[backend].values()] == [True, False, False]
    assert list(PUBLISHED["depthpro"]) == ["vitl"]
    assert PUBLISHED["depthpro"]["vitl"].repo == "apple/DepthPro-hf"
    with pytest.raises(InputError, match="--model: vitb: backend depthpro is published as vitl only"):
        published_checkpoint("depthpro", "vitb")


def _run(video: Path, out: Path, **flags) -> tuple[Path, DepthVideoReader]:
    out.mkdir()
    copy = out / video.name
    shutil.copy(video, copy)
    path = convert(DepthConfig(color_video=str(copy), device="cpu", input_size=TINY_INPUT_SIZE,
                               **flags))[0]
    return path, DepthVideoReader(path)


def test_da2_model_size_loads_that_sizes_repository(tmp_path, hub_cache, clip):
    """--model vitb runs the weights cached as the Base repository (the Small one is not
    cached: its default would fail), with the same result as passing them as --checkpoint."""
    weights = tiny_da2(tmp_path / "weights")
    repo = "depth-anything/Depth-Anything-V2-Metric-Indoor-Base-hf"
    _cached(hub_cache, repo, sorted(weights.iterdir()))
    path, reader = _run(clip, tmp_path / "model", backend="da2", model="vitb")
    assert reader.info.tags["backend"] == f"da2:{repo}"
    reference, _ = _run(clip, tmp_path / "checkpoint", backend="da2", checkpoint=str(weights))
    assert np.array_equal(np.stack(list(reader)), np.stack(list(DepthVideoReader(reference))))
    with pytest.raises(InputError, match="Depth-Anything-V2-Metric-Indoor-Small-hf .* not in the "
                                         "Hugging Face cache"):
        _run(clip, tmp_path / "default", backend="da2")
    with pytest.raises(InputError, match="Depth-Anything-V2-Metric-Indoor-Large-hf .* not in the "
                                         "Hugging Face cache"):
        _run(clip, tmp_path / "large", backend="da2", model="vitl")


def test_vda_model_size_takes_that_sizes_file_from_its_repository(tmp_path, hub_cache, clip):
    tiny = tiny_vda(tmp_path / "tiny", metric=True)
    published = tmp_path / "published"
    published.mkdir()
    renamed = published / "metric_video_depth_anything_vitb.pth"  # the published file name
    shutil.copy(tiny, renamed)
    shutil.copy(tiny.with_name("vda_config.json"), published / "vda_config.json")
    repo = "depth-anything/Metric-Video-Depth-Anything-Base"
    _cached(hub_cache, repo, [renamed, published / "vda_config.json"])
    path, reader = _run(clip, tmp_path / "model", backend="vda_metric", model="vitb")
    assert reader.info.tags["backend"] == f"vda_metric:{repo}"
    reference, _ = _run(clip, tmp_path / "checkpoint", backend="vda_metric", checkpoint=str(tiny))
    assert np.array_equal(np.stack(list(reader)), np.stack(list(DepthVideoReader(reference))))
