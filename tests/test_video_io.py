"""Streaming video reader and atomic FFV1 writer."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import file_digest, pattern_frames, write_video
from metricdepth.errors import InputError, OutputExistsError
from metricdepth.io.video import VideoReader, VideoWriter, probe


def test_lossless_round_trip_with_exact_count_and_fraction_fps(tmp_path):
    frames = pattern_frames(12, 70, 46)  # width not a multiple of 16: padded rows
    path = write_video(tmp_path / "v.mkv", frames, Fraction(30000, 1001))
    info = probe(path)
    assert (info.width, info.height, info.frame_count) == (70, 46, 12)
    assert info.fps == Fraction(30000, 1001)
    with VideoReader(path) as video:
        assert np.array_equal(np.stack(list(video)), frames)


def test_random_access_matches_sequential(tmp_path):
    frames = pattern_frames(25, 32, 24, seed=1)
    path = write_video(tmp_path / "v.mkv", frames, 24)
    with VideoReader(path) as video:
        for index in [7, 8, 9, 24, 0, 13, 12, 3]:
            assert np.array_equal(video.read(index), frames[index]), index
        assert np.array_equal(np.stack(list(video.frames(10, 15))), frames[10:15])
        with pytest.raises(IndexError):
            video.read(25)


def test_chunks_cover_the_video_once(tmp_path):
    frames = pattern_frames(10, 16, 16, seed=2)
    path = write_video(tmp_path / "v.mkv", frames)
    chunks = list(VideoReader(path).chunks(4))
    assert [start for start, _ in chunks] == [0, 4, 8]
    assert np.array_equal(np.concatenate([c for _, c in chunks]), frames)


def test_real_mp4_count_rate_and_seeking(shared_data):
    path = shared_data / "video" / "dog" / "01_dog.mp4"
    with VideoReader(path) as video:
        assert (video.width, video.height, video.frame_count) == (1280, 720, 289)
        assert video.fps == Fraction(30000, 1001)
        assert video.info.has_audio
        sequential = list(video.frames(0, 60))
        assert len(sequential) == 60
        for index in [45, 46, 3, 59]:  # h264 with key frames far apart: seek + decode forward
            assert np.array_equal(video.read(index), sequential[index])


def test_writer_is_atomic_on_error_and_never_replaces_silently(tmp_path):
    final = tmp_path / "out.mkv"
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(final, 16, 16, 30) as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []

    write_video(final, pattern_frames(2, 16, 16))
    before = file_digest(final)
    with pytest.raises(OutputExistsError):
        VideoWriter(final, 16, 16, 30)
    assert file_digest(final) == before and len(list(tmp_path.iterdir())) == 1

    with VideoWriter(final, 16, 16, 30, overwrite=True) as writer:
        writer.write_frames(pattern_frames(3, 16, 16, seed=5))
    assert probe(final).frame_count == 3


def test_writer_checks_the_expected_frame_count(tmp_path):
    final = tmp_path / "out.mkv"
    with pytest.raises(RuntimeError, match="expected 5"):
        with VideoWriter(final, 16, 16, 30, expected_frames=5) as writer:
            writer.write_frames(pattern_frames(4, 16, 16))
    assert not final.exists() and list(tmp_path.iterdir()) == []


def test_bad_files_are_named_errors(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        probe(tmp_path / "missing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 10)
    with pytest.raises(InputError, match="notes.mp4: not a readable video"):
        probe(text)


def test_truncated_video_is_refused(tmp_path):
    path = write_video(tmp_path / "v.mkv", pattern_frames(20, 64, 48))
    data = path.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.mkv: .*(truncated|damaged)"):
        list(VideoReader(cut))


def test_truncated_mp4_is_refused(tmp_path, shared_data):
    data = (shared_data / "video" / "bedroom" / "bedroom.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(InputError, match="cut.mp4: .*(truncated|damaged|readable)"):
        list(VideoReader(cut))


def test_mp4_cut_after_its_index_is_refused_at_probe(tmp_path, shared_data):
    """moov at the front (faststart): the container opens and announces every frame."""
    fast = tmp_path / "fast.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(shared_data / "video/bedroom/bedroom.mp4"),
                    "-c", "copy", "-movflags", "+faststart", str(fast)], check=True)
    data = fast.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(InputError, match=r"cut.mp4: video is truncated: \d+ of 200 frames"):
        probe(cut)


MEMORY_PROBE = """
import resource, sys
from metricdepth.io.video import VideoReader, VideoWriter
src, dst = sys.argv[1], sys.argv[2]
with VideoReader(src) as video, VideoWriter(dst, video.width, video.height, video.fps) as out:
    for _, chunk in video.chunks(16):
        out.write_frames(chunk)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_rss_kb(src, dst) -> int:
    result = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(src), str(dst)],
                            capture_output=True, text=True, check=True)
    return int(result.stdout.strip())


@pytest.mark.slow
def test_memory_does_not_grow_with_video_length(tmp_path):
    """Read and re-write a short and an 8x longer video: the peak must not follow length.
    (The 10-minute 1280x720 figure is in benchmarks/bench_io_memory.py.)"""
    frame = pattern_frames(1, 320, 240)[0]
    peaks = {}
    for count in (40, 320):
        src = tmp_path / f"src{count}.mkv"
        with VideoWriter(src, 320, 240, 30) as writer:
            for i in range(count):
                writer.write(np.roll(frame, i, axis=1))
        peaks[count] = _peak_rss_kb(src, tmp_path / f"dst{count}.mkv")
    # 280 extra frames of 230 KB would add 64 MB if anything kept them.
    assert peaks[320] - peaks[40] < 12_000, peaks


def test_video_reencoded_at_another_rate_keeps_no_stale_rate(tmp_path):
    """Re-encoded at 25 fps, our file keeps its fps=30 tag (as FFmpeg copies tags): the
    stream's own rate wins, and the complete file is not called truncated."""
    path = tmp_path / "reencoded.mkv"
    with av.open(str(path), "w", format="matroska") as out:
        out.metadata.update({"tool": "metricdepth", "fps": "30"})
        stream = out.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 16, "bgr0"
        for i, frame in enumerate(pattern_frames(12, 32, 16)):
            encoded = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="bgr0")
            encoded.pts = i
            out.mux(stream.encode(encoded))
        out.mux(stream.encode())
    info = probe(path)
    assert (info.fps, info.frame_count) == (25, 12)


def test_a_short_clip_keeps_its_tagged_rate_though_ffmpeg_guesses_30000_1001(tmp_path):
    """9 frames at 30 fps in a millisecond time base: FFmpeg guesses 30000/1001 for the
    stream; the rate we wrote in the tag is the truth (not a stale tag: 0.1% apart)."""
    from metricdepth.io.depth_video import DepthVideoReader, DepthVideoWriter
    path = tmp_path / "short_depth.mkv"
    with DepthVideoWriter(path, 64, 48, 30) as writer:
        for _ in range(9):
            writer.write(np.ones((48, 64), np.float32))
    assert DepthVideoReader(path).info.fps == 30
